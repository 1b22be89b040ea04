//! RMSprop: steps scaled by a running average of squared gradients.

use crate::error::Result;
use crate::float::Float;
use crate::optim::{
    check_update, each, ensure_zeros, lerp, non_negative, Optimizer, ParamState, States,
};

/// RMSprop as `torch.optim.RMSprop`. Per step:
///
/// ```text
/// g ← g + weight_decay · p                         (if weight_decay ≠ 0)
/// v ← alpha · v + (1 − alpha) · g²
/// d ← √v + eps, or if centered: ḡ ← lerp(ḡ, g, 1 − alpha); d ← √(v − ḡ²) + eps
/// b ← momentum · b + g / d;  p ← p − lr · b        (if momentum > 0)
/// p ← p − lr · g / d                               (otherwise)
/// ```
///
/// Defaults as PyTorch: lr 0.01, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, not
/// centered. `RmsProp::new(0.01).centered(true)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the running averages.
    pub alpha: f64,
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (0: none).
    pub momentum: f64,
    /// Normalizes by the estimated variance of the gradient instead of its second moment.
    pub centered: bool,
    states: States<RmsPropState<F>>,
}

/// Running averages of one parameter; `grad_avg` and `momentum_buffer` stay empty until
/// `centered` or momentum is used.
#[derive(Clone, Debug, PartialEq)]
struct RmsPropState<F> {
    square_avg: Vec<F>,
    grad_avg: Vec<F>,
    momentum_buffer: Vec<F>,
}

impl<F> ParamState for RmsPropState<F> {
    fn len(&self) -> usize {
        self.square_avg.len()
    }
}

impl<F: Float> RmsProp<F> {
    /// RMSprop with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            states: States::default(),
        }
    }

    /// Sets the smoothing constant (PyTorch's `alpha`, default 0.99).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets eps (PyTorch's `eps`, default 1e-8).
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 penalty (PyTorch's `weight_decay`, default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the momentum factor (PyTorch's `momentum`, default 0).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Switches centering on or off (PyTorch's `centered`, default off).
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

/// PyTorch's default learning rate, 0.01.
impl<F: Float> Default for RmsProp<F> {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl<F: Float> RmsProp<F> {
    /// One update of the parameter that is `index`-th in visit order, copying the values it
    /// replaces into `before` with `BACKUP`; whether the updated values are all finite
    /// (known only with `BACKUP`).
    fn apply<const BACKUP: bool>(
        &mut self,
        index: usize,
        value: &mut [F],
        grad: &[F],
        before: &mut [F],
    ) -> Result<bool> {
        Optimizer::<F>::validate(self)?;
        check_update::<F, BACKUP>("RmsProp", value, grad, before)?;
        let n = value.len();
        let state = self.states.get(index, n, |n| RmsPropState {
            square_avg: vec![F::zero(); n],
            grad_avg: Vec::new(),
            momentum_buffer: Vec::new(),
        });
        let (centered, with_momentum) = (self.centered, self.momentum > 0.0);
        if centered {
            ensure_zeros(&mut state.grad_avg, n);
        }
        if with_momentum {
            ensure_zeros(&mut state.momentum_buffer, n);
        }
        let (decay, weight_decay) = (self.weight_decay != 0.0, F::from_f64(self.weight_decay));
        let alpha = F::from_f64(self.alpha);
        let one_minus_alpha = F::from_f64(1.0 - self.alpha);
        let (eps, momentum) = (F::from_f64(self.eps), F::from_f64(self.momentum));
        let minus_lr = F::from_f64(-self.lr);
        let square_avg = &mut state.square_avg[..n];
        let grad_avg = &mut state.grad_avg[..if centered { n } else { 0 }];
        let momentum_buffer = &mut state.momentum_buffer[..if with_momentum { n } else { 0 }];
        let finite = each::<F, BACKUP>(value, grad, before, |i, p, g| {
            let g = if decay { g + weight_decay * *p } else { g };
            let v = &mut square_avg[i];
            *v = *v * alpha + one_minus_alpha * g * g;
            let d = if centered {
                let m = &mut grad_avg[i];
                *m = lerp(*m, g, one_minus_alpha);
                (*v - *m * *m).sqrt() + eps
            } else {
                v.sqrt() + eps
            };
            if with_momentum {
                let b = &mut momentum_buffer[i];
                *b = *b * momentum + g / d;
                *p += minus_lr * *b;
            } else {
                *p += minus_lr * g / d;
            }
        });
        Ok(finite)
    }
}

impl<F: Float> Optimizer<F> for RmsProp<F> {
    fn update(&mut self, index: usize, value: &mut [F], grad: &[F]) -> Result<()> {
        self.apply::<false>(index, value, grad, &mut []).map(|_| ())
    }

    fn update_with_backup(
        &mut self,
        index: usize,
        value: &mut [F],
        grad: &[F],
        before: &mut [F],
    ) -> Result<bool> {
        self.apply::<true>(index, value, grad, before)
    }

    fn validate(&self) -> Result<()> {
        non_negative::<F>("RmsProp", "lr", self.lr)?;
        non_negative::<F>("RmsProp", "alpha", self.alpha)?;
        non_negative::<F>("RmsProp", "eps", self.eps)?;
        non_negative::<F>("RmsProp", "weight_decay", self.weight_decay)?;
        non_negative::<F>("RmsProp", "momentum", self.momentum)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// First step: v = (1 − α) g², so p moves by lr · g / (√(1 − α) |g| + eps).
    #[test]
    fn first_step_by_hand() {
        let mut opt = RmsProp::new(0.01).alpha(0.75).eps(0.0);
        let mut p = [1.0f64];
        opt.update(0, &mut p, &[2.0]).unwrap();
        assert!((p[0] - (1.0 - 0.01 / 0.5)).abs() < 1e-15, "{p:?}");
    }

    #[test]
    fn turning_centered_on_later_starts_its_average_at_zero() {
        let mut opt = RmsProp::new(0.01);
        let mut p = [1.0f64, 2.0];
        opt.update(0, &mut p, &[1.0, 1.0]).unwrap();
        opt.centered = true;
        opt.momentum = 0.5;
        opt.update(0, &mut p, &[1.0, 1.0]).unwrap();
        assert!(p.iter().all(|v| v.is_finite()));
    }
}
