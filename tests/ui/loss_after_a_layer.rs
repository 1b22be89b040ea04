axonal::network! {
    pub Net { input 4; dense 3 mse }
}

fn main() {}
