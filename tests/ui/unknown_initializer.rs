axonal::network! {
    pub Net { input 784; dense 784->128 relu init=hee; mse }
}

fn main() {}
