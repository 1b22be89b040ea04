axonal::network! {
    pub Net { input 4; dense 3; softmax_ce from_logit=true }
}

fn main() {}
