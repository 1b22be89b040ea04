axonal::network! {
    pub Net { input 4; maxout 4->8 k=65; maxout 8->4 k=2.5; dense 2; mse }
}

fn main() {}
