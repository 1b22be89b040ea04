axonal::network! {
    pub Net { input 784; dense 784->128 rleu; mse }
}

fn main() {}
