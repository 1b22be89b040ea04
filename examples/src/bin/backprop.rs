//! Backpropagation on the computational graph f = w·x + b, by the generated code.

use axonal::ndarray::array;
use axonal::{Mode, Model};
use axonal_examples::backprop::Affine;

fn main() -> axonal::Result<()> {
    let mut f = Affine::<f64>::seeded(0); // w = −2, b = 3 are fixed in models/backprop.nn
    let x = array![[5.0]];
    let out = f.forward(x.view(), Mode::Train)?[[0, 0]];
    println!("forward:  f = w·x + b = (-2)·5 + 3 = {out}");

    // Seed the backward pass with ∂f/∂f = 1 and ask for the input gradient too.
    let one = array![[1.0]];
    f.backward_with(x.view(), Some(one.view()), true)?;
    println!("backward: ∂f/∂w = x = {}", f.dense0.weight_grad[[0, 0]]);
    println!("          ∂f/∂x = w = {}", f.input_grad()[[0, 0]]);
    println!("          ∂f/∂b = 1 = {}", f.dense0.bias_grad[0]);
    Ok(())
}
