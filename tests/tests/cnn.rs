//! MNIST to 99% with a convolutional network: the `cnn` example's LeNet-5
//! (`examples/models/lenet.nn`) and recipe (`axonal_examples::lenet::RECIPE`), trained on the
//! real data, must reach at least 99.0% test accuracy.
//!
//! The trained network, exported to ONNX, must give the same class as `predict` on at
//! least 99.99% of the test set in ONNX Runtime.
//!
//! Reads MNIST from `AXONAL_DATA` or, by default, `../shared/data/mnist` next to the workspace.
//! Without the files the test prints a note and passes on a developer's machine, but fails in
//! CI (`CI` set), where the data must be.

mod real_data;

use axonal_examples::classify::MNIST;
use axonal_examples::lenet::{Lenet, RECIPE};

#[test]
fn lenet_with_batchnorm_and_adam_reaches_99_percent() {
    let Some((train, test)) = real_data::load_or_skip(MNIST) else {
        return;
    };
    let mut net = Lenet::<f32>::seeded(RECIPE.seed);
    let (history, eval) =
        real_data::train_and_score("MNIST, LeNet-5", &mut net, &RECIPE, &train, &test);
    real_data::assert_loss_falls(&history);
    real_data::assert_onnx_runtime_agrees("MNIST LeNet-5", &mut net, &test);
    let accuracy = eval.accuracy.expect("label targets give an accuracy");
    assert!(
        accuracy >= 0.99,
        "test accuracy {:.2}% is below 99.0%",
        100.0 * accuracy
    );
}
