//! Classification losses: softmax cross-entropy and the multiclass SVM loss on scores
//! (PyTorch, the course), cross-entropy on probabilities (the course), and Keras's
//! binary, categorical and sparse categorical cross-entropies.
//!
//! A sample's target is a class label or a row of class weights `t` (one-hot or
//! probabilities); a label `l` acts as the one-hot row with a 1 at `l`.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::{
    elementwise, elementwise_grad, per_row, per_row_grad, softplus, target, LossFn, Target,
    TargetKind, EPSILON,
};
use crate::activation::sigmoid;
use crate::data::TargetsView;
use crate::float::Float;
use crate::kernels;

/// Weight of class `k` in a sample's target: `t_k`, or 1 for the labelled class and 0 for
/// the others.
fn weight<F: Float>(t: Target<'_, F>, k: usize) -> F {
    match t {
        Target::Label(l) => F::from_f64(if k == l { 1.0 } else { 0.0 }),
        Target::Values(t) => t[k],
    }
}

/// Σ_k t_k (1 for a label).
fn weight_sum<F: Float>(t: Target<'_, F>) -> F {
    match t {
        Target::Label(_) => F::one(),
        Target::Values(t) => t.sum(),
    }
}

/// −Σ_k t_k log softmax(y)_k = Σ_k t_k (lse(y) − y_k), with a stable log-sum-exp.
fn logits_ce<F: Float>(y: ArrayView1<'_, F>, t: Target<'_, F>) -> F {
    let lse = kernels::log_sum_exp(y);
    match t {
        Target::Label(l) => lse - y[l],
        Target::Values(t) => (0..y.len()).map(|k| t[k] * (lse - y[k])).sum(),
    }
}

/// Gradient of [`logits_ce`]: softmax(y) · Σt − t.
fn logits_ce_grad<F: Float>(y: ArrayView1<'_, F>, t: Target<'_, F>, mut g: ArrayViewMut1<'_, F>) {
    g.assign(&y);
    kernels::softmax_in_place(g.view_mut());
    let total = weight_sum(t);
    for (k, g) in g.iter_mut().enumerate() {
        *g = *g * total - weight(t, k);
    }
}

/// [`logits_ce`] and [`logits_ce_grad`] of one row in one pass, on contiguous rows: the
/// exponentials of the softmax are those of the log-sum-exp, so each class costs one
/// `exp` instead of two (the exponentials were 7% of a training step of the 784→128→10
/// MLP).
fn logits_ce_and_grad<F: Float>(y: &[F], t: Target<'_, F>, g: &mut [F]) -> F {
    let max = y.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
    let mut sum = F::zero();
    for (g, &v) in g.iter_mut().zip(y) {
        *g = (v - max).exp();
        sum += *g;
    }
    let lse = if max.is_infinite() {
        max
    } else {
        max + sum.ln()
    };
    let total = weight_sum(t);
    for (k, g) in g.iter_mut().enumerate() {
        *g = *g / sum * total - weight(t, k);
    }
    match t {
        Target::Label(l) => lse - y[l],
        Target::Values(t) => (0..y.len()).map(|k| t[k] * (lse - y[k])).sum(),
    }
}

/// The losses and gradients of the losses on logits over classes, through
/// [`logits_ce_and_grad`] when the rows are contiguous (a network's output always is),
/// else through the two separate passes.
fn logits_ce_losses_and_grads<F: Float>(
    y: ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
    mut losses: ArrayViewMut1<'_, F>,
    mut grad: ArrayViewMut2<'_, F>,
) {
    if !(y.is_standard_layout() && grad.is_standard_layout()) {
        per_row(y, targets, losses.view_mut(), logits_ce);
        per_row_grad(y, targets, grad, logits_ce_grad);
        return;
    }
    let width = y.ncols().max(1);
    let (y, grad) = (
        y.to_slice().expect("standard layout"),
        grad.as_slice_mut().expect("standard layout"),
    );
    for (i, ((y, g), loss)) in y
        .chunks_exact(width)
        .zip(grad.chunks_exact_mut(width))
        .zip(losses.iter_mut())
        .enumerate()
    {
        *loss = logits_ce_and_grad(y, target(targets, i), g);
    }
}

/// Softmax of every row, in place: the link of the losses on logits over classes.
fn softmax_rows<F: Float>(mut y: ArrayViewMut2<'_, F>) {
    for row in y.rows_mut() {
        kernels::softmax_in_place(row);
    }
}

/// clip(p, ε, 1 − ε), Keras's guard against log 0.
fn clip<F: Float>(p: F) -> F {
    let eps = F::from_f64(EPSILON);
    p.max(eps).min(F::one() - eps)
}

/// d clip(p) / dp: 1 strictly inside (ε, 1 − ε), 0 from the bounds on, as PyTorch
/// differentiates `torch.clip(p, ε, 1 − ε)` with number bounds (Keras's torch backend and
/// fixtures/losses.py call it so).
fn clip_passes<F: Float>(p: F) -> bool {
    let eps = F::from_f64(EPSILON);
    p > eps && p < F::one() - eps
}

/// −Σ_k t_k ln clip(q_k) with q = p / Σp if `normalize` (Keras's categorical and sparse
/// categorical cross-entropies), q = p otherwise (the course's `cross_entropy`). An all-zero
/// row, which Keras turns into 0/0 = NaN, is left unnormalized.
fn probs_ce<F: Float>(p: ArrayView1<'_, F>, t: Target<'_, F>, normalize: bool) -> F {
    let s = row_scale(p, normalize);
    -(0..p.len())
        .map(|k| weight(t, k) * clip(p[k] / s).ln())
        .sum::<F>()
}

/// Gradient of [`probs_ce`]: with g_k = −t_k / q_k where the clip passes (0 elsewhere),
/// d/dp_j = g_j unnormalized, (g_j − Σ_k g_k q_k) / Σp normalized.
fn probs_ce_grad<F: Float>(
    p: ArrayView1<'_, F>,
    t: Target<'_, F>,
    normalize: bool,
    mut g: ArrayViewMut1<'_, F>,
) {
    let s = row_scale(p, normalize);
    for (k, g) in g.iter_mut().enumerate() {
        let q = p[k] / s;
        *g = if clip_passes(q) {
            -weight(t, k) / q
        } else {
            F::zero()
        };
    }
    if normalize {
        let gq: F = g.iter().zip(p).map(|(&g, &p)| g * p / s).sum();
        g.mapv_inplace(|g| (g - gq) / s);
    }
}

/// Σp if normalizing and it is non-zero, else 1.
fn row_scale<F: Float>(p: ArrayView1<'_, F>, normalize: bool) -> F {
    match p.sum() {
        s if normalize && s != F::zero() => s,
        _ => F::one(),
    }
}

/// Softmax followed by cross-entropy, on logits: PyTorch's `CrossEntropyLoss` (natural log,
/// stable log-sum-exp). Per sample, −log softmax(y)_l = lse(y) − y_l for an integer label
/// `l`, and −Σ_k t_k log softmax(y)_k for a row of class probabilities (one-hot or soft, as
/// PyTorch's probability targets). Gradient: softmax(y) · Σt − t (softmax(y) − onehot(l)).
/// `predict` returns softmax(y).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl<F: Float> LossFn<F> for SoftmaxCrossEntropy {
    const NAME: &'static str = "softmax_ce";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Labels, TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, logits_ce);
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        per_row_grad(y, t, grad, logits_ce_grad);
    }

    fn losses_and_grads(
        &self,
        y: ArrayView2<'_, F>,
        t: TargetsView<'_, F>,
        losses: ArrayViewMut1<'_, F>,
        grad: ArrayViewMut2<'_, F>,
    ) {
        logits_ce_losses_and_grads(y, t, losses, grad);
    }

    fn link(&self, y: ArrayViewMut2<'_, F>) {
        softmax_rows(y);
    }
}

/// The multiclass SVM (hinge) loss of the course on class scores with an integer label `l`:
/// Σ_{j≠l} max(0, s_j − s_l + margin). It is PyTorch's `MultiMarginLoss(margin)` times the
/// number of classes (PyTorch divides by it). Gradient: +1 for every class j ≠ l whose
/// margin is violated (s_j − s_l + margin > 0), minus their count for class `l`.
/// `predict` returns the scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MulticlassHinge {
    /// The margin Δ (the DSL's default is 1).
    pub margin: f64,
}

impl Default for MulticlassHinge {
    fn default() -> Self {
        Self { margin: 1.0 }
    }
}

impl MulticlassHinge {
    /// s_j − s_l + margin for class j of a sample with scores `s` and label `l`.
    fn violation<F: Float>(&self, s: ArrayView1<'_, F>, l: usize, j: usize) -> F {
        s[j] - s[l] + F::from_f64(self.margin)
    }
}

impl<F: Float> LossFn<F> for MulticlassHinge {
    const NAME: &'static str = "multiclass_hinge";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Labels];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, |s, t| {
            let Target::Label(l) = t else {
                unreachable!("labels (checked)")
            };
            (0..s.len())
                .filter(|&j| j != l)
                .map(|j| self.violation(s, l, j).max(F::zero()))
                .sum()
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        per_row_grad(y, t, grad, |s, t, mut g| {
            let Target::Label(l) = t else {
                unreachable!("labels (checked)")
            };
            g.fill(F::zero());
            for j in (0..s.len()).filter(|&j| j != l) {
                if self.violation(s, l, j) > F::zero() {
                    g[j] = F::one();
                    g[l] -= F::one();
                }
            }
        });
    }
}

/// Cross-entropy on probabilities (the course's form, after a `softmax` layer):
/// −Σ_k t_k ln p_k for one-hot or probability rows `t`, −ln p_l for an integer label `l`.
/// Probabilities are clipped to [1e-7, 1 − 1e-7] as Keras does (no normalization, unlike
/// Keras's `categorical_crossentropy`), so p = 0 or 1 gives a finite loss; the gradient
/// −t_k / p_k is zero where the clip is active. `predict` returns the probabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrossEntropy;

impl<F: Float> LossFn<F> for CrossEntropy {
    const NAME: &'static str = "cross_entropy";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Labels, TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, |p, t| probs_ce(p, t, false));
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        per_row_grad(y, t, grad, |p, t, g| probs_ce_grad(p, t, false, g));
    }
}

/// Keras's `binary_crossentropy`: the mean over the row of
/// −(t ln p + (1 − t) ln(1 − p)), targets in [0, 1].
/// * `from_logits: false`: p is clipped to [1e-7, 1 − 1e-7] first (Keras), gradient
///   (p − t) / (p (1 − p)), zero where clipped. `predict` returns p.
/// * `from_logits: true`: p = σ(y), computed as max(y, 0) − y t + ln(1 + e^−|y|) (PyTorch's
///   `binary_cross_entropy_with_logits`, stable for any y), gradient σ(y) − t.
///   `predict` returns σ(y).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossentropy {
    /// Whether the outputs are logits (σ is applied inside the loss) rather than
    /// probabilities.
    pub from_logits: bool,
}

impl<F: Float> LossFn<F> for BinaryCrossentropy {
    const NAME: &'static str = "binary_crossentropy";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        if self.from_logits {
            elementwise(y, t, losses, |x, t| {
                x.max(F::zero()) - x * t + softplus(-x.abs())
            });
        } else {
            elementwise(y, t, losses, |p, t| {
                let p = clip(p);
                -(t * p.ln() + (F::one() - t) * (-p).ln_1p())
            });
        }
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        if self.from_logits {
            elementwise_grad(y, t, grad, |x, t| sigmoid(x) - t);
        } else {
            elementwise_grad(y, t, grad, |p, t| match clip_passes(p) {
                true => (p - t) / (p * (F::one() - p)),
                false => F::zero(),
            });
        }
    }

    fn link(&self, mut y: ArrayViewMut2<'_, F>) {
        if self.from_logits {
            y.mapv_inplace(sigmoid);
        }
    }
}

/// Keras's `categorical_crossentropy`, one-hot or probability targets `t`:
/// * `from_logits: false`: q = p / Σp (Keras normalizes the row), clipped to
///   [1e-7, 1 − 1e-7], loss −Σ_k t_k ln q_k; the gradient passes through the normalization
///   and is zero where clipped. `predict` returns p.
/// * `from_logits: true`: −Σ_k t_k log softmax(y)_k, as [`SoftmaxCrossEntropy`] with
///   probability targets. `predict` returns softmax(y).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategoricalCrossentropy {
    /// Whether the outputs are logits (softmax is applied inside the loss) rather than
    /// probabilities.
    pub from_logits: bool,
}

impl<F: Float> LossFn<F> for CategoricalCrossentropy {
    const NAME: &'static str = "categorical_crossentropy";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        match self.from_logits {
            true => per_row(y, t, losses, logits_ce),
            false => per_row(y, t, losses, |p, t| probs_ce(p, t, true)),
        }
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        match self.from_logits {
            true => per_row_grad(y, t, grad, logits_ce_grad),
            false => per_row_grad(y, t, grad, |p, t, g| probs_ce_grad(p, t, true, g)),
        }
    }

    fn losses_and_grads(
        &self,
        y: ArrayView2<'_, F>,
        t: TargetsView<'_, F>,
        losses: ArrayViewMut1<'_, F>,
        grad: ArrayViewMut2<'_, F>,
    ) {
        if self.from_logits {
            logits_ce_losses_and_grads(y, t, losses, grad);
        } else {
            self.losses(y, t, losses);
            self.grads(y, t, grad);
        }
    }

    fn link(&self, y: ArrayViewMut2<'_, F>) {
        if self.from_logits {
            softmax_rows(y);
        }
    }
}

/// Keras's `sparse_categorical_crossentropy`: [`CategoricalCrossentropy`] with an integer
/// label `l` instead of a one-hot row: −ln clip(p_l / Σp) on probabilities, lse(y) − y_l on
/// logits. `predict` returns p, or softmax(y) with `from_logits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SparseCategoricalCrossentropy {
    /// Whether the outputs are logits rather than probabilities.
    pub from_logits: bool,
}

impl<F: Float> LossFn<F> for SparseCategoricalCrossentropy {
    const NAME: &'static str = "sparse_categorical_crossentropy";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Labels];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        CategoricalCrossentropy {
            from_logits: self.from_logits,
        }
        .losses(y, t, losses);
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        CategoricalCrossentropy {
            from_logits: self.from_logits,
        }
        .grads(y, t, grad);
    }

    fn losses_and_grads(
        &self,
        y: ArrayView2<'_, F>,
        t: TargetsView<'_, F>,
        losses: ArrayViewMut1<'_, F>,
        grad: ArrayViewMut2<'_, F>,
    ) {
        CategoricalCrossentropy {
            from_logits: self.from_logits,
        }
        .losses_and_grads(y, t, losses, grad);
    }

    fn link(&self, y: ArrayViewMut2<'_, F>) {
        LossFn::<F>::link(
            &CategoricalCrossentropy {
                from_logits: self.from_logits,
            },
            y,
        );
    }
}
