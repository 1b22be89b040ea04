axonal::network! {
    pub Net { input 784; dens 784->128; mse }
}

fn main() {}
