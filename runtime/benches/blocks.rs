//! Whether a network pays for being a graph: the same layers written as a chain and as
//! residual blocks (a `repeat` of two `residual relu { … }`), timed per training step (forward,
//! loss, backward, SGD) and per inference batch. The block form adds only the residual sums
//! and the input-gradient sums of the two blocks; it should be within a few percent of the
//! chain.
//!
//! Not a criterion bench (`harness = false`): prints `RESULT blocks_<form>_<what>_b<batch>_us
//! <value>` lines, each the median over several epochs, and the ratio block / chain.
//! `cargo bench -p axonal --bench blocks [-- --quick]`.

use axonal::ndarray::Array2;
use axonal::rand::Rng;
use axonal::Model;

#[path = "common/timing.rs"]
mod timing;
use timing::{eval_pass, median, sgd_epoch};

axonal::network! {
    /// Four conv-batchnorm-relu layers in a row.
    Chain {
        input 1x28x28;
        stem: conv2d 16 k=3 pad=1; batchnorm; relu; maxpool 2;
        conv2d 16 k=3 pad=1; batchnorm; relu;
        conv2d 16 k=3 pad=1; batchnorm; relu;
        conv2d 16 k=3 pad=1; batchnorm; relu;
        conv2d 16 k=3 pad=1; batchnorm; relu;
        global_avgpool;
        fc: dense 10;
        softmax_ce
    }
}

axonal::network! {
    /// The same layers as two residual blocks: `relu(body(x) + x)`.
    Blocks {
        input 1x28x28;
        stem: conv2d 16 k=3 pad=1; batchnorm; relu; maxpool 2;
        stage: repeat 2 {
            residual relu {
                conv1: conv2d 16 k=3 pad=1; bn1: batchnorm; relu;
                conv2: conv2d 16 k=3 pad=1; bn2: batchnorm
            }
        }
        global_avgpool;
        fc: dense 10;
        softmax_ce
    }
}

/// Microseconds per training step over one epoch of consecutive batches.
fn train<M: Model<f32>>(net: &mut M, x: &Array2<f32>, labels: &[usize], batch: usize) -> f64 {
    let (time, steps) = sgd_epoch(net, x, labels, batch);
    time.as_secs_f64() * 1e6 / steps as f64
}

/// Microseconds per eval-mode forward of a batch.
fn infer<M: Model<f32>>(net: &mut M, x: &Array2<f32>, batch: usize) -> f64 {
    let (time, batches) = eval_pass(net, x, batch);
    time.as_secs_f64() * 1e6 / batches as f64
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, reps) = if quick { (1_024, 5) } else { (4_096, 9) };
    let rng = &mut axonal::seeded_rng(0);
    let x = Array2::from_shape_fn((n, 784), |_| rng.random::<f32>());
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..10)).collect();
    for batch in [64, 256] {
        let (mut chain, mut blocks) = (Chain::<f32>::seeded(1), Blocks::<f32>::seeded(1));
        // Alternate the two forms run by run, so that a change in the machine's load hits both.
        let (mut times, mut infers) = ([vec![], vec![]], [vec![], vec![]]);
        for rep in 0..=reps {
            let t = (
                train(&mut chain, &x, &labels, batch),
                train(&mut blocks, &x, &labels, batch),
            );
            let i = (infer(&mut chain, &x, batch), infer(&mut blocks, &x, batch));
            if rep > 0 {
                times[0].push(t.0);
                times[1].push(t.1);
                infers[0].push(i.0);
                infers[1].push(i.1);
            }
        }
        let [tc, tb] = times.map(median);
        let [ic, ib] = infers.map(median);
        println!("RESULT blocks_chain_train_b{batch}_us {tc:.1}");
        println!("RESULT blocks_residual_train_b{batch}_us {tb:.1}");
        println!("RESULT blocks_ratio_train_b{batch} {:.3}", tb / tc);
        println!("RESULT blocks_chain_infer_b{batch}_us {ic:.1}");
        println!("RESULT blocks_residual_infer_b{batch}_us {ib:.1}");
        println!("RESULT blocks_ratio_infer_b{batch} {:.3}", ib / ic);
    }
}
