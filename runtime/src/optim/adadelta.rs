//! Adadelta: steps whose size is the ratio of running RMS of updates and of gradients.

use crate::error::Result;
use crate::float::Float;
use crate::optim::{check_update, each, non_negative, unit, Optimizer, ParamState, States};

/// Adadelta as `torch.optim.Adadelta`. Per step:
///
/// ```text
/// g ← g + weight_decay · p                     (if weight_decay ≠ 0)
/// v ← rho · v + (1 − rho) · g²
/// Δ ← √(u + eps) / √(v + eps) · g
/// u ← rho · u + (1 − rho) · Δ²
/// p ← p − lr · Δ
/// ```
///
/// Defaults as PyTorch: lr 1.0, rho 0.9, eps 1e-6, weight_decay 0. `Adadelta::new(1.0).rho(0.95)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adadelta<F = f32> {
    /// Learning rate (a scale on Δ; 1.0 is the original algorithm).
    pub lr: f64,
    /// Smoothing constant of the running averages.
    pub rho: f64,
    /// Added inside both square roots for numerical stability.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    states: States<AdadeltaState<F>>,
}

/// Running averages of squared gradients (`square_avg`) and squared updates (`acc_delta`).
#[derive(Clone, Debug, PartialEq)]
struct AdadeltaState<F> {
    square_avg: Vec<F>,
    acc_delta: Vec<F>,
}

impl<F> ParamState for AdadeltaState<F> {
    fn len(&self) -> usize {
        self.square_avg.len()
    }
}

impl<F: Float> Adadelta<F> {
    /// Adadelta with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            states: States::default(),
        }
    }

    /// Sets the smoothing constant (PyTorch's `rho`, default 0.9).
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// Sets eps (PyTorch's `eps`, default 1e-6).
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 penalty (PyTorch's `weight_decay`, default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

/// PyTorch's default learning rate, 1.0.
impl<F: Float> Default for Adadelta<F> {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl<F: Float> Adadelta<F> {
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
        check_update::<F, BACKUP>("Adadelta", value, grad, before)?;
        let n = value.len();
        let state = self.states.get(index, n, |n| AdadeltaState {
            square_avg: vec![F::zero(); n],
            acc_delta: vec![F::zero(); n],
        });
        let (decay, weight_decay) = (self.weight_decay != 0.0, F::from_f64(self.weight_decay));
        let (rho, one_minus_rho) = (F::from_f64(self.rho), F::from_f64(1.0 - self.rho));
        let (eps, minus_lr) = (F::from_f64(self.eps), F::from_f64(-self.lr));
        let square_avg = &mut state.square_avg[..n];
        let acc_delta = &mut state.acc_delta[..n];
        let finite = each::<F, BACKUP>(value, grad, before, |i, p, g| {
            let (v, u) = (&mut square_avg[i], &mut acc_delta[i]);
            let g = if decay { g + weight_decay * *p } else { g };
            *v = *v * rho + one_minus_rho * g * g;
            let delta = (*u + eps).sqrt() / (*v + eps).sqrt() * g;
            *u = *u * rho + one_minus_rho * delta * delta;
            *p += minus_lr * delta;
        });
        Ok(finite)
    }
}

impl<F: Float> Optimizer<F> for Adadelta<F> {
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
        non_negative::<F>("Adadelta", "lr", self.lr)?;
        unit("Adadelta", "rho", self.rho, true)?;
        non_negative::<F>("Adadelta", "eps", self.eps)?;
        non_negative::<F>("Adadelta", "weight_decay", self.weight_decay)
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

    /// First step: v = (1 − ρ) g², Δ = √eps / √(v + eps) · g.
    #[test]
    fn first_step_by_hand() {
        let mut opt = Adadelta::new(1.0).rho(0.5).eps(0.25);
        let mut p = [0.0f64];
        opt.update(0, &mut p, &[1.0]).unwrap();
        assert_eq!(p, [-(0.5 / 0.75f64.sqrt())]);
        assert!(Adadelta::new(1.0)
            .rho(1.5)
            .update(0, &mut p, &[1.0])
            .is_err());
    }
}
