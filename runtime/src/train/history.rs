//! What training reports: per-epoch statistics, the run's history, the printed line.

/// What one epoch of training achieved.
///
/// Training metrics are averaged over the epoch's batches as each batch was *before* its
/// update (as Keras reports them); validation metrics are measured after the epoch, in eval
/// mode. Everything except `seconds` and `samples_per_second` is bit-identical between two
/// runs with the same seed on one machine.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// Epoch number, counting from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's samples.
    pub loss: f64,
    /// Fraction of training samples classified correctly, for label targets.
    pub accuracy: Option<f64>,
    /// Top-k accuracy on the training samples, if `Fit::top_k` asked for it (label targets).
    pub top_k: Option<f64>,
    /// Mean loss on the validation data, if any.
    pub val_loss: Option<f64>,
    /// Accuracy on the validation data, if any (label targets).
    pub val_accuracy: Option<f64>,
    /// Top-k accuracy on the validation data, if any and asked for.
    pub val_top_k: Option<f64>,
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Wall-clock time of the epoch, validation included.
    pub seconds: f64,
    /// Training samples per second of the epoch's training steps (validation excluded).
    pub samples_per_second: f64,
}

impl EpochStats {
    /// The loss early stopping and [`History::best`] look at: the validation loss if there is
    /// validation data, the training loss otherwise.
    pub fn monitored_loss(&self) -> f64 {
        self.val_loss.unwrap_or(self.loss)
    }
}

/// The per-epoch record of a training run, returned by `fit`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per epoch run, in order.
    pub epochs: Vec<EpochStats>,
    /// Whether training ended before its last epoch (early stopping or a callback's `Stop`).
    pub stopped_early: bool,
    /// The epoch (from 1) with the lowest monitored loss (validation loss if any, else the
    /// training loss; with early stopping, improvements smaller than its `min_delta` do not
    /// count). With early stopping's `restore_best`, the model holds this epoch's weights.
    pub best_epoch: Option<usize>,
}

impl History {
    /// The last epoch's statistics.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The last epoch's mean training loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.last().map(|e| e.loss)
    }

    /// The statistics of the best epoch ([`History::best_epoch`]).
    pub fn best(&self) -> Option<&EpochStats> {
        let best = self.best_epoch?;
        self.epochs.iter().find(|e| e.epoch == best)
    }
}

/// The line `fit` prints after an epoch, e.g.
/// `epoch  3/10  loss 0.4123  acc 91.20%  top5 99.10%  val_loss 0.4500  val_acc 90.00%  0.8s`:
/// the metrics that exist, training then validation, then the epoch's time.
pub fn progress_line(stats: &EpochStats, epochs: usize) -> String {
    let width = epochs.to_string().len();
    let mut line = format!(
        "epoch {:>width$}/{epochs}  loss {:.4}",
        stats.epoch, stats.loss
    );
    let percent = |name: &str, value: Option<f64>| {
        value
            .map(|v| format!("  {name} {:.2}%", 100.0 * v))
            .unwrap_or_default()
    };
    line += &percent("acc", stats.accuracy);
    line += &percent("top_k", stats.top_k);
    if let Some(val_loss) = stats.val_loss {
        line += &format!("  val_loss {val_loss:.4}");
    }
    line += &percent("val_acc", stats.val_accuracy);
    line += &percent("val_top_k", stats.val_top_k);
    line + &format!("  {:.1}s", stats.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn stats(epoch: usize, loss: f64) -> EpochStats {
        EpochStats {
            epoch,
            loss,
            accuracy: None,
            top_k: None,
            val_loss: None,
            val_accuracy: None,
            val_top_k: None,
            lr: 0.1,
            seconds: 0.81,
            samples_per_second: 100.0,
        }
    }

    #[test]
    fn progress_line_format() {
        let s = EpochStats {
            accuracy: Some(0.912),
            ..stats(3, 0.41234)
        };
        assert_eq!(
            progress_line(&s, 10),
            "epoch  3/10  loss 0.4123  acc 91.20%  0.8s"
        );
        assert_eq!(
            progress_line(&stats(3, 0.41234), 5),
            "epoch 3/5  loss 0.4123  0.8s"
        );
        let s = EpochStats {
            top_k: Some(0.991),
            val_loss: Some(0.45),
            val_accuracy: Some(0.9),
            val_top_k: Some(0.98),
            ..s
        };
        assert_eq!(
            progress_line(&s, 10),
            "epoch  3/10  loss 0.4123  acc 91.20%  top_k 99.10%  val_loss 0.4500  val_acc 90.00%  val_top_k 98.00%  0.8s"
        );
    }

    #[test]
    fn history_accessors() {
        let mut h = History::default();
        assert_eq!((h.final_loss(), h.best()), (None, None));
        h.epochs.push(stats(1, 2.0));
        h.epochs.push(stats(2, 1.0));
        h.best_epoch = Some(1);
        assert_eq!(
            (h.last().map(|e| e.epoch), h.final_loss()),
            (Some(2), Some(1.0))
        );
        assert_eq!(h.best().map(|e| e.loss), Some(2.0));
        let v = EpochStats {
            val_loss: Some(3.0),
            ..stats(1, 2.0)
        };
        assert_eq!(
            (stats(1, 2.0).monitored_loss(), v.monitored_loss()),
            (2.0, 3.0)
        );
    }
}
