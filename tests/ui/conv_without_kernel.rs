// A convolution needs its kernel size.
axonal::network! {
    Net {
        input 1x28x28;
        conv2d 6 relu;
        flatten;
        dense 10
    }
}

fn main() {}
