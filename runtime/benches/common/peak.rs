//! The measured fused multiply-add peak of one core, shared by the benches (`kernels`,
//! `throughput`): a loop of independent multiply-add chains with no memory traffic, in the
//! widest vectors the CPU has (AVX-512, else AVX2 with FMA).

use std::hint::black_box;
use std::time::Instant;

/// Seconds of the fastest of `reps` calls of `f` (after one warm-up call).
pub fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// GFLOP/s of one core's `f32` fused multiply-adds: 12 independent chains (enough to cover
/// the latency of two FMA pipes) of 16-lane (AVX-512) or 8-lane (AVX2) vectors, 2 FLOP per
/// lane; `None` without either instruction set.
#[cfg(target_arch = "x86_64")]
pub fn fma_peak() -> Option<f64> {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx512f")]
    fn chains512(iters: usize) -> f32 {
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
    #[target_feature(enable = "avx2,fma")]
    fn chains256(iters: usize) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let a = _mm256_set1_ps(black_box(0.999_999));
        let b = _mm256_set1_ps(black_box(1e-7));
        for _ in 0..iters {
            for v in &mut acc {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let sum = acc
            .iter()
            .fold(_mm256_set1_ps(0.0), |s, v| _mm256_add_ps(s, *v));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds 8 f32, the 256 bits stored.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        lanes.iter().sum()
    }
    let iters = 20_000_000;
    let (secs, lanes) = if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was detected just above.
        let secs = best(5, || {
            black_box(unsafe { chains512(black_box(iters)) });
        });
        (secs, 16)
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: AVX2 and FMA were detected just above.
        let secs = best(5, || {
            black_box(unsafe { chains256(black_box(iters)) });
        });
        (secs, 8)
    } else {
        return None;
    };
    Some((iters * 12 * 2 * lanes) as f64 / secs / 1e9)
}

/// No vector peak is measured off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub fn fma_peak() -> Option<f64> {
    None
}
