//! The joins of blocks: [`Sum`] (residual blocks, `sum` branches), [`Concat`] (`concat`
//! branches), and [`Fork`], the gradient of a value that several parts of a block read.
//!
//! A block's parts (a residual block's body and shortcut, or its branches) each turn the
//! block's input into a `[batch, width]` matrix; a join combines them sample by sample
//! (row by row) into the block's output. Neither join keeps anything for backward: the
//! gradient of a sum is the incoming gradient itself, for every part, and that of a
//! concatenation is, for each part, its own columns of the incoming gradient
//! ([`Concat::part`], a view). The block's input was read by every part, so its gradient
//! is the sum of the parts' input gradients: [`Fork`].
//!
//! All three are element-wise copies and sums, split over threads by rows for large
//! batches like the activations. Each element gets the same operations in the same order
//! (the parts' order) whichever thread computes it, so results are bit-identical for every
//! thread count.

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

use crate::float::Float;
use crate::kernels;
use crate::scratch::Scratch;

/// What one element costs per part read, in floating-point operations of the products: a
/// copy or an add, dominated by memory traffic, counted as the activations count theirs.
const FLOP_PER_ELEMENT: usize = 16;

/// The element-wise sum of a block's parts, `out = parts[0] + parts[1] + …`, `N` columns:
/// the join of a residual block (body + shortcut) and of `sum` branches.
///
/// It has no parameters and keeps nothing for backward: d loss / d parts\[k\] is the
/// incoming gradient d loss / d out, unchanged, for every part, so generated code passes
/// that gradient to each part's last layer.
///
/// A residual block `y = relu(fc(x) + x)`, forward and backward:
///
/// ```
/// use axonal::activation::{Identity, Relu};
/// use axonal::init::Init;
/// use axonal::layers::{Activation, Dense, Fork, Sum};
/// use axonal::ndarray::array;
/// use axonal::Mode;
///
/// let rng = &mut axonal::seeded_rng(0);
/// let weights = Init::Values(&[1.0, 0.0, 0.0, -1.0]);
/// let mut fc = Dense::<f64, 2, 2>::new(Identity, weights, Init::Zeros, rng);
/// let mut sum = Sum::<f64, 2>::new();
/// let mut act = Activation::<f64, Relu, 2>::new(Relu);
/// let mut fork = Fork::<f64, 2>::new();
///
/// let input = array![[1.0, 2.0]];
/// let x = input.view();
/// fc.forward(x, Mode::Train);
/// // `x.view()`, not `x`: see `forward`.
/// sum.forward(&[fc.output(), x.view()]);
/// act.forward(sum.output(), Mode::Train);
/// assert_eq!(act.output(), array![[2.0, 0.0]]); // relu([1 + 1, −2 + 2])
///
/// let grad = array![[1.0, 1.0]];
/// act.backward(sum.output(), grad.view(), true); // [1, 0]: relu'(0) = 0
/// // The sum's gradient goes unchanged to the body and to the shortcut; the fork adds the
/// // gradients of x through both.
/// fc.backward(x, act.grad_input(), true); // [1, 0]·W = [1, 0]
/// fork.backward(&[fc.grad_input(), act.grad_input()]);
/// assert_eq!(fork.grad_input(), array![[2.0, 0.0]]);
/// ```
#[derive(Clone, Debug)]
pub struct Sum<F: Float, const N: usize> {
    /// The sum of the last forward.
    out: Scratch<F>,
}

impl<F: Float, const N: usize> Default for Sum<F, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float, const N: usize> Sum<F, N> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// The join.
    pub fn new() -> Self {
        Self {
            out: Scratch::new(N),
        }
    }

    /// out = parts\[0\] + parts\[1\] + …, added in that order (one part is copied).
    ///
    /// The parts share one lifetime, since ndarray's views are invariant in theirs: a view
    /// the caller was given (a block's input `x` as the identity shortcut) goes in as
    /// `x.view()`, a view borrowed as briefly as the layers' outputs beside it.
    ///
    /// # Panics
    /// If there are no parts, a part is not `N` wide, or the parts' row counts differ (broken
    /// invariants of generated code).
    pub fn forward(&mut self, parts: &[ArrayView2<'_, F>]) {
        let rows = check_parts("Sum", "part", parts, N);
        self.out.resize(rows);
        sum_into(parts, self.out.view_mut());
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.out.rows()
    }

    /// The sum into a new array; the join's buffer is left as it is.
    ///
    /// # Panics
    /// As [`Sum::forward`].
    pub fn predict(&self, parts: &[ArrayView2<'_, F>]) -> Array2<F> {
        let rows = check_parts("Sum", "part", parts, N);
        let mut out = Array2::zeros((rows, N));
        sum_into(parts, out.view_mut());
        out
    }
}

/// The concatenation of a block's parts, `N` columns in all: per sample, the parts' rows one
/// after the other. For values of shape `[C, H, W]` (or `[C, L]`) stored in NCHW order and
/// sharing `H, W`, this is PyTorch's `torch.cat(parts, dim=1)`, along channels; for vectors,
/// along features. The join of `concat` branches.
///
/// It has no parameters and keeps nothing for backward: d loss / d parts\[k\] is part `k`'s
/// columns of d loss / d out, which [`Concat::part`] borrows without a copy.
#[derive(Clone, Debug)]
pub struct Concat<F: Float, const N: usize> {
    /// The concatenation of the last forward.
    out: Scratch<F>,
}

impl<F: Float, const N: usize> Default for Concat<F, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float, const N: usize> Concat<F, N> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// The join.
    pub fn new() -> Self {
        Self {
            out: Scratch::new(N),
        }
    }

    /// out\[n\] = parts\[0\]\[n\] ‖ parts\[1\]\[n\] ‖ … for every sample `n`. A view the
    /// caller was given goes in as `x.view()`, as for [`Sum::forward`].
    ///
    /// # Panics
    /// If there are no parts, their widths do not add up to `N`, or their row counts differ
    /// (broken invariants of generated code).
    pub fn forward(&mut self, parts: &[ArrayView2<'_, F>]) {
        let rows = check_concat::<F, N>(parts);
        self.out.resize(rows);
        concat_into(parts, self.out.view_mut());
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.out.rows()
    }

    /// The concatenation into a new array; the join's buffer is left as it is.
    ///
    /// # Panics
    /// As [`Concat::forward`].
    pub fn predict(&self, parts: &[ArrayView2<'_, F>]) -> Array2<F> {
        let rows = check_concat::<F, N>(parts);
        let mut out = Array2::zeros((rows, N));
        concat_into(parts, out.view_mut());
        out
    }

    /// The columns `start .. start + width` of `grad` = d loss / d out: d loss / d part for
    /// the part that forward placed there (its `start` is the widths of the parts before it
    /// added up). A view of `grad`, not a copy.
    ///
    /// # Panics
    /// If `grad` is not `N` wide, or the columns do not fit in `N`.
    pub fn part<'a>(grad: ArrayView2<'a, F>, start: usize, width: usize) -> ArrayView2<'a, F> {
        assert!(
            grad.ncols() == N,
            "Concat: the gradient has {} columns, expected {N}",
            grad.ncols()
        );
        let end = start.checked_add(width).filter(|&end| end <= N);
        let end = end.unwrap_or_else(|| {
            panic!(
                "Concat: part columns {start}..{} do not fit in {N}",
                start.saturating_add(width)
            )
        });
        grad.slice_move(s![.., start..end])
    }
}

/// The gradient of a value read by several parts of a block (the input of a residual block
/// feeds its body and its shortcut; that of branches feeds every branch): grad_input =
/// grads\[0\] + grads\[1\] + …, the parts' input gradients, `N` columns.
#[derive(Clone, Debug)]
pub struct Fork<F: Float, const N: usize> {
    /// d loss / d input of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, const N: usize> Default for Fork<F, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float, const N: usize> Fork<F, N> {
    /// The fork.
    pub fn new() -> Self {
        Self {
            grad_input: Scratch::new(N),
        }
    }

    /// grad_input = grads\[0\] + grads\[1\] + …, added in that order (one gradient is copied).
    /// A view the caller was given (the gradient of a network's output, passed unchanged
    /// through a final sum) goes in as `grad.view()`, as for [`Sum::forward`].
    ///
    /// # Panics
    /// If there are no gradients, one is not `N` wide, or their row counts differ (broken
    /// invariants of generated code).
    pub fn backward(&mut self, grads: &[ArrayView2<'_, F>]) {
        let rows = check_parts("Fork", "gradient", grads, N);
        self.grad_input.resize(rows);
        sum_into(grads, self.grad_input.view_mut());
    }

    /// d loss / d input of the last backward.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_input.view()
    }

    /// Rows of the last backward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.grad_input.rows()
    }
}

/// The row count shared by `parts`, each `width` wide; `layer` and `what` name them in the
/// panic messages.
fn check_parts<F>(layer: &str, what: &str, parts: &[ArrayView2<'_, F>], width: usize) -> usize {
    let rows = same_rows(layer, what, parts);
    for (k, part) in parts.iter().enumerate() {
        assert!(
            part.ncols() == width,
            "{layer}: {what} {k} has {} columns, expected {width}",
            part.ncols()
        );
    }
    rows
}

/// The row count shared by the parts of a concatenation, whose widths add up to `N`.
fn check_concat<F, const N: usize>(parts: &[ArrayView2<'_, F>]) -> usize {
    let rows = same_rows("Concat", "part", parts);
    let total: usize = parts.iter().map(|p| p.ncols()).sum();
    if total != N {
        let widths: Vec<String> = parts.iter().map(|p| p.ncols().to_string()).collect();
        panic!(
            "Concat: the parts' widths add up to {total} ({}), expected {N}",
            widths.join(" + ")
        );
    }
    rows
}

/// The row count of the first part, which every other part must have.
fn same_rows<F>(layer: &str, what: &str, parts: &[ArrayView2<'_, F>]) -> usize {
    let Some(first) = parts.first() else {
        panic!("{layer}: no {what}s");
    };
    let rows = first.nrows();
    for (k, part) in parts.iter().enumerate().skip(1) {
        assert!(
            part.nrows() == rows,
            "{layer}: {what} {k} has {} rows, expected {rows} (as {what} 0)",
            part.nrows()
        );
    }
    rows
}

/// out = parts\[0\] + parts\[1\] + … element by element, left to right; split by rows.
/// The shapes are checked by the caller.
fn sum_into<F: Float>(parts: &[ArrayView2<'_, F>], out: ArrayViewMut2<'_, F>) {
    let work = FLOP_PER_ELEMENT * out.len() * parts.len();
    let cut = kernels::Parts::new(out.nrows(), work, 1);
    cut.run(kernels::carver(out, Axis(0)), |range, mut out| {
        let rows = s![range, ..];
        match parts {
            [] => unreachable!("checked: at least one part"),
            [only] => out.assign(&only.slice(rows)),
            [first, second, rest @ ..] => {
                // The first two in one pass, then one pass per further part.
                Zip::from(&mut out)
                    .and(first.slice(rows))
                    .and(second.slice(rows))
                    .for_each(|o, &a, &b| *o = a + b);
                for part in rest {
                    Zip::from(&mut out)
                        .and(part.slice(rows))
                        .for_each(|o, &p| *o += p);
                }
            }
        }
    });
}

/// out = parts\[0\] ‖ parts\[1\] ‖ … row by row; split by rows. The shapes are checked by the
/// caller.
fn concat_into<F: Float>(parts: &[ArrayView2<'_, F>], out: ArrayViewMut2<'_, F>) {
    let work = FLOP_PER_ELEMENT * out.len();
    let cut = kernels::Parts::new(out.nrows(), work, 1);
    cut.run(kernels::carver(out, Axis(0)), |range, mut out| {
        let mut start = 0;
        for part in parts {
            let end = start + part.ncols();
            out.slice_mut(s![.., start..end])
                .assign(&part.slice(s![range.clone(), ..]));
            start = end;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sum_adds_the_parts() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]];
        let c = array![[0.5, -1.0, 0.0], [2.0, 0.0, -6.0]];
        let mut sum = Sum::<f64, 3>::new();
        sum.forward(&[a.view(), b.view(), c.view()]);
        let expected = array![[11.5, 21.0, 33.0], [46.0, 55.0, 60.0]];
        assert_eq!(sum.output(), expected);
        assert_eq!(sum.rows(), 2);
        assert_eq!(sum.predict(&[a.view(), b.view(), c.view()]), expected);
        sum.forward(&[a.view(), b.view()]);
        assert_eq!(sum.output(), &a + &b);
        sum.forward(&[a.view()]);
        assert_eq!(sum.output(), a);
    }

    #[test]
    fn sum_adds_in_the_parts_order() {
        // In f32, 1 + 1e8 rounds to 1e8: (1 + 1e8) − 1e8 = 0, but (1e8 − 1e8) + 1 = 1.
        let (one, big, minus_big) = (array![[1.0f32]], array![[1e8f32]], array![[-1e8f32]]);
        let mut sum = Sum::<f32, 1>::new();
        sum.forward(&[one.view(), big.view(), minus_big.view()]);
        assert_eq!(sum.output()[[0, 0]], 0.0);
        sum.forward(&[big.view(), minus_big.view(), one.view()]);
        assert_eq!(sum.output()[[0, 0]], 1.0);
        let mut fork = Fork::<f32, 1>::new();
        fork.backward(&[one.view(), big.view(), minus_big.view()]);
        assert_eq!(fork.grad_input()[[0, 0]], 0.0);
        fork.backward(&[big.view(), minus_big.view(), one.view()]);
        assert_eq!(fork.grad_input()[[0, 0]], 1.0);
    }

    #[test]
    fn concat_places_channels_of_nchw_parts_one_after_the_other() {
        // Two samples; part a is [1, 1, 2] (one channel of 1×2), part b is [2, 1, 2].
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let b = array![[5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]];
        let mut concat = Concat::<f64, 6>::new();
        concat.forward(&[a.view(), b.view()]);
        // [3, 1, 2] per sample: channel 0 is a's, channels 1 and 2 are b's.
        let expected = array![
            [1.0, 2.0, 5.0, 6.0, 7.0, 8.0],
            [3.0, 4.0, 9.0, 10.0, 11.0, 12.0]
        ];
        assert_eq!(concat.output(), expected);
        assert_eq!(concat.rows(), 2);
        assert_eq!(concat.predict(&[a.view(), b.view()]), expected);
        concat.forward(&[b.view(), a.view()]);
        assert_eq!(
            concat.output(),
            array![
                [5.0, 6.0, 7.0, 8.0, 1.0, 2.0],
                [9.0, 10.0, 11.0, 12.0, 3.0, 4.0]
            ]
        );
    }

    #[test]
    fn part_borrows_a_parts_columns() {
        let grad = array![
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
        ];
        let first = Concat::<f64, 6>::part(grad.view(), 0, 2);
        assert_eq!(first, array![[1.0, 2.0], [7.0, 8.0]]);
        let second = Concat::<f64, 6>::part(grad.view(), 2, 4);
        assert_eq!(
            second,
            array![[3.0, 4.0, 5.0, 6.0], [9.0, 10.0, 11.0, 12.0]]
        );
        assert_eq!(second.as_ptr(), &grad[[0, 2]] as *const f64, "a view");
        assert_eq!(Concat::<f64, 6>::part(grad.view(), 6, 0).dim(), (2, 0));
    }

    #[test]
    fn fork_adds_the_gradients() {
        let a = array![[1.0, -2.0], [0.25, 4.0]];
        let b = array![[3.0, 2.0], [0.5, -8.0]];
        let mut fork = Fork::<f64, 2>::new();
        assert_eq!(fork.rows(), 0);
        fork.backward(&[a.view(), b.view()]);
        assert_eq!(fork.grad_input(), array![[4.0, 0.0], [0.75, -4.0]]);
        assert_eq!(fork.rows(), 2);
    }

    #[test]
    fn empty_batches() {
        let a = Array2::<f32>::zeros((0, 3));
        let b = Array2::<f32>::zeros((0, 2));
        let mut sum = Sum::<f32, 3>::default();
        sum.forward(&[a.view(), a.view()]);
        assert_eq!(sum.output().dim(), (0, 3));
        assert_eq!(sum.predict(&[a.view(), a.view()]).dim(), (0, 3));
        let mut concat = Concat::<f32, 5>::default();
        concat.forward(&[a.view(), b.view()]);
        assert_eq!(concat.output().dim(), (0, 5));
        assert_eq!(concat.predict(&[a.view(), b.view()]).dim(), (0, 5));
        let grad = Array2::<f32>::zeros((0, 5));
        assert_eq!(Concat::<f32, 5>::part(grad.view(), 3, 2).dim(), (0, 2));
        let mut fork = Fork::<f32, 3>::default();
        fork.backward(&[a.view(), a.view()]);
        assert_eq!(fork.grad_input().dim(), (0, 3));
    }

    #[test]
    fn smaller_batch_after_larger_reuses_the_buffer() {
        let big = Array2::from_elem((5, 2), 1.0);
        let small = array![[1.0, 2.0]];
        let mut sum = Sum::<f64, 2>::new();
        sum.forward(&[big.view(), big.view()]);
        let ptr = sum.output().as_ptr();
        sum.forward(&[small.view(), small.view()]);
        assert_eq!(sum.output().as_ptr(), ptr);
        assert_eq!(sum.output(), array![[2.0, 4.0]]);
        let mut concat = Concat::<f64, 4>::new();
        concat.forward(&[big.view(), big.view()]);
        let ptr = concat.output().as_ptr();
        concat.forward(&[small.view(), small.view()]);
        assert_eq!(concat.output().as_ptr(), ptr);
        assert_eq!(concat.output(), array![[1.0, 2.0, 1.0, 2.0]]);
    }

    #[test]
    fn strided_parts_give_the_same_results() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let a_t = a.t().to_owned(); // its transpose is `a` with columns 2 apart
        let b = array![[7.0], [8.0]];
        let mut concat = Concat::<f64, 4>::new();
        concat.forward(&[a_t.t(), b.view()]);
        assert_eq!(
            concat.output(),
            array![[1.0, 2.0, 3.0, 7.0], [4.0, 5.0, 6.0, 8.0]]
        );
        let mut sum = Sum::<f64, 3>::new();
        sum.forward(&[a_t.t(), a.view(), a_t.t()]);
        assert_eq!(sum.output(), &a * 3.0);
    }

    #[test]
    #[should_panic(expected = "Sum: part 1 has 10 columns, expected 12")]
    fn sum_rejects_a_part_of_another_width() {
        let (a, b) = (Array2::<f32>::zeros((2, 12)), Array2::<f32>::zeros((2, 10)));
        Sum::<f32, 12>::new().forward(&[a.view(), b.view()]);
    }

    #[test]
    #[should_panic(expected = "Sum: part 0 has 10 columns, expected 12")]
    fn sum_predict_rejects_a_part_of_another_width() {
        let b = Array2::<f32>::zeros((2, 10));
        Sum::<f32, 12>::new().predict(&[b.view(), b.view()]);
    }

    #[test]
    #[should_panic(expected = "Sum: part 2 has 3 rows, expected 4 (as part 0)")]
    fn sum_rejects_a_part_of_another_batch() {
        let (a, b) = (Array2::<f32>::zeros((4, 2)), Array2::<f32>::zeros((3, 2)));
        Sum::<f32, 2>::new().forward(&[a.view(), a.view(), b.view()]);
    }

    #[test]
    #[should_panic(expected = "Sum: no parts")]
    fn sum_rejects_no_parts() {
        Sum::<f32, 2>::new().forward(&[]);
    }

    #[test]
    #[should_panic(expected = "Concat: the parts' widths add up to 10 (4 + 6), expected 12")]
    fn concat_rejects_widths_that_do_not_add_up() {
        let (a, b) = (Array2::<f32>::zeros((2, 4)), Array2::<f32>::zeros((2, 6)));
        Concat::<f32, 12>::new().forward(&[a.view(), b.view()]);
    }

    #[test]
    #[should_panic(expected = "Concat: part 1 has 1 rows, expected 2 (as part 0)")]
    fn concat_rejects_a_part_of_another_batch() {
        let (a, b) = (Array2::<f32>::zeros((2, 4)), Array2::<f32>::zeros((1, 8)));
        Concat::<f32, 12>::new().predict(&[a.view(), b.view()]);
    }

    #[test]
    #[should_panic(expected = "Concat: part columns 4..14 do not fit in 12")]
    fn part_rejects_columns_past_the_end() {
        let grad = Array2::<f32>::zeros((2, 12));
        Concat::<f32, 12>::part(grad.view(), 4, 10);
    }

    #[test]
    #[should_panic(expected = "Concat: the gradient has 10 columns, expected 12")]
    fn part_rejects_a_gradient_of_another_width() {
        let grad = Array2::<f32>::zeros((2, 10));
        Concat::<f32, 12>::part(grad.view(), 0, 4);
    }

    #[test]
    #[should_panic(expected = "Fork: gradient 1 has 10 columns, expected 12")]
    fn fork_rejects_a_gradient_of_another_width() {
        let (a, b) = (Array2::<f32>::zeros((2, 12)), Array2::<f32>::zeros((2, 10)));
        Fork::<f32, 12>::new().backward(&[a.view(), b.view()]);
    }
}
