//! Fashion-MNIST with residual blocks: the `resnet` example's network
//! (`examples/models/resnet.nn`) trained on the real data with the example's recipe
//! (`axonal_examples::resnet::RECIPE`) cut to 2 epochs, so that the test stays under two
//! minutes in the test profile, must reach 85.0% test accuracy. Measured: 86.92% after 2 epochs
//! in 108.5 s (test profile, 2 shared cores). The example's full 5 epochs reach 90.10% in a
//! release build, short of the 92% the issue asks for: this test does not claim 92%.
//!
//! Reads Fashion-MNIST from `AXONAL_FASHION_DATA` or, by default, `../shared/data/fashion-mnist`
//! next to the workspace. Without the files the test prints a note and passes on a developer's
//! machine, but fails in CI (`CI` set), where the data must be.

mod real_data;

use axonal_examples::classify::{Recipe, FASHION_MNIST};
use axonal_examples::resnet::{ResNet, RECIPE};

/// The example's recipe over 2 epochs instead of 5 (the cosine schedule anneals over these).
const CI_RECIPE: Recipe = Recipe {
    epochs: 2,
    ..RECIPE
};

#[test]
fn small_resnet_learns_fashion_mnist() {
    let Some((train, test)) = real_data::load_or_skip(FASHION_MNIST) else {
        return;
    };
    let mut net = ResNet::<f32>::seeded(CI_RECIPE.seed);
    let (history, eval) =
        real_data::train_and_score("Fashion-MNIST", &mut net, &CI_RECIPE, &train, &test);
    real_data::assert_loss_falls(&history);
    let accuracy = eval.accuracy.expect("label targets give an accuracy");
    assert!(
        accuracy >= 0.85,
        "test accuracy {:.2}% is below 85.0%",
        100.0 * accuracy
    );
}
