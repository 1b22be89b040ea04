axonal::network! {
    pub Net { input 4; dense 8; batchnorm; dense 2; mse }
}

fn main() {}
