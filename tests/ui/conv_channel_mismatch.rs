// A convolution declares 3 input channels after a 1-channel image.
axonal::network! {
    Net {
        input 1x28x28;
        conv2d 3->16 k=5 relu;
        flatten;
        dense 10;
        softmax_ce
    }
}

fn main() {}
