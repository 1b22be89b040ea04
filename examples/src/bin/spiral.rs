//! The main example: an MLP learns to tell three interleaved spirals apart.
//!
//! `cargo run --release -p axonal-examples --bin spiral`

use axonal::optim::Sgd;
use axonal::{Fit, Model};
use axonal_examples::{data, spiral::Spiral};

fn main() -> axonal::Result<()> {
    let train = data::spirals(200, 3, 0.2, 1);
    let test = data::spirals(100, 3, 0.2, 2);
    println!("{}", Spiral::<f32>::summary());

    let mut net = Spiral::<f32>::seeded(42);
    println!("training on {} points, SGD lr 0.5, batch 32", train.len());
    net.fit(
        &train,
        &mut Sgd::new(0.5),
        Fit::epochs(40).batch(32).seed(42),
    )?;

    let eval = net.evaluate(&test, 256)?;
    println!(
        "\ntest: loss {:.4}, accuracy {:.1}% on {} unseen points",
        eval.loss,
        100.0 * eval.accuracy.unwrap_or(0.0),
        test.len()
    );
    Ok(())
}
