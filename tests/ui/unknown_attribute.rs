axonal::network! {
    pub Net { input 784; dense 784->128 bais=0.1; mse }
}

fn main() {}
