//! GFLOP/s of each matrix product a dense layer runs, at the shapes of the two
//! networks (batch 256, f32, data warm in cache), on one thread and on all
//! of [`axonal::kernels::threads`], next to the measured peak of the core: a loop of
//! independent fused multiply-adds with no memory traffic. Also the time of one sample
//! through 784→128, which is bound by reading W from L2.
//!
//! Also LeNet-5's two convolutions at batch 64 (`conv1`: 1→6, 5×5, pad 2 on 28×28; `conv2`:
//! 6→16, 5×5 on 14×14), forward and backward, in µs and GFLOP/s, next to the time of the
//! matrix product alone of the other lowering (the whole batch unfolded into
//! `[N·OH·OW, CI·KH·KW]` times Wᵀ with `gemm_nt_packed`), which the layers do not use.
//!
//! Not a criterion bench (`harness = false`): prints `RESULT <key> <value>` lines, each
//! the best of several repetitions. `cargo bench -p axonal --bench kernels`.

use std::hint::black_box;

use axonal::activation::Identity;
use axonal::init::Init;
use axonal::kernels::{gemm_nn, gemm_nt, gemm_nt_packed, gemm_tn};
use axonal::layers::{Conv2d, Window2};
use axonal::ndarray::{Array1, Array2};
use axonal::rand::SeedableRng;
use axonal::Mode;

#[path = "common/peak.rs"]
mod peak;
use peak::{best, fma_peak};

fn matrix(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 7 + j * 13) % 17) as f32 * 0.01)
}

fn main() {
    if let Some(peak) = fma_peak() {
        println!("RESULT fma_peak {peak:.1}");
    }
    let all = axonal::kernels::threads();
    for threads in [1, all] {
        axonal::kernels::set_threads(threads);
        products(&format!("t{threads}"));
        convolutions(&format!("t{threads}"));
        // One sample through 784→128: bound by reading W from L2 (401 KB).
        let (x, w) = (matrix(1, 784), matrix(128, 784));
        let bias = Array1::from_elem(128, 0.5f32);
        let mut out = Array2::zeros((1, 128));
        let s = best(20_000, || {
            gemm_nt(x.view(), w.view(), Some(bias.view()), out.view_mut())
        });
        println!("RESULT one_sample_784x128_us_t{threads} {:.2}", s * 1e6);
        println!(
            "RESULT one_sample_784x128_GBps_t{threads} {:.1}",
            (128 * 784 * 4) as f64 / s / 1e9
        );
    }
}

/// GFLOP/s of every product at the networks' shapes, with the current thread count.
fn products(suffix: &str) {
    let reps = 200;
    let b = 256;
    // (name, inputs, outputs) of every dense layer in the two networks.
    for (name, k, n) in [
        ("784x128", 784, 128),
        ("128x10", 128, 10),
        ("784x512", 784, 512),
        ("512x512", 512, 512),
        ("512x10", 512, 10),
    ] {
        let x = matrix(b, k);
        let w = matrix(n, k);
        let bias = Array1::from_elem(n, 0.5f32);
        let g = matrix(b, n);
        let mut out = Array2::zeros((b, n));
        let mut dw = Array2::zeros((n, k));
        let mut dx = Array2::zeros((b, k));
        let flop = (2 * b * k * n) as f64;
        let gflops = |secs: f64| flop / secs / 1e9;

        let s = best(reps, || {
            gemm_nt_packed(x.view(), w.view(), Some(bias.view()), out.view_mut())
        });
        println!("RESULT forward_packed_{name}_{suffix} {:.1}", gflops(s));
        let wt = w.t().as_standard_layout().into_owned();
        let s = best(reps, || gemm_nn(x.view(), wt.view(), out.view_mut()));
        println!(
            "RESULT forward_given_transpose_{name}_{suffix} {:.1}",
            gflops(s)
        );
        let s = best(reps, || {
            gemm_nt(x.view(), w.view(), Some(bias.view()), out.view_mut())
        });
        println!("RESULT forward_dot_{name}_{suffix} {:.1}", gflops(s));
        let s = best(reps, || gemm_tn(g.view(), x.view(), dw.view_mut()));
        println!("RESULT weight_grad_{name}_{suffix} {:.1}", gflops(s));
        let s = best(reps, || gemm_nn(g.view(), w.view(), dx.view_mut()));
        println!("RESULT input_grad_{name}_{suffix} {:.1}", gflops(s));
        black_box((&out, &dw, &dx));
    }
}

/// LeNet-5's convolutions at batch 64: forward, backward with the input gradient, and the
/// product alone of the whole-batch lowering for comparison.
fn convolutions(suffix: &str) {
    let reps = 50;
    let b = 64;
    let rng = &mut axonal::rand::rngs::StdRng::seed_from_u64(0);
    let mut conv1 = Conv2d::<f32, 1, 28, 28, 6, 28, 28>::new(
        Window2::new([5, 5]).with_pad([2, 2]),
        Identity,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let mut conv2 = Conv2d::<f32, 6, 14, 14, 16, 10, 10>::new(
        Window2::new([5, 5]),
        Identity,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let x1 = matrix(b, 784);
    let g1 = matrix(b, 6 * 784);
    let x2 = matrix(b, 6 * 196);
    let g2 = matrix(b, 16 * 100);
    // (name, multiply-adds per sample, forward, backward, whole-batch product)
    let cases: [(&str, usize, usize, usize, usize); 2] = [
        ("conv1", 6 * 25 * 784, 784, 25, 6),
        ("conv2", 16 * 150 * 100, 100, 150, 16),
    ];
    for (name, macs, positions, patch, out_channels) in cases {
        let flop = (2 * macs * b) as f64;
        let (forward, backward) = if name == "conv1" {
            (
                best(reps, || conv1.forward(x1.view(), Mode::Train)),
                best(reps, || conv1.backward(x1.view(), g1.view(), true)),
            )
        } else {
            (
                best(reps, || conv2.forward(x2.view(), Mode::Train)),
                best(reps, || conv2.backward(x2.view(), g2.view(), true)),
            )
        };
        println!("RESULT {name}_forward_us_{suffix} {:.1}", forward * 1e6);
        println!(
            "RESULT {name}_forward_GFLOPs_{suffix} {:.1}",
            flop / forward / 1e9
        );
        // Backward: the weight and the input gradients, two products of the forward's size.
        println!("RESULT {name}_backward_us_{suffix} {:.1}", backward * 1e6);
        println!(
            "RESULT {name}_backward_GFLOPs_{suffix} {:.1}",
            2.0 * flop / backward / 1e9
        );
        let cols = matrix(b * positions, patch);
        let w = matrix(out_channels, patch);
        let bias = Array1::from_elem(out_channels, 0.5f32);
        let mut out = Array2::zeros((b * positions, out_channels));
        let s = best(reps, || {
            gemm_nt_packed(cols.view(), w.view(), Some(bias.view()), out.view_mut())
        });
        println!(
            "RESULT {name}_whole_batch_product_only_us_{suffix} {:.1}",
            s * 1e6
        );
        black_box((&out, conv1.output(), conv2.output()));
    }
}
