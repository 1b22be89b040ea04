//! Multi-label classification on real data: five independent yes/no questions about each
//! MNIST digit, answered by one network with five sigmoid outputs and `binary_crossentropy`
//! (Keras's and PyTorch's standard recipe; the loss is elementwise, so any output width).
//!
//! Reads MNIST from `AXONAL_DATA` or, by default, `../shared/data/mnist` next to the workspace.
//! Without the files the test prints a note and passes on a developer's machine, but fails in
//! CI (`CI` set), where the data must be.

use std::path::{Path, PathBuf};
use std::time::Instant;

use axonal::data::idx::load_mnist;
use axonal::ndarray::{s, Array2};
use axonal::optim::Adam;
use axonal::{Dataset, Fit, Model, Targets, TargetsView};

axonal::network! {
    /// Five independent binary answers per digit.
    DigitTraits {
        input 784;
        hidden: dense 64 relu;
        out: dense 5 sigmoid;
        binary_crossentropy
    }

    /// The same on logits, with the loss's own sigmoid.
    DigitTraitsLogits {
        input 784;
        hidden: dense 64 relu;
        out: dense 5;
        binary_crossentropy from_logits=true
    }
}

/// A question about a digit: its wording, and its answer for each digit.
type Question = (&'static str, fn(usize) -> bool);

/// The questions, each a property of the digit.
const TRAITS: [Question; 5] = [
    ("even", |d| d % 2 == 0),
    ("greater than 4", |d| d > 4),
    ("prime", |d| matches!(d, 2 | 3 | 5 | 7)),
    ("has a closed loop", |d| matches!(d, 0 | 4 | 6 | 8 | 9)),
    ("is 1 or 7", |d| matches!(d, 1 | 7)),
];

/// Per question, the least test accuracy (on all 10,000 test digits) the networks must reach.
/// Measured with seeds 1–8 (10,000 training samples, 3 epochs, 0.3–1 s): even 95.19–95.67%,
/// greater than 4 94.46–95.15%, prime 96.32–96.90%, closed loop 96.32–96.97%, 1 or 7
/// 97.67–98.01%, all five right 88.62–89.20%. The runs are deterministic; the thresholds sit
/// 1.5–2 points below the lowest seen, and well above always answering the more common
/// answer on the test set (50.7%, 51.4%, 60.4%, 51.0%, 78.4%).
const THRESHOLDS: [f64; 5] = [0.935, 0.93, 0.945, 0.945, 0.96];

/// The least fraction of test digits with all five answers right.
const ALL_FIVE: f64 = 0.87;

const TRAIN_SAMPLES: usize = 10_000;
const EPOCHS: usize = 3;
const BATCH: usize = 64;
const LR: f64 = 2e-3;
const SEED: u64 = 1;

/// Where the test looks for the four IDX files.
fn data_dir() -> PathBuf {
    std::env::var_os("AXONAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist"))
}

/// One row of five 0/1 targets per digit label.
fn trait_rows(labels: &[usize]) -> Array2<f32> {
    Array2::from_shape_fn((labels.len(), TRAITS.len()), |(i, k)| {
        f32::from(u8::from(TRAITS[k].1(labels[i])))
    })
}

/// The same samples with the digit labels replaced by their trait rows.
fn multilabel(data: &Dataset<f32>, samples: usize) -> Dataset<f32> {
    let TargetsView::Labels(labels) = data.targets() else {
        panic!("MNIST has label targets")
    };
    let samples = samples.min(labels.len());
    let inputs = data.inputs().slice(s![..samples, ..]).to_owned();
    Dataset::new(inputs, Targets::Values(trait_rows(&labels[..samples]))).unwrap()
}

/// The fraction of samples whose output, thresholded at `cut`, matches the target, per
/// question; and the fraction with all five right.
fn accuracies(output: &Array2<f32>, targets: &Array2<f32>, cut: f32) -> ([f64; 5], f64) {
    let mut right = [0usize; 5];
    let mut all = 0;
    for (y, t) in output.rows().into_iter().zip(targets.rows()) {
        let hits: Vec<bool> = (0..5).map(|k| (y[k] > cut) == (t[k] > 0.5)).collect();
        for (r, &hit) in right.iter_mut().zip(&hits) {
            *r += usize::from(hit);
        }
        all += usize::from(hits.iter().all(|&h| h));
    }
    let n = output.nrows() as f64;
    (right.map(|r| r as f64 / n), all as f64 / n)
}

/// Trains `net` on `train`, checks its per-question test accuracy, and returns it.
fn train_and_check<M: Model<f32>>(
    name: &str,
    net: &mut M,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> [f64; 5] {
    let start = Instant::now();
    let history = net
        .fit(
            train,
            &mut Adam::new(LR),
            Fit::epochs(EPOCHS).batch(BATCH).seed(SEED).quiet(),
        )
        .expect("training runs");
    let losses: Vec<f64> = history.epochs.iter().map(|e| e.loss).collect();
    assert!(
        losses.windows(2).all(|w| w[1] < w[0]),
        "{name}: training loss per epoch: {losses:?}"
    );
    // predict applies the sigmoid in both networks: probabilities, cut at one half.
    let output = net.predict(test.inputs()).expect("prediction runs");
    assert!(output.iter().all(|&p| (0.0..=1.0).contains(&p)));
    let TargetsView::Values(targets) = test.targets() else {
        unreachable!("value targets")
    };
    let (per_trait, exact) = accuracies(&output, &targets.to_owned(), 0.5);
    eprintln!(
        "{name}: after {EPOCHS} epochs on {} samples ({:.1} s), test loss {:.4}",
        train.len(),
        start.elapsed().as_secs_f64(),
        net.evaluate(test, 1000).expect("evaluation runs").loss
    );
    for ((question, _), (acc, least)) in TRAITS.iter().zip(per_trait.iter().zip(THRESHOLDS)) {
        eprintln!(
            "  {question:>18}: {:.2}% (at least {:.1}%)",
            100.0 * acc,
            100.0 * least
        );
    }
    eprintln!(
        "  {:>18}: {:.2}% (at least {:.1}%)",
        "all five right",
        100.0 * exact,
        100.0 * ALL_FIVE
    );
    for ((question, _), (&acc, least)) in TRAITS.iter().zip(per_trait.iter().zip(THRESHOLDS)) {
        assert!(
            acc >= least,
            "{name}: `{question}` reached {:.2}%, below {:.1}%",
            100.0 * acc,
            100.0 * least
        );
    }
    assert!(
        exact >= ALL_FIVE,
        "{name}: all five right on {:.2}%, below {:.1}%",
        100.0 * exact,
        100.0 * ALL_FIVE
    );
    per_trait
}

#[test]
fn five_sigmoid_outputs_learn_five_independent_questions() {
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
    let (train, test) = (
        multilabel(&train, TRAIN_SAMPLES),
        multilabel(&test, usize::MAX),
    );
    assert_eq!((train.len(), test.len()), (TRAIN_SAMPLES, 10_000));

    let fused = train_and_check(
        "sigmoid + binary_crossentropy",
        &mut DigitTraits::<f32>::seeded(SEED),
        &train,
        &test,
    );
    let logits = train_and_check(
        "binary_crossentropy from_logits",
        &mut DigitTraitsLogits::<f32>::seeded(SEED),
        &train,
        &test,
    );
    // The fused pair trains on logits too: the same network in all but name.
    assert_eq!(fused, logits);
}

#[test]
fn the_targets_are_the_digits_properties() {
    let rows = trait_rows(&[0, 1, 2, 7, 9]);
    assert_eq!(rows.row(0).to_vec(), [1.0, 0.0, 0.0, 1.0, 0.0]);
    assert_eq!(rows.row(1).to_vec(), [0.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(rows.row(2).to_vec(), [1.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(rows.row(3).to_vec(), [0.0, 1.0, 1.0, 0.0, 1.0]);
    assert_eq!(rows.row(4).to_vec(), [0.0, 1.0, 0.0, 1.0, 0.0]);
}
