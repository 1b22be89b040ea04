// A dense layer after an image: flatten first.
axonal::network! {
    Net {
        input 1x28x28;
        relu;
        dense 10;
        softmax_ce
    }
}

fn main() {}
