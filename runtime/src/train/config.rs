//! The settings of a training run: [`Fit`] and the callbacks it carries.

use std::cell::RefCell;
use std::fmt;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::schedule::Schedule;

use super::EpochStats;

/// Training settings, built fluently:
/// `Fit::epochs(10).batch(64).seed(7).validation(&test).early_stopping(EarlyStopping::new(3))`.
///
/// Mini-batch gradient descent is one algorithm with a batch size: each step follows the
/// gradient of the mean loss over `batch_size` samples. A batch as large as the dataset
/// ([`Fit::full_batch`]) gives full-batch (classic) gradient descent, one step per epoch;
/// `batch(1)` gives stochastic gradient descent, one step per sample; anything in between is
/// what is usually meant by mini-batch SGD. Which update the step makes (plain SGD, momentum,
/// Adam, …) is the optimizer's business.
///
/// `F` is the element type of the validation data; it is inferred from the `fit` call, so
/// `Fit::epochs(10)` needs no annotation there.
///
/// ```
/// use axonal::ndarray::array;
/// use axonal::optim::Adam;
/// use axonal::{Dataset, EarlyStopping, Fit, Model, Targets};
///
/// axonal::network! { Xor { input 2; dense 8 tanh; dense 2; softmax_ce } }
///
/// let x = array![[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
/// let data = Dataset::new(x, Targets::Labels(vec![0, 1, 1, 0]))?;
/// let mut net = Xor::<f32>::seeded(1);
/// let history = net.fit(
///     &data,
///     &mut Adam::new(0.05),
///     Fit::epochs(300).full_batch().validation(&data).early_stopping(EarlyStopping::new(20)).quiet(),
/// )?;
/// assert!(history.last().unwrap().val_accuracy == Some(1.0));
/// # Ok::<(), axonal::Error>(())
/// ```
pub struct Fit<'a, F = f32> {
    /// Passes over the data (at least 1).
    pub epochs: usize,
    /// Samples per mini-batch (the last batch of an epoch may be smaller); larger than the
    /// dataset means the whole dataset.
    pub batch_size: usize,
    /// Seed of the shuffling: epoch `k` (from 0) is shuffled by a generator seeded with
    /// `seed + k`, so the same seed gives a bit-identical run.
    pub seed: u64,
    /// Whether to shuffle the training samples at every epoch.
    pub shuffle: bool,
    /// Whether to report progress (a bar on a terminal, otherwise one line per epoch).
    pub verbose: bool,
    /// Data the model is evaluated on after every epoch, if any.
    pub validation: Validation<'a, F>,
    /// Learning rate per epoch, relative to the optimizer's rate when `fit` starts.
    pub schedule: Option<Box<dyn Schedule>>,
    /// Bound on the global 2-norm of the gradients, applied before each step.
    pub clip_norm: Option<f64>,
    /// Bound on each gradient element's magnitude, applied before each step (after `clip_norm`).
    pub clip_value: Option<f64>,
    /// `k` of the top-k accuracy reported next to the accuracy (label targets only).
    pub top_k: Option<usize>,
    /// Stops when the monitored loss stops improving.
    pub early_stopping: Option<EarlyStopping>,
    /// Called after every epoch. A `RefCell` so that `train::fit` can take `&Fit` and still
    /// call an `FnMut`.
    on_epoch: Option<RefCell<Callback<'a>>>,
}

/// The user's per-epoch callback, boxed so that `Fit` needs no type parameter for it.
type Callback<'a> = Box<dyn FnMut(&EpochStats) -> Control + 'a>;

/// Where validation data come from.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Validation<'a, F> {
    /// No validation.
    #[default]
    None,
    /// A separate dataset.
    Data(&'a Dataset<F>),
    /// The last `fraction` of the training data, taken before any shuffling and never
    /// trained on (as Keras' `validation_split`).
    Split(f64),
}

/// What a per-epoch callback asks of the training loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on with the next epoch.
    Continue,
    /// Stop after this epoch (`History::stopped_early` is then true).
    Stop,
}

/// Stops training once the monitored loss has not improved for `patience` epochs, and (by
/// default) puts back the weights of the best epoch.
///
/// The monitored loss is the validation loss when there is validation data, the training loss
/// otherwise. An epoch improves on the best so far when its loss is below `best − min_delta`.
/// After `patience` epochs in a row without improvement, training stops (`patience = 0`:
/// at the first epoch that does not improve). With `restore_best` (the default; Keras'
/// default is off), the parameters *and* buffers (batchnorm's running statistics) of the best
/// epoch are copied when it happens and put back when training ends, whether it stopped early
/// or ran all its epochs; the optimizer's state is not rolled back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest decrease of the loss that counts as an improvement (≥ 0).
    pub min_delta: f64,
    /// Whether to restore the best epoch's weights when training ends.
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Stop after `patience` epochs without improvement; `min_delta` 0; best weights restored.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
            restore_best: true,
        }
    }

    /// Sets the smallest decrease that counts as an improvement.
    pub fn min_delta(self, min_delta: f64) -> Self {
        Self { min_delta, ..self }
    }

    /// Whether to restore the best epoch's weights when training ends.
    pub fn restore_best(self, restore_best: bool) -> Self {
        Self {
            restore_best,
            ..self
        }
    }
}

impl<'a, F> Fit<'a, F> {
    /// `n` epochs with batch size 32, seed 0, shuffling, progress reported, nothing else.
    pub fn epochs(n: usize) -> Self {
        Self {
            epochs: n,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            verbose: true,
            validation: Validation::None,
            schedule: None,
            clip_norm: None,
            clip_value: None,
            top_k: None,
            early_stopping: None,
            on_epoch: None,
        }
    }

    /// Sets the batch size: 1 is stochastic gradient descent, the dataset's size full-batch
    /// gradient descent (see the type's documentation).
    pub fn batch(self, n: usize) -> Self {
        Self {
            batch_size: n,
            ..self
        }
    }

    /// One batch of the whole (training) dataset per step: full-batch gradient descent.
    pub fn full_batch(self) -> Self {
        self.batch(usize::MAX)
    }

    /// Sets the shuffling seed.
    pub fn seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// Turns shuffling on or off.
    pub fn shuffle(self, shuffle: bool) -> Self {
        Self { shuffle, ..self }
    }

    /// Reports nothing.
    pub fn quiet(self) -> Self {
        Self {
            verbose: false,
            ..self
        }
    }

    /// Evaluates on `data` after every epoch (`val_loss`, `val_accuracy`, `val_top_k`).
    pub fn validation(self, data: &'a Dataset<F>) -> Self {
        Self {
            validation: Validation::Data(data),
            ..self
        }
    }

    /// Holds out the last `fraction` (in (0, 1)) of the training data for validation, as
    /// Keras does: the first `⌊n · (1 − fraction)⌋` samples are trained on, the rest only
    /// evaluated. The split is taken before shuffling, so it is the same in every epoch; put
    /// the data in random order first if it is sorted (by class, say).
    pub fn validation_split(self, fraction: f64) -> Self {
        Self {
            validation: Validation::Split(fraction),
            ..self
        }
    }

    /// Sets the learning rate at the start of every epoch to `schedule.lr(base, epoch)`, where
    /// `base` is the optimizer's rate when `fit` starts; `fit` puts `base` back at the end.
    pub fn schedule(self, schedule: impl Schedule + 'static) -> Self {
        Self {
            schedule: Some(Box::new(schedule)),
            ..self
        }
    }

    /// Scales the gradients down to a global 2-norm of at most `max_norm` before every step
    /// ([`crate::optim::clip_grad_norm`]).
    pub fn clip_grad_norm(self, max_norm: f64) -> Self {
        Self {
            clip_norm: Some(max_norm),
            ..self
        }
    }

    /// Clamps every gradient element to `[−clip, clip]` before every step
    /// ([`crate::optim::clip_grad_value`]).
    pub fn clip_grad_value(self, clip: f64) -> Self {
        Self {
            clip_value: Some(clip),
            ..self
        }
    }

    /// Also reports top-`k` accuracy: the fraction of samples whose label is among the `k`
    /// largest outputs (see [`super::top_k_accuracy`]).
    pub fn top_k(self, k: usize) -> Self {
        Self {
            top_k: Some(k),
            ..self
        }
    }

    /// Stops early when the monitored loss stops improving; see [`EarlyStopping`].
    pub fn early_stopping(self, early_stopping: EarlyStopping) -> Self {
        Self {
            early_stopping: Some(early_stopping),
            ..self
        }
    }

    /// Calls `callback` with every epoch's statistics, after they are reported; returning
    /// [`Control::Stop`] ends training after that epoch.
    pub fn on_epoch(self, callback: impl FnMut(&EpochStats) -> Control + 'a) -> Self {
        Self {
            on_epoch: Some(RefCell::new(Box::new(callback))),
            ..self
        }
    }

    /// Calls the per-epoch callback, if any.
    pub(super) fn call_on_epoch(&self, stats: &EpochStats) -> Control {
        match &self.on_epoch {
            // A callback cannot reach the `Fit` that owns it, so it is never borrowed twice.
            Some(callback) => (callback.borrow_mut())(stats),
            None => Control::Continue,
        }
    }

    /// Checks the settings that do not depend on the data.
    pub(super) fn validate(&self) -> Result<()> {
        let config = |message: String| Err(Error::Config(message));
        if self.epochs == 0 {
            return config("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return config("batch size must be at least 1".into());
        }
        if let Validation::Split(f) = self.validation {
            if !(f > 0.0 && f < 1.0) {
                return config(format!(
                    "validation_split must be between 0 and 1 (exclusive), got {f}"
                ));
            }
        }
        for (name, bound) in [
            ("clip_grad_norm", self.clip_norm),
            ("clip_grad_value", self.clip_value),
        ] {
            if let Some(b) = bound.filter(|b| !(*b > 0.0 && b.is_finite())) {
                return config(format!("{name} must be positive and finite, got {b}"));
            }
        }
        if self.top_k == Some(0) {
            return config("top_k must be at least 1".into());
        }
        if let Some(e) = self
            .early_stopping
            .filter(|e| e.min_delta.is_nan() || e.min_delta < 0.0)
        {
            return config(format!(
                "early stopping: min_delta must be at least 0, got {}",
                e.min_delta
            ));
        }
        if let Some(schedule) = &self.schedule {
            schedule.validate()?;
        }
        Ok(())
    }
}

impl<F: crate::float::Float> fmt::Debug for Fit<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let validation = match self.validation {
            Validation::None => "none".to_string(),
            Validation::Data(d) => format!("{} samples", d.len()),
            Validation::Split(fraction) => format!("split {fraction}"),
        };
        f.debug_struct("Fit")
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("shuffle", &self.shuffle)
            .field("verbose", &self.verbose)
            .field("validation", &validation)
            .field("schedule", &self.schedule)
            .field("clip_norm", &self.clip_norm)
            .field("clip_value", &self.clip_value)
            .field("top_k", &self.top_k)
            .field("early_stopping", &self.early_stopping)
            .field("on_epoch", &self.on_epoch.as_ref().map(|_| "callback"))
            .finish()
    }
}
