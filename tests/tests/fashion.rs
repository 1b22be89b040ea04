//! Fashion-MNIST to 91%: the `fashion` example's small CNN with batchnorm
//! (`examples/models/fashion.nn`) and recipe (`axonal_examples::fashion::RECIPE`), trained on
//! the real data, must reach at least 91.0% test accuracy.
//!
//! Reads Fashion-MNIST from `AXONAL_FASHION_DATA` or, by default, `../shared/data/fashion-mnist`
//! next to the workspace. Without the files the test prints a note and passes on a developer's
//! machine, but fails in CI (`CI` set), where the data must be.

mod real_data;

use axonal_examples::classify::FASHION_MNIST;
use axonal_examples::fashion::{Fashion, RECIPE};

#[test]
fn small_cnn_with_batchnorm_reaches_91_percent() {
    let Some((train, test)) = real_data::load_or_skip(FASHION_MNIST) else {
        return;
    };
    let mut net = Fashion::<f32>::seeded(RECIPE.seed);
    let (history, eval) =
        real_data::train_and_score("Fashion-MNIST", &mut net, &RECIPE, &train, &test);
    real_data::assert_loss_falls(&history);
    let accuracy = eval.accuracy.expect("label targets give an accuracy");
    assert!(
        accuracy >= 0.91,
        "test accuracy {:.2}% is below 91.0%",
        100.0 * accuracy
    );
}
