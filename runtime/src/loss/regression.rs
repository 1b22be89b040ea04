//! Losses on real-valued targets: squared and absolute errors, Huber, log-cosh, the
//! Poisson and Kullback–Leibler losses and cosine similarity.
//!
//! All but [`SseHalf`], [`KlDivergence`] and [`CosineSimilarity`] are elementwise: the
//! per-sample loss is the mean of f(y_k, t_k) over the output row (Keras's convention), so
//! with the default mean reduction the loss is the mean over all elements.

use ndarray::{ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::{
    elementwise, elementwise_grad, max0_slope, per_row, per_row_grad, sign, softplus, LossFn,
    Target, TargetKind, EPSILON,
};
use crate::data::TargetsView;
use crate::float::Float;

/// The values row of a sample (the losses here take only values).
fn values<F>(t: Target<'_, F>) -> ndarray::ArrayView1<'_, F> {
    match t {
        Target::Values(t) => t,
        Target::Label(_) => unreachable!("values (checked)"),
    }
}

/// Mean squared error, mean_k (y_k − t_k)² per sample: Keras's `mean_squared_error`; with
/// the mean reduction it is PyTorch's `MSELoss()`, the mean over all elements.
/// Gradient 2 (y − t) / width. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl<F: Float> LossFn<F> for Mse {
    const NAME: &'static str = "mse";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        elementwise(y, t, losses, |y, t| (y - t) * (y - t));
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        elementwise_grad(y, t, grad, |y, t| F::from_f64(2.0) * (y - t));
    }
}

/// The course's squared error, ½ Σ_k (y_k − t_k)² per sample (a sum over the row, not a
/// mean), whose gradient is simply y − t. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SseHalf;

impl<F: Float> LossFn<F> for SseHalf {
    const NAME: &'static str = "sse_half";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, |y, t| {
            let t = values(t);
            F::from_f64(0.5)
                * (0..y.len())
                    .map(|k| (y[k] - t[k]) * (y[k] - t[k]))
                    .sum::<F>()
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        per_row_grad(y, t, grad, |y, t, mut g| {
            let t = values(t);
            for k in 0..y.len() {
                g[k] = y[k] - t[k];
            }
        });
    }
}

/// Keras's `mean_absolute_error`, mean_k |y_k − t_k|. Gradient sign(y − t) / width, 0 where
/// y = t (as PyTorch). `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanAbsoluteError;

impl<F: Float> LossFn<F> for MeanAbsoluteError {
    const NAME: &'static str = "mean_absolute_error";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        elementwise(y, t, losses, |y, t| (y - t).abs());
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        elementwise_grad(y, t, grad, |y, t| sign(y - t));
    }
}

/// Keras's `mean_absolute_percentage_error`, 100 · mean_k |t_k − y_k| / max(|t_k|, 1e-7)
/// (the floor keeps t = 0 finite). Gradient 100 sign(y − t) / max(|t|, 1e-7) / width.
/// `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanAbsolutePercentageError;

impl<F: Float> LossFn<F> for MeanAbsolutePercentageError {
    const NAME: &'static str = "mean_absolute_percentage_error";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        let eps = F::from_f64(EPSILON);
        elementwise(y, t, losses, |y, t| {
            F::from_f64(100.0) * ((t - y) / t.abs().max(eps)).abs()
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        let eps = F::from_f64(EPSILON);
        elementwise_grad(y, t, grad, |y, t| {
            F::from_f64(100.0) * sign(y - t) / t.abs().max(eps)
        });
    }
}

/// Keras's `mean_squared_logarithmic_error`,
/// mean_k (ln(max(y_k, 1e-7) + 1) − ln(max(t_k, 1e-7) + 1))²: values below 1e-7 count as
/// 1e-7, so negative outputs are finite (with zero gradient). Gradient
/// 2 (ln(y + 1) − ln(t' + 1)) / (y + 1) / width for y > 1e-7 (half that at y = 1e-7, as
/// torch differentiates the tie of `maximum`). `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanSquaredLogarithmicError;

/// ln(max(x, 1e-7) + 1), written as Keras writes it (`log(x + 1)`, not `log1p`).
fn log_floor_1p<F: Float>(x: F) -> F {
    (x.max(F::from_f64(EPSILON)) + F::one()).ln()
}

impl<F: Float> LossFn<F> for MeanSquaredLogarithmicError {
    const NAME: &'static str = "mean_squared_logarithmic_error";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        elementwise(y, t, losses, |y, t| {
            let d = log_floor_1p(y) - log_floor_1p(t);
            d * d
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        elementwise_grad(y, t, grad, |y, t| {
            let slope = max0_slope(y - F::from_f64(EPSILON));
            slope * F::from_f64(2.0) * (log_floor_1p(y) - log_floor_1p(t)) / (y + F::one())
        });
    }
}

/// Keras's `huber`: with e = y − t, mean_k of ½ e² where |e| ≤ delta and
/// delta |e| − ½ delta² beyond. Gradient e, or delta · sign(e), over the width.
/// `predict` returns y.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear (the DSL's default is 1).
    pub delta: f64,
}

impl Default for Huber {
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

impl<F: Float> LossFn<F> for Huber {
    const NAME: &'static str = "huber";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        let (delta, half) = (F::from_f64(self.delta), F::from_f64(0.5));
        elementwise(y, t, losses, |y, t| {
            let e = y - t;
            match e.abs() <= delta {
                true => half * e * e,
                false => delta * e.abs() - half * delta * delta,
            }
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        let delta = F::from_f64(self.delta);
        elementwise_grad(y, t, grad, |y, t| {
            let e = y - t;
            match e.abs() <= delta {
                true => e,
                false => delta * sign(e),
            }
        });
    }
}

/// Keras's `log_cosh`, mean_k ln cosh(y_k − t_k), in Keras's stable form
/// x + softplus(−2x) − ln 2 (no overflow of cosh for large |x|). Gradient tanh(y − t) / width.
/// `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogCosh;

impl<F: Float> LossFn<F> for LogCosh {
    const NAME: &'static str = "log_cosh";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        let ln2 = F::from_f64(std::f64::consts::LN_2);
        elementwise(y, t, losses, |y, t| {
            let x = y - t;
            x + softplus(F::from_f64(-2.0) * x) - ln2
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        elementwise_grad(y, t, grad, |y, t| (y - t).tanh());
    }
}

/// Keras's `poisson`, mean_k y_k − t_k ln(y_k + 1e-7), for predicted rates y ≥ 0 (end the
/// network in `exp`/`softplus`/`relu`; y < −1e-7 gives NaN, as in Keras). Gradient
/// (1 − t / (y + 1e-7)) / width. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Poisson;

impl<F: Float> LossFn<F> for Poisson {
    const NAME: &'static str = "poisson";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        let eps = F::from_f64(EPSILON);
        elementwise(y, t, losses, |y, t| y - t * (y + eps).ln());
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        let eps = F::from_f64(EPSILON);
        elementwise_grad(y, t, grad, |y, t| F::one() - t / (y + eps));
    }
}

/// Keras's `kl_divergence`, Σ_k t_k ln(t_k / p_k) per sample (a sum over the row) with both
/// t and p clipped to [1e-7, 1], so zeros are finite. Gradient −t_k / p_k, zero where p is
/// clipped and half at the bounds themselves (p = 1e-7 or 1: Keras's `ops.clip` has tensor
/// bounds, whose torch gradient splits ties). `predict` returns p.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KlDivergence;

/// clip(x, 1e-7, 1).
fn clip_unit<F: Float>(x: F) -> F {
    x.max(F::from_f64(EPSILON)).min(F::one())
}

impl<F: Float> LossFn<F> for KlDivergence {
    const NAME: &'static str = "kl_divergence";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, |p, t| {
            let t = values(t);
            (0..p.len())
                .map(|k| {
                    let (t, p) = (clip_unit(t[k]), clip_unit(p[k]));
                    t * (t / p).ln()
                })
                .sum()
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        let TargetsView::Values(t) = t else {
            unreachable!("values (checked)")
        };
        ndarray::Zip::from(grad)
            .and(y)
            .and(t)
            .for_each(|g, &p, &t| {
                let slope = max0_slope(p - F::from_f64(EPSILON)) * max0_slope(F::one() - p);
                *g = match slope > F::zero() {
                    true => -slope * clip_unit(t) / p,
                    false => F::zero(),
                }
            });
    }
}

/// Keras's `cosine_similarity` as a loss: −Σ_k t̂_k ŷ_k, minus the cosine between the output
/// row and the target row, in [−1, 1] (−1 when they point the same way). Keras normalizes
/// x̂ = x · min(1 / ‖x‖, 1e7), so a zero row gives a loss of 0 rather than NaN. Gradient
/// −(t̂ − (t̂·ŷ) ŷ) / ‖y‖, or −t̂ · 1e7 when ‖y‖ < 1e-7. `predict` returns y.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CosineSimilarity;

/// min(1 / ‖x‖, 1 / 1e-7) for a row given by Σ x², Keras's `normalize` factor; and whether
/// the 1/‖x‖ branch is active.
fn inv_norm<F: Float>(square_sum: F) -> (F, bool) {
    let (inv, cap) = (F::one() / square_sum.sqrt(), F::from_f64(1.0 / EPSILON));
    (inv.min(cap), inv < cap)
}

impl<F: Float> LossFn<F> for CosineSimilarity {
    const NAME: &'static str = "cosine_similarity";
    const TARGETS: &'static [TargetKind] = &[TargetKind::Values];

    fn losses(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, losses: ArrayViewMut1<'_, F>) {
        per_row(y, t, losses, |y, t| {
            let t = values(t);
            let (inv_y, _) = inv_norm(y.dot(&y));
            let (inv_t, _) = inv_norm(t.dot(&t));
            -(0..y.len())
                .map(|k| t[k] * inv_t * (y[k] * inv_y))
                .sum::<F>()
        });
    }

    fn grads(&self, y: ArrayView2<'_, F>, t: TargetsView<'_, F>, grad: ArrayViewMut2<'_, F>) {
        per_row_grad(y, t, grad, |y, t, mut g| {
            let t = values(t);
            let (inv_y, scaled) = inv_norm(y.dot(&y));
            let (inv_t, _) = inv_norm(t.dot(&t));
            // cos = t̂·ŷ; d(−t̂·y/‖y‖)/dy = −(t̂ − cos ŷ)/‖y‖. Off the 1/‖y‖ branch ŷ = y·1e7.
            let cos = if scaled {
                t.dot(&y) * inv_t * inv_y
            } else {
                F::zero()
            };
            for k in 0..y.len() {
                g[k] = -(t[k] * inv_t - cos * y[k] * inv_y) * inv_y;
            }
        });
    }
}
