//! Matrix products and element-wise loops, all writing into preallocated buffers.
//!
//! This is the only module that cares about speed. ndarray's `general_mat_mul`
//! (matrixmultiply) allocates a packing buffer on every call — measured with a counting
//! global allocator: one allocation per call for every shape tried, from 2×2·2×1 to
//! 256×784·784×128, in f32 and f64 — which would break the "a steady-state training step
//! allocates nothing" guarantee. So the three products `Dense` needs are written here as
//! plain loops over contiguous rows that the compiler vectorises:
//!
//! * [`gemm_nt`]: C = A·Bᵀ (+ bias) — forward `x·Wᵀ + b`; each entry is a row-by-row dot product.
//! * [`gemm_tn`]: C = Aᵀ·B — weight gradient `gᵀ·x`; one contiguous AXPY per (row of C, sample).
//! * [`gemm_nn`]: C = A·B — input gradient `g·W`; i-k-j order, the j loop contiguous.
//!
//! Every loop has a fixed summation order, so results are bit-identical between runs.
//! Views whose rows are not contiguous take a slower, equally exact fallback path.
//! Shape mismatches are broken invariants of the caller (generated code is shape-checked at
//! compile time), so they panic.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Zip};

use crate::float::Float;

mod gemm;

pub use gemm::Isa;

/// Independent accumulators in [`dot`]: enough to fill a 256-bit register with `f32`
/// and to break the add dependency chain, so the loop vectorises without reassociation.
const LANES: usize = 8;

/// Dot product of two equally long vectors.
///
/// # Panics
/// If the lengths differ.
pub fn dot<F: Float>(a: ArrayView1<'_, F>, b: ArrayView1<'_, F>) -> F {
    assert_eq!(a.len(), b.len(), "dot: vectors of different lengths");
    match (a.as_slice(), b.as_slice()) {
        (Some(a), Some(b)) => dot_slices(a, b),
        _ => Zip::from(&a)
            .and(&b)
            .fold(F::zero(), |acc, &x, &y| acc + x * y),
    }
}

/// Dot product of two slices of the same length, with [`LANES`] partial sums.
fn dot_slices<F: Float>(a: &[F], b: &[F]) -> F {
    let mut acc = [F::zero(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: F = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&x, &y)| x * y)
        .sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for ((s, &x), &y) in acc.iter_mut().zip(ca).zip(cb) {
            *s += x * y;
        }
    }
    acc.iter().copied().sum::<F>() + tail
}

/// y += alpha · x, element-wise.
///
/// # Panics
/// If the lengths differ.
pub fn axpy<F: Float>(alpha: F, x: ArrayView1<'_, F>, mut y: ArrayViewMut1<'_, F>) {
    assert_eq!(x.len(), y.len(), "axpy: vectors of different lengths");
    match (x.as_slice(), y.as_slice_mut()) {
        (Some(x), Some(y)) => axpy_slices(alpha, x, y),
        _ => Zip::from(&mut y).and(&x).for_each(|y, &x| *y += alpha * x),
    }
}

/// y += alpha · x on slices; what optimizers use on parameters.
///
/// # Panics
/// If the lengths differ.
pub fn axpy_slices<F: Float>(alpha: F, x: &[F], y: &mut [F]) {
    assert_eq!(x.len(), y.len(), "axpy: slices of different lengths");
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// C = A·Bᵀ, plus `bias` added to every row if given. A is m×k, B is n×k, C is m×n.
///
/// Dense forward: `pre = x·Wᵀ + b` with W in PyTorch's `[out, in]` layout.
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_nt<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    bias: Option<ArrayView1<'_, F>>,
    mut c: ArrayViewMut2<'_, F>,
) {
    let ((m, k), (n, kb)) = (a.dim(), b.dim());
    assert!(
        k == kb && c.dim() == (m, n),
        "gemm_nt: A {m}x{k} · Bᵀ (B {n}x{kb}) does not fit C {:?}",
        c.dim()
    );
    if let Some(bias) = &bias {
        assert_eq!(bias.len(), n, "gemm_nt: bias length");
    }
    let bias_slice = bias.as_ref().map(|bias| bias.as_slice());
    if let (Some(a), Some(b), Some(c), None | Some(Some(_))) =
        (a.as_slice(), b.as_slice(), c.as_slice_mut(), bias_slice)
    {
        let bias = bias_slice.flatten();
        gemm::gemm_nt(Isa::detect(), a, b, bias, c, m, n, k);
        return;
    }
    for (a_row, mut c_row) in a.rows().into_iter().zip(c.rows_mut()) {
        for (j, (b_row, c_ij)) in b.rows().into_iter().zip(c_row.iter_mut()).enumerate() {
            let init = bias.as_ref().map_or(F::zero(), |bias| bias[j]);
            *c_ij = init + dot(a_row, b_row);
        }
    }
}

/// Rows of A from which [`gemm_nt_packed`] transposes B first. Below it the transpose
/// (about 20 µs for a 128×784 f32 weight) costs more than it saves. Measured on the
/// 784→128 forward (one thread, AVX-512, loaded machine): 64 rows 156 µs packed (+20 µs
/// transpose) vs 182 µs with dot tiles, 256 rows 551 µs (+20) vs 802 µs; a single sample
/// 2.9 µs (+20) vs 5 µs.
pub const PACK_MIN_ROWS: usize = 32;

/// Columns of C (rows of B) must be a multiple of this for [`gemm_nt_packed`] to pack: the
/// broadcast tiles are 16 lanes wide and leave other columns to scalar loops (a 10-class
/// output layer would run entirely in them).
pub const PACK_COLUMNS: usize = 16;

/// C = A·Bᵀ + bias, as [`gemm_nt`], for a dense forward (A = x, B = W in `[out, in]` layout).
///
/// With the fast `f32` kernels, at least [`PACK_MIN_ROWS`] rows and a multiple of
/// [`PACK_COLUMNS`] columns, B is first transposed
/// into `packed` (grown only when too small, so a steady-state forward allocates nothing)
/// and the product runs as broadcast tiles over contiguous rows of Bᵀ, a KC-row panel of
/// which stays in L1 while every row block of A passes; the dot tiles of [`gemm_nt`]
/// instead re-read all of B from L2 for every four rows of A. Otherwise it is [`gemm_nt`].
/// The choice depends only on the shapes and the CPU, so results stay bit-identical
/// between runs.
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_nt_packed<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    bias: Option<ArrayView1<'_, F>>,
    mut c: ArrayViewMut2<'_, F>,
    packed: &mut Vec<F>,
) {
    let ((m, k), (n, kb)) = (a.dim(), b.dim());
    let isa = Isa::detect();
    let fast = isa != Isa::Portable
        && std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && m >= PACK_MIN_ROWS
        && n % PACK_COLUMNS == 0
        && k == kb
        && c.dim() == (m, n)
        && bias.as_ref().is_none_or(|bias| bias.len() == n);
    if fast {
        let bias_slice = bias.as_ref().map(|bias| bias.as_slice());
        if let (Some(a), Some(b), Some(c), None | Some(Some(_))) =
            (a.as_slice(), b.as_slice(), c.as_slice_mut(), bias_slice)
        {
            if packed.len() < n * k {
                packed.resize(n * k, F::zero());
            }
            let bt = &mut packed[..n * k];
            transpose(b, n, k, bt);
            let a = gemm::Strided {
                data: a,
                rs: k,
                cs: 1,
            };
            gemm::gemm_bc(isa, a, bt, bias_slice.flatten(), c, m, n, k);
            return;
        }
    }
    gemm_nt(a, b, bias, c);
}

/// `dst = srcᵀ`: `src` is `rows × cols` row-major, `dst` `cols × rows`. Whole 16 × 16
/// blocks go through fixed-size arrays (no bounds checks inside; rows read and written stay
/// in L1), the edges element by element.
fn transpose<F: Copy>(src: &[F], rows: usize, cols: usize, dst: &mut [F]) {
    const T: usize = 16;
    assert!(src.len() == rows * cols && dst.len() == rows * cols);
    let (rows_full, cols_full) = (rows - rows % T, cols - cols % T);
    for i0 in (0..rows_full).step_by(T) {
        for j0 in (0..cols_full).step_by(T) {
            let block: [&[F; T]; T] = std::array::from_fn(|r| {
                src[(i0 + r) * cols + j0..][..T]
                    .try_into()
                    .expect("block in bounds")
            });
            for c in 0..T {
                let out: &mut [F; T] = (&mut dst[(j0 + c) * rows + i0..][..T])
                    .try_into()
                    .expect("block in bounds");
                *out = std::array::from_fn(|r| block[r][c]);
            }
        }
    }
    for i in 0..rows {
        let j_start = if i < rows_full { cols_full } else { 0 };
        for j in j_start..cols {
            dst[j * rows + i] = src[i * cols + j];
        }
    }
}

/// C = Aᵀ·B. A is m×k, B is m×n, C is k×n.
///
/// Dense weight gradient: `dW = gᵀ·x` (g is batch×out, x is batch×in). Each row of C is
/// built by one AXPY per sample, so it stays in cache while the batch streams past.
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_tn<F: Float>(a: ArrayView2<'_, F>, b: ArrayView2<'_, F>, mut c: ArrayViewMut2<'_, F>) {
    let ((m, k), (mb, n)) = (a.dim(), b.dim());
    assert!(
        m == mb && c.dim() == (k, n),
        "gemm_tn: Aᵀ (A {m}x{k}) · B {mb}x{n} does not fit C {:?}",
        c.dim()
    );
    if let (Some(a), Some(b), Some(c)) = (a.as_slice(), b.as_slice(), c.as_slice_mut()) {
        let a = gemm::Strided {
            data: a,
            rs: 1,
            cs: k,
        };
        gemm::gemm_bc(Isa::detect(), a, b, None, c, k, n, m);
        return;
    }
    for (a_col, mut c_row) in a.columns().into_iter().zip(c.rows_mut()) {
        c_row.fill(F::zero());
        for (&a_ip, b_row) in a_col.iter().zip(b.rows()) {
            axpy(a_ip, b_row, c_row.view_mut());
        }
    }
}

/// C = A·B. A is m×k, B is k×n, C is m×n.
///
/// Dense input gradient: `dx = g·W`. i-k-j order: each row of C accumulates contiguous
/// rows of B.
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_nn<F: Float>(a: ArrayView2<'_, F>, b: ArrayView2<'_, F>, mut c: ArrayViewMut2<'_, F>) {
    let ((m, k), (kb, n)) = (a.dim(), b.dim());
    assert!(
        k == kb && c.dim() == (m, n),
        "gemm_nn: A {m}x{k} · B {kb}x{n} does not fit C {:?}",
        c.dim()
    );
    if let (Some(a), Some(b), Some(c)) = (a.as_slice(), b.as_slice(), c.as_slice_mut()) {
        let a = gemm::Strided {
            data: a,
            rs: k,
            cs: 1,
        };
        gemm::gemm_bc(Isa::detect(), a, b, None, c, m, n, k);
        return;
    }
    for (a_row, mut c_row) in a.rows().into_iter().zip(c.rows_mut()) {
        c_row.fill(F::zero());
        for (&a_ip, b_row) in a_row.iter().zip(b.rows()) {
            axpy(a_ip, b_row, c_row.view_mut());
        }
    }
}

/// `out[j] = Σᵢ a[i, j]`: the bias gradient of a dense layer.
///
/// # Panics
/// If `out` is not as long as a row of `a`.
pub fn column_sums<F: Float>(a: ArrayView2<'_, F>, mut out: ArrayViewMut1<'_, F>) {
    assert_eq!(a.ncols(), out.len(), "column_sums: output length");
    out.fill(F::zero());
    for row in a.rows() {
        axpy(F::one(), row, out.view_mut());
    }
}

/// Replaces a row by its softmax, subtracting the row's maximum first so that large
/// logits (±1000) neither overflow nor lose all precision.
pub fn softmax_in_place<F: Float>(mut row: ArrayViewMut1<'_, F>) {
    let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
    row.mapv_inplace(|v| (v - max).exp());
    let sum = row.sum();
    row.mapv_inplace(|v| v / sum);
}

/// ln Σ exp(row), computed stably as max + ln Σ exp(row − max).
pub fn log_sum_exp<F: Float>(row: ArrayView1<'_, F>) -> F {
    let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
    if max.is_infinite() {
        return max;
    }
    max + row.fold(F::zero(), |s, &v| s + (v - max).exp()).ln()
}

/// Index of the largest entry of a row (the first one on ties); the predicted class.
pub fn argmax<F: Float>(row: ArrayView1<'_, F>) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1, Array2};

    /// Textbook triple loop, the reference the kernels are compared with.
    fn naive(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
        let (m, k) = a.dim();
        let n = b.ncols();
        Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|p| a[[i, p]] * b[[p, j]]).sum())
    }

    fn matrix(rows: usize, cols: usize, seed: f64) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * cols + j) as f64 * 0.37 + seed).sin()
        })
    }

    fn assert_close(a: &Array2<f64>, b: &Array2<f64>) {
        assert_eq!(a.dim(), b.dim());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn known_product() {
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let b = array![[5.0, 6.0], [7.0, 8.0]];
        let mut c = Array2::zeros((2, 2));
        gemm_nn(a.view(), b.view(), c.view_mut());
        assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
        gemm_nt(
            a.view(),
            b.view(),
            Some(array![1.0, -1.0].view()),
            c.view_mut(),
        );
        assert_eq!(c, array![[18.0, 22.0], [40.0, 52.0]]);
        gemm_tn(a.view(), b.view(), c.view_mut());
        assert_eq!(c, array![[26.0, 30.0], [38.0, 44.0]]);
    }

    #[test]
    fn all_three_products_match_the_naive_loop() {
        // Sizes straddle the 8-lane chunking of `dot` (k = 1, 7, 8, 9, 19).
        for &(m, k, n) in &[(1, 1, 1), (3, 7, 2), (5, 8, 4), (4, 9, 3), (6, 19, 5)] {
            let a = matrix(m, k, 0.1);
            let b = matrix(k, n, 0.7);
            let bt = b.t().as_standard_layout().into_owned();
            let expected = naive(&a, &b);

            let mut c = Array2::from_elem((m, n), f64::NAN);
            gemm_nn(a.view(), b.view(), c.view_mut());
            assert_close(&c, &expected);

            let bias = Array1::from_shape_fn(n, |j| j as f64 - 0.5);
            c.fill(f64::NAN);
            gemm_nt(a.view(), bt.view(), Some(bias.view()), c.view_mut());
            assert_close(&c, &(&expected + &bias));

            let at = a.t().as_standard_layout().into_owned();
            c.fill(f64::NAN);
            gemm_tn(at.view(), b.view(), c.view_mut());
            assert_close(&c, &expected);

            // Non-contiguous operands take the fallback path and agree.
            c.fill(f64::NAN);
            gemm_nn(at.t(), bt.t(), c.view_mut());
            assert_close(&c, &expected);
            c.fill(f64::NAN);
            gemm_nt(at.t(), b.t(), None, c.view_mut());
            assert_close(&c, &expected);
        }
    }

    /// Every instruction set this CPU has, the portable path first.
    fn instruction_sets() -> Vec<Isa> {
        [Isa::Portable, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|isa| isa.is_available())
            .collect()
    }

    /// The fast paths (AVX-512, AVX2) agree with the portable path, which runs explicitly
    /// here, on f32 shapes that hit every edge of the tiles (rows and columns that are not
    /// multiples of the tile, k below and above one vector, several KC slabs); and the same
    /// call twice gives the same bits.
    #[test]
    fn fast_paths_match_the_portable_path() {
        let f32m = |r: usize, c: usize, seed: f64| matrix(r, c, seed).mapv(|v| v as f32);
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 7, 2),
            (5, 17, 10),
            (13, 784, 37),
            (64, 300, 128),
            (9, 129, 130),
        ] {
            let a = f32m(m, k, 0.3);
            let b_t = f32m(n, k, 0.9); // n × k
            let b = f32m(k, n, 0.5); // k × n
            let g = f32m(k, m, 0.2); // k × m: C = gᵀ·b is m × n
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.25 - 1.0).collect();
            let run = |isa: Isa| {
                let (mut nt, mut nn, mut tn) =
                    (vec![0.0; m * n], vec![0.0; m * n], vec![0.0; m * n]);
                let slice = |x: &Array2<f32>| x.as_slice().unwrap().to_vec();
                let (a_s, bt_s, b_s, g_s) = (slice(&a), slice(&b_t), slice(&b), slice(&g));
                gemm::gemm_nt(isa, &a_s, &bt_s, Some(&bias), &mut nt, m, n, k);
                let strided = |data, rs, cs| gemm::Strided { data, rs, cs };
                gemm::gemm_bc(
                    isa,
                    strided(&a_s, k, 1),
                    &b_s,
                    Some(&bias),
                    &mut nn,
                    m,
                    n,
                    k,
                );
                gemm::gemm_bc(isa, strided(&g_s, 1, m), &b_s, None, &mut tn, m, n, k);
                (nt, nn, tn)
            };
            let reference = run(Isa::Portable);
            // The broadcast product with a bias (the packed forward `x·Wᵀ + b`).
            let expected_nn = naive(&a.mapv(f64::from), &b.mapv(f64::from))
                + Array1::from_shape_fn(n, |j| f64::from(bias[j]));
            for (x, y) in reference.1.iter().zip(&expected_nn) {
                assert!(
                    (f64::from(*x) - y).abs() < 1e-4 * (1.0 + y.abs()),
                    "portable {x} vs {y}"
                );
            }
            for isa in instruction_sets() {
                let fast = run(isa);
                assert_eq!(fast, run(isa), "{isa:?} is not deterministic");
                for (f, p) in [
                    (&fast.0, &reference.0),
                    (&fast.1, &reference.1),
                    (&fast.2, &reference.2),
                ] {
                    for (x, y) in f.iter().zip(p.iter()) {
                        let tol = 1e-5 * (k as f32).sqrt() * (1.0 + y.abs());
                        assert!((x - y).abs() <= tol, "{isa:?} {m}x{k}x{n}: {x} vs {y}");
                    }
                }
            }
        }
    }

    /// The packed forward (transpose, then broadcast tiles with the bias) agrees with the
    /// dot tiles on both sides of `PACK_MIN_ROWS`, reuses its buffer, and the transpose
    /// is exact on shapes with and without whole 16 × 16 blocks.
    #[test]
    fn packed_forward_matches_the_dot_tiles() {
        for &(m, k, n) in &[
            (PACK_MIN_ROWS, 784, 128),
            (37, 33, 32),
            (5, 17, 16),
            (64, 19, 3),
            (40, 7, 48),
        ] {
            let a = matrix(m, k, 0.4).mapv(|v| v as f32);
            let w = matrix(n, k, 0.8).mapv(|v| v as f32);
            let bias = Array1::from_shape_fn(n, |j| j as f32 * 0.5 - 2.0);
            let (mut dot, mut packed) = (Array2::zeros((m, n)), Array2::from_elem((m, n), 9.0));
            gemm_nt(a.view(), w.view(), Some(bias.view()), dot.view_mut());
            let mut buffer = vec![0.0; 1];
            gemm_nt_packed(
                a.view(),
                w.view(),
                Some(bias.view()),
                packed.view_mut(),
                &mut buffer,
            );
            for (x, y) in packed.iter().zip(&dot) {
                assert!(
                    (x - y).abs() <= 1e-5 * (k as f32).sqrt() * (1.0 + y.abs()),
                    "{m}x{k}x{n}: {x} vs {y}"
                );
            }
            let mut wt = vec![0.0; n * k];
            transpose(w.as_slice().unwrap(), n, k, &mut wt);
            assert_eq!(wt, w.t().iter().copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn column_sums_and_argmax() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut out = Array1::zeros(3);
        column_sums(a.view(), out.view_mut());
        assert_eq!(out, array![5.0, 7.0, 9.0]);
        assert_eq!(argmax(array![0.1, 0.7, 0.7, -1.0].view()), 1);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        let v = array![1000.0f64, 1000.0];
        assert!((log_sum_exp(v.view()) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        let v = array![-1000.0f64, 0.0];
        assert!((log_sum_exp(v.view()) - 0.0).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "gemm_nn")]
    fn shape_mismatch_panics() {
        let a = Array2::<f32>::zeros((2, 3));
        let mut c = Array2::<f32>::zeros((2, 2));
        gemm_nn(a.view(), a.view(), c.view_mut());
    }
}
