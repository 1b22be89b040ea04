//! How `fit` reports progress: an indicatif bar on a terminal, one plain line per epoch
//! otherwise (logs, CI), nothing when quiet.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::metrics::Totals;
use super::{progress_line, EpochStats};

/// The bar's message (loss, accuracy, samples/s) is rewritten at most this often, so the
/// formatting does not cost an allocation per step; indicatif redraws at most 20 times a second.
const MESSAGE_INTERVAL: Duration = Duration::from_millis(200);

/// Progress reporting for one `fit` call.
pub(super) enum Progress {
    /// `Fit::quiet`: nothing.
    Quiet,
    /// stdout is not a terminal: [`progress_line`] after each epoch.
    Lines,
    /// stdout is a terminal: a bar per epoch while it runs, then its [`progress_line`].
    Bar {
        /// The current epoch's bar (none between epochs).
        bar: Option<ProgressBar>,
        /// When the bar's message was last rewritten.
        written: Instant,
    },
}

impl Progress {
    /// Quiet unless `verbose`; a bar if stdout is a terminal, lines otherwise.
    pub(super) fn new(verbose: bool) -> Self {
        if !verbose {
            Progress::Quiet
        } else if std::io::stdout().is_terminal() {
            Progress::Bar {
                bar: None,
                written: Instant::now(),
            }
        } else {
            Progress::Lines
        }
    }

    /// Starts epoch `epoch` of `epochs`, which has `steps` mini-batches.
    pub(super) fn start_epoch(&mut self, epoch: usize, epochs: usize, steps: usize) {
        if let Progress::Bar { bar, written } = self {
            let style = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            let width = epochs.to_string().len();
            let new =
                ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stdout())
                    .with_style(style)
                    .with_prefix(format!("{epoch:>width$}/{epochs}"));
            *bar = Some(new);
            // Due at once: the first step writes the message.
            *written = Instant::now()
                .checked_sub(MESSAGE_INTERVAL)
                .unwrap_or_else(Instant::now);
        }
    }

    /// One step done; `totals` are the epoch's sums so far, `start` when its training began.
    pub(super) fn step(&mut self, totals: &Totals, start: Instant) {
        if let Progress::Bar {
            bar: Some(bar),
            written,
        } = self
        {
            bar.inc(1);
            if written.elapsed() >= MESSAGE_INTERVAL {
                *written = Instant::now();
                let rate = totals.samples() as f64 / start.elapsed().as_secs_f64();
                let accuracy = totals
                    .accuracy()
                    .map(|a| format!("  acc {:.2}%", 100.0 * a))
                    .unwrap_or_default();
                bar.set_message(format!(
                    "loss {:.4}{accuracy}  {rate:.0} samples/s",
                    totals.loss()
                ));
            }
        }
    }

    /// The epoch is over: clears its bar, prints its line.
    pub(super) fn end_epoch(&mut self, stats: &EpochStats, epochs: usize) {
        match self {
            Progress::Quiet => {}
            Progress::Lines => println!("{}", progress_line(stats, epochs)),
            Progress::Bar { bar, .. } => {
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
                println!("{}", progress_line(stats, epochs));
            }
        }
    }

    /// Training stopped with an error mid-epoch: removes the bar, so the error is printed on
    /// a clean line.
    pub(super) fn abandon(&mut self) {
        if let Progress::Bar { bar, .. } = self {
            if let Some(bar) = bar.take() {
                bar.finish_and_clear();
            }
        }
    }
}
