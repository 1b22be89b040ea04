// A 5x5 kernel on a 4x4 image without padding leaves no output.
axonal::network! {
    Net {
        input 1x4x4;
        conv2d 8 k=5;
        flatten;
        dense 10
    }
}

fn main() {}
