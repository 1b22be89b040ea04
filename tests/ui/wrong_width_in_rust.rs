// The widths are in the types: a batch buffer of the wrong width cannot be
// mixed up with a layer of another width at compile time.
axonal::network! {
    pub Net { input 4; dense 4->2; mse }
}

fn main() {
    let net = Net::<f32>::seeded(0);
    let _: axonal::layers::Dense<f32, 5, 2> = net.dense0;
}
