axonal::network! {
    pub Net { input 784; dense 128 relu; dropout 1.5; dense 10; softmax_ce }
}

fn main() {}
