//! Adam and AdamW: bias-corrected moment estimates; AdamW decouples weight decay.

use crate::error::Result;
use crate::float::Float;
use crate::optim::{
    check_update, each, ensure_zeros, lerp, non_negative, unit, Optimizer, ParamState, States,
};

/// Adam as `torch.optim.Adam`. Per step t (counting from 1), with (β₁, β₂) = `betas`:
///
/// ```text
/// g ← g + weight_decay · p                        (if weight_decay ≠ 0)
/// m ← lerp(m, g, 1 − β₁)                          (= β₁ m + (1 − β₁) g)
/// v ← β₂ v + (1 − β₂) g²
/// v̂ ← max(v̂, v) if amsgrad, else v
/// p ← p − lr / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
/// ```
///
/// Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, no amsgrad.
///
/// ```
/// use axonal::optim::{Adam, Optimizer};
///
/// // Minimize f(p) = p² from p = 1 without a network, one parameter slice at a time.
/// let mut adam = Adam::<f64>::new(0.1).betas(0.9, 0.999).amsgrad(true);
/// let mut p = [1.0];
/// for _ in 0..100 {
///     let grad = [2.0 * p[0]];
///     adam.update(0, &mut p, &grad)?;
/// }
/// assert!(p[0].abs() < 0.1);
/// # Ok::<(), axonal::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates (β₁, β₂) of the first and second moment averages.
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// L2 penalty added to the gradient (coupled; see [`AdamW`] for the decoupled form).
    pub weight_decay: f64,
    /// Normalizes by the maximum of the second moments so far (AMSGrad).
    pub amsgrad: bool,
    states: States<AdamState<F>>,
}

/// AdamW as `torch.optim.AdamW`: Adam whose weight decay shrinks the parameters directly,
/// p ← p · (1 − lr · weight_decay), before the Adam step, instead of entering the gradient
/// (and hence the moments).
///
/// Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2, no amsgrad.
/// `AdamW::new(1e-3).weight_decay(0.05)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates (β₁, β₂) of the first and second moment averages.
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Decoupled weight decay: the parameters shrink by `lr · weight_decay` of themselves per step.
    pub weight_decay: f64,
    /// Normalizes by the maximum of the second moments so far (AMSGrad).
    pub amsgrad: bool,
    states: States<AdamState<F>>,
}

/// Step count and moment averages of one parameter; `max_exp_avg_sq` stays empty until
/// amsgrad is used.
#[derive(Clone, Debug, PartialEq)]
struct AdamState<F> {
    step: u64,
    exp_avg: Vec<F>,
    exp_avg_sq: Vec<F>,
    max_exp_avg_sq: Vec<F>,
}

impl<F> ParamState for AdamState<F> {
    fn len(&self) -> usize {
        self.exp_avg.len()
    }
}

/// The hyperparameters both Adam variants share, plus which weight decay they use.
struct Settings {
    name: &'static str,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    decoupled: bool,
}

impl Settings {
    fn validate<F: Float>(&self) -> Result<()> {
        non_negative::<F>(self.name, "lr", self.lr)?;
        non_negative::<F>(self.name, "eps", self.eps)?;
        unit(self.name, "beta1", self.betas.0, false)?;
        unit(self.name, "beta2", self.betas.1, false)?;
        non_negative::<F>(self.name, "weight_decay", self.weight_decay)
    }

    /// One Adam/AdamW step of one parameter, copying the values it replaces into `before`
    /// with `BACKUP`; whether the updated values are all finite (known only with `BACKUP`).
    fn update<F: Float, const BACKUP: bool>(
        &self,
        states: &mut States<AdamState<F>>,
        index: usize,
        value: &mut [F],
        grad: &[F],
        before: &mut [F],
    ) -> Result<bool> {
        self.validate::<F>()?;
        check_update::<F, BACKUP>(self.name, value, grad, before)?;
        let n = value.len();
        let state = states.get(index, n, |n| AdamState {
            step: 0,
            exp_avg: vec![F::zero(); n],
            exp_avg_sq: vec![F::zero(); n],
            max_exp_avg_sq: Vec::new(),
        });
        if self.amsgrad {
            ensure_zeros(&mut state.max_exp_avg_sq, n);
        }
        state.step += 1;
        let (beta1, beta2) = self.betas;
        let step = state.step as f64;
        let bias_correction1 = 1.0 - beta1.powf(step);
        let bias_correction2_sqrt = (1.0 - beta2.powf(step)).powf(0.5);
        let minus_step_size = F::from_f64(-(self.lr / bias_correction1));
        let bias_correction2_sqrt = F::from_f64(bias_correction2_sqrt);

        let coupled = self.weight_decay != 0.0 && !self.decoupled;
        let weight_decay = F::from_f64(self.weight_decay);
        let shrink = (self.weight_decay != 0.0 && self.decoupled)
            .then(|| F::from_f64(1.0 - self.lr * self.weight_decay));
        let one_minus_beta1 = F::from_f64(1.0 - beta1);
        let (beta2, one_minus_beta2) = (F::from_f64(beta2), F::from_f64(1.0 - beta2));
        let eps = F::from_f64(self.eps);
        let exp_avg = &mut state.exp_avg[..n];
        let exp_avg_sq = &mut state.exp_avg_sq[..n];
        let max_exp_avg_sq = &mut state.max_exp_avg_sq[..if self.amsgrad { n } else { 0 }];
        // One loop with AMSGrad and one without: with the choice inside, the loop does not
        // vectorize.
        let mut step = |amsgrad: bool, i: usize, p: &mut F, g: F| {
            if let Some(shrink) = shrink {
                *p *= shrink;
            }
            let g = if coupled { g + weight_decay * *p } else { g };
            let m = &mut exp_avg[i];
            *m = lerp(*m, g, one_minus_beta1);
            let v = &mut exp_avg_sq[i];
            *v = *v * beta2 + one_minus_beta2 * g * g;
            let v = if amsgrad {
                let max = &mut max_exp_avg_sq[i];
                if *v > *max || v.is_nan() {
                    *max = *v; // torch.maximum: NaN propagates
                }
                *max
            } else {
                *v
            };
            *p += minus_step_size * *m / (v.sqrt() / bias_correction2_sqrt + eps);
        };
        let finite = if self.amsgrad {
            each::<F, BACKUP>(value, grad, before, |i, p, g| step(true, i, p, g))
        } else {
            each::<F, BACKUP>(value, grad, before, |i, p, g| step(false, i, p, g))
        };
        Ok(finite)
    }
}

macro_rules! adam_variant {
    ($name:ident, $default_decay:expr, $decoupled:expr, $decay_doc:literal) => {
        impl<F: Float> $name<F> {
            /// The optimizer with learning rate `lr` and PyTorch's other defaults.
            pub fn new(lr: f64) -> Self {
                Self {
                    lr,
                    betas: (0.9, 0.999),
                    eps: 1e-8,
                    weight_decay: $default_decay,
                    amsgrad: false,
                    states: States::default(),
                }
            }

            /// Sets the moment decay rates (PyTorch's `betas`, default (0.9, 0.999)).
            pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
                self.betas = (beta1, beta2);
                self
            }

            /// Sets eps (PyTorch's `eps`, default 1e-8).
            pub fn eps(mut self, eps: f64) -> Self {
                self.eps = eps;
                self
            }

            #[doc = $decay_doc]
            pub fn weight_decay(mut self, weight_decay: f64) -> Self {
                self.weight_decay = weight_decay;
                self
            }

            /// Switches AMSGrad on or off (PyTorch's `amsgrad`, default off).
            pub fn amsgrad(mut self, amsgrad: bool) -> Self {
                self.amsgrad = amsgrad;
                self
            }

            fn settings(&self) -> Settings {
                Settings {
                    name: stringify!($name),
                    lr: self.lr,
                    betas: self.betas,
                    eps: self.eps,
                    weight_decay: self.weight_decay,
                    amsgrad: self.amsgrad,
                    decoupled: $decoupled,
                }
            }
        }

        /// PyTorch's default learning rate, 1e-3.
        impl<F: Float> Default for $name<F> {
            fn default() -> Self {
                Self::new(1e-3)
            }
        }

        impl<F: Float> Optimizer<F> for $name<F> {
            fn update(&mut self, index: usize, value: &mut [F], grad: &[F]) -> Result<()> {
                self.settings()
                    .update::<F, false>(&mut self.states, index, value, grad, &mut [])
                    .map(|_| ())
            }

            fn update_with_backup(
                &mut self,
                index: usize,
                value: &mut [F],
                grad: &[F],
                before: &mut [F],
            ) -> Result<bool> {
                self.settings()
                    .update::<F, true>(&mut self.states, index, value, grad, before)
            }

            fn validate(&self) -> Result<()> {
                self.settings().validate::<F>()
            }

            fn reset(&mut self) {
                self.states.clear();
            }

            fn learning_rate(&self) -> f64 {
                self.lr
            }

            fn set_learning_rate(&mut self, lr: f64) {
                self.lr = lr;
            }
        }
    };
}

adam_variant!(
    Adam,
    0.0,
    false,
    "Sets the L2 penalty added to the gradient (PyTorch's `weight_decay`, default 0)."
);
adam_variant!(
    AdamW,
    1e-2,
    true,
    "Sets the decoupled weight decay (PyTorch's `weight_decay`, default 1e-2)."
);

#[cfg(test)]
mod tests {
    use super::*;

    /// First step: m̂ = g and v̂ = g², so p moves by lr · g / (|g| + eps) ≈ lr.
    #[test]
    fn first_step_moves_by_lr() {
        let mut adam = Adam::new(0.1).eps(0.0);
        let mut p = [1.0f64, 1.0];
        adam.update(0, &mut p, &[5.0, -0.25]).unwrap();
        assert!(
            (p[0] - 0.9).abs() < 1e-15 && (p[1] - 1.1).abs() < 1e-15,
            "{p:?}"
        );
    }

    /// With a zero gradient AdamW still shrinks: p · (1 − lr · wd); Adam's coupled decay
    /// instead feeds wd · p through the moments.
    #[test]
    fn adamw_decay_is_decoupled() {
        let mut adamw = AdamW::new(0.1).weight_decay(0.5);
        let mut p = [2.0f64];
        adamw.update(0, &mut p, &[0.0]).unwrap();
        assert_eq!(p, [2.0 * (1.0 - 0.05)]);
        let mut adam = Adam::new(0.1).weight_decay(0.5).eps(0.0);
        let mut q = [2.0f64];
        adam.update(0, &mut q, &[0.0]).unwrap();
        assert!((q[0] - 1.9).abs() < 1e-15, "{q:?}");
    }

    #[test]
    fn betas_must_be_below_one() {
        let mut p = [1.0f64];
        assert!(Adam::new(1e-3)
            .betas(0.9, 1.0)
            .update(0, &mut p, &[1.0])
            .is_err());
        assert!(Optimizer::<f64>::validate(&AdamW::new(1e-3).betas(-0.1, 0.9)).is_err());
    }
}
