// Pooling pads at most half its window (PyTorch's limit).
axonal::network! {
    Net {
        input 1x28x28;
        maxpool 2 pad=2;
        flatten;
        dense 10
    }
}

fn main() {}
