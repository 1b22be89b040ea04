// 2^48 parameters would abort when the network is built: refused at the layer.
axonal::network! {
    pub Huge { input 16777216; dense 8 relu; dense 16777216; dense 16777216 }
}

fn main() {}
