axonal::network! {
    pub Net { input 4; dense 8 leaky_relu 1.5; dense 2; mse }
}

fn main() {}
