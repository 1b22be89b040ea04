//! What the tests on real data share: finding the data (or failing in CI without it) and
//! training an example's network with the example's own recipe
//! (`axonal_examples::classify::Recipe`), so test and example cannot drift apart.

use std::time::Instant;

use axonal::ndarray::s;
use axonal::{Dataset, Evaluation, History, Model, Targets, TargetsView};
use axonal_examples::classify::{Data, Recipe};

/// The training and test sets of `data`, or `None` with a note when the files are not there
/// on a developer's machine.
///
/// # Panics
/// In CI (`CI` set) when the data is missing: the tests on real data must run there.
pub fn load_or_skip(data: Data) -> Option<(Dataset<f32>, Dataset<f32>)> {
    let dir = data.default_dir();
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no {} at {} in CI: the test on real data must run there",
            data.name,
            dir.display()
        );
        eprintln!(
            "skipped: no {} at {} (set {} to a directory with the four IDX files)",
            data.name,
            dir.display(),
            data.env
        );
        return None;
    }
    let (train, test) = axonal::data::idx::load_mnist::<f32>(&dir)
        .unwrap_or_else(|err| panic!("{} reads from {}: {err}", data.name, dir.display()));
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    Some((train, test))
}

/// The first `n` samples of `data` (a quicker training set for a heavier network).
#[allow(dead_code)] // each test binary compiles this module; not all of them cut the data
pub fn first(data: &Dataset<f32>, n: usize) -> Dataset<f32> {
    let targets = match data.targets().rows(0..n) {
        TargetsView::Labels(labels) => Targets::Labels(labels.to_vec()),
        TargetsView::Values(values) => Targets::Values(values.to_owned()),
    };
    Dataset::new(data.inputs().slice(s![..n, ..]).to_owned(), targets).expect("rows agree")
}

/// Trains `net` on `train` as `recipe` says, then scores it on `test`; reports the accuracy
/// and the time on stderr. Returns the history and the test score.
pub fn train_and_score<N: Model<f32>>(
    name: &str,
    net: &mut N,
    recipe: &Recipe,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> (History, Evaluation) {
    let start = Instant::now();
    let history = net
        .fit(train, &mut recipe.optimizer(), recipe.fit().quiet())
        .expect("training runs");
    let eval = net.evaluate(test, 1000).expect("evaluation runs");
    eprintln!(
        "{name}: test accuracy {:.2}%, loss {:.4}, after {} epochs in {:.1} s",
        100.0 * eval.accuracy.expect("label targets give an accuracy"),
        eval.loss,
        recipe.epochs,
        start.elapsed().as_secs_f64()
    );
    (history, eval)
}

/// Asserts that the training loss fell at every epoch (the schedule only ever lowers the
/// rate, so a rise means training went wrong).
pub fn assert_loss_falls(history: &History) {
    let losses: Vec<f64> = history.epochs.iter().map(|e| e.loss).collect();
    assert!(
        losses.windows(2).all(|w| w[1] < w[0]),
        "training loss per epoch: {losses:?}"
    );
}

/// Exports the trained `net` to ONNX and runs it on the whole `test` set in ONNX Runtime,
/// which must agree with `predict` to 1e-5 and give the same class on at least 99.99% of the
/// images (skipped
/// with a note without the ONNX Python on a developer's machine; see
/// `axonal_tests::onnx_runtime`).
#[allow(dead_code)] // each test binary compiles this module; not all of them export
pub fn assert_onnx_runtime_agrees<N: Model<f32>>(name: &str, net: &mut N, test: &Dataset<f32>) {
    use axonal_tests::onnx_runtime::{python, Cases};
    let Some(python) = python() else { return };
    let mut cases = Cases::new(name);
    let classes = net.output_width();
    cases.argmax(name, net, &[classes], test.inputs(), 0.9999);
    match cases.check(&python) {
        Ok(report) => eprintln!("{report}"),
        Err(report) => panic!("ONNX Runtime disagrees with predict on {name}:\n{report}"),
    }
}
