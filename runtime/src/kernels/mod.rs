//! Matrix products and element-wise loops, all writing into preallocated buffers.
//!
//! This is the only module that cares about speed. ndarray's `general_mat_mul`
//! (matrixmultiply) allocates a packing buffer on every call — measured with a counting
//! global allocator: one allocation per call for every shape tried, from 2×2·2×1 to
//! 256×784·784×128, in f32 and f64 — which would break the "a steady-state training step
//! allocates nothing" guarantee. So the products `Dense` needs are written here, on
//! register-blocked micro-kernels (`gemm`, compiled for AVX-512, AVX2+FMA and a portable
//! baseline, chosen at run time):
//!
//! * [`gemm_nt_packed`]: the forward `x·Wᵀ + b`, transposing W block by block as it goes;
//! * [`gemm_nt`]: C = A·Bᵀ (+ bias) as dot products, for small batches and narrow layers;
//! * [`gemm_tn`]: C = Aᵀ·B — the weight gradient `gᵀ·x`;
//! * [`gemm_nn`]: C = A·B — the input gradient `g·W`.
//!
//! The convolution layers lower each sample to the same tiles in module `conv` (per-sample
//! `im2col`, split over threads by samples, with the weight gradient summed in groups of
//! samples fixed by the batch size alone).
//!
//! Products of a million operations and more are split over [`threads()`] (module
//! `threads`): by neurons (the forward's columns, the weight gradient's rows, the optimizer's
//! elements — the same cut, so W's rows stay with one thread) or by batch rows. Every output
//! element gets the same instructions in the same order whichever thread computes it, so
//! results are bit-identical between runs and between thread counts.
//! Views whose rows are not contiguous take a slower, equally exact fallback path.
//! Shape mismatches are broken invariants of the caller (generated code is shape-checked at
//! compile time), so they panic.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use crate::float::Float;

pub(crate) mod conv;
mod gemm;
mod threads;
mod transpose;

pub(crate) use transpose::transpose_columns;

pub use gemm::Isa;
pub use threads::{set_threads, threads, MAX_THREADS};

/// Products smaller than this many floating-point operations run on the calling thread
/// alone: about 6 µs of work at the kernels' speed, against about a microsecond to hand
/// out and collect a part.
const SPLIT_MIN_FLOP: usize = 1 << 20;

/// Most parts a product is split into (bounds the stack array of [`Parts::run`]).
const MAX_PARTS: usize = 16;

/// Output rows (or columns) a dense layer's products split at: a multiple of both the
/// 16-lane vector and the 6-row tile would be 48, too coarse for 128 neurons, so the
/// neuron dimension splits at multiples of 16 (whole vectors; a 6-row tile at a part's end
/// becomes a shorter one) and the batch dimension at multiples of 6 (whole row tiles).
const NEURON_ALIGN: usize = 16;

/// Elements per part boundary of an element-wise pass split by [`elementwise_parts`]: a
/// 64-byte cache line of `f32`, so no line is written by two threads.
const ELEMENT_ALIGN: usize = 16;

/// The cut of an element-wise pass over `len` elements costing about `flop_per_element`
/// each (memory traffic included). Parameters are split into halves (thirds, …) of their
/// elements, which for a weight matrix with an even split of rows are the neurons the
/// products split by.
pub(crate) fn elementwise_parts(len: usize, flop_per_element: usize) -> Parts {
    Parts::new(len, flop_per_element * len, ELEMENT_ALIGN)
}

/// What copying one element of a row fetched from memory costs, in floating-point operations
/// of the products: 800 KB of batch rows read in 54 µs on one core (0.27 ns per `f32`) is
/// about 64 multiply-add flops at 234 GFLOP/s.
const COPY_FLOP_PER_ELEMENT: usize = 64;

/// Copies rows `rows` of `src`, in that order, into `dst` (one row per index): how a training
/// loop gathers a shuffled mini-batch. Large batches are split over [`threads()`] with the same
/// cut by rows as the products split by batch rows, so each thread copies the rows it will
/// multiply and they arrive in its own cache.
///
/// # Panics
/// If `dst` does not have one row per index and the width of `src`, or an index is out of
/// range.
pub(crate) fn gather_rows<F: Float>(
    src: ArrayView2<'_, F>,
    rows: &[usize],
    dst: ArrayViewMut2<'_, F>,
) {
    assert_eq!(dst.dim(), (rows.len(), src.ncols()), "gather_rows: shapes");
    let work = COPY_FLOP_PER_ELEMENT * dst.len();
    Parts::new(rows.len(), work, BATCH_ALIGN).run(carver(dst, Axis(0)), |range, mut dst| {
        for (mut row, &i) in dst.rows_mut().into_iter().zip(&rows[range]) {
            let from = src.row(i);
            // `memcpy` where both rows are contiguous: 100 µs against ndarray's 162 µs for 256
            // shuffled MNIST-sized rows on one core.
            match (row.as_slice_mut(), from.as_slice()) {
                (Some(to), Some(from)) => to.copy_from_slice(from),
                _ => row.assign(&from),
            }
        }
    });
}

/// The batch dimension's split alignment; see [`NEURON_ALIGN`].
const BATCH_ALIGN: usize = 6;

/// How a dimension of length `len` is cut between threads: `parts` consecutive ranges
/// whose inner boundaries are multiples of `align`, as equal as that allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parts {
    len: usize,
    parts: usize,
    align: usize,
}

impl Parts {
    /// The cut of `len` for work of `flop` operations: one part below [`SPLIT_MIN_FLOP`],
    /// else [`threads()`] parts (fewer if `len` has fewer than that many `align` blocks).
    pub(crate) fn new(len: usize, flop: usize, align: usize) -> Parts {
        let parts = if flop < SPLIT_MIN_FLOP {
            1
        } else {
            threads().min(len / align).clamp(1, MAX_PARTS)
        };
        Parts { len, parts, align }
    }

    /// Number of parts.
    pub(crate) fn count(&self) -> usize {
        self.parts
    }

    /// The range of part `p`.
    pub(crate) fn range(&self, p: usize) -> std::ops::Range<usize> {
        let bound = |p: usize| {
            if p >= self.parts {
                self.len
            } else {
                (self.len * p / self.parts + self.align / 2) / self.align * self.align
            }
        };
        bound(p)..bound(p + 1)
    }

    /// Runs `f(range, piece)` for every part, part `p` on thread `p` (0 is the caller's).
    /// `carve` is called on this thread for the parts in order, and gives each part what it
    /// alone may write (say, its rows of the output, split off the rest).
    pub(crate) fn run<T: Send>(
        &self,
        mut carve: impl FnMut(std::ops::Range<usize>) -> T,
        f: impl Fn(std::ops::Range<usize>, T) + Sync,
    ) {
        if self.parts == 1 {
            f(0..self.len, carve(0..self.len));
            return;
        }
        // Each part takes its piece out of its slot: disjoint `&mut`s, no allocation.
        let slots: [std::sync::Mutex<Option<T>>; MAX_PARTS] =
            std::array::from_fn(|_| std::sync::Mutex::new(None));
        for (p, slot) in slots.iter().enumerate().take(self.parts) {
            *slot.lock().expect("slot lock") = Some(carve(self.range(p)));
        }
        threads::split(self.parts, &|p| {
            let piece = slots[p]
                .lock()
                .expect("slot lock")
                .take()
                .expect("each part runs once");
            f(self.range(p), piece);
        });
    }
}

/// Splits a mutable view into consecutive pieces along `axis`, one per call, for
/// [`Parts::run`].
pub(crate) fn carver<'a, F>(
    view: ArrayViewMut2<'a, F>,
    axis: Axis,
) -> impl FnMut(std::ops::Range<usize>) -> ArrayViewMut2<'a, F> {
    let mut rest = Some(view);
    move |range| {
        let (piece, tail) = rest
            .take()
            .expect("carved in order")
            .split_at(axis, range.len());
        rest = Some(tail);
        piece
    }
}

/// Splits a mutable slice into consecutive pieces of `per_index` elements per index of the
/// range, one per call, for [`Parts::run`].
pub(crate) fn slice_carver<'a, F>(
    slice: &'a mut [F],
    per_index: usize,
) -> impl FnMut(std::ops::Range<usize>) -> &'a mut [F] {
    let mut rest = Some(slice);
    move |range| {
        let (piece, tail) = rest
            .take()
            .expect("carved in order")
            .split_at_mut(range.len() * per_index);
        rest = Some(tail);
        piece
    }
}

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
        let isa = Isa::detect();
        if m == 1 {
            // One sample: split by neurons. Each thread then reads only its rows of B,
            // which bounds the time here (16 FLOP-equivalents per weight read from L2).
            let neurons = Parts::new(n, 16 * n * k, NEURON_ALIGN);
            neurons.run(slice_carver(c, 1), |js, c| {
                let b = &b[js.start * k..js.end * k];
                let bias = bias.map(|bias| &bias[js.clone()]);
                gemm::gemm_nt(isa, a, b, bias, c, 1, js.len(), k);
            });
            return;
        }
        let parts = Parts::new(m, 2 * m * n * k, BATCH_ALIGN);
        parts.run(slice_carver(c, n), |rows, c| {
            let a = &a[rows.start * k..rows.end * k];
            gemm::gemm_nt(isa, a, b, bias, c, rows.len(), n, k);
        });
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
/// [`PACK_COLUMNS`] columns, it runs the broadcast tiles on Wᵀ, transposing each 64 × 64
/// block of W into a buffer on the stack just before the tiles use it: a block of Wᵀ then
/// stays in L1 while every row block of x passes, where the dot tiles of [`gemm_nt`]
/// re-read all of W from L2 for every four rows. Otherwise it is [`gemm_nt`]. The choice
/// depends only on the shapes and the CPU, so results stay bit-identical between runs.
///
/// Split over threads by neurons (each thread transposes and uses only its own rows of W,
/// the rows whose gradient and update it computes too) while the batch is at most as large
/// as the layer, else by batch rows (each thread then transposes all of W for its rows).
///
/// # Panics
/// If the shapes do not fit.
pub fn gemm_nt_packed<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    bias: Option<ArrayView1<'_, F>>,
    c: ArrayViewMut2<'_, F>,
) {
    let ((m, k), (n, kb)) = (a.dim(), b.dim());
    let isa = Isa::detect();
    let fast = isa != Isa::Portable
        && std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && m >= PACK_MIN_ROWS
        && n % PACK_COLUMNS == 0
        && k == kb
        && c.dim() == (m, n)
        && c.is_standard_layout()
        && bias.as_ref().is_none_or(|bias| bias.len() == n);
    if fast {
        let bias_slice = bias.as_ref().map(|bias| bias.as_slice());
        if let (Some(a), Some(w), None | Some(Some(_))) = (a.as_slice(), b.as_slice(), bias_slice) {
            let bias = bias_slice.flatten();
            let flop = 2 * m * n * k;
            let (neurons, rows) = (
                Parts::new(n, flop, NEURON_ALIGN),
                Parts::new(m, flop, BATCH_ALIGN),
            );
            if m <= n || rows.count() == 1 {
                neurons.run(carver(c, Axis(1)), |js, c| {
                    let x = gemm::Strided {
                        data: a,
                        rs: k,
                        cs: 1,
                    };
                    let w = &w[js.start * k..js.end * k];
                    let bias = bias.map(|bias| &bias[js]);
                    gemm::gemm_bc_wt(isa, x, w, bias, c, k);
                });
            } else {
                rows.run(carver(c, Axis(0)), |is, c| {
                    let x = gemm::Strided {
                        data: &a[is.start * k..],
                        rs: k,
                        cs: 1,
                    };
                    gemm::gemm_bc_wt(isa, x, w, bias, c, k);
                });
            }
            return;
        }
    }
    gemm_nt(a, b, bias, c);
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
        let isa = Isa::detect();
        // Split by neurons (rows of dW) as the forward splits them, so each thread computes
        // the gradient rows of the weights it transposed.
        let parts = Parts::new(k, 2 * m * n * k, NEURON_ALIGN);
        let c = ArrayViewMut2::from_shape((k, n), c).expect("k × n");
        parts.run(carver(c, Axis(0)), |rows, c| {
            let a = gemm::Strided {
                data: &a[rows.start..],
                rs: 1,
                cs: k,
            };
            gemm::gemm_bc(isa, a, b, n, None, c, m);
        });
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
        let isa = Isa::detect();
        let parts = Parts::new(m, 2 * m * n * k, BATCH_ALIGN);
        let c = ArrayViewMut2::from_shape((m, n), c).expect("m × n");
        parts.run(carver(c, Axis(0)), |rows, c| {
            let a = gemm::Strided {
                data: &a[rows.start * k..],
                rs: k,
                cs: 1,
            };
            gemm::gemm_bc(isa, a, b, n, None, c, k);
        });
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
    // The best value kept in a local rather than re-read through the view (fit's accuracy
    // pass over a batch of 256 ten-class rows took 8 µs that way).
    let mut entries = row.iter().enumerate();
    let Some((_, &first)) = entries.next() else {
        return 0;
    };
    let (mut best, mut top) = (0, first);
    for (i, &v) in entries {
        if v > top {
            (best, top) = (i, v);
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
            (40, 64, 256), // B's rows 1 KiB apart: copied into panels first
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
                let view = |c| ArrayViewMut2::from_shape((m, n), c).unwrap();
                gemm::gemm_bc(
                    isa,
                    strided(&a_s, k, 1),
                    &b_s,
                    n,
                    Some(&bias),
                    view(&mut nn),
                    k,
                );
                gemm::gemm_bc(isa, strided(&g_s, 1, m), &b_s, n, None, view(&mut tn), k);
                // x·Wᵀ with W = b_t transposed block by block: the same bits as the
                // broadcast product on the whole transpose.
                let (mut wt, mut whole) = (vec![0.0; m * n], vec![0.0; m * n]);
                let a_rows = strided(&a_s, k, 1);
                gemm::gemm_bc_wt(isa, a_rows, &bt_s, Some(&bias), view(&mut wt), k);
                let bt_t: Vec<f32> = b_t.t().iter().copied().collect();
                gemm::gemm_bc(isa, a_rows, &bt_t, n, Some(&bias), view(&mut whole), k);
                assert_eq!(wt, whole, "{isa:?} {m}x{k}x{n}: transposed block by block");
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

    /// The products that read B's rows at a table of overlapping starts (a convolution's
    /// taps in its padded sample) give the bits of the same products on the rows copied
    /// out, on every instruction set, with several KC slabs and edge tiles.
    #[test]
    fn products_on_row_starts_match_the_copied_rows() {
        for &(m, k, n) in &[(6, 25, 96), (16, 150, 144), (5, 7, 40), (7, 70, 23)] {
            let data: Vec<f32> = (0..2 * k + n + 64)
                .map(|i| ((i * 37) % 101) as f32 * 0.01 - 0.5)
                .collect();
            // Overlapping, unordered starts.
            let starts: Vec<usize> = (0..k).map(|p| (p * 7) % (k + 13) + p % 3).collect();
            let copied: Vec<f32> = starts
                .iter()
                .flat_map(|&s| data[s..s + n].to_vec())
                .collect();
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 13) % 29) as f32 * 0.1 - 1.0)
                .collect();
            // nt: B rows of length `n` at the starts, `k` of them, against `m × n` A rows.
            let a_nt: Vec<f32> = (0..m * n)
                .map(|i| ((i * 11) % 23) as f32 * 0.1 - 1.0)
                .collect();
            for isa in [Isa::Portable].into_iter().chain(instruction_sets()) {
                let strided = gemm::Strided {
                    data: &a[..],
                    rs: k,
                    cs: 1,
                };
                let (mut on_rows, mut on_copy) = (vec![0.0f32; m * n], vec![0.0f32; m * n]);
                let view = |c| ArrayViewMut2::from_shape((m, n), c).unwrap();
                gemm::gemm_bc_rows(isa, strided, &data, &starts, view(&mut on_rows), k);
                gemm::gemm_bc(isa, strided, &copied, n, None, view(&mut on_copy), k);
                assert_eq!(on_rows, on_copy, "{isa:?} broadcast {m}x{k}x{n}");
                let (mut on_rows, mut on_copy) = (vec![0.0f32; m * k], vec![0.0f32; m * k]);
                gemm::gemm_nt_rows(isa, &a_nt, &data, &starts, &mut on_rows, m, k, n);
                gemm::gemm_nt(isa, &a_nt, &copied, None, &mut on_copy, m, k, n);
                assert_eq!(on_rows, on_copy, "{isa:?} dot {m}x{k}x{n}");
            }
        }
    }

    /// Gathered rows are the indexed rows, in order, whether the copy is split over threads
    /// (a large batch) or not, and from contiguous rows or strided ones.
    #[test]
    fn gather_rows_copies_the_indexed_rows_in_order() {
        let src = matrix(1000, 300, 0.7);
        let strided = src.t().to_owned();
        let strided = strided.t();
        let all = threads();
        set_threads(all.max(2));
        for count in [1, 7, 300] {
            let rows: Vec<usize> = (0..count).map(|r| (r * 379 + 11) % 1000).collect();
            let work = COPY_FLOP_PER_ELEMENT * count * 300;
            let parts = Parts::new(count, work, BATCH_ALIGN).count();
            assert_eq!(parts > 1, count == 300 && all.max(2) > 1, "{count} rows");
            for from in [src.view(), strided] {
                let mut dst = Array2::zeros((count, 300));
                gather_rows(from, &rows, dst.view_mut());
                for (r, &i) in rows.iter().enumerate() {
                    assert_eq!(dst.row(r), src.row(i), "row {r} of {count}");
                }
            }
        }
        set_threads(all);
    }

    /// Every product gives the same bits on one thread as on all of them, for shapes that
    /// split by neurons (batch ≤ width), by batch rows, and not at all; in f32 (fast
    /// kernels) and f64 (portable). The split also changes nothing against the naive loop.
    #[test]
    fn thread_count_does_not_change_a_bit() {
        fn all_products<F: Float>(m: usize, k: usize, n: usize) -> Vec<Vec<F>> {
            let f = |r: usize, c: usize, seed: f64| matrix(r, c, seed).mapv(|v| F::from_f64(v));
            let (x, w, g) = (f(m, k, 0.1), f(n, k, 0.2), f(m, n, 0.3));
            let bias = Array1::from_shape_fn(n, |j| F::from_f64(j as f64 * 0.1));
            let (mut fwd, mut dot_fwd) = (Array2::zeros((m, n)), Array2::zeros((m, n)));
            let (mut dw, mut dx) = (Array2::zeros((n, k)), Array2::zeros((m, k)));
            gemm_nt_packed(x.view(), w.view(), Some(bias.view()), fwd.view_mut());
            gemm_nt(x.view(), w.view(), Some(bias.view()), dot_fwd.view_mut());
            gemm_tn(g.view(), x.view(), dw.view_mut());
            gemm_nn(g.view(), w.view(), dx.view_mut());
            [fwd, dot_fwd, dw, dx]
                .into_iter()
                .map(|a| a.into_iter().collect())
                .collect()
        }
        let all = threads();
        for &(m, k, n) in &[
            (64, 784, 128),
            (256, 200, 96),
            (250, 130, 40),
            (8, 16, 16),
            (96, 512, 80), // packs B for the input and weight gradients
            (1, 784, 128), // one sample: split by neurons
        ] {
            set_threads(1);
            let (one32, one64) = (all_products::<f32>(m, k, n), all_products::<f64>(m, k, n));
            set_threads(all);
            assert_eq!(one32, all_products::<f32>(m, k, n), "f32 {m}x{k}x{n}");
            assert_eq!(one64, all_products::<f64>(m, k, n), "f64 {m}x{k}x{n}");
            let x = matrix(m, k, 0.1);
            let w_t = matrix(n, k, 0.2).t().to_owned();
            let bias = Array1::from_shape_fn(n, |j| j as f64 * 0.1);
            let expected = naive(&x, &w_t) + &bias;
            for got in [&one64[0], &one64[1]] {
                for (x, y) in got.iter().zip(&expected) {
                    assert!((x - y).abs() < 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
                }
            }
        }
    }

    /// The packed forward (W transposed block by block, then broadcast tiles with the bias)
    /// agrees with the dot tiles on both sides of `PACK_MIN_ROWS`, with and without whole
    /// 64-column blocks and 64-row slabs, split by neurons and by batch rows. (The
    /// transposes themselves are checked in `transpose.rs`.)
    #[test]
    fn packed_forward_matches_the_dot_tiles() {
        for &(m, k, n) in &[
            (PACK_MIN_ROWS, 784, 128),
            (37, 33, 32),
            (5, 17, 16),
            (64, 19, 3),
            (40, 7, 48),
            (100, 130, 80),
            (300, 100, 96),
        ] {
            let a = matrix(m, k, 0.4).mapv(|v| v as f32);
            let w = matrix(n, k, 0.8).mapv(|v| v as f32);
            let bias = Array1::from_shape_fn(n, |j| j as f32 * 0.5 - 2.0);
            let (mut dot, mut packed) = (Array2::zeros((m, n)), Array2::from_elem((m, n), 9.0));
            gemm_nt(a.view(), w.view(), Some(bias.view()), dot.view_mut());
            gemm_nt_packed(a.view(), w.view(), Some(bias.view()), packed.view_mut());
            for (x, y) in packed.iter().zip(&dot) {
                assert!(
                    (x - y).abs() <= 1e-5 * (k as f32).sqrt() * (1.0 + y.abs()),
                    "{m}x{k}x{n}: {x} vs {y}"
                );
            }
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
