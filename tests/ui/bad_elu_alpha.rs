axonal::network! {
    pub Net { input 4; dense 8; elu -1.0; dense 2; mse }
}

fn main() {}
