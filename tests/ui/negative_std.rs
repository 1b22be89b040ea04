axonal::network! {
    pub Net { input 4; dense 8 init=normal(0, -0.01); dense 2; mse }
}

fn main() {}
