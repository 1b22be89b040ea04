// The body halves the image and doubles the channels: its input cannot be added to its output
// without a projection shortcut.
axonal::network! {
    Net {
        input 8x8x8;
        down: residual relu {
            conv2d 16 k=3 stride=2 pad=1;
            batchnorm
        }
    }
}

fn main() {}
