//! Accuracy, top-k accuracy, and the running sums of an epoch or an evaluation.

use ndarray::{ArrayView1, ArrayView2};

use crate::data::TargetsView;
use crate::float::Float;
use crate::kernels;

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

/// Fraction of rows whose label is among the `k` largest outputs: fewer than `k` outputs
/// are strictly larger than the label's. Ties at the boundary count as hits, as in
/// `tf.math.in_top_k` (Keras' `top_k_categorical_accuracy`); `k = 1` is [`accuracy`] except
/// on ties.
///
/// # Panics
/// If `labels` is not as long as `output` has rows, or a label is not below the row width.
pub fn top_k_accuracy<F: Float>(output: ArrayView2<'_, F>, labels: &[usize], k: usize) -> f64 {
    assert_eq!(
        output.nrows(),
        labels.len(),
        "top_k_accuracy: one label per row"
    );
    if labels.is_empty() {
        return 0.0;
    }
    in_top_k(output, labels, k) as f64 / labels.len() as f64
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

/// Number of rows whose label is in their top `k`.
fn in_top_k<F: Float>(output: ArrayView2<'_, F>, labels: &[usize], k: usize) -> usize {
    output
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, &label)| larger_than(*row, row[label]) < k)
        .count()
}

/// Number of elements of `row` strictly larger than `value`.
fn larger_than<F: Float>(row: ArrayView1<'_, F>, value: F) -> usize {
    row.iter().filter(|&&v| v > value).count()
}

/// Running sums of an epoch or an evaluation: loss weighted by batch size, hit counts.
/// Adding a batch allocates nothing.
pub(super) struct Totals {
    samples: usize,
    loss: f64,
    correct: Option<usize>,
    top_k: Option<(usize, usize)>,
}

impl Totals {
    /// Empty sums; with `top_k = Some(k)`, top-k hits are counted too (for label targets).
    pub(super) fn new(top_k: Option<usize>) -> Self {
        Self {
            samples: 0,
            loss: 0.0,
            correct: None,
            top_k: top_k.map(|k| (k, 0)),
        }
    }

    /// Adds a batch: its mean loss, the model's output and the targets.
    pub(super) fn add<F: Float>(
        &mut self,
        loss: F,
        output: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
    ) {
        self.samples += output.nrows();
        self.loss += loss.as_f64() * output.nrows() as f64;
        if let TargetsView::Labels(labels) = targets {
            *self.correct.get_or_insert(0) += correct(output, labels);
            if let Some((k, hits)) = &mut self.top_k {
                *hits += in_top_k(output, labels, *k);
            }
        }
    }

    /// Number of samples added.
    pub(super) fn samples(&self) -> usize {
        self.samples
    }

    /// Mean loss per sample.
    pub(super) fn loss(&self) -> f64 {
        self.loss / self.samples as f64
    }

    /// Accuracy, for label targets.
    pub(super) fn accuracy(&self) -> Option<f64> {
        self.correct.map(|c| c as f64 / self.samples as f64)
    }

    /// Top-k accuracy, if asked for and the targets are labels.
    pub(super) fn top_k(&self) -> Option<f64> {
        self.correct?;
        self.top_k
            .map(|(_, hits)| hits as f64 / self.samples as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn accuracy_counts_argmax_hits() {
        let out = array![[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.5, 0.5]];
        assert_eq!(accuracy(out.view(), &[1, 0, 0, 0]), 0.75);
    }

    #[test]
    fn top_k_counts_labels_among_the_k_largest() {
        let out = array![
            [0.1, 0.5, 0.3, 0.2],
            [0.4, 0.1, 0.2, 0.3],
            [0.2, 0.2, 0.2, 0.4]
        ];
        // Ranks of the labels: row 0 label 2 → 2nd; row 1 label 1 → 4th; row 2 label 0 → tied 2nd–4th.
        let labels = [2, 1, 0];
        assert_eq!(top_k_accuracy(out.view(), &labels, 1), 0.0);
        assert_eq!(top_k_accuracy(out.view(), &labels, 2), 2.0 / 3.0);
        assert_eq!(top_k_accuracy(out.view(), &labels, 3), 2.0 / 3.0);
        assert_eq!(top_k_accuracy(out.view(), &labels, 4), 1.0);
    }
}
