//! Clothing: a small convolutional network with batch normalization (`models/fashion.nn`)
//! trained with Adam and a cosine learning-rate schedule to ≥ 91% test accuracy on
//! Fashion-MNIST (Zalando's 28×28 images of ten kinds of clothing, in MNIST's format).
//!
//! `cargo run --release -p axonal-examples --bin fashion -- [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--out FILE]`
//!
//! Reads `../shared/data/fashion-mnist` unless `--data DIR` or `AXONAL_FASHION_DATA` says
//! otherwise. The same runner as `mnist`: a per-epoch table, a checkpoint (default
//! `target/fashion.safetensors`) reloaded into a fresh network that must score exactly the
//! same, and the loss and accuracy curves (`target/fashion.png`).

use std::process::ExitCode;

use axonal_examples::classify::{self, Example, FASHION_MNIST};
use axonal_examples::fashion::{Fashion, RECIPE};

fn main() -> ExitCode {
    classify::main(&Example {
        name: "fashion",
        data: FASHION_MNIST,
        recipe: RECIPE,
        summary: Fashion::<f32>::summary(),
        build: Fashion::<f32>::seeded,
    })
}
