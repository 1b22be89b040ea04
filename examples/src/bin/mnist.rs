//! Handwritten digits: an MLP with batch normalization and dropout (`models/mnist.nn`) trained
//! with Adam and a cosine learning-rate schedule to ≥ 98% test accuracy on MNIST.
//!
//! `cargo run --release -p axonal-examples --bin mnist -- [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--out FILE]`
//!
//! Prints a per-epoch table, saves a checkpoint (default `target/mnist.safetensors`), reloads
//! it into a freshly built network and checks that it scores exactly the same, and draws the
//! loss and accuracy curves next to the checkpoint (`target/mnist.png`).

use std::process::ExitCode;

use axonal_examples::classify::{self, Example, MNIST};
use axonal_examples::mnist::{Mnist, RECIPE};

fn main() -> ExitCode {
    classify::main(&Example {
        name: "mnist",
        data: MNIST,
        recipe: RECIPE,
        summary: Mnist::<f32>::summary(),
        build: Mnist::<f32>::seeded,
    })
}
