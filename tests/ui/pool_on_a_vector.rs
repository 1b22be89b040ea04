// Pooling needs an image or a sequence.
axonal::network! {
    Net {
        input 784;
        dense 100;
        maxpool 2;
        dense 10
    }
}

fn main() {}
