axonal::network! {
    pub Net { input 4; dense 8; mse; dense 1 }
}

fn main() {}
