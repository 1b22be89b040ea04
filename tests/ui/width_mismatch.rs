axonal::network! {
    pub Net {
        dense 32->64 relu;
        dense 784->128;
        mse
    }
}

fn main() {}
