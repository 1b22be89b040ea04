//! MNIST to 98%: the `mnist` example's network (`examples/models/mnist.nn`) and settings, trained
//! on the real data, must reach at least 98.0% test accuracy.
//!
//! Reads MNIST from `AXONAL_DATA` or, by default, `../shared/data/mnist` next to the workspace
//! (where the repository's tests and benchmarks keep it). Without the files the test prints a
//! note and passes on a developer's machine, but fails in CI (`CI` set), where the data must be.

use std::path::{Path, PathBuf};
use std::time::Instant;

use axonal::data::idx::load_mnist;
use axonal::optim::Adam;
use axonal::schedule::CosineAnnealing;
use axonal::{Fit, Model};
use axonal_examples::mnist::Mnist;

// The example's defaults (`examples/src/bin/mnist.rs`): change both together.
const EPOCHS: usize = 4;
const BATCH: usize = 256;
const LR: f64 = 5e-3;
const SEED: u64 = 1;

/// Where the test looks for the four IDX files.
fn data_dir() -> PathBuf {
    std::env::var_os("AXONAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist"))
}

#[test]
fn mlp_with_batchnorm_dropout_and_adam_reaches_98_percent() {
    let dir = data_dir();
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no MNIST at {} in CI: the test on real data must run there",
            dir.display()
        );
        eprintln!(
            "skipped: no MNIST at {} (set AXONAL_DATA to a directory with the four IDX files)",
            dir.display()
        );
        return;
    }
    let (train, test) = load_mnist::<f32>(&dir).expect("MNIST reads");
    assert_eq!((train.len(), test.len()), (60_000, 10_000));

    let start = Instant::now();
    let mut net = Mnist::<f32>::seeded(SEED);
    let history = net
        .fit(
            &train,
            &mut Adam::new(LR),
            Fit::epochs(EPOCHS)
                .batch(BATCH)
                .seed(SEED)
                .schedule(CosineAnnealing::new(EPOCHS, 0.0))
                .quiet(),
        )
        .expect("training runs");
    let eval = net.evaluate(&test, 1000).expect("evaluation runs");
    let accuracy = eval.accuracy.expect("label targets give an accuracy");
    eprintln!(
        "MNIST: test accuracy {:.2}%, loss {:.4}, after {EPOCHS} epochs in {:.1} s",
        100.0 * accuracy,
        eval.loss,
        start.elapsed().as_secs_f64()
    );

    // Training made progress every epoch (the schedule only ever lowers the rate).
    let losses: Vec<f64> = history.epochs.iter().map(|e| e.loss).collect();
    assert!(
        losses.windows(2).all(|w| w[1] < w[0]),
        "training loss per epoch: {losses:?}"
    );
    assert!(
        accuracy >= 0.98,
        "test accuracy {:.2}% is below 98.0%",
        100.0 * accuracy
    );
}
