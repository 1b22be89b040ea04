axonal::network! {
    pub Net { input 4; dense 8; batchnorm momentum=1.5 eps=1e-5; dense 2; mse }
}

fn main() {}
