//! The training loop (`fit`), evaluation, and what they report.

use std::time::Instant;

use ndarray::{s, ArrayView2};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::data::{Batcher, Dataset, TargetsView};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels;
use crate::model::{check_input, Mode, Model};
use crate::optim::Optimizer;

/// Training settings, built fluently: `Fit::epochs(10).batch(64).seed(7)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Seed of the shuffling; the same seed gives a bit-identical run.
    pub seed: u64,
    /// Whether to shuffle the samples at every epoch.
    pub shuffle: bool,
    /// Whether to print one line per epoch.
    pub verbose: bool,
}

impl Fit {
    /// `n` epochs with batch size 32, seed 0, shuffling, one printed line per epoch.
    pub fn epochs(n: usize) -> Self {
        Self {
            epochs: n,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            verbose: true,
        }
    }

    /// Sets the batch size.
    pub fn batch(self, n: usize) -> Self {
        Self {
            batch_size: n,
            ..self
        }
    }

    /// Sets the shuffling seed.
    pub fn seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// Turns shuffling on or off.
    pub fn shuffle(self, shuffle: bool) -> Self {
        Self { shuffle, ..self }
    }

    /// Prints nothing.
    pub fn quiet(self) -> Self {
        Self {
            verbose: false,
            ..self
        }
    }
}

/// What one epoch of training achieved.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// Epoch number, counting from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's samples (as each batch was before its update).
    pub loss: f64,
    /// Fraction of samples classified correctly, for label targets.
    pub accuracy: Option<f64>,
    /// Wall-clock time of the epoch.
    pub seconds: f64,
}

/// The per-epoch record of a training run, returned by `fit`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per epoch, in order.
    pub epochs: Vec<EpochStats>,
}

impl History {
    /// The last epoch's statistics.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The last epoch's mean loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.last().map(|e| e.loss)
    }
}

/// Mean loss (and accuracy, for label targets) of a model on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over all samples.
    pub loss: f64,
    /// Fraction of samples classified correctly, for label targets.
    pub accuracy: Option<f64>,
}

/// Fraction of rows whose largest output (first on ties) is at the label's index.
///
/// # Panics
/// If `labels` is not as long as `output` has rows.
pub fn accuracy<F: Float>(output: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    assert_eq!(output.nrows(), labels.len(), "accuracy: one label per row");
    if labels.is_empty() {
        return 0.0;
    }
    correct(output, labels) as f64 / labels.len() as f64
}

/// Number of rows whose argmax is the label.
fn correct<F: Float>(output: ArrayView2<'_, F>, labels: &[usize]) -> usize {
    output
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, &label)| kernels::argmax(*row) == label)
        .count()
}

/// Running sums of an epoch or an evaluation: loss weighted by batch size, correct count.
#[derive(Default)]
struct Totals {
    samples: usize,
    loss: f64,
    correct: Option<usize>,
}

impl Totals {
    fn add<F: Float>(&mut self, loss: F, output: ArrayView2<'_, F>, targets: TargetsView<'_, F>) {
        self.samples += output.nrows();
        self.loss += loss.as_f64() * output.nrows() as f64;
        if let TargetsView::Labels(labels) = targets {
            *self.correct.get_or_insert(0) += correct(output, labels);
        }
    }

    fn loss(&self) -> f64 {
        self.loss / self.samples as f64
    }

    fn accuracy(&self) -> Option<f64> {
        self.correct.map(|c| c as f64 / self.samples as f64)
    }
}

/// Trains `model` on `data` with mini-batch gradient descent.
///
/// Each epoch draws a permutation of the samples from a `StdRng` seeded with
/// `config.seed + epoch index` (so the same seed gives a bit-identical run, and an epoch's
/// order does not depend on earlier ones), then for every mini-batch runs forward (train
/// mode), loss, backward and one optimizer step. Batches are gathered into buffers reused
/// across steps. Stops with [`Error::NonFinite`] as soon as a loss is NaN or infinite.
pub fn fit<F: Float, M: Model<F> + ?Sized, O: Optimizer<F> + ?Sized>(
    model: &mut M,
    data: &Dataset<F>,
    optimizer: &mut O,
    config: &Fit,
) -> Result<History> {
    if config.epochs == 0 {
        return Err(Error::Config("epochs must be at least 1".into()));
    }
    check_data(model, data, config.batch_size)?;
    let mut batcher = Batcher::new(data, config.batch_size)?;
    let mut history = History {
        epochs: Vec::with_capacity(config.epochs),
    };
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        if config.shuffle {
            let seed = config.seed.wrapping_add(epoch as u64 - 1);
            batcher.shuffle(&mut StdRng::seed_from_u64(seed));
        }
        let mut totals = Totals::default();
        for step in 0..batcher.len() {
            let (x, targets) = batcher.batch(step);
            model.forward(x, Mode::Train)?;
            let loss = model.loss(targets)?;
            if !loss.is_finite() {
                return Err(Error::NonFinite {
                    epoch,
                    step: step + 1,
                });
            }
            totals.add(loss, model.output(), targets);
            model.backward(x)?;
            let mut handle: &mut M = model;
            optimizer.step(&mut handle);
        }
        let stats = EpochStats {
            epoch,
            loss: totals.loss(),
            accuracy: totals.accuracy(),
            seconds: start.elapsed().as_secs_f64(),
        };
        if config.verbose {
            println!("{}", progress_line(&stats, config.epochs));
        }
        history.epochs.push(stats);
    }
    Ok(history)
}

/// The line `fit` prints after an epoch: `epoch  3/10  loss 0.4123  acc 91.20%  0.8s`.
pub fn progress_line(stats: &EpochStats, epochs: usize) -> String {
    let width = epochs.to_string().len();
    let accuracy = stats
        .accuracy
        .map(|a| format!("  acc {:.2}%", 100.0 * a))
        .unwrap_or_default();
    format!(
        "epoch {:>width$}/{epochs}  loss {:.4}{accuracy}  {:.1}s",
        stats.epoch, stats.loss, stats.seconds
    )
}

/// Mean loss (and accuracy, for label targets) of `model` on `data`, running eval-mode
/// forward passes over consecutive batches of `batch_size` samples.
pub fn evaluate<F: Float, M: Model<F> + ?Sized>(
    model: &mut M,
    data: &Dataset<F>,
    batch_size: usize,
) -> Result<Evaluation> {
    check_data(model, data, batch_size)?;
    let mut totals = Totals::default();
    for start in (0..data.len()).step_by(batch_size) {
        let end = (start + batch_size).min(data.len());
        let targets = data.targets().rows(start..end);
        model.forward(data.inputs().slice(s![start..end, ..]), Mode::Eval)?;
        let loss = model.loss(targets)?;
        totals.add(loss, model.output(), targets);
    }
    Ok(Evaluation {
        loss: totals.loss(),
        accuracy: totals.accuracy(),
    })
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
    use ndarray::array;

    #[test]
    fn builder_defaults_and_setters() {
        let f = Fit::epochs(10);
        assert_eq!(
            (f.epochs, f.batch_size, f.seed, f.shuffle, f.verbose),
            (10, 32, 0, true, true)
        );
        let f = f.batch(64).seed(7).shuffle(false).quiet();
        assert_eq!(
            (f.batch_size, f.seed, f.shuffle, f.verbose),
            (64, 7, false, false)
        );
    }

    #[test]
    fn progress_line_format() {
        let stats = EpochStats {
            epoch: 3,
            loss: 0.41234,
            accuracy: Some(0.912),
            seconds: 0.81,
        };
        assert_eq!(
            progress_line(&stats, 10),
            "epoch  3/10  loss 0.4123  acc 91.20%  0.8s"
        );
        let stats = EpochStats {
            accuracy: None,
            ..stats
        };
        assert_eq!(progress_line(&stats, 5), "epoch 3/5  loss 0.4123  0.8s");
    }

    #[test]
    fn accuracy_counts_argmax_hits() {
        let out = array![[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.5, 0.5]];
        assert_eq!(accuracy(out.view(), &[1, 0, 0, 0]), 0.75);
    }

    #[test]
    fn history_accessors() {
        let mut h = History::default();
        assert_eq!(h.final_loss(), None);
        h.epochs.push(EpochStats {
            epoch: 1,
            loss: 2.0,
            accuracy: None,
            seconds: 0.0,
        });
        h.epochs.push(EpochStats {
            epoch: 2,
            loss: 1.0,
            accuracy: None,
            seconds: 0.0,
        });
        assert_eq!(
            (h.last().map(|e| e.epoch), h.final_loss()),
            (Some(2), Some(1.0))
        );
    }
}
