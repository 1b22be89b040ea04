// Three poolings make a 28x28 image 3x3; a fourth of 4x4 leaves nothing.
axonal::network! {
    Net {
        input 1x28x28;
        maxpool 2;
        maxpool 2;
        maxpool 2;
        maxpool 4;
        flatten;
        dense 10
    }
}

fn main() {}
