axonal::network! {
    pub Net { input 4; fc: dense 8 relu; fc: dense 2; mse }
}

fn main() {}
