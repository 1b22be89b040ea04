//! NAdam: Adam with Nesterov momentum and a momentum schedule.

use crate::error::Result;
use crate::float::Float;
use crate::optim::{check_update, each, lerp, non_negative, unit, Optimizer, ParamState, States};

/// NAdam as `torch.optim.NAdam`. Per step t (counting from 1), with (β₁, β₂) = `betas` and
/// ψ = `momentum_decay`:
///
/// ```text
/// g ← g + weight_decay · p         (or, if decoupled_weight_decay, p ← p · (1 − lr · weight_decay))
/// μₜ = β₁ (1 − ½ · 0.96^(t ψ)),  μₜ₊₁ = β₁ (1 − ½ · 0.96^((t+1) ψ)),  Πₜ = μ₁ ⋯ μₜ
/// m ← lerp(m, g, 1 − β₁);  v ← β₂ v + (1 − β₂) g²
/// d = √(v / (1 − β₂ᵗ)) + eps
/// p ← p − lr (1 − μₜ) / (1 − Πₜ) · g / d − lr μₜ₊₁ / (1 − Πₜ μₜ₊₁) · m / d
/// ```
///
/// Defaults as PyTorch: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0,
/// momentum_decay 4e-3, coupled weight decay. The product Πₜ is kept in `f64` (PyTorch keeps
/// it in the default dtype). `NAdam::new(2e-3).momentum_decay(4e-3)`.
#[derive(Clone, Debug, PartialEq)]
pub struct NAdam<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates (β₁, β₂) of the first and second moment averages.
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    /// Weight decay: an L2 penalty, or decoupled (AdamW-style) if `decoupled_weight_decay`.
    pub weight_decay: f64,
    /// Rate ψ of the momentum schedule.
    pub momentum_decay: f64,
    /// Shrinks the parameters directly instead of adding the penalty to the gradient.
    pub decoupled_weight_decay: bool,
    states: States<NAdamState<F>>,
}

/// Step count, momentum product and moment averages of one parameter.
#[derive(Clone, Debug, PartialEq)]
struct NAdamState<F> {
    step: u64,
    mu_product: f64,
    exp_avg: Vec<F>,
    exp_avg_sq: Vec<F>,
}

impl<F> ParamState for NAdamState<F> {
    fn len(&self) -> usize {
        self.exp_avg.len()
    }
}

impl<F: Float> NAdam<F> {
    /// NAdam with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
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

    /// Sets the momentum schedule's rate (PyTorch's `momentum_decay`, default 4e-3).
    pub fn momentum_decay(mut self, momentum_decay: f64) -> Self {
        self.momentum_decay = momentum_decay;
        self
    }

    /// Chooses decoupled weight decay (PyTorch's `decoupled_weight_decay`, default off).
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Self {
        self.decoupled_weight_decay = decoupled;
        self
    }
}

/// PyTorch's default learning rate, 2e-3.
impl<F: Float> Default for NAdam<F> {
    fn default() -> Self {
        Self::new(2e-3)
    }
}

impl<F: Float> NAdam<F> {
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
        check_update::<F, BACKUP>("NAdam", value, grad, before)?;
        let n = value.len();
        let state = self.states.get(index, n, |n| NAdamState {
            step: 0,
            mu_product: 1.0,
            exp_avg: vec![F::zero(); n],
            exp_avg_sq: vec![F::zero(); n],
        });
        state.step += 1;
        let (beta1, beta2) = self.betas;
        let step = state.step as f64;
        let bias_correction2 = F::from_f64(1.0 - beta2.powf(step));
        let mu = beta1 * (1.0 - 0.5 * 0.96f64.powf(step * self.momentum_decay));
        let mu_next = beta1 * (1.0 - 0.5 * 0.96f64.powf((step + 1.0) * self.momentum_decay));
        state.mu_product *= mu;
        let grad_coef = F::from_f64(-self.lr * (1.0 - mu) / (1.0 - state.mu_product));
        let avg_coef = F::from_f64(-self.lr * mu_next / (1.0 - state.mu_product * mu_next));

        let decay = self.weight_decay != 0.0;
        let coupled = decay && !self.decoupled_weight_decay;
        let weight_decay = F::from_f64(self.weight_decay);
        let shrink = F::from_f64(1.0 - self.lr * self.weight_decay);
        let one_minus_beta1 = F::from_f64(1.0 - beta1);
        let (beta2, one_minus_beta2) = (F::from_f64(beta2), F::from_f64(1.0 - beta2));
        let eps = F::from_f64(self.eps);
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
            let d = (*v / bias_correction2).sqrt() + eps;
            *p += grad_coef * g / d;
            *p += avg_coef * *m / d;
        });
        Ok(finite)
    }
}

impl<F: Float> Optimizer<F> for NAdam<F> {
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
        non_negative::<F>("NAdam", "lr", self.lr)?;
        non_negative::<F>("NAdam", "eps", self.eps)?;
        unit("NAdam", "beta1", self.betas.0, false)?;
        unit("NAdam", "beta2", self.betas.1, false)?;
        non_negative::<F>("NAdam", "weight_decay", self.weight_decay)?;
        non_negative::<F>("NAdam", "momentum_decay", self.momentum_decay)
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

    /// Step 1 by hand: m = (1 − β₁) g, v = (1 − β₂) g², d = |g| + eps.
    #[test]
    fn first_step_by_hand() {
        let (lr, b1, b2, psi) = (0.1, 0.9, 0.999, 4e-3);
        let mut opt = NAdam::new(lr).eps(0.0);
        let mut p = [0.0f64];
        opt.update(0, &mut p, &[2.0]).unwrap();
        let mu1 = b1 * (1.0 - 0.5 * 0.96f64.powf(psi));
        let mu2 = b1 * (1.0 - 0.5 * 0.96f64.powf(2.0 * psi));
        let d = ((1.0 - b2) * 4.0f64 / (1.0 - b2)).sqrt();
        let expected = -lr * (1.0 - mu1) / (1.0 - mu1) * 2.0 / d
            - lr * mu2 / (1.0 - mu1 * mu2) * (1.0 - b1) * 2.0 / d;
        assert!((p[0] - expected).abs() < 1e-15, "{} vs {expected}", p[0]);
    }
}
