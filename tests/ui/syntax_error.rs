axonal::network! {
    pub Net { input 4; dense 8 relu, dense 2; mse }
}

fn main() {}
