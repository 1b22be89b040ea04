//! GFLOP/s of each matrix product a dense layer runs, at the shapes of the two
//! networks (batch 256, f32, data warm in cache), on one thread and on all
//! of [`axonal::kernels::threads`], next to the measured peak of the core: a loop of
//! independent fused multiply-adds with no memory traffic. Also the time of one sample
//! through 784→128, which is bound by reading W from L2.
//!
//! Not a criterion bench (`harness = false`): prints `RESULT <key> <GFLOP/s>` lines, each
//! the best of several repetitions. `cargo bench -p axonal --bench kernels`.

use std::hint::black_box;
use std::time::Instant;

use axonal::kernels::{gemm_nn, gemm_nt, gemm_nt_packed, gemm_tn};
use axonal::ndarray::{Array1, Array2};

/// Seconds of the fastest of `reps` calls of `f`.
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn matrix(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 7 + j * 13) % 17) as f32 * 0.01)
}

/// GFLOP/s of the core's fused multiply-adds: 12 independent 16-lane chains (enough to
/// cover the latency of two FMA pipes), 2·16 FLOP each.
#[cfg(target_arch = "x86_64")]
fn fma_peak() -> Option<f64> {
    if !std::arch::is_x86_feature_detected!("avx512f") {
        return None;
    }
    #[target_feature(enable = "avx512f")]
    fn chains(iters: usize) -> f32 {
        use std::arch::x86_64::*;
        let mut acc = [_mm512_set1_ps(0.0); 12];
        let a = _mm512_set1_ps(black_box(0.999_999));
        let b = _mm512_set1_ps(black_box(1e-7));
        for _ in 0..iters {
            for v in &mut acc {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let sum = acc
            .iter()
            .fold(_mm512_set1_ps(0.0), |s, v| _mm512_add_ps(s, *v));
        _mm512_reduce_add_ps(sum)
    }
    let iters = 20_000_000;
    // SAFETY: AVX-512F was detected just above.
    let secs = best(5, || {
        black_box(unsafe { chains(black_box(iters)) });
    });
    Some((iters * 12 * 32) as f64 / secs / 1e9)
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_peak() -> Option<f64> {
    None
}

fn main() {
    if let Some(peak) = fma_peak() {
        println!("RESULT fma_peak {peak:.1}");
    }
    let all = axonal::kernels::threads();
    for threads in [1, all] {
        axonal::kernels::set_threads(threads);
        products(&format!("t{threads}"));
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
