//! The workload of `bench/compare.sh`, on axonal's side: MLP 784→128 ReLU→10 with softmax
//! cross-entropy and plain SGD in f32 over 60,000 samples (a loop of steps over consecutive
//! batches, as the peers run it, and `fit` with shuffled mini-batches), plus inference at batch 256,
//! single-sample latency and the larger 784→512→512→10 network; LeNet-5 on the same samples
//! as 1×28×28 images (training at batch 64 and 256, inference at batch 256, keys `lenet_*`);
//! each on one thread (`_t1`) and with the products split over all of
//! [`axonal::kernels::threads`] (`_t2` on a two-core machine).
//!
//! Not a criterion bench (`harness = false`): it prints one `RESULT <key> <value>` line per
//! figure, each the median over several epochs or repetitions, for the script to tabulate
//! next to PyTorch and JAX.
//! `cargo bench -p axonal --bench throughput [-- --quick] [--only <key part>]`.

use std::hint::black_box;
use std::time::Instant;

use axonal::data::{Dataset, Targets};
use axonal::ndarray::{s, Array2};
use axonal::optim::Sgd;
use axonal::rand::Rng;
use axonal::train::{fit, Fit};
use axonal::{Mode, Model};

#[path = "common/lenet.rs"]
mod lenet;
#[path = "common/peak.rs"]
mod peak;
#[path = "common/timing.rs"]
mod timing;
use lenet::Lenet;
use timing::{eval_pass, median, sgd_epoch};

/// Multiply-add flops of one LeNet-5 sample's forward pass: conv1 6·25·784, conv2
/// 16·150·100, dense 400·120 + 120·84 + 84·10, two flops each.
const LENET_FORWARD_FLOP: f64 =
    2.0 * (6.0 * 25.0 * 784.0 + 16.0 * 150.0 * 100.0 + 48_000.0 + 10_080.0 + 840.0);

/// Of one training step per sample: the forward, and twice it backward (weight and input
/// gradients) except the first layer's input gradient: about 2.26 MFLOP.
const LENET_TRAIN_FLOP: f64 = 3.0 * LENET_FORWARD_FLOP - 2.0 * 6.0 * 25.0 * 784.0;

axonal::network! {
    /// The MLP.
    pub Mlp {
        input 784;
        fc1: dense 784->128 relu init=he;
        fc2: dense 128->10;
        softmax_ce
    }
}

axonal::network! {
    /// The larger network of the issue.
    pub Big {
        input 784;
        fc1: dense 784->512 relu init=he;
        fc2: dense 512->512 relu init=he;
        fc3: dense 512->10;
        softmax_ce
    }
}

const SAMPLES: usize = 60_000;

/// Samples per second of one epoch of plain SGD over `x` in batches of `batch`.
fn epoch<M: Model<f32>>(net: &mut M, x: &Array2<f32>, labels: &[usize], batch: usize) -> f64 {
    let (time, steps) = sgd_epoch(net, x, labels, batch);
    (steps * batch) as f64 / time.as_secs_f64()
}

/// Samples per second of each of `epochs` epochs of [`axonal::train::fit`] with plain SGD in
/// batches of `batch`: the same step as [`epoch`], plus what `fit` adds (a shuffled
/// mini-batch gathered from the dataset's rows, the NaN check of the gradients, the epoch's
/// loss and accuracy).
fn fit_epochs(net: &mut Mlp<f32>, data: &Dataset<f32>, batch: usize, epochs: usize) -> Vec<f64> {
    let config = Fit::epochs(epochs).batch(batch).quiet();
    let history = fit(net, data, &mut Sgd::new(0.01), &config).expect("fit");
    history
        .epochs
        .iter()
        .map(|e| e.samples_per_second)
        .collect()
}

/// Samples per second of eval-mode forwards over `x` in batches of `batch`.
fn infer<M: Model<f32>>(net: &mut M, x: &Array2<f32>, batch: usize) -> f64 {
    let (time, batches) = eval_pass(net, x, batch);
    (batches * batch) as f64 / time.as_secs_f64()
}

/// Command-line options: `--quick` (fewer repetitions, smaller big-network epoch) and
/// `--only <text>` (only the figures whose key contains it, e.g. `train_b64_t2` to profile
/// one case).
struct Options {
    quick: bool,
    only: Option<String>,
}

impl Options {
    fn wants(&self, key: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| key.contains(only.as_str()))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let options = Options {
        quick: args.iter().any(|a| a == "--quick"),
        only: args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1).cloned()),
    };
    let quick = options.quick;
    let reps = if quick { 3 } else { 7 };
    // LeNet-5's epoch: all samples, or a multiple of both batch sizes with --quick (as
    // bench/peers.py's LENET_N).
    let lenet_n = if quick { 3_840 } else { SAMPLES };
    let rng = &mut axonal::seeded_rng(0);
    let x = Array2::from_shape_fn((SAMPLES, 784), |_| rng.random::<f32>());
    let labels: Vec<usize> = (0..SAMPLES).map(|_| rng.random_range(0..10)).collect();
    let data = Dataset::new(x.clone(), Targets::Labels(labels.clone())).expect("dataset");
    println!("RESULT isa {:?}", axonal::kernels::Isa::detect());
    let report = |key: String, runs: Vec<f64>| println!("RESULT {key} {:.0}", median(runs));
    // LeNet-5's figures also as GFLOP/s and as a share of the measured peak of the cores
    // they ran on.
    let lenet_wanted = options
        .only
        .as_ref()
        .is_none_or(|only| only.contains("lenet"));
    let fma_peak = lenet_wanted.then(peak::fma_peak).flatten();
    if let Some(peak) = fma_peak {
        println!("RESULT fma_peak {peak:.1}");
    }
    let report_lenet = |key: String, runs: Vec<f64>, flop: f64, threads: usize| {
        let samples = median(runs);
        println!("RESULT {key} {samples:.0}");
        let gflops = samples * flop / 1e9;
        println!("RESULT {key}_gflops {gflops:.1}");
        if let Some(peak) = fma_peak {
            println!(
                "RESULT {key}_peak_pct {:.1}",
                100.0 * gflops / (peak * threads as f64)
            );
        }
    };

    let all = axonal::kernels::threads();
    println!("RESULT threads {all}");
    for threads in [1, all] {
        axonal::kernels::set_threads(threads);
        for batch in [64, 256] {
            let key = format!("train_b{batch}_t{threads}");
            if options.wants(&key) {
                let mut net = Mlp::<f32>::seeded(1);
                epoch(&mut net, &x, &labels, batch); // warm-up
                report(
                    key,
                    (0..reps)
                        .map(|_| epoch(&mut net, &x, &labels, batch))
                        .collect(),
                );
            }
        }
        for batch in [64, 256] {
            let key = format!("fit_b{batch}_t{threads}");
            if options.wants(&key) {
                let mut net = Mlp::<f32>::seeded(1);
                let runs = fit_epochs(&mut net, &data, batch, reps + 1);
                report(key, runs[1..].to_vec()); // the first epoch warms up
            }
        }
        let key = format!("infer_b256_t{threads}");
        if options.wants(&key) {
            let mut net = Mlp::<f32>::seeded(1);
            infer(&mut net, &x, 256);
            report(key, (0..reps).map(|_| infer(&mut net, &x, 256)).collect());
        }
        for batch in [64, 256] {
            let key = format!("lenet_train_b{batch}_t{threads}");
            if options.wants(&key) {
                let mut net = Lenet::<f32>::seeded(1);
                let part = x.slice(s![..lenet_n, ..]).to_owned();
                epoch(&mut net, &part, &labels, batch); // warm-up
                let runs = (0..reps)
                    .map(|_| epoch(&mut net, &part, &labels, batch))
                    .collect();
                report_lenet(key, runs, LENET_TRAIN_FLOP, threads);
            }
        }
        let key = format!("lenet_infer_b256_t{threads}");
        if options.wants(&key) {
            let mut net = Lenet::<f32>::seeded(1);
            let part = x.slice(s![..lenet_n, ..]).to_owned();
            infer(&mut net, &part, 256);
            let runs = (0..reps).map(|_| infer(&mut net, &part, 256)).collect();
            report_lenet(key, runs, LENET_FORWARD_FLOP, threads);
        }
        let key = format!("big_train_b256_t{threads}");
        if options.wants(&key) {
            let mut big = Big::<f32>::seeded(1);
            let part = x.slice(s![..if quick { 10_240 } else { 20_480 }, ..]);
            let part = part.to_owned();
            epoch(&mut big, &part, &labels, 256);
            report(
                key,
                (0..reps)
                    .map(|_| epoch(&mut big, &part, &labels, 256))
                    .collect(),
            );
        }
    }

    // Latency of one sample: median over many single calls, in microseconds.
    if options.wants("latency_b1_us") {
        let net = &mut Mlp::<f32>::seeded(1);
        let one = x.slice(s![0..1, ..]);
        let lat: Vec<f64> = (0..20_000)
            .map(|_| {
                let t = Instant::now();
                black_box(net.forward(one, Mode::Eval).unwrap());
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        println!("RESULT latency_b1_us {:.3}", median(lat));
    }
}
