//! Optimizers: how parameters move given their gradients.
//!
//! Every optimizer here follows the update rule of its `torch.optim` namesake (PyTorch 2.15,
//! the single-tensor loop) operation by operation — same hyperparameter names and defaults,
//! same order of weight decay, eps placement and bias correction — so a trajectory matches
//! PyTorch's to rounding (`tests/optim_reference.rs` checks 1e-9 relative in f64 against
//! `fixtures/optim.json`). Step-wide scalars (bias corrections, the step size) are computed in
//! `f64`, as PyTorch computes them in Python floats; element-wise arithmetic is done in the
//! parameters' type `F`, as PyTorch does in the tensor's dtype.
//!
//! Optimizers are built as `X::new(lr)` plus builder methods named after PyTorch's
//! hyperparameters: `Sgd::new(0.1).momentum(0.9).nesterov(true)`,
//! `Adam::new(1e-3).betas(0.9, 0.999).amsgrad(true)`. Builders do not check values (so they
//! can be chained); [`Optimizer::validate`] does, and every update refuses invalid ones.

mod adadelta;
mod adagrad;
mod adam;
mod clip;
mod nadam;
mod radam;
mod rmsprop;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use nadam::NAdam;
pub use radam::RAdam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::Model;

/// Updates a model's parameters from the gradients of its last backward pass.
///
/// An optimizer sees parameters through [`Model::visit_params`], always in the same order,
/// so optimizers with per-parameter state (momentum, Adam's moments) keep one state per
/// visited parameter, indexed by visit order and allocated on the first step only: later
/// steps allocate nothing.
pub trait Optimizer<F: Float> {
    /// One update of every parameter of the model from its current gradient: calls
    /// [`Optimizer::update`] for each parameter in visit order.
    ///
    /// # Panics
    /// If the hyperparameters are invalid (check them first with [`Optimizer::validate`];
    /// `fit` should), or if the model lends a parameter whose gradient has a different length
    /// than its value (a broken `Model` implementation).
    fn step(&mut self, model: &mut dyn Model<F>) {
        let mut index = 0;
        model.visit_params(&mut |p| {
            if let Err(e) = self.update(index, p.value, p.grad) {
                panic!("optimizer step, parameter `{}`: {e}", p.full_name());
            }
            index += 1;
        });
    }

    /// Updates one parameter tensor `value` (flattened) from its gradient `grad`: the
    /// optimizer's rule applied to the parameter that is `index`-th in visit order, with the
    /// state kept for that index. Lets optimizers be used and tested without a [`Model`].
    ///
    /// State for an index is created on its first update (and re-created if the parameter's
    /// length changes, e.g. when an optimizer is reused for another network).
    ///
    /// # Errors
    /// [`Error::Config`] if `value` and `grad` differ in length or a hyperparameter is invalid.
    fn update(&mut self, index: usize, value: &mut [F], grad: &[F]) -> Result<()>;

    /// Checks the hyperparameters against the ranges PyTorch accepts (non-negative learning
    /// rate, betas in [0, 1), …). Optimizers without constraints accept everything.
    ///
    /// # Errors
    /// [`Error::Config`] naming the optimizer, the hyperparameter and its value.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Forgets all per-parameter state (moments, step counts), as a freshly built optimizer.
    fn reset(&mut self) {}

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules); state is kept.
    fn set_learning_rate(&mut self, lr: f64);
}

/// A per-parameter state: knows the length of the parameter it was built for.
pub(crate) trait ParamState {
    /// Number of elements of the parameter this state belongs to.
    fn len(&self) -> usize;
}

/// Per-parameter states of an optimizer, indexed by visit order; `None` until first used.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct States<S>(Vec<Option<S>>);

impl<S> Default for States<S> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<S: ParamState> States<S> {
    /// The state of parameter `index` of `len` elements, created by `fresh(len)` on first use
    /// (or if the stored one was built for another length). Allocates only then.
    pub(crate) fn get(
        &mut self,
        index: usize,
        len: usize,
        fresh: impl FnOnce(usize) -> S,
    ) -> &mut S {
        if self.0.len() <= index {
            self.0.resize_with(index + 1, || None);
        }
        let slot = &mut self.0[index];
        if slot.as_ref().is_some_and(|state| state.len() != len) {
            *slot = None;
        }
        slot.get_or_insert_with(|| fresh(len))
    }

    /// Drops every state.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// `start + weight · (end − start)`, computed as PyTorch's `lerp` does (the form depends on
/// whether the weight is below one half), so moment averages round the same way.
pub(crate) fn lerp<F: Float>(start: F, end: F, weight: F) -> F {
    if weight.abs() < F::from_f64(0.5) {
        start + weight * (end - start)
    } else {
        end - (end - start) * (F::one() - weight)
    }
}

/// Makes sure `buffer` has `len` elements, zero-filling it if it had to be (re)allocated: for
/// state that is only needed once an option is switched on (amsgrad, centered, momentum).
pub(crate) fn ensure_zeros<F: Float>(buffer: &mut Vec<F>, len: usize) {
    if buffer.len() != len {
        buffer.clear();
        buffer.resize(len, F::zero());
    }
}

/// `Err` unless a value and its gradient have the same length.
pub(crate) fn check_lengths<F>(optimizer: &str, value: &[F], grad: &[F]) -> Result<()> {
    if value.len() == grad.len() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{optimizer}: the parameter has {} values but its gradient has {}",
            value.len(),
            grad.len()
        )))
    }
}

/// `Err` unless `value` is a number `≥ 0`.
pub(crate) fn non_negative(optimizer: &str, name: &str, value: f64) -> Result<()> {
    if value >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{optimizer}: {name} must be 0 or more, got {value}"
        )))
    }
}

/// `Err` unless `value` lies in `[0, 1)` (Adam's betas) or, if `closed`, `[0, 1]`.
pub(crate) fn unit(optimizer: &str, name: &str, value: f64, closed: bool) -> Result<()> {
    let ok = value >= 0.0 && (value < 1.0 || closed && value == 1.0);
    if ok {
        Ok(())
    } else {
        let range = if closed { "[0, 1]" } else { "[0, 1)" };
        Err(Error::Config(format!(
            "{optimizer}: {name} must be in {range}, got {value}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Counter(Vec<f64>);

    impl ParamState for Counter {
        fn len(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn states_are_created_once_per_index_and_rebuilt_on_length_change() {
        let mut states = States::<Counter>::default();
        states.get(1, 2, |n| Counter(vec![0.0; n])).0[0] = 5.0;
        assert_eq!(states.0.len(), 2);
        assert!(states.0[0].is_none());
        assert_eq!(states.get(1, 2, |_| unreachable!()).0, [5.0, 0.0]);
        assert_eq!(states.get(1, 3, |n| Counter(vec![1.0; n])).0, [1.0; 3]);
        states.clear();
        assert!(states.0.is_empty());
    }

    #[test]
    fn lerp_uses_both_torch_forms() {
        assert_eq!(lerp(1.0, 3.0, 0.25), 1.5);
        assert_eq!(lerp(1.0, 3.0, 0.75), 2.5);
        // The two forms round differently; each side of 0.5 matches its own form exactly.
        let (a, b) = (0.1f64, 0.7f64);
        assert_eq!(lerp(a, b, 0.1), a + 0.1 * (b - a));
        assert_eq!(lerp(a, b, 0.9), b - (b - a) * (1.0 - 0.9));
    }

    #[test]
    fn checks_report_names_and_values() {
        assert!(non_negative("Sgd", "lr", 0.0).is_ok());
        assert_eq!(
            non_negative("Sgd", "lr", -1.0),
            Err(Error::Config("Sgd: lr must be 0 or more, got -1".into()))
        );
        assert!(non_negative("Sgd", "lr", f64::NAN).is_err());
        assert!(unit("Adam", "beta1", 0.0, false).is_ok());
        assert!(unit("Adam", "beta1", 1.0, false).is_err());
        assert!(unit("Adadelta", "rho", 1.0, true).is_ok());
        assert!(unit("Adadelta", "rho", 1.5, true).is_err());
        assert!(check_lengths("Adam", &[1.0, 2.0], &[1.0]).is_err());
    }
}
