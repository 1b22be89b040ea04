//! What the whole-network benches time the same way: one epoch of plain SGD steps, one pass
//! of eval-mode forwards, and the median of repeated runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axonal::ndarray::{s, Array2};
use axonal::optim::{Optimizer, Sgd};
use axonal::{Mode, Model, TargetsView};

/// The median of `runs` (the upper one of an even count).
pub fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// One epoch of plain SGD (forward, loss, backward, step) over the consecutive batches of
/// `batch` rows of `x`: the time it took and the number of steps.
pub fn sgd_epoch<M: Model<f32>>(
    net: &mut M,
    x: &Array2<f32>,
    labels: &[usize],
    batch: usize,
) -> (Duration, usize) {
    let mut sgd = Sgd::new(0.01);
    let n = x.nrows() - x.nrows() % batch;
    let start = Instant::now();
    for i in (0..n).step_by(batch) {
        let xb = x.slice(s![i..i + batch, ..]);
        net.forward(xb, Mode::Train).unwrap();
        black_box(
            net.loss(TargetsView::Labels(&labels[i..i + batch]))
                .unwrap(),
        );
        net.backward(xb).unwrap();
        sgd.step(net);
    }
    (start.elapsed(), n / batch)
}

/// Eval-mode forwards over the consecutive batches of `batch` rows of `x` (the network's
/// buffers are the reused output): the time they took and the number of batches.
pub fn eval_pass<M: Model<f32>>(net: &mut M, x: &Array2<f32>, batch: usize) -> (Duration, usize) {
    let n = x.nrows() - x.nrows() % batch;
    let start = Instant::now();
    for i in (0..n).step_by(batch) {
        black_box(
            net.forward(x.slice(s![i..i + batch, ..]), Mode::Eval)
                .unwrap(),
        );
    }
    (start.elapsed(), n / batch)
}
