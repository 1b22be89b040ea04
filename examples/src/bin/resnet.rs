//! Clothing with a residual network: a stem, an identity and a projection residual block
//! with batch normalization, global average pooling (`models/resnet.nn`), trained with Adam
//! and a cosine learning-rate schedule on Fashion-MNIST.
//!
//! `cargo run --release -p axonal-examples --bin resnet -- [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--out FILE]`
//!
//! Reads `../shared/data/fashion-mnist` unless `--data DIR` or `AXONAL_FASHION_DATA` says
//! otherwise. The same runner as `fashion`: a per-epoch table, a checkpoint (default
//! `target/resnet.safetensors`, with the blocks' nested names) reloaded into a fresh network
//! that must score exactly the same, and the loss and accuracy curves (`target/resnet.png`).

use std::process::ExitCode;

use axonal_examples::classify::{self, Example, FASHION_MNIST};
use axonal_examples::resnet::{ResNet, RECIPE};

fn main() -> ExitCode {
    classify::main(&Example {
        name: "resnet",
        data: FASHION_MNIST,
        recipe: RECIPE,
        summary: ResNet::<f32>::summary(),
        build: ResNet::<f32>::seeded,
    })
}
