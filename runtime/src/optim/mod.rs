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
//! Besides PyTorch's ranges, every hyperparameter must be finite, also in the parameters'
//! type (`Sgd::new(f64::INFINITY)`, or a rate of 1e39 for `f32` parameters, is refused).
//!
//! A finite learning rate can still make a step overflow (1e38 times a gradient of 10 is
//! infinite in `f32`). `fit` steps through [`Optimizer::update_with_backup`], which keeps the
//! values it replaces and reports whether the new ones are finite, so such a step is put back
//! and reported as [`Error::Diverged`] instead of leaving infinite weights.

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
    /// The step is not guarded: a step that overflows leaves infinite or NaN parameters
    /// (`fit` steps through [`Optimizer::update_with_backup`] instead, and puts such a step
    /// back).
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

    /// [`Optimizer::update`] that can be undone: also copies `value` as it was before the
    /// update into `before` (of the same length), and returns whether every updated value is
    /// finite. `fit` updates through this method, so that a step that would leave a parameter
    /// infinite or NaN (a finite learning rate can still overflow) is put back and reported.
    ///
    /// The provided implementation copies, calls [`Optimizer::update`], then checks every
    /// value; the optimizers of this module copy each value in their update loop and check
    /// the updated values while they are still in cache, which costs next to nothing.
    ///
    /// # Errors
    /// Those of [`Optimizer::update`] (then `value` is unchanged, and `before` need not hold
    /// it), and [`Error::Config`] if `before` is not as long as `value`.
    fn update_with_backup(
        &mut self,
        index: usize,
        value: &mut [F],
        grad: &[F],
        before: &mut [F],
    ) -> Result<bool> {
        check_lengths("the backup of an update", value, before)?;
        before.copy_from_slice(value);
        self.update(index, value, grad)?;
        Ok(all_finite(value))
    }

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

/// `Err` unless a value and its gradient (or backup) have the same length.
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

/// [`check_lengths`] for an update, and for its backup if there is one.
pub(crate) fn check_update<F>(
    optimizer: &str,
    value: &[F],
    grad: &[F],
    before: Option<&mut [F]>,
) -> Result<()> {
    check_lengths(optimizer, value, grad)?;
    match before {
        Some(before) if before.len() != value.len() => Err(Error::Config(format!(
            "{optimizer}: the parameter has {} values but its backup has room for {}",
            value.len(),
            before.len()
        ))),
        _ => Ok(()),
    }
}

/// `Err` unless `value` is a number `≥ 0` that is finite, also in `F` (1e39 is not in `f32`).
pub(crate) fn non_negative<F: Float>(optimizer: &str, name: &str, value: f64) -> Result<()> {
    if value >= 0.0 {
        finite::<F>(optimizer, name, value)
    } else {
        Err(Error::Config(format!(
            "{optimizer}: {name} must be a number from 0 to {:e} (the largest {}), got {}",
            F::max_value().as_f64(),
            F::DTYPE.to_lowercase(),
            number(value)
        )))
    }
}

/// `Err` unless `value` is finite, also in `F`.
pub(crate) fn finite<F: Float>(optimizer: &str, name: &str, value: f64) -> Result<()> {
    if F::from_f64(value).is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{optimizer}: {name} must be a finite number of magnitude at most {:e} (the largest \
             {}), got {}",
            F::max_value().as_f64(),
            F::DTYPE.to_lowercase(),
            number(value)
        )))
    }
}

/// `value` as written in a message: `0.001`, `-1`, `inf`, but `1e39` rather than forty digits.
pub(crate) fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude.is_finite() && magnitude != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Runs `f(i, &mut value[i], grad[i])` for every element, in order, after copying
/// `value[i]` into `before[i]` if there is a backup: the loop of an element-wise update, in
/// two monomorphic versions so that the plain one is exactly the loop without a backup.
/// Lengths must have been checked ([`check_update`]).
#[inline(always)]
pub(crate) fn each<F: Float>(
    value: &mut [F],
    grad: &[F],
    before: Option<&mut [F]>,
    mut f: impl FnMut(usize, &mut F, F),
) {
    let grad = &grad[..value.len()];
    match before {
        None => {
            for (i, (p, &g)) in value.iter_mut().zip(grad).enumerate() {
                f(i, p, g);
            }
        }
        Some(before) => {
            let before = &mut before[..value.len()];
            for (i, ((p, &g), b)) in value.iter_mut().zip(grad).zip(before).enumerate() {
                *b = *p;
                f(i, p, g);
            }
        }
    }
}

/// Whether no element of `xs` is NaN or infinite, on this thread.
///
/// Fast path: sums of the elements in 32 independent lanes (so that the compiler vectorizes
/// the loop: one addition per element, about the cost of reading the values once). A NaN or
/// an infinity makes its lane's sum NaN or infinite for good (inf + finite = inf,
/// inf − inf = NaN, NaN + anything = NaN), so finite sums prove every element finite. A
/// non-finite sum may also come from finite values that overflow when added; only then are
/// the elements tested one by one (as are short slices, biases, where lanes do not pay).
pub(crate) fn all_finite<F: Float>(xs: &[F]) -> bool {
    const LANES: usize = 32;
    if xs.len() < 2 * LANES {
        return xs.iter().all(|x| x.is_finite());
    }
    let mut sums = [F::zero(); LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (sum, &x) in sums.iter_mut().zip(chunk) {
            *sum += x;
        }
    }
    for (sum, &x) in sums.iter_mut().zip(rest) {
        *sum += x;
    }
    sums.iter().all(|s| s.is_finite()) || xs.iter().all(|x| x.is_finite())
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
        assert!(non_negative::<f32>("Sgd", "lr", 0.0).is_ok());
        assert_eq!(
            non_negative::<f32>("Sgd", "lr", -1.0),
            Err(Error::Config(
                "Sgd: lr must be a number from 0 to 3.4028234663852886e38 (the largest f32), \
                 got -1"
                    .into()
            ))
        );
        for bad in [f64::NAN, f64::INFINITY, -0.5] {
            assert!(non_negative::<f64>("Sgd", "lr", bad).is_err(), "{bad}");
        }
        // Finite in f64 but not in f32.
        assert!(non_negative::<f64>("Sgd", "lr", 1e39).is_ok());
        assert_eq!(
            non_negative::<f32>("Sgd", "lr", 1e39),
            Err(Error::Config(
                "Sgd: lr must be a finite number of magnitude at most 3.4028234663852886e38 \
                 (the largest f32), got 1e39"
                    .into()
            ))
        );
        assert!(finite::<f32>("Sgd", "dampening", -0.5).is_ok());
        assert!(finite::<f32>("Sgd", "dampening", f64::NEG_INFINITY).is_err());
        assert!(unit("Adam", "beta1", 0.0, false).is_ok());
        assert!(unit("Adam", "beta1", 1.0, false).is_err());
        assert!(unit("Adadelta", "rho", 1.0, true).is_ok());
        assert!(unit("Adadelta", "rho", 1.5, true).is_err());
        assert!(check_lengths("Adam", &[1.0, 2.0], &[1.0]).is_err());
    }
}
