//! Loss functions and the `Loss` layer that ends a network.
//!
//! A loss function ([`LossFn`]) computes one loss per sample and the gradient of each
//! sample's loss with respect to that sample's output row. The [`Loss`] layer turns these
//! into the training objective according to its [`Reduction`] (mean over the batch by
//! default) and keeps the per-sample losses and the gradient in reused buffers.
//!
//! Every loss follows a named framework definition exactly (Keras 3 for the Keras names,
//! PyTorch for `softmax_ce`, `multiclass_hinge` and `mse`, the course for `sse_half` and
//! `cross_entropy`); the README tabulates them and `tests/losses_reference.rs`
//! checks every one against fixtures produced by those frameworks.
//!
//! * [`classification`]: softmax cross-entropy, the multiclass SVM loss and the
//!   cross-entropies on probabilities or logits.
//! * [`regression`]: the elementwise and per-row losses on real-valued targets.
//! * [`hinge`]: Keras's hinge, squared hinge and categorical hinge.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use crate::data::TargetsView;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::scratch::Scratch;

pub mod classification;
pub mod hinge;
pub mod regression;

pub use classification::{
    BinaryCrossentropy, CategoricalCrossentropy, CrossEntropy, MulticlassHinge,
    SoftmaxCrossEntropy, SparseCategoricalCrossentropy,
};
pub use hinge::{CategoricalHinge, Hinge, SquaredHinge};
pub use regression::{
    CosineSimilarity, Huber, KlDivergence, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Mse, Poisson, SseHalf,
};

/// Keras's fuzz factor `keras.config.epsilon()` (1e-7): the clipping bound of the Keras
/// losses on probabilities and the floor of their divisors.
pub const EPSILON: f64 = 1e-7;

/// What kind of targets a loss compares the output with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// Integer class labels, one per sample.
    Labels,
    /// Real values, one row per sample, as wide as the output (one-hot rows, class
    /// probabilities, {0, 1} or {−1, 1} hinge targets, regression targets).
    Values,
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetKind::Labels => "integer class labels",
            TargetKind::Values => "real-valued targets",
        })
    }
}

/// The target of one sample, as a [`LossFn`] sees it.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a, F> {
    /// Its class label (checked to be below the output width).
    Label(usize),
    /// Its row of values (checked to be as wide as the output).
    Values(ArrayView1<'a, F>),
}

/// How the per-sample losses of a batch become the number training minimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean of the per-sample losses over the batch (the default; Keras's
    /// `sum_over_batch_size`, PyTorch's `mean`).
    #[default]
    Mean,
    /// The sum of the per-sample losses over the batch.
    Sum,
    /// Keep the per-sample losses ([`Loss::per_sample`]); `forward` returns their sum and the
    /// gradient is the sum's, so training with `None` is training with `Sum`.
    None,
}

/// A loss: a penalty per sample, comparing one output row with its target, and its gradient.
///
/// Implementations work on a batch whose targets [`check_targets`] has accepted (kind,
/// count, width, label range), so they index without checking. The per-sample loss of the
/// elementwise Keras losses is the mean over the output row, as in Keras.
pub trait LossFn<F: Float>: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Name in the language (`"softmax_ce"`), for summaries and messages.
    const NAME: &'static str;

    /// The kinds of targets it accepts; the first is the one named in error messages.
    const TARGETS: &'static [TargetKind];

    /// Writes the loss of sample i (row i of `y` against its target) into `losses[i]`.
    fn losses(
        &self,
        y: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
        losses: ArrayViewMut1<'_, F>,
    );

    /// Writes `d losses[i] / d y[i, ..]` into row `i` of `grad` (same shape as `y`): the gradient
    /// of the sum of the per-sample losses.
    fn grads(&self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>);

    /// [`LossFn::losses`] and [`LossFn::grads`] together, which is what a training step needs.
    /// Losses whose value and gradient share work override it (softmax cross-entropy takes
    /// one exponential per class instead of two); the default calls the two in turn.
    fn losses_and_grads(
        &self,
        y: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
        losses: ArrayViewMut1<'_, F>,
        grad: ArrayViewMut2<'_, F>,
    ) {
        self.losses(y, targets, losses);
        self.grads(y, targets, grad);
    }

    /// What `predict` returns instead of the raw output, applied in place: softmax for the
    /// losses on logits over classes, sigmoid for `binary_crossentropy from_logits=true`,
    /// nothing for the others.
    fn link(&self, _y: ArrayViewMut2<'_, F>) {}

    /// Whether the loss accepts targets of `kind`.
    fn accepts(kind: TargetKind) -> bool {
        Self::TARGETS.contains(&kind)
    }

    /// Mean loss over the batch (allocates; for tests and one-off use: the [`Loss`] layer
    /// is the allocation-free path).
    fn loss(&self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>) -> Result<F> {
        check_targets(Self::NAME, Self::TARGETS, &y, targets)?;
        let mut losses = Array1::zeros(y.nrows());
        self.losses(y, targets, losses.view_mut());
        Ok(losses.sum() / F::from_f64(y.nrows() as f64))
    }

    /// Mean loss over the batch, writing its gradient d loss / d y into `grad` (allocates,
    /// like [`LossFn::loss`]).
    fn loss_and_grad(
        &self,
        y: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
        mut grad: ArrayViewMut2<'_, F>,
    ) -> Result<F> {
        let loss = self.loss(y, targets)?;
        self.grads(y, targets, grad.view_mut());
        grad /= F::from_f64(y.nrows() as f64);
        Ok(loss)
    }
}

/// Checks `targets` against an output `y` for a loss named `loss` that accepts `accepted`
/// kinds: kind, a non-empty batch, number of samples, width of value rows, range of labels.
pub fn check_targets<F: Float>(
    loss: &'static str,
    accepted: &[TargetKind],
    y: &ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
) -> Result<()> {
    if !accepted.contains(&targets.kind()) {
        return Err(Error::TargetKind {
            loss,
            expected: accepted[0],
            found: targets.kind(),
        });
    }
    if y.nrows() == 0 {
        return Err(Error::EmptyBatch);
    }
    if targets.len() != y.nrows() {
        return Err(Error::CountMismatch {
            inputs: y.nrows(),
            targets: targets.len(),
        });
    }
    match targets {
        TargetsView::Values(v) if v.ncols() != y.ncols() => Err(Error::TargetWidth {
            expected: y.ncols(),
            found: v.ncols(),
        }),
        TargetsView::Labels(labels) => match labels.iter().position(|&l| l >= y.ncols()) {
            Some(index) => Err(Error::LabelOutOfRange {
                index,
                label: labels[index],
                classes: y.ncols(),
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Applies `f(output row, target)` to every sample, writing the results into `losses`:
/// the loop of a loss defined one row at a time.
pub fn per_row<F: Float>(
    y: ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
    mut losses: ArrayViewMut1<'_, F>,
    f: impl Fn(ArrayView1<'_, F>, Target<'_, F>) -> F,
) {
    for (i, (row, loss)) in y.rows().into_iter().zip(losses.iter_mut()).enumerate() {
        *loss = f(row, target(targets, i));
    }
}

/// Applies `f(output row, target, gradient row)` to every sample: the loop of a gradient
/// defined one row at a time.
pub fn per_row_grad<F: Float>(
    y: ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
    mut grad: ArrayViewMut2<'_, F>,
    f: impl Fn(ArrayView1<'_, F>, Target<'_, F>, ArrayViewMut1<'_, F>),
) {
    for (i, (row, g)) in y.rows().into_iter().zip(grad.rows_mut()).enumerate() {
        f(row, target(targets, i), g);
    }
}

/// The per-sample loss mean_k f(y_k, t_k) of an elementwise loss on value targets, for every
/// sample (the Keras convention: the mean over the last axis).
pub fn elementwise<F: Float>(
    y: ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
    losses: ArrayViewMut1<'_, F>,
    f: impl Fn(F, F) -> F,
) {
    let TargetsView::Values(t) = targets else {
        unreachable!("elementwise losses take values (checked)")
    };
    let n = F::from_f64(y.ncols() as f64);
    Zip::from(losses)
        .and(y.rows())
        .and(t.rows())
        .for_each(|l, y, t| *l = Zip::from(y).and(t).fold(F::zero(), |s, &y, &t| s + f(y, t)) / n);
}

/// The gradient of [`elementwise`]: d/dy_k mean_k f(y_k, t_k) = f'(y_k, t_k) / width, where
/// `df(y, t)` is ∂f/∂y.
pub fn elementwise_grad<F: Float>(
    y: ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
    grad: ArrayViewMut2<'_, F>,
    df: impl Fn(F, F) -> F,
) {
    let TargetsView::Values(t) = targets else {
        unreachable!("elementwise losses take values (checked)")
    };
    let n = F::from_f64(y.ncols() as f64);
    Zip::from(grad)
        .and(y)
        .and(t)
        .for_each(|g, &y, &t| *g = df(y, t) / n);
}

/// The target of sample `i`.
pub(crate) fn target<F>(targets: TargetsView<'_, F>, i: usize) -> Target<'_, F> {
    match targets {
        TargetsView::Labels(labels) => Target::Label(labels[i]),
        TargetsView::Values(values) => Target::Values(values.index_axis_move(Axis(0), i)),
    }
}

/// sign(x) with sign(0) = 0, as PyTorch differentiates |x| (Rust's `signum` gives ±1 at ±0).
pub(crate) fn sign<F: Float>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else if x < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// d max(z, 0) / dz as PyTorch differentiates `torch.maximum(z, 0)` (what Keras's
/// `ops.maximum` runs): 1 for z > 0, ½ at the tie z = 0, 0 below.
pub(crate) fn max0_slope<F: Float>(z: F) -> F {
    if z > F::zero() {
        F::one()
    } else if z == F::zero() {
        F::from_f64(0.5)
    } else {
        F::zero()
    }
}

/// ln(1 + e^x) without overflow: max(x, 0) + ln(1 + e^−|x|).
pub(crate) fn softplus<F: Float>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// The loss at the end of a network of output width `N`: computes the loss of a batch under
/// its [`Reduction`] and keeps the per-sample losses and d loss / d output for the backward
/// pass in reused buffers.
#[derive(Clone, Debug)]
pub struct Loss<F: Float, L: LossFn<F>, const N: usize> {
    /// The loss function.
    pub function: L,
    /// How the per-sample losses are combined.
    pub reduction: Reduction,
    per_sample: Scratch<F>,
    grad: Scratch<F>,
}

impl<F: Float, L: LossFn<F>, const N: usize> Loss<F, L, N> {
    /// A loss layer for outputs of width `N`, taking the mean over the batch.
    pub fn new(function: L) -> Self {
        Self::with_reduction(function, Reduction::Mean)
    }

    /// A loss layer for outputs of width `N` with the given reduction.
    pub fn with_reduction(function: L, reduction: Reduction) -> Self {
        Self {
            function,
            reduction,
            per_sample: Scratch::new(1),
            grad: Scratch::new(N),
        }
    }

    /// The loss of output `y` against `targets` under the reduction (mean, sum, or for
    /// [`Reduction::None`] the sum); stores the per-sample losses for [`Loss::per_sample`]
    /// and d loss / d y for [`Loss::grad_input`].
    ///
    /// # Panics
    /// If `y` is not `N` wide (a broken invariant of generated code).
    pub fn forward(&mut self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>) -> Result<F> {
        assert_eq!(y.ncols(), N, "Loss: output width");
        check_targets(L::NAME, L::TARGETS, &y, targets)?;
        self.per_sample.resize(y.nrows());
        self.grad.resize(y.nrows());
        let losses = self.per_sample.view_mut().index_axis_move(Axis(1), 0);
        self.function
            .losses_and_grads(y, targets, losses, self.grad.view_mut());
        let total = self.per_sample().sum();
        match self.reduction {
            Reduction::Mean => {
                let batch = F::from_f64(y.nrows() as f64);
                self.grad.view_mut().mapv_inplace(|g| g / batch);
                Ok(total / batch)
            }
            Reduction::Sum | Reduction::None => Ok(total),
        }
    }

    /// The loss of each sample of the last [`Loss::forward`] (whatever the reduction).
    pub fn per_sample(&self) -> ArrayView1<'_, F> {
        self.per_sample.view().index_axis_move(Axis(1), 0)
    }

    /// d loss / d y of the last [`Loss::forward`].
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad.view()
    }

    /// Applies the loss's link to a prediction (softmax for `softmax_ce`), in place.
    pub fn link(&self, mut y: Array2<F>) -> Array2<F> {
        self.function.link(y.view_mut());
        y
    }
}

#[cfg(test)]
mod tests;
