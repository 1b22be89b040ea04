//! Matrix transposes: a dense forward multiplies by Wᵀ, so every forward large enough for
//! the broadcast tiles transposes W, block by block as it goes (W changes every training
//! step).
//!
//! Whole 16 × 16 blocks are transposed in registers on AVX-512 (16 loads, 64 shuffles and
//! 16 stores per block, against 256 scalar loads and stores) and walked along the
//! destination; elsewhere, and at the edges, element by element. Transposing all of a
//! 512 × 784 W took 114 µs this way against 183 µs element by element; a 128 × 784 one,
//! which stays in L2, 16–17 µs against 19 µs, bound by memory either way.
#![allow(unsafe_code)]

use crate::float::Float;

/// Side of the blocks transposed at once.
const T: usize = 16;

/// Rows `js` of `srcᵀ` (columns `js` of `src`, which is `rows × cols` row-major) into `dst`
/// (`js.len() × rows` row-major).
///
/// # Panics
/// If `src` or `dst` is too short for the shapes.
pub(crate) fn transpose_columns<F: Float>(
    src: &[F],
    rows: usize,
    cols: usize,
    js: std::ops::Range<usize>,
    dst: &mut [F],
) {
    let width = js.len();
    assert!(
        js.end <= cols && src.len() >= rows * cols && dst.len() >= width * rows,
        "transpose: operands too short"
    );
    let (rows_full, width_full) = (rows - rows % T, width - width % T);
    if !blocks_avx512(src, rows, cols, js.start, width_full, rows_full, dst) {
        for i0 in (0..rows_full).step_by(T) {
            for d0 in (0..width_full).step_by(T) {
                let j0 = js.start + d0;
                let block: [&[F; T]; T] = std::array::from_fn(|r| {
                    src[(i0 + r) * cols + j0..][..T]
                        .try_into()
                        .expect("block in bounds")
                });
                for c in 0..T {
                    let out: &mut [F; T] = (&mut dst[(d0 + c) * rows + i0..][..T])
                        .try_into()
                        .expect("block in bounds");
                    *out = std::array::from_fn(|r| block[r][c]);
                }
            }
        }
    }
    for i in 0..rows {
        let d_start = if i < rows_full { width_full } else { 0 };
        for d in d_start..width {
            dst[d * rows + i] = src[i * cols + js.start + d];
        }
    }
}

/// The whole blocks of [`transpose_columns`] (rows `< rows_full`, columns `j0 ..
/// j0 + width_full`) in AVX-512 registers, if `F` is `f32` and the CPU has AVX-512F;
/// whether it did them.
#[allow(clippy::too_many_arguments)]
fn blocks_avx512<F: Float>(
    src: &[F],
    rows: usize,
    cols: usize,
    j0: usize,
    width_full: usize,
    rows_full: usize,
    dst: &mut [F],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        // The caller checked `j0 + width ≤ cols`, `src.len() ≥ rows·cols` and
        // `dst.len() ≥ width·rows`; the blocks stay in rows < rows_full ≤ rows and
        // columns < j0 + width_full.
        let (src, dst) = (src.as_ptr().cast::<f32>(), dst.as_mut_ptr().cast::<f32>());
        for d0 in (0..width_full).step_by(T) {
            for i0 in (0..rows_full).step_by(T) {
                // SAFETY: AVX-512F was detected; `F` is `f32` (equal `TypeId`s), so the
                // pointers address `f32`s; block rows `(i0 + r)·cols + j0 + d0 .. + 16`
                // (r < 16) lie in `src` and `(d0 + c)·rows + i0 .. + 16` (c < 16) in `dst`
                // by the bounds above, and `dst` is borrowed uniquely.
                unsafe {
                    block16(
                        src.add(i0 * cols + j0 + d0),
                        cols,
                        dst.add(d0 * rows + i0),
                        rows,
                    );
                }
            }
        }
        return true;
    }
    let _ = (src, rows, cols, j0, width_full, rows_full, dst);
    false
}

/// Transposes the 16 × 16 block at `src` (row stride `ss`) into `dst` (row stride `ds`).
///
/// # Safety
/// AVX-512F must be available; `src + r·ss .. + 16` must be readable and `dst + c·ds .. + 16`
/// writable (and not read meanwhile) for every `r, c < 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block16(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract covers every load and store; the rest is register work.
    unsafe {
        let r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * ss)));
        // Interleave pairs of rows by elements, then by element pairs, then by 128-bit
        // lanes twice: after the four stages register i holds column i.
        let t: [__m512; 16] = std::array::from_fn(|i| {
            let (a, b) = (r[i & !1], r[i | 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        let u: [__m512; 16] = std::array::from_fn(|i| {
            // Within each group of four: (0, 2) lo, (0, 2) hi, (1, 3) lo, (1, 3) hi.
            let g = i & !3;
            let (a, b) = match i % 4 {
                0 | 1 => (t[g], t[g + 2]),
                _ => (t[g + 1], t[g + 3]),
            };
            let (a, b) = (_mm512_castps_pd(a), _mm512_castps_pd(b));
            _mm512_castpd_ps(if i % 2 == 0 {
                _mm512_unpacklo_pd(a, b)
            } else {
                _mm512_unpackhi_pd(a, b)
            })
        });
        let v: [__m512; 16] = std::array::from_fn(|i| {
            // Within each group of eight: i < 4 pairs (i, i + 4) even lanes, else odd lanes.
            let g = i & !7;
            let q = i % 4;
            let (a, b) = (u[g + q], u[g + q + 4]);
            if i % 8 < 4 {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0xdd>(a, b)
            }
        });
        for i in 0..16 {
            let q = i % 8;
            let (a, b) = (v[q], v[q + 8]);
            let column = if i < 8 {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0xdd>(a, b)
            };
            _mm512_storeu_ps(dst.add(i * ds), column);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape class (whole blocks only, edges only, both; a column window starting
    /// off a block boundary) against the definition, in f32 (the AVX-512 blocks where
    /// available) and f64 (element by element).
    #[test]
    fn transposes_match_the_definition() {
        fn check<F: Float + std::fmt::Debug>(rows: usize, cols: usize, js: std::ops::Range<usize>) {
            let src: Vec<F> = (0..rows * cols).map(|i| F::from_f64(i as f64)).collect();
            let mut dst = vec![F::from_f64(-1.0); js.len() * rows];
            transpose_columns(&src, rows, cols, js.clone(), &mut dst);
            for d in 0..js.len() {
                for i in 0..rows {
                    assert_eq!(
                        dst[d * rows + i],
                        src[i * cols + js.start + d],
                        "{rows}x{cols} {js:?}"
                    );
                }
            }
        }
        for &(rows, cols, ref js) in &[
            (16, 16, 0..16),
            (128, 784, 0..784),
            (128, 784, 390..784),
            (37, 50, 3..47),
            (5, 7, 0..7),
            (48, 33, 1..33),
        ] {
            check::<f32>(rows, cols, js.clone());
            check::<f64>(rows, cols, js.clone());
        }
    }
}
