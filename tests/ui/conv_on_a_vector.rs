// A convolution needs an image; `input 784` is a vector.
axonal::network! {
    Net {
        input 784;
        conv2d 6 k=5;
        flatten;
        dense 10
    }
}

fn main() {}
