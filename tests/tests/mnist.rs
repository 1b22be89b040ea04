//! MNIST to 98%: the `mnist` example's network (`examples/models/mnist.nn`) and recipe
//! (`axonal_examples::mnist::RECIPE`), trained on the real data, must reach at least 98.0% test
//! accuracy.
//!
//! The trained network, exported to ONNX, must give the same class as `predict` on at
//! least 99.99% of the test set in ONNX Runtime.
//!
//! Reads MNIST from `AXONAL_DATA` or, by default, `../shared/data/mnist` next to the workspace
//! (where the repository's tests and benchmarks keep it). Without the files the test prints a
//! note and passes on a developer's machine, but fails in CI (`CI` set), where the data must be.

mod real_data;

use axonal_examples::classify::MNIST;
use axonal_examples::mnist::{Mnist, RECIPE};

#[test]
fn mlp_with_batchnorm_dropout_and_adam_reaches_98_percent() {
    let Some((train, test)) = real_data::load_or_skip(MNIST) else {
        return;
    };
    let mut net = Mnist::<f32>::seeded(RECIPE.seed);
    let (history, eval) = real_data::train_and_score("MNIST", &mut net, &RECIPE, &train, &test);
    real_data::assert_loss_falls(&history);
    real_data::assert_onnx_runtime_agrees("MNIST MLP", &mut net, &test);
    let accuracy = eval.accuracy.expect("label targets give an accuracy");
    assert!(
        accuracy >= 0.98,
        "test accuracy {:.2}% is below 98.0%",
        100.0 * accuracy
    );
}
