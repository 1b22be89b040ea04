// The sampler cannot draw these, and f32 cannot hold them.
axonal::network! {
    pub Net { input 2; dense 2 init=uniform(-1e308, 1e308) bias=1e39; dense 1 init=normal(0, 1e300) }
}

fn main() {}
