axonal::network! {
    pub Net { input 784; dense 0; mse }
}

fn main() {}
