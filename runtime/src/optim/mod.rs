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
//! infinite in `f32`). So `fit` never keeps such a step: it asks the optimizer beforehand
//! whether its update stays finite ([`Optimizer::update_stays_finite`], which plain SGD
//! answers at the cost of one read of the weights), and otherwise updates through
//! [`Optimizer::update_with_backup`], which keeps the values it replaces and says whether the
//! new ones are finite; a step that overflows is put back and reported as
//! [`Error::Diverged`] instead of leaving infinite weights.

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
    /// (`fit` checks first with [`Optimizer::update_stays_finite`] or updates through
    /// [`Optimizer::update_with_backup`], and puts such a step back).
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
    /// finite. `fit` updates through this method (unless [`Optimizer::update_stays_finite`]
    /// said yes for every parameter), so that a step that would leave a parameter infinite or
    /// NaN (a finite learning rate can still overflow) is put back and reported. It must
    /// change the optimizer's state exactly as `update` does.
    ///
    /// The provided implementation copies, calls [`Optimizer::update`], then checks every
    /// value; the optimizers of this module copy each value and test the result in their
    /// update loop (an extra store per element: a few µs per 100,000 `f32` parameters).
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

    /// Whether [`Optimizer::update`] of the parameter that is `index`-th in visit order would
    /// leave every value finite, computed without changing anything, if the optimizer can
    /// tell at about the cost of reading `value` and `grad` once; `None` (the provided
    /// implementation) if it cannot. A gradient that is not finite gives `Some(false)`. The
    /// answer must be exact (`Some(true)` only if the update's values will all be finite):
    /// `fit` does not check an update it was told stays finite.
    ///
    /// `fit` asks in the pass in which it checks the gradients; when every parameter's answer
    /// is yes it updates with [`Optimizer::update`], without the copy that
    /// [`Optimizer::update_with_backup`] makes. Plain SGD (no momentum) answers; the
    /// optimizers whose update reads and writes a state do not.
    fn update_stays_finite(&self, index: usize, value: &[F], grad: &[F]) -> Option<bool> {
        let _ = (index, value, grad);
        None
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

/// [`check_lengths`] for an update, and for its backup if there is one (`BACKUP`).
pub(crate) fn check_update<F, const BACKUP: bool>(
    optimizer: &str,
    value: &[F],
    grad: &[F],
    before: &[F],
) -> Result<()> {
    check_lengths(optimizer, value, grad)?;
    if BACKUP && before.len() != value.len() {
        return Err(Error::Config(format!(
            "{optimizer}: the parameter has {} values but its backup has room for {}",
            value.len(),
            before.len()
        )));
    }
    Ok(())
}

/// `Err` unless `value` is a number `≥ 0` that is finite, also in `F` (1e39 is not in `f32`).
pub(crate) fn non_negative<F: Float>(optimizer: &str, name: &str, value: f64) -> Result<()> {
    if value >= 0.0 && F::from_f64(value).is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{optimizer}: {name} must be a number from 0 to {} (the largest {}), got {}",
            largest::<F>(),
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
            "{optimizer}: {name} must be a finite number from -{max} to {max} (the largest {}), \
             got {}",
            F::DTYPE.to_lowercase(),
            number(value),
            max = largest::<F>(),
        )))
    }
}

/// The largest finite `F` as written in a message: `3.4028235e38` for `f32` (its shortest
/// decimal form, rather than the digits of its exact value in `f64`).
fn largest<F: Float>() -> String {
    let shortest = F::max_value().to_string().parse().unwrap_or(f64::MAX);
    number(shortest)
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

/// Runs `f(i, &mut value[i], grad[i])` for every element, in order: the loop of an
/// element-wise update. With `BACKUP`, the loop also copies each value into `before` before
/// `f` changes it, and returns whether every updated value is finite (a flag or-ed in the
/// same loop); without, `before` is not used (pass `&mut []`) and the result is `true`. The
/// two are separate monomorphic loops, so the plain one is exactly the loop without a backup.
/// A choice on a loop-invariant option inside `f` can keep the loop with a backup from
/// vectorizing (Adam's AMSGrad branch made it 4 times slower): make such choices outside, one
/// `each` per case. Lengths must have been checked ([`check_update`]).
#[inline(always)]
pub(crate) fn each<F: Float, const BACKUP: bool>(
    value: &mut [F],
    grad: &[F],
    before: &mut [F],
    mut f: impl FnMut(usize, &mut F, F),
) -> bool {
    let grad = &grad[..value.len()];
    if BACKUP {
        let before = &mut before[..value.len()];
        let mut bad = false;
        for (i, ((p, &g), b)) in value.iter_mut().zip(grad).zip(before).enumerate() {
            *b = *p;
            f(i, p, g);
            bad |= !p.is_finite();
        }
        !bad
    } else {
        for (i, (p, &g)) in value.iter_mut().zip(grad).enumerate() {
            f(i, p, g);
        }
        true
    }
}

/// Whether `f(a[i], b[i])` is finite for every `i` (the slices have the same length), on this
/// thread: [`all_finite`] of values computed on the fly. Not inlined: compiled on its own,
/// for each `f`, the lanes stay in vector registers (inlined into a caller with two such
/// loops, they were spilled to the stack and the pass took 4 times as long).
#[inline(never)]
pub(crate) fn all_finite_of<F: Float>(a: &[F], b: &[F], f: impl Fn(F, F) -> F) -> bool {
    const LANES: usize = 32;
    let b = &b[..a.len()];
    if a.len() < 2 * LANES {
        return a.iter().zip(b).all(|(&x, &y)| f(x, y).is_finite());
    }
    let mut sums = [F::zero(); LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((sum, &x), &y) in sums.iter_mut().zip(ca).zip(cb) {
            *sum += f(x, y);
        }
    }
    for ((sum, &x), &y) in sums.iter_mut().zip(rest_a).zip(rest_b) {
        *sum += f(x, y);
    }
    sums.iter().all(|s| s.is_finite()) || a.iter().zip(b).all(|(&x, &y)| f(x, y).is_finite())
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
                "Sgd: lr must be a number from 0 to 3.4028235e38 (the largest f32), got -1".into()
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
                "Sgd: lr must be a number from 0 to 3.4028235e38 (the largest f32), got 1e39"
                    .into()
            ))
        );
        assert!(finite::<f32>("Sgd", "dampening", -0.5).is_ok());
        assert_eq!(
            finite::<f64>("Sgd", "dampening", f64::NEG_INFINITY),
            Err(Error::Config(
                "Sgd: dampening must be a finite number from -1.7976931348623157e308 to \
                 1.7976931348623157e308 (the largest f64), got -inf"
                    .into()
            ))
        );
        assert!(unit("Adam", "beta1", 0.0, false).is_ok());
        assert!(unit("Adam", "beta1", 1.0, false).is_err());
        assert!(unit("Adadelta", "rho", 1.0, true).is_ok());
        assert!(unit("Adadelta", "rho", 1.5, true).is_err());
        assert!(check_lengths("Adam", &[1.0, 2.0], &[1.0]).is_err());
    }

    /// Every optimizer of this module, with every option that changes its update loop.
    fn every_optimizer(lr: f64) -> Vec<(&'static str, Box<dyn Optimizer<f32>>)> {
        vec![
            ("sgd", Box::new(Sgd::new(lr))),
            ("sgd decay", Box::new(Sgd::new(lr).weight_decay(0.1))),
            (
                "sgd momentum",
                Box::new(Sgd::new(lr).momentum(0.9).nesterov(true)),
            ),
            ("adam", Box::new(Adam::new(lr))),
            (
                "adam amsgrad",
                Box::new(Adam::new(lr).amsgrad(true).weight_decay(0.1)),
            ),
            ("adamw", Box::new(AdamW::new(lr))),
            (
                "nadam",
                Box::new(
                    NAdam::new(lr)
                        .decoupled_weight_decay(true)
                        .weight_decay(0.1),
                ),
            ),
            ("radam", Box::new(RAdam::new(lr).weight_decay(0.1))),
            ("adagrad", Box::new(Adagrad::new(lr).lr_decay(0.1))),
            ("adadelta", Box::new(Adadelta::new(lr).eps(1.0))),
            (
                "rmsprop",
                Box::new(RmsProp::new(lr).centered(true).momentum(0.5)),
            ),
        ]
    }

    /// `update_with_backup` is `update` (to the bit, state included), plus the values it
    /// replaced and whether the new ones are finite: on small tensors and on one large
    /// enough to be updated on the kernels' threads.
    #[test]
    fn update_with_backup_is_update_plus_a_copy_and_a_check() {
        for n in [3, 1 << 17] {
            let start: Vec<f32> = (0..n).map(|i| (i % 31) as f32 * 0.1 - 1.0).collect();
            let grad: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 0.01 - 0.4).collect();
            for ((name, mut plain), (_, mut backed)) in
                every_optimizer(0.01).into_iter().zip(every_optimizer(0.01))
            {
                let (mut a, mut b) = (start.clone(), start.clone());
                let mut before = vec![0.0; n];
                for step in 0..3 {
                    let was = b.clone();
                    plain.update(0, &mut a, &grad).unwrap();
                    let finite = backed.update_with_backup(0, &mut b, &grad, &mut before);
                    assert_eq!(finite, Ok(true), "{name}, step {step}");
                    assert_eq!(a, b, "{name}, step {step}");
                    assert_eq!(before, was, "{name}, step {step}");
                }
                assert!(matches!(
                    backed.update_with_backup(0, &mut b, &grad, &mut [0.0; 2]),
                    Err(Error::Config(_))
                ));
            }
        }
    }

    /// A step that overflows f32 (a rate of 3e38 from a parameter of 2e38) is reported by
    /// every optimizer, whose backup holds the values before it; and the provided
    /// implementation, for an optimizer written outside this module, does the same.
    #[test]
    fn update_with_backup_reports_a_step_that_overflows() {
        /// Plain SGD through the provided `update_with_backup`.
        struct Outside(f32);
        impl Optimizer<f32> for Outside {
            fn update(&mut self, _: usize, value: &mut [f32], grad: &[f32]) -> Result<()> {
                value
                    .iter_mut()
                    .zip(grad)
                    .for_each(|(p, g)| *p -= self.0 * g);
                Ok(())
            }
            fn learning_rate(&self) -> f64 {
                self.0.into()
            }
            fn set_learning_rate(&mut self, lr: f64) {
                self.0 = lr as f32;
            }
        }
        for n in [3, 1 << 17] {
            let mut all = every_optimizer(3e38);
            all.push(("outside", Box::new(Outside(3e38))));
            for (name, mut optimizer) in all {
                let start = vec![2e38f32; n];
                // A negative gradient: every optimizer moves the parameters up, by about lr.
                let grad = vec![-1e9f32; n];
                let (mut value, mut before) = (start.clone(), vec![0.0; n]);
                let finite = optimizer.update_with_backup(0, &mut value, &grad, &mut before);
                assert_eq!(finite, Ok(false), "{name}");
                assert_eq!(before, start, "{name}");
                assert!(value.iter().any(|v| !v.is_finite()), "{name}");
            }
        }
    }

    /// Plain SGD tells whether its update stays finite, exactly as the update turns out
    /// (from 1.7e38, a step of 1e38 stays finite, one of 2e38 does not; a gradient that is
    /// not finite does not); with momentum, or another optimizer, it does not tell.
    #[test]
    fn plain_sgd_tells_whether_its_update_stays_finite() {
        for n in [3, 1 << 17] {
            for (lr, g, decay) in [
                (1.0, -1.0, 0.0),
                (1e38, -2.0, 0.0),
                (1e38, -4.0, 0.0),
                (1.0, f32::NAN, 0.0),
                (0.0, f32::INFINITY, 0.0),
                (1e38, -1.0, 1.0),
                (1e38, -2.0, 1.0),
            ] {
                let sgd = Sgd::<f32>::new(lr).weight_decay(decay);
                let mut value = vec![f32::MAX / 2.0; n];
                value[n - 1] = 1.0;
                let grad = vec![g; n];
                let told = sgd.update_stays_finite(0, &value, &grad);
                let mut updated = value.clone();
                sgd.clone().update(0, &mut updated, &grad).unwrap();
                let finite = updated.iter().all(|v| v.is_finite());
                assert_eq!(told, Some(finite), "n {n}, lr {lr}, g {g}, decay {decay}");
            }
        }
        let value = [1.0f32];
        assert_eq!(
            Sgd::new(0.1)
                .momentum(0.9)
                .update_stays_finite(0, &value, &value),
            None
        );
        assert_eq!(Adam::new(0.1).update_stays_finite(0, &value, &value), None);
        assert_eq!(Sgd::new(-1.0).update_stays_finite(0, &value, &value), None);
        assert_eq!(Sgd::new(0.1).update_stays_finite(0, &value, &[]), None);
    }
}
