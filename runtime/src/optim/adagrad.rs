//! Adagrad: per-coordinate steps scaled by the root of the summed squared gradients.

use crate::error::Result;
use crate::float::Float;
use crate::optim::{check_update, each, non_negative, Optimizer, ParamState, States};

/// Adagrad as `torch.optim.Adagrad`. Per step t (counting from 1):
///
/// ```text
/// g ← g + weight_decay · p                    (if weight_decay ≠ 0)
/// clr = lr / (1 + (t − 1) · lr_decay)
/// s ← s + g²                                   (s starts at initial_accumulator_value)
/// p ← p − clr · g / (√s + eps)
/// ```
///
/// Defaults as PyTorch: lr 0.01, lr_decay 0, weight_decay 0, initial_accumulator_value 0,
/// eps 1e-10. `Adagrad::new(0.01).lr_decay(1e-4)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad<F = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate decay per step.
    pub lr_decay: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients.
    pub initial_accumulator_value: f64,
    /// Added to the denominator for numerical stability.
    pub eps: f64,
    states: States<AdagradState<F>>,
}

/// Step count and sum of squared gradients of one parameter.
#[derive(Clone, Debug, PartialEq)]
struct AdagradState<F> {
    step: u64,
    sum: Vec<F>,
}

impl<F> ParamState for AdagradState<F> {
    fn len(&self) -> usize {
        self.sum.len()
    }
}

impl<F: Float> Adagrad<F> {
    /// Adagrad with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            states: States::default(),
        }
    }

    /// Sets the learning-rate decay (PyTorch's `lr_decay`, default 0).
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the L2 penalty (PyTorch's `weight_decay`, default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the accumulator's starting value (PyTorch's `initial_accumulator_value`, default 0).
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// Sets eps (PyTorch's `eps`, default 1e-10).
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
}

/// PyTorch's default learning rate, 0.01.
impl<F: Float> Default for Adagrad<F> {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl<F: Float> Adagrad<F> {
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
        check_update::<F, BACKUP>("Adagrad", value, grad, before)?;
        let initial = F::from_f64(self.initial_accumulator_value);
        let n = value.len();
        let state = self.states.get(index, n, |n| AdagradState {
            step: 0,
            sum: vec![initial; n],
        });
        state.step += 1;
        let clr = self.lr / (1.0 + (state.step as f64 - 1.0) * self.lr_decay);
        let minus_clr = F::from_f64(-clr);
        let (decay, weight_decay) = (self.weight_decay != 0.0, F::from_f64(self.weight_decay));
        let eps = F::from_f64(self.eps);
        let sum = &mut state.sum[..n];
        let finite = each::<F, BACKUP>(value, grad, before, |i, p, g| {
            let s = &mut sum[i];
            let g = if decay { g + weight_decay * *p } else { g };
            *s += g * g;
            *p += minus_clr * g / (s.sqrt() + eps);
        });
        Ok(finite)
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
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
        non_negative::<F>("Adagrad", "lr", self.lr)?;
        non_negative::<F>("Adagrad", "lr_decay", self.lr_decay)?;
        non_negative::<F>("Adagrad", "weight_decay", self.weight_decay)?;
        non_negative::<F>(
            "Adagrad",
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        non_negative::<F>("Adagrad", "eps", self.eps)
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

    /// First step from a zero accumulator: s = g², so p moves by lr · g / (|g| + eps) ≈ lr.
    #[test]
    fn first_step_moves_by_lr_against_the_sign() {
        let mut opt = Adagrad::new(0.1).eps(0.0);
        let mut p = [1.0f64, 1.0];
        opt.update(0, &mut p, &[3.0, -0.5]).unwrap();
        assert_eq!(p, [0.9, 1.1]);
    }

    #[test]
    fn negative_accumulator_is_an_error() {
        let mut opt = Adagrad::new(0.1).initial_accumulator_value(-1.0);
        assert!(opt.update(0, &mut [1.0f64], &[1.0]).is_err());
    }
}
