axonal::network! {
    pub Net { input 4; maxout 4->8 k=1; dense 2; mse }
}

fn main() {}
