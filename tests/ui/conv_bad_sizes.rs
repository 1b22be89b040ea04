// Sizes are whole numbers of at least 1: channels, kernels and windows.
axonal::network! {
    Net {
        input 1x28x28;
        conv2d 0 k=3;
        conv2d 6 k=2.5;
        conv2d 6 k=3 stride=0;
        maxpool 0;
        avgpool 2x2x2;
        flatten;
        dense 10
    }
}

fn main() {}
