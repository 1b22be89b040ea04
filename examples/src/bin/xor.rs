//! A two-layer MLP learns XOR from random weights.

use axonal::optim::Sgd;
use axonal::{Fit, Model};
use axonal_examples::{data, xor::XorNet};

fn main() -> axonal::Result<()> {
    let data = data::xor();
    let mut net = XorNet::<f32>::seeded(7);
    println!("{}", XorNet::<f32>::summary());
    let history = net.fit(
        &data,
        &mut Sgd::new(0.5),
        Fit::epochs(2000).batch(4).quiet(),
    )?;
    for (i, stats) in history.epochs.iter().enumerate() {
        if i % 250 == 0 || i + 1 == history.epochs.len() {
            println!("epoch {:4}  loss {:.5}", stats.epoch, stats.loss);
        }
    }
    let y = net.predict(data.inputs())?;
    println!("\n  x1 x2 | output | class");
    let mut right = 0;
    for ((x, out), target) in data
        .inputs()
        .rows()
        .into_iter()
        .zip(y.column(0))
        .zip([0., 1., 1., 0.])
    {
        let class = if *out > 0.5 { 1.0 } else { 0.0 };
        right += usize::from(class == target);
        println!("   {}  {} | {:.4} | {}", x[0], x[1], out, class);
    }
    println!("\n{right}/4 right");
    Ok(())
}
