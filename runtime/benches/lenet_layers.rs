//! Where LeNet-5's training step and inference go: the time of each layer's forward and
//! backward (and the loss and the SGD update), summed over an epoch of consecutive batches,
//! per batch size and thread count, as µs per batch and share of the step.
//!
//! Not a criterion bench (`harness = false`): prints `RESULT lenet_<part>_b<batch>_t<threads>_us
//! <value>` lines, each the median over several epochs.
//! `cargo bench -p axonal --bench lenet_layers [-- --quick]`.

use std::time::Instant;

use axonal::ndarray::{s, Array2};
use axonal::optim::{Optimizer, Sgd};
use axonal::rand::Rng;
use axonal::{Mode, Model, TargetsView};

#[path = "common/lenet.rs"]
mod lenet;
#[path = "common/timing.rs"]
#[allow(dead_code)] // only the median is used here
mod timing;
use lenet::Lenet;
use timing::median;

/// The parts of a step, in the order they run.
const PARTS: [&str; 18] = [
    "conv1_fwd",
    "pool1_fwd",
    "conv2_fwd",
    "pool2_fwd",
    "fc1_fwd",
    "fc2_fwd",
    "fc3_fwd",
    "loss",
    "fc3_bwd",
    "fc2_bwd",
    "fc1_bwd",
    "pool2_bwd",
    "conv2_bwd",
    "pool1_bwd",
    "conv1_bwd",
    "sgd",
    "infer_total",
    "train_total",
];

/// Seconds spent in each part over one epoch of training steps, then of eval forwards.
fn epoch(net: &mut Lenet<f32>, x: &Array2<f32>, labels: &[usize], batch: usize) -> Vec<f64> {
    let mut t = vec![0.0; PARTS.len()];
    let mut sgd = Sgd::new(0.01);
    let n = x.nrows() - x.nrows() % batch;
    let mut clock = Instant::now();
    let mut lap = |t: &mut Vec<f64>, i: usize| {
        let now = Instant::now();
        t[i] += (now - clock).as_secs_f64();
        clock = now;
    };
    let start = Instant::now();
    for i in (0..n).step_by(batch) {
        let xb = x.slice(s![i..i + batch, ..]);
        lap(&mut t, 17); // nothing, resets the clock
        t[17] = 0.0;
        net.conv1.forward(xb, Mode::Train);
        lap(&mut t, 0);
        net.pool1.forward(net.conv1.output(), Mode::Train);
        lap(&mut t, 1);
        net.conv2.forward(net.pool1.output(), Mode::Train);
        lap(&mut t, 2);
        net.pool2.forward(net.conv2.output(), Mode::Train);
        lap(&mut t, 3);
        net.fc1.forward(net.pool2.output(), Mode::Train);
        lap(&mut t, 4);
        net.fc2.forward(net.fc1.output(), Mode::Train);
        lap(&mut t, 5);
        net.fc3.forward(net.fc2.output(), Mode::Train);
        lap(&mut t, 6);
        net.loss
            .forward(net.fc3.output(), TargetsView::Labels(&labels[i..i + batch]))
            .unwrap();
        lap(&mut t, 7);
        net.fc3
            .backward(net.fc2.output(), net.loss.grad_input(), true);
        lap(&mut t, 8);
        net.fc2
            .backward(net.fc1.output(), net.fc3.grad_input(), true);
        lap(&mut t, 9);
        net.fc1
            .backward(net.pool2.output(), net.fc2.grad_input(), true);
        lap(&mut t, 10);
        net.pool2
            .backward(net.conv2.output(), net.fc1.grad_input(), true);
        lap(&mut t, 11);
        net.conv2
            .backward(net.pool1.output(), net.pool2.grad_input(), true);
        lap(&mut t, 12);
        net.pool1
            .backward(net.conv1.output(), net.conv2.grad_input(), true);
        lap(&mut t, 13);
        net.conv1.backward(xb, net.pool1.grad_input(), false);
        lap(&mut t, 14);
        sgd.step(net);
        lap(&mut t, 15);
    }
    t[17] = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for i in (0..n).step_by(batch) {
        std::hint::black_box(
            net.forward(x.slice(s![i..i + batch, ..]), Mode::Eval)
                .unwrap(),
        );
    }
    t[16] = start.elapsed().as_secs_f64();
    let batches = (n / batch) as f64;
    t.iter().map(|s| s / batches * 1e6).collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, reps) = if quick { (3_840, 3) } else { (15_360, 5) };
    let rng = &mut axonal::seeded_rng(0);
    let x = Array2::from_shape_fn((n, 784), |_| rng.random::<f32>());
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..10)).collect();
    let all = axonal::kernels::threads();
    for threads in [1, all] {
        axonal::kernels::set_threads(threads);
        for batch in [64, 256] {
            let mut net = Lenet::<f32>::seeded(1);
            epoch(&mut net, &x, &labels, batch);
            let runs: Vec<Vec<f64>> = (0..reps)
                .map(|_| epoch(&mut net, &x, &labels, batch))
                .collect();
            let step = median(runs.iter().map(|r| r[17]).collect());
            for (i, part) in PARTS.iter().enumerate() {
                let us = median(runs.iter().map(|r| r[i]).collect());
                println!(
                    "RESULT lenet_{part}_b{batch}_t{threads}_us {us:.1} ({:.1}%)",
                    100.0 * us / step
                );
            }
        }
    }
}
