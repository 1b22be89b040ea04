//! Keras's hinge losses on scores: `hinge` and `squared_hinge` (targets in {−1, 1}, or
//! {0, 1} converted) and `categorical_hinge` (one-hot targets).
//!
//! At a kink (a margin exactly met) the gradient follows PyTorch's derivative of the
//! `maximum` Keras calls: half of each side's.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::{
    elementwise, elementwise_grad, max0_slope, per_row, per_row_grad, LossFn, Target, TargetKind,
};
use crate::data::TargetsView;
use crate::float::Float;

/// Keras's `convert_binary_labels_to_hinge` as a function of the batch: if every target of
/// the batch is 0 or 1, targets t become 2t − 1; otherwise (targets in {−1, 1}) they are
/// used as they are. The decision is per batch, as in Keras.
fn hinge_targets<F: Float>(targets: TargetsView<'_, F>) -> impl Fn(F) -> F {
    let TargetsView::Values(t) = targets else {
        unreachable!("values (checked)")
    };
    let binary = t.iter().all(|&t| t == F::zero() || t == F::one());
    move |t| match binary {
        true => F::from_f64(2.0) * t - F::one(),
        false => t,
    }
}

/// Keras's `hinge`, mean_k max(1 − t_k y_k, 0) with targets in {−1, 1} ({0, 1} targets are
/// converted, see Keras). Gradient −t where the margin is violated (1 − t y > 0), −t/2 where
/// it is exactly met, else 0, over the width. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hinge;

impl<F: Float> LossFn<F> for Hinge {
    const NAME: &'static str = "hinge";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        let signed = hinge_targets(t);
        elementwise(y, t, losses, |y, t| {
            (F::one() - signed(t) * y).max(F::zero())
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        let signed = hinge_targets(t);
        elementwise_grad(y, t, grad, |y, t| {
            -signed(t) * max0_slope(F::one() - signed(t) * y)
        });
    }
}

/// Keras's `squared_hinge`, mean_k max(1 − t_k y_k, 0)², targets as [`Hinge`]. Gradient
/// −2 max(1 − t y, 0) t over the width. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SquaredHinge;

impl<F: Float> LossFn<F> for SquaredHinge {
    const NAME: &'static str = "squared_hinge";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        let signed = hinge_targets(t);
        elementwise(y, t, losses, |y, t| {
            let m = (F::one() - signed(t) * y).max(F::zero());
            m * m
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        let signed = hinge_targets(t);
        elementwise_grad(y, t, grad, |y, t| {
            let m = (F::one() - signed(t) * y).max(F::zero());
            F::from_f64(-2.0) * m * signed(t)
        });
    }
}

/// Keras's `categorical_hinge` with one-hot targets: max(neg − pos + 1, 0) where
/// pos = Σ_k t_k y_k and neg = max_k (1 − t_k) y_k (the best wrong score, or 0 if all wrong
/// scores are negative: the true class's term is 0). Gradient where the loss is positive:
/// −t, plus (1 − t_j) at the j attaining neg, shared equally among tied maxima (torch's
/// `amax`); half of that where the loss is exactly at its kink. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategoricalHinge;

/// max_k (1 − t_k) y_k.
fn neg<F: Float>(y: ArrayView1<'_, F>, t: ArrayView1<'_, F>) -> F {
    (0..y.len()).fold(F::neg_infinity(), |m, k| m.max((F::one() - t[k]) * y[k]))
}

impl<F: Float> LossFn<F> for CategoricalHinge {
    const NAME: &'static str = "categorical_hinge";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, |y, t| {
            let Target::Values(t) = t else {
                unreachable!("values (checked)")
            };
            (neg(y, t) - t.dot(&y) + F::one()).max(F::zero())
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        per_row_grad(y, t, grad, |y, t, mut g| {
            let Target::Values(t) = t else {
                unreachable!("values (checked)")
            };
            let neg = neg(y, t);
            let slope = max0_slope(neg - t.dot(&y) + F::one());
            let at_max = |k: usize| (F::one() - t[k]) * y[k] == neg;
            let ties = F::from_f64((0..y.len()).filter(|&k| at_max(k)).count() as f64);
            for k in 0..y.len() {
                let d_neg = if at_max(k) {
                    (F::one() - t[k]) / ties
                } else {
                    F::zero()
                };
                g[k] = slope * (d_neg - t[k]);
            }
        });
    }
}
