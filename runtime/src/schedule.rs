//! Learning-rate schedules: the learning rate as a function of the epoch.
//!
//! A [`Schedule`] is stateless: `lr(base_lr, epoch)` gives the rate for epoch `epoch`
//! (0 = the first) of a run whose optimizer started at `base_lr`, so a training loop sets
//! `optimizer.set_learning_rate(schedule.lr(base_lr, epoch))` at the start of each epoch,
//! and resuming at epoch k needs no replay. The values are those of
//! `torch.optim.lr_scheduler` read before the k-th `scheduler.step()` (to rounding: PyTorch
//! updates most rates recursively, we use the closed forms); `tests/optim_reference.rs`
//! checks 25–30 epochs of each against `fixtures/optim.json`.
//!
//! ```
//! use axonal::schedule::{CosineAnnealing, Linear, Schedule, Sequential};
//! // 5 epochs of linear warm-up from 0.1·lr, then a cosine decay over 15 epochs.
//! let schedule = Sequential::new(
//!     vec![Box::new(Linear::warmup(0.1, 5)), Box::new(CosineAnnealing::new(15, 0.0))],
//!     vec![5],
//! )
//! .unwrap();
//! assert!((schedule.lr(0.1, 0) - 0.01).abs() < 1e-15);
//! assert_eq!(schedule.lr(0.1, 5), 0.1);
//! ```

use std::fmt::Debug;

use crate::error::{Error, Result};

/// A learning rate per epoch, relative to the optimizer's initial rate.
///
/// Schedules are `Send + Sync + Debug` so they can sit in a training configuration.
pub trait Schedule: Debug + Send + Sync {
    /// The learning rate for epoch `epoch` (counting from 0) of a run that starts at `base_lr`.
    fn lr(&self, base_lr: f64, epoch: usize) -> f64;

    /// Checks the schedule's settings: the ranges PyTorch accepts, and factors and rates
    /// that are finite and not negative (a negative or NaN rate cannot train). `fit` calls
    /// it before training starts; the constructors do not (the settings are public fields,
    /// so they could be changed after construction anyway), as the optimizers' builders do
    /// not. `fit` also checks every rate a schedule gives before using it.
    ///
    /// # Errors
    /// [`Error::Config`] naming the schedule, the setting and its value.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `Err` unless the setting `name` of `schedule` is a finite number ≥ 0.
fn finite_non_negative(schedule: &str, name: &str, value: f64, why: &str) -> Result<()> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{schedule} schedule: {name} must be a finite number ≥ 0 ({why}), got {}",
            crate::optim::number(value)
        )))
    }
}

/// Why a decay factor must be finite and not negative.
const GAMMA: &str = "the factor the rate is multiplied by: below 1 to decay, above 1 to grow";

/// The base rate at every epoch: no schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Constant;

impl Schedule for Constant {
    fn lr(&self, base_lr: f64, _epoch: usize) -> f64 {
        base_lr
    }
}

/// Multiplies the rate by `gamma` every `step_size` epochs, as `StepLR`:
/// lr = base · gamma^⌊epoch / step_size⌋.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Epochs between decays (at least 1).
    pub step_size: usize,
    /// Factor applied at each decay.
    pub gamma: f64,
}

impl Step {
    /// Decay by `gamma` every `step_size` epochs (PyTorch's default gamma is 0.1).
    pub fn new(step_size: usize, gamma: f64) -> Self {
        Self { step_size, gamma }
    }
}

impl Schedule for Step {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        // step_size 0 is refused by `validate`; treated as 1 here rather than dividing by zero.
        base_lr * self.gamma.powf((epoch / self.step_size.max(1)) as f64)
    }

    fn validate(&self) -> Result<()> {
        if self.step_size == 0 {
            return Err(Error::Config(
                "Step schedule: step_size must be at least 1".into(),
            ));
        }
        finite_non_negative("Step", "gamma", self.gamma, GAMMA)
    }
}

/// Multiplies the rate by `gamma` at each milestone epoch, as `MultiStepLR`:
/// lr = base · gamma^(number of milestones ≤ epoch). A milestone listed twice decays twice.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStep {
    /// Epochs at which the rate decays, sorted.
    milestones: Vec<usize>,
    /// Factor applied at each milestone.
    pub gamma: f64,
}

impl MultiStep {
    /// Decay by `gamma` at each of `milestones` (any order; PyTorch's default gamma is 0.1).
    pub fn new(mut milestones: Vec<usize>, gamma: f64) -> Self {
        milestones.sort_unstable();
        Self { milestones, gamma }
    }

    /// The milestones, sorted.
    pub fn milestones(&self) -> &[usize] {
        &self.milestones
    }
}

impl Schedule for MultiStep {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        let passed = self.milestones.partition_point(|&m| m <= epoch);
        base_lr * self.gamma.powf(passed as f64)
    }

    fn validate(&self) -> Result<()> {
        finite_non_negative("MultiStep", "gamma", self.gamma, GAMMA)
    }
}

/// Multiplies the rate by `gamma` every epoch, as `ExponentialLR`: lr = base · gamma^epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    /// Factor applied every epoch.
    pub gamma: f64,
}

impl Exponential {
    /// Decay by `gamma` per epoch.
    pub fn new(gamma: f64) -> Self {
        Self { gamma }
    }
}

impl Schedule for Exponential {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        base_lr * self.gamma.powf(epoch as f64)
    }

    fn validate(&self) -> Result<()> {
        finite_non_negative("Exponential", "gamma", self.gamma, GAMMA)
    }
}

/// Half a cosine from the base rate down to `eta_min` over `t_max` epochs, as
/// `CosineAnnealingLR`: lr = eta_min + (base − eta_min) · (1 + cos(π · epoch / t_max)) / 2.
/// Past `t_max` the cosine continues (back up to the base rate at 2·t_max), as PyTorch's does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing {
    /// Epochs from the base rate to the minimum (at least 1).
    pub t_max: usize,
    /// The minimum rate.
    pub eta_min: f64,
}

impl CosineAnnealing {
    /// Anneal to `eta_min` over `t_max` epochs (PyTorch's default eta_min is 0).
    pub fn new(t_max: usize, eta_min: f64) -> Self {
        Self { t_max, eta_min }
    }
}

impl Schedule for CosineAnnealing {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        let phase = std::f64::consts::PI * epoch as f64 / self.t_max.max(1) as f64;
        self.eta_min + (base_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }

    fn validate(&self) -> Result<()> {
        if self.t_max == 0 {
            return Err(Error::Config(
                "CosineAnnealing schedule: t_max must be at least 1".into(),
            ));
        }
        finite_non_negative(
            "CosineAnnealing",
            "eta_min",
            self.eta_min,
            "the lowest learning rate of the cosine",
        )
    }
}

/// A factor going linearly from `start_factor` to `end_factor` over `total_iters` epochs, then
/// staying there, as `LinearLR`: lr = base · (start + (end − start) · min(epoch, total) / total).
/// With `end_factor` 1 it is the usual linear warm-up ([`Linear::warmup`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    /// Factor at epoch 0, in (0, 1].
    pub start_factor: f64,
    /// Factor from epoch `total_iters` on, in [0, 1].
    pub end_factor: f64,
    /// Epochs of the ramp; 0 keeps `start_factor` throughout (as PyTorch does).
    pub total_iters: usize,
}

impl Linear {
    /// The ramp from `start_factor` to `end_factor` over `total_iters` epochs (PyTorch's
    /// defaults: 1/3, 1.0, 5).
    pub fn new(start_factor: f64, end_factor: f64, total_iters: usize) -> Self {
        Self {
            start_factor,
            end_factor,
            total_iters,
        }
    }

    /// Linear warm-up: from `start_factor` · base to the base rate over `epochs` epochs.
    pub fn warmup(start_factor: f64, epochs: usize) -> Self {
        Self::new(start_factor, 1.0, epochs)
    }
}

/// PyTorch's defaults: from 1/3 to 1 over 5 epochs.
impl Default for Linear {
    fn default() -> Self {
        Self::new(1.0 / 3.0, 1.0, 5)
    }
}

impl Schedule for Linear {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        if self.total_iters == 0 {
            return base_lr * self.start_factor;
        }
        let progress = epoch.min(self.total_iters) as f64 / self.total_iters as f64;
        base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)
    }

    fn validate(&self) -> Result<()> {
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            return Err(Error::Config(format!(
                "Linear schedule: start_factor must be in (0, 1], got {}",
                self.start_factor
            )));
        }
        if !(0.0..=1.0).contains(&self.end_factor) {
            return Err(Error::Config(format!(
                "Linear schedule: end_factor must be in [0, 1], got {}",
                self.end_factor
            )));
        }
        Ok(())
    }
}

/// One schedule after another, as `SequentialLR`: schedule i runs from milestone i−1 (0 for
/// the first) and sees the epochs counted from its own start, all from the same base rate.
#[derive(Debug)]
pub struct Sequential {
    schedules: Vec<Box<dyn Schedule>>,
    milestones: Vec<usize>,
}

impl Sequential {
    /// `schedules[0]` until `milestones[0]`, then `schedules[1]` until `milestones[1]`, ….
    ///
    /// # Errors
    /// [`Error::Config`] unless there is one milestone fewer than schedules and the
    /// milestones are strictly increasing and positive.
    pub fn new(schedules: Vec<Box<dyn Schedule>>, milestones: Vec<usize>) -> Result<Self> {
        if schedules.is_empty() || milestones.len() + 1 != schedules.len() {
            return Err(Error::Config(format!(
                "Sequential schedule: needs one milestone fewer than schedules, got {} schedules and {} milestones",
                schedules.len(),
                milestones.len()
            )));
        }
        let mut previous = 0;
        for &m in &milestones {
            if m <= previous {
                return Err(Error::Config(format!(
                    "Sequential schedule: milestones must be positive and strictly increasing, got {milestones:?}"
                )));
            }
            previous = m;
        }
        Ok(Self {
            schedules,
            milestones,
        })
    }
}

impl Schedule for Sequential {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        let i = self.milestones.partition_point(|&m| m <= epoch);
        let start = if i == 0 { 0 } else { self.milestones[i - 1] };
        self.schedules[i].lr(base_lr, epoch - start)
    }

    fn validate(&self) -> Result<()> {
        self.schedules.iter().try_for_each(|s| s.validate())
    }
}

/// Several schedules at once, as `ChainedScheduler`: their factors multiply,
/// lr = base · Π (lrᵢ(base, epoch) / base).
///
/// This is exactly PyTorch's chain for multiplicative schedules (step, multi-step,
/// exponential, linear), e.g. a linear warm-up chained with an exponential decay. (PyTorch
/// chains a cosine annealing recursively on the already-scaled rate, which is not a product;
/// put a cosine in a [`Sequential`] instead.)
#[derive(Debug)]
pub struct Chain {
    schedules: Vec<Box<dyn Schedule>>,
}

impl Chain {
    /// All of `schedules` at once.
    pub fn new(schedules: Vec<Box<dyn Schedule>>) -> Self {
        Self { schedules }
    }
}

impl Schedule for Chain {
    fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        if base_lr == 0.0 {
            return 0.0;
        }
        let factor: f64 = self
            .schedules
            .iter()
            .map(|s| s.lr(base_lr, epoch) / base_lr)
            .product();
        base_lr * factor
    }

    fn validate(&self) -> Result<()> {
        self.schedules.iter().try_for_each(|s| s.validate())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms_by_hand() {
        let step = Step::new(3, 0.5);
        let lrs: Vec<f64> = (0..7).map(|e| step.lr(1.0, e)).collect();
        assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
        let multi = MultiStep::new(vec![4, 2, 4], 0.5);
        assert_eq!(multi.milestones(), [2, 4, 4]);
        let lrs: Vec<f64> = (0..5).map(|e| multi.lr(1.0, e)).collect();
        assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.125]);
        let cosine = CosineAnnealing::new(4, 0.1);
        assert_eq!(cosine.lr(1.0, 0), 1.0);
        assert!((cosine.lr(1.0, 2) - 0.55).abs() < 1e-15);
        assert!((cosine.lr(1.0, 4) - 0.1).abs() < 1e-15);
        assert!((cosine.lr(1.0, 8) - 1.0).abs() < 1e-15);
        let warmup = Linear::warmup(0.2, 4);
        let lrs: Vec<f64> = (0..6).map(|e| warmup.lr(1.0, e)).collect();
        assert_eq!(lrs, [0.2, 0.4, 0.6000000000000001, 0.8, 1.0, 1.0]);
        assert_eq!(Constant.lr(0.3, 100), 0.3);
    }

    #[test]
    fn sequential_restarts_each_schedule_at_its_milestone() {
        let s = Sequential::new(
            vec![Box::new(Constant), Box::new(Exponential::new(0.5))],
            vec![2],
        )
        .unwrap();
        let lrs: Vec<f64> = (0..5).map(|e| s.lr(8.0, e)).collect();
        assert_eq!(lrs, [8.0, 8.0, 8.0, 4.0, 2.0]);
    }

    #[test]
    fn chain_multiplies_factors() {
        let c = Chain::new(vec![
            Box::new(Linear::warmup(0.5, 2)),
            Box::new(Exponential::new(0.5)),
        ]);
        let lrs: Vec<f64> = (0..4).map(|e| c.lr(4.0, e)).collect();
        assert_eq!(lrs, [2.0, 1.5, 1.0, 0.5]);
        assert_eq!(c.lr(0.0, 3), 0.0);
    }

    #[test]
    fn invalid_settings_are_errors() {
        assert!(Step::new(0, 0.1).validate().is_err());
        assert_eq!(
            Step::new(0, 0.5).lr(1.0, 3),
            0.125,
            "step_size 0 does not panic"
        );
        assert!(CosineAnnealing::new(0, 0.0).validate().is_err());
        // Negative or non-finite factors and rates.
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(Step::new(1, bad).validate().is_err());
            assert!(MultiStep::new(vec![1], bad).validate().is_err());
            assert!(Exponential::new(bad).validate().is_err());
            assert!(CosineAnnealing::new(2, bad).validate().is_err());
        }
        assert_eq!(
            Exponential::new(-1.0).validate(),
            Err(Error::Config(
                "Exponential schedule: gamma must be a finite number ≥ 0 (the factor the rate \
                 is multiplied by: below 1 to decay, above 1 to grow), got -1"
                    .into()
            ))
        );
        assert!(Exponential::new(0.0).validate().is_ok());
        assert!(Exponential::new(1.5).validate().is_ok());
        assert!(CosineAnnealing::new(2, 0.0).validate().is_ok());
        assert!(Linear::new(0.0, 1.0, 5).validate().is_err());
        assert!(Linear::new(0.5, 1.5, 5).validate().is_err());
        assert!(Linear::default().validate().is_ok());
        assert!(Sequential::new(vec![Box::new(Constant)], vec![3]).is_err());
        assert!(Sequential::new(vec![], vec![]).is_err());
        let two = || -> Vec<Box<dyn Schedule>> { vec![Box::new(Constant), Box::new(Constant)] };
        assert!(Sequential::new(two(), vec![0]).is_err());
        let nested = Sequential::new(
            vec![Box::new(Step::new(0, 0.1)), Box::new(Constant)],
            vec![2],
        )
        .unwrap();
        assert!(nested.validate().is_err());
    }
}
