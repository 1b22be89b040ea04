//! Handwritten digits with a convolutional network: LeNet-5 with batch normalization
//! (`models/lenet.nn`) trained with Adam and a cosine learning-rate schedule to ≥ 99% test
//! accuracy on MNIST.
//!
//! `cargo run --release -p axonal-examples --bin cnn -- [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--out FILE]`
//!
//! The same runner as `mnist`: a per-epoch table, a checkpoint (default
//! `target/cnn.safetensors`) reloaded into a fresh network that must score exactly the same,
//! and the loss and accuracy curves (`target/cnn.png`).

use std::process::ExitCode;

use axonal_examples::classify::{self, Example, MNIST};
use axonal_examples::lenet::{Lenet, RECIPE};

fn main() -> ExitCode {
    classify::main(&Example {
        name: "cnn",
        data: MNIST,
        recipe: RECIPE,
        summary: Lenet::<f32>::summary(),
        build: Lenet::<f32>::seeded,
    })
}
