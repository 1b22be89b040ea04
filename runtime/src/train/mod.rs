//! The training loop (`fit`), evaluation, and what they report.
//!
//! [`fit`] runs mini-batch gradient descent with everything a training run usually needs:
//! seeded shuffling, validation data or a split, loss/accuracy/top-k metrics, a learning-rate
//! [`Schedule`], gradient clipping, early stopping that restores the best weights, a
//! per-epoch callback, progress on the terminal, and a returned [`History`] (plotted by
//! `History::plot` with the `plot` feature). It also guards against divergence, always: the
//! loss and every gradient are checked before each optimizer step, and no step that makes a
//! parameter NaN or infinite is kept (a finite learning rate can still overflow); a NaN or
//! infinity stops training with an [`Error::Diverged`] naming the epoch, the step and the
//! layer, the model keeping its last good weights.
//!
//! ```
//! use axonal::optim::Adam;
//! use axonal::schedule::CosineAnnealing;
//! use axonal::train::{Control, EarlyStopping};
//! use axonal::{Dataset, Fit, Model, Targets};
//!
//! axonal::network! { Xor { input 2; dense 8 tanh; dense 2; softmax_ce } }
//!
//! # fn main() -> axonal::Result<()> {
//! let x = axonal::ndarray::array![[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
//! let data = Dataset::new(x, Targets::Labels(vec![0, 1, 1, 0]))?;
//! let mut net = Xor::<f64>::seeded(1);
//! let history = net.fit(
//!     &data,
//!     &mut Adam::new(0.05),
//!     Fit::epochs(300)
//!         .batch(4)
//!         .validation(&data)
//!         .schedule(CosineAnnealing::new(300, 0.0))
//!         .clip_grad_norm(1.0)
//!         .early_stopping(EarlyStopping::new(20))
//!         .on_epoch(|stats| if stats.loss < 0.01 { Control::Stop } else { Control::Continue })
//!         .quiet(),
//! )?;
//! assert_eq!(history.last().unwrap().val_accuracy, Some(1.0));
//! # Ok(())
//! # }
//! ```

mod batches;
mod config;
mod guard;
mod history;
mod metrics;
#[cfg(feature = "plot")]
pub mod plot;
mod progress;

use std::time::Instant;

use ndarray::{s, ArrayView2};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::data::{Dataset, TargetsView};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::{check_input, Mode, Model};
use crate::optim::{self, clip_grad_norm, clip_grad_value, Optimizer};
use crate::schedule::Schedule;

use batches::Batches;
use guard::{Backup, Checked, Snapshot};
use metrics::Totals;
use progress::Progress;

pub use config::{Control, EarlyStopping, Fit, Validation};
pub use history::{progress_line, EpochStats, History};
pub use metrics::{accuracy, top_k_accuracy};

/// Mean loss (and accuracy, for label targets) of a model on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over all samples.
    pub loss: f64,
    /// Fraction of samples classified correctly, for label targets.
    pub accuracy: Option<f64>,
    /// Top-k accuracy, for label targets, when asked for ([`evaluate_top_k`]).
    pub top_k: Option<f64>,
}

/// Trains `model` on `data` with mini-batch gradient descent, as `config` says.
///
/// Before anything changes, the settings, the optimizer's hyperparameters
/// ([`Optimizer::validate`]), the schedule ([`Schedule::validate`]) and the data are checked.
/// Then each epoch:
/// 1. sets the learning rate from the schedule, if any (relative to the optimizer's rate at
///    the start; the start rate is put back when `fit` returns), after checking that it is a
///    finite number ≥ 0 that the optimizer accepts;
/// 2. draws a permutation of the training samples from a `StdRng` seeded with
///    `config.seed + epoch index` (so the same seed gives a bit-identical run, and an epoch's
///    order does not depend on earlier ones);
/// 3. for every mini-batch: forward (train mode), loss, backward, the divergence check,
///    gradient clipping if asked, one optimizer step. The step is never kept if it makes a
///    parameter NaN or infinite: without clipping, the check of the gradients also asks the
///    optimizer whether its update stays finite ([`Optimizer::update_stays_finite`]; plain
///    SGD answers), and when it cannot tell, the step goes through
///    [`Optimizer::update_with_backup`], which keeps the values it replaces. Batches are
///    gathered into buffers reused across steps: a steady-state step allocates nothing;
/// 4. evaluates on the validation data (eval mode, batches of `batch_size`), reports the epoch,
///    updates early stopping and calls the `on_epoch` callback.
///
/// # Errors
/// [`Error::Config`] for invalid settings (a schedule's rate that is negative, NaN or
/// infinite, at the epoch it would be used), the data errors of [`evaluate`], and
/// [`Error::Diverged`] when the loss, a gradient or an updated parameter becomes NaN or
/// infinite: the loss and gradients are checked before the optimizer step, and the step's
/// result before it (plain SGD) or right after it (with a copy to put back), so the
/// parameters are those before the failing step and the buffers (batchnorm's running
/// statistics) are put back as they were before its forward pass. (The optimizer's own state,
/// such as its moments, is not put back; [`Optimizer::reset`] it before training on.)
pub fn fit<F: Float, M: Model<F> + ?Sized, O: Optimizer<F> + ?Sized>(
    model: &mut M,
    data: &Dataset<F>,
    optimizer: &mut O,
    config: &Fit<'_, F>,
) -> Result<History> {
    config.validate()?;
    optimizer.validate()?;
    check_data(model, data, config.batch_size)?;
    let (train_len, validation) = split(data, config.validation)?;
    if let Some((x, targets)) = validation {
        // One eval-mode sample: a validation set of the wrong width or target kind is an
        // error now rather than after the first epoch. Eval mode changes no state.
        check_input(model.name(), &x, model.input_width())?;
        model.forward(x.slice(s![..1, ..]), Mode::Eval)?;
        model.loss(targets.rows(0..1))?;
    }

    let base_lr = optimizer.learning_rate();
    let mut run = Run {
        batches: Batches::new(data, train_len, config.batch_size),
        buffers: Snapshot::new(model, false),
        params: Backup::new(model),
        progress: Progress::new(config.verbose),
    };
    let result = run.epochs(model, optimizer, config, validation);
    if config.schedule.is_some() {
        optimizer.set_learning_rate(base_lr);
    }
    if result.is_err() {
        run.progress.abandon();
    }
    result
}

/// The state of one `fit` call, allocated once before the first epoch.
struct Run<'d, F> {
    batches: Batches<'d, F>,
    /// The buffers before the current step's forward pass, put back if the step diverges.
    buffers: Snapshot<F>,
    /// The parameters before the current step's update, put back if it overflows.
    params: Backup<F>,
    progress: Progress,
}

/// Validation inputs and targets.
type ValidationViews<'d, F> = (ArrayView2<'d, F>, TargetsView<'d, F>);

impl<F: Float> Run<'_, F> {
    /// All epochs, early stopping and callbacks; the history.
    fn epochs<M: Model<F> + ?Sized, O: Optimizer<F> + ?Sized>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        config: &Fit<'_, F>,
        validation: Option<ValidationViews<'_, F>>,
    ) -> Result<History> {
        let base_lr = optimizer.learning_rate();
        let min_delta = config.early_stopping.map_or(0.0, |e| e.min_delta);
        let mut best_weights = config
            .early_stopping
            .filter(|e| e.restore_best)
            .map(|_| Snapshot::new(model, true));
        let (mut best, mut best_loss, mut since_best) = (None, f64::INFINITY, 0);
        let mut history = History {
            // Room for the epochs of a usual run, so that it allocates per call and not per
            // epoch; a longer one grows as its epochs run (`epochs` can be anything up to
            // `usize::MAX`, ended early by a callback or early stopping).
            epochs: Vec::with_capacity(config.epochs.min(HISTORY_RESERVED)),
            stopped_early: false,
            best_epoch: None,
        };
        for epoch in 1..=config.epochs {
            let start = Instant::now();
            if let Some(schedule) = &config.schedule {
                scheduled_rate(schedule.as_ref(), optimizer, base_lr, epoch)?;
            }
            let (totals, train_seconds) = self.epoch(model, optimizer, config, epoch)?;
            let val = match validation {
                Some((x, targets)) => Some(evaluate_views(
                    model,
                    x,
                    targets,
                    config.batch_size,
                    config.top_k,
                )?),
                None => None,
            };
            let stats = EpochStats {
                epoch,
                loss: totals.loss(),
                accuracy: totals.accuracy(),
                top_k: totals.top_k(),
                val_loss: val.as_ref().map(Totals::loss),
                val_accuracy: val.as_ref().and_then(Totals::accuracy),
                val_top_k: val.as_ref().and_then(Totals::top_k),
                lr: optimizer.learning_rate(),
                seconds: start.elapsed().as_secs_f64(),
                samples_per_second: totals.samples() as f64 / train_seconds,
            };
            self.progress.end_epoch(&stats, config.epochs);

            if stats.monitored_loss() < best_loss - min_delta {
                (best, best_loss, since_best) = (Some(epoch), stats.monitored_loss(), 0);
                if let Some(snapshot) = &mut best_weights {
                    snapshot.take(model);
                }
            } else {
                since_best += 1;
            }
            let patience_over = config
                .early_stopping
                .is_some_and(|e| since_best > 0 && since_best >= e.patience);
            let control = config.call_on_epoch(&stats);
            history.epochs.push(stats);
            if patience_over || control == Control::Stop {
                history.stopped_early = epoch < config.epochs;
                break;
            }
        }
        history.best_epoch = best;
        if let (Some(snapshot), Some(best)) = (&best_weights, best) {
            if history.last().is_some_and(|last| last.epoch != best) {
                snapshot.restore(model);
            }
        }
        Ok(history)
    }

    /// One pass over the training batches; the epoch's sums and its training time in seconds.
    fn epoch<M: Model<F> + ?Sized, O: Optimizer<F> + ?Sized>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        config: &Fit<'_, F>,
        epoch: usize,
    ) -> Result<(Totals, f64)> {
        let start = Instant::now();
        if config.shuffle {
            let seed = config.seed.wrapping_add(epoch as u64 - 1);
            self.batches.shuffle(&mut StdRng::seed_from_u64(seed));
        }
        let mut totals = Totals::new(config.top_k);
        self.progress
            .start_epoch(epoch, config.epochs, self.batches.len());
        for step in 0..self.batches.len() {
            let (x, targets, rows) = self.batches.batch(step);
            if !self.buffers.is_empty() {
                self.buffers.take(model);
            }
            model.forward(x, Mode::Train)?;
            let loss = model.loss(targets)?;
            if !loss.is_finite() {
                self.buffers.restore(model);
                let at = (epoch, step + 1);
                return Err(guard::loss_error(model, at, loss, (x, targets, rows)));
            }
            totals.add(loss, model.output(), targets);
            model.backward(x)?;
            // The gradients are checked before clipping (which would spread a NaN); the
            // optimizer checks its update in the same pass only without clipping, which would
            // change the gradients it checked.
            let clipping = config.clip_norm.is_some() || config.clip_value.is_some();
            let checked = guard::check_step(model, (!clipping).then_some(&*optimizer));
            if checked == Checked::BadGradients {
                self.buffers.restore(model);
                let at = (epoch, step + 1);
                return Err(guard::gradient_error(model, at, loss, (x, targets, rows)));
            }
            let mut handle: &mut M = model;
            if let Some(max_norm) = config.clip_norm {
                clip_grad_norm(&mut handle, max_norm);
            }
            if let Some(clip) = config.clip_value {
                clip_grad_value(&mut handle, clip);
            }
            if checked == Checked::Safe {
                optimizer.step(&mut handle);
            } else {
                // The update, put back if it makes a parameter NaN or infinite.
                match self.params.step(model, optimizer) {
                    Ok(None) => {}
                    Ok(Some(overflow)) => {
                        self.buffers.restore(model);
                        let lr = optimizer.learning_rate();
                        return Err(guard::overflow_error((epoch, step + 1), overflow, lr));
                    }
                    Err(e) => {
                        self.buffers.restore(model);
                        return Err(e);
                    }
                }
            }
            self.progress.step(&totals, start);
        }
        Ok((totals, start.elapsed().as_secs_f64()))
    }
}

/// Epochs of history `fit` makes room for before the first epoch.
const HISTORY_RESERVED: usize = 1024;

/// Sets the optimizer's rate for `epoch` (from 1) from `schedule`, if it is a rate the
/// optimizer can use: finite, not negative (and valid for the optimizer, e.g. not too large
/// for its number type); otherwise an error naming the schedule, the epoch and the rate.
fn scheduled_rate<F: Float, O: Optimizer<F> + ?Sized>(
    schedule: &dyn Schedule,
    optimizer: &mut O,
    base_lr: f64,
    epoch: usize,
) -> Result<()> {
    let lr = schedule.lr(base_lr, epoch - 1);
    let refused = |why: String| {
        Error::Config(format!(
            "schedule {schedule:?} gives the learning rate {} for epoch {epoch} (from the base \
             rate {}), which {why}; choose schedule settings that keep every epoch's rate \
             finite, ≥ 0 and accepted by the optimizer",
            optim::number(lr),
            optim::number(base_lr)
        ))
    };
    if !(lr >= 0.0 && lr.is_finite()) {
        return Err(refused("is not a finite number ≥ 0".into()));
    }
    optimizer.set_learning_rate(lr);
    optimizer.validate().map_err(|e| match e {
        Error::Config(message) => refused(format!("the optimizer refuses: {message}")),
        other => other,
    })
}

/// The training part (its length: the first samples) and the validation inputs and targets.
fn split<'d, F: Float>(
    data: &'d Dataset<F>,
    validation: Validation<'d, F>,
) -> Result<(usize, Option<ValidationViews<'d, F>>)> {
    let n = data.len();
    match validation {
        Validation::None => Ok((n, None)),
        Validation::Data(v) => {
            if v.is_empty() {
                return Err(Error::EmptyDataset);
            }
            Ok((n, Some((v.inputs(), v.targets()))))
        }
        Validation::Split(fraction) => {
            // As Keras: the first ⌊n·(1 − fraction)⌋ samples train, the rest validate.
            let train = (n as f64 * (1.0 - fraction)).floor() as usize;
            if train == 0 || train >= n {
                return Err(Error::Config(format!(
                    "validation_split {fraction} of {n} samples leaves {train} for training and {} \
                     for validation; both need at least one",
                    n.saturating_sub(train)
                )));
            }
            let x = data.inputs().slice_move(s![train.., ..]);
            Ok((train, Some((x, data.targets().rows(train..n)))))
        }
    }
}

/// Mean loss (and accuracy, for label targets) of `model` on `data`, running eval-mode
/// forward passes over consecutive batches of `batch_size` samples. Once the model's buffers
/// have grown to `batch_size` rows, it allocates nothing.
pub fn evaluate<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    data: &Dataset<F>,
    batch_size: usize,
) -> Result<Evaluation> {
    evaluate_with(model, data, batch_size, None)
}

/// [`evaluate`], with the top-`k` accuracy too (for label targets; see [`top_k_accuracy`]).
pub fn evaluate_top_k<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    data: &Dataset<F>,
    batch_size: usize,
    k: usize,
) -> Result<Evaluation> {
    if k == 0 {
        return Err(Error::Config("top_k must be at least 1".into()));
    }
    evaluate_with(model, data, batch_size, Some(k))
}

/// [`evaluate`] with an optional top-k.
fn evaluate_with<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    data: &Dataset<F>,
    batch_size: usize,
    top_k: Option<usize>,
) -> Result<Evaluation> {
    check_data(model, data, batch_size)?;
    let totals = evaluate_views(model, data.inputs(), data.targets(), batch_size, top_k)?;
    Ok(Evaluation {
        loss: totals.loss(),
        accuracy: totals.accuracy(),
        top_k: totals.top_k(),
    })
}

/// The sums of an evaluation of `x` (at least one row) against `targets`.
fn evaluate_views<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    x: ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
    batch_size: usize,
    top_k: Option<usize>,
) -> Result<Totals> {
    let mut totals = Totals::new(top_k);
    let n = x.nrows();
    for start in (0..n).step_by(batch_size) {
        let end = start.saturating_add(batch_size).min(n);
        model.forward(x.slice(s![start..end, ..]), Mode::Eval)?;
        let loss = model.loss(targets.rows(start..end))?;
        totals.add(loss, model.output(), targets.rows(start..end));
    }
    Ok(totals)
}

/// The checks `fit` and `evaluate` share: batch size, non-empty data of the model's width.
fn check_data<F: Float, M: Model<F> + ?Sized>(
    model: &M,
    data: &Dataset<F>,
    batch_size: usize,
) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::Config("batch size must be at least 1".into()));
    }
    if data.is_empty() {
        return Err(Error::EmptyDataset);
    }
    check_input(model.name(), &data.inputs(), model.input_width())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_defaults_and_setters() {
        let f: Fit<'_, f32> = Fit::epochs(10);
        assert_eq!(
            (f.epochs, f.batch_size, f.seed, f.shuffle, f.verbose),
            (10, 32, 0, true, true)
        );
        assert!(f.schedule.is_none() && f.early_stopping.is_none() && f.top_k.is_none());
        let f = f.batch(64).seed(7).shuffle(false).quiet();
        assert_eq!(
            (f.batch_size, f.seed, f.shuffle, f.verbose),
            (64, 7, false, false)
        );
        assert_eq!(f.full_batch().batch_size, usize::MAX);
        let e = EarlyStopping::new(3);
        assert_eq!((e.patience, e.min_delta, e.restore_best), (3, 0.0, true));
        let e = e.min_delta(0.1).restore_best(false);
        assert_eq!((e.min_delta, e.restore_best), (0.1, false));
    }

    #[test]
    fn invalid_settings_are_config_errors() {
        let bad: [Fit<'_, f64>; 7] = [
            Fit::epochs(0),
            Fit::epochs(1).batch(0),
            Fit::epochs(1).validation_split(1.0),
            Fit::epochs(1).validation_split(f64::NAN),
            Fit::epochs(1).clip_grad_norm(0.0),
            Fit::epochs(1).clip_grad_value(f64::INFINITY),
            Fit::epochs(1).top_k(0),
        ];
        for f in bad {
            assert!(matches!(f.validate(), Err(Error::Config(_))), "{f:?}");
        }
        let f: Fit<'_, f64> = Fit::epochs(1).early_stopping(EarlyStopping::new(1).min_delta(-1.0));
        assert!(matches!(f.validate(), Err(Error::Config(_))));
        let f: Fit<'_, f64> = Fit::epochs(1).schedule(crate::schedule::Step::new(0, 0.1));
        assert!(matches!(f.validate(), Err(Error::Config(_))));
    }
}
