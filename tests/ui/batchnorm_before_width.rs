axonal::network! {
    pub Net { batchnorm; dense 8; dense 2; mse }
}

fn main() {}
