axonal::network! {
    pub Net { input 4; dense 1; softmax_ce }
}

fn main() {}
