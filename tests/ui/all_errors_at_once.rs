axonal::network! {
    pub Net { input 10; dense 20->5 sigmoidd; dense 5->0; mse }
}

fn main() {}
