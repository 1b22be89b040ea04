//! RAdam: Adam whose adaptive step is switched on gradually, as its variance becomes tractable.

use crate::error::Result;
use crate::float::Float;
use crate::optim::{check_update, each, lerp, non_negative, unit, Optimizer, ParamState, States};

/// RAdam as `torch.optim.RAdam`. Per step t (counting from 1), with (β₁, β₂) = `betas`:
///
/// ```text
/// g ← g + weight_decay · p         (or, if decoupled_weight_decay, p ← p · (1 − lr · weight_decay))
/// m ← lerp(m, g, 1 − β₁);  v ← β₂ v + (1 − β₂) g²;  m̂ = m / (1 − β₁ᵗ)
/// ρ∞ = 2 / (1 − β₂) − 1,  ρₜ = ρ∞ − 2t β₂ᵗ / (1 − β₂ᵗ)
/// if ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρₜ))
///             p ← p − m̂ · lr · √(1 − β₂ᵗ) / (√v + eps) · r
/// else:       p ← p − m̂ · lr                 (SGD with momentum while ρₜ is small)
/// ```
///
/// Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, coupled weight
/// decay. `RAdam::new(1e-3).betas(0.9, 0.999)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RAdam<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates (β₁, β₂) of the first and second moment averages.
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Weight decay: an L2 penalty, or decoupled (AdamW-style) if `decoupled_weight_decay`.
    pub weight_decay: f64,
    /// Shrinks the parameters directly instead of adding the penalty to the gradient.
    pub decoupled_weight_decay: bool,
    states: States<RAdamState<F>>,
}

/// Step count and moment averages of one parameter.
#[derive(Clone, Debug, PartialEq)]
struct RAdamState<F> {
    step: u64,
    exp_avg: Vec<F>,
    exp_avg_sq: Vec<F>,
}

impl<F> ParamState for RAdamState<F> {
    fn len(&self) -> usize {
        self.exp_avg.len()
    }
}

impl<F: Float> RAdam<F> {
    /// RAdam with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
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

    /// Sets the weight decay (PyTorch's `weight_decay`, default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Chooses decoupled weight decay (PyTorch's `decoupled_weight_decay`, default off).
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Self {
        self.decoupled_weight_decay = decoupled;
        self
    }
}

/// PyTorch's default learning rate, 1e-3.
impl<F: Float> Default for RAdam<F> {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<F: Float> RAdam<F> {
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
        check_update::<F, BACKUP>("RAdam", value, grad, before)?;
        let n = value.len();
        let state = self.states.get(index, n, |n| RAdamState {
            step: 0,
            exp_avg: vec![F::zero(); n],
            exp_avg_sq: vec![F::zero(); n],
        });
        state.step += 1;
        let (beta1, beta2) = self.betas;
        let step = state.step as f64;
        let bias_correction1 = 1.0 - beta1.powf(step);
        let bias_correction2 = 1.0 - beta2.powf(step);
        let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * step * beta2.powf(step) / bias_correction2;
        // Some(r) once the variance of the adaptive step is tractable (ρₜ > 5).
        let rect = (rho_t > 5.0).then(|| {
            let r = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t);
            F::from_f64(r.powf(0.5))
        });
        let bias_correction1 = F::from_f64(bias_correction1);
        let bias_correction2_sqrt = F::from_f64(bias_correction2.powf(0.5));

        let decay = self.weight_decay != 0.0;
        let coupled = decay && !self.decoupled_weight_decay;
        let weight_decay = F::from_f64(self.weight_decay);
        let shrink = F::from_f64(1.0 - self.lr * self.weight_decay);
        let one_minus_beta1 = F::from_f64(1.0 - beta1);
        let (beta2, one_minus_beta2) = (F::from_f64(beta2), F::from_f64(1.0 - beta2));
        let (eps, lr) = (F::from_f64(self.eps), F::from_f64(self.lr));
        let exp_avg = &mut state.exp_avg[..n];
        let exp_avg_sq = &mut state.exp_avg_sq[..n];
        let finite = each::<F, BACKUP>(value, grad, before, |i, p, g| {
            let (m, v) = (&mut exp_avg[i], &mut exp_avg_sq[i]);
            if decay && !coupled {
                *p *= shrink;
            }
            let g = if coupled { g + weight_decay * *p } else { g };
            *m = lerp(*m, g, one_minus_beta1);
            *v = *v * beta2 + one_minus_beta2 * g * g;
            let corrected = *m / bias_correction1;
            *p -= match rect {
                Some(r) => {
                    let adaptive = F::one() / (v.sqrt() + eps) * bias_correction2_sqrt;
                    corrected * lr * adaptive * r
                }
                None => corrected * lr,
            };
        });
        Ok(finite)
    }
}

impl<F: Float> Optimizer<F> for RAdam<F> {
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
        non_negative::<F>("RAdam", "lr", self.lr)?;
        non_negative::<F>("RAdam", "eps", self.eps)?;
        unit("RAdam", "beta1", self.betas.0, false)?;
        unit("RAdam", "beta2", self.betas.1, false)?;
        non_negative::<F>("RAdam", "weight_decay", self.weight_decay)
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

    /// While ρₜ ≤ 5 (the first 5 steps with β₂ = 0.999), RAdam is bias-corrected momentum
    /// SGD: the first step moves by exactly lr · g.
    #[test]
    fn starts_as_momentum_sgd() {
        let mut opt = RAdam::new(0.1);
        let mut p = [1.0f64];
        opt.update(0, &mut p, &[3.0]).unwrap();
        assert!((p[0] - 0.7).abs() < 1e-15, "{p:?}");
    }
}
