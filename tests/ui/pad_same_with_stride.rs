// `pad=same` keeps the size, which only stride 1 can.
axonal::network! {
    Net {
        input 1x28x28;
        conv2d 6 k=3 stride=2 pad=same;
        flatten;
        dense 10
    }
}

fn main() {}
