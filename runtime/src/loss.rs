//! Loss functions and the `Loss` layer that ends a network.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

use crate::buffer::Buffer;
use crate::data::TargetsView;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels;

/// What kind of targets a loss compares the output with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// Integer class labels, one per sample.
    Labels,
    /// Real values, one row per sample, as wide as the output.
    Values,
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetKind::Labels => "integer class labels",
            TargetKind::Values => "real-valued targets",
        })
    }
}

/// A loss: the mean of a per-sample penalty over the batch, with its gradient.
pub trait LossFn<F: Float>: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Name in the language (`"softmax_ce"`), for summaries and messages.
    const NAME: &'static str;

    /// The kind of targets it needs.
    const TARGETS: TargetKind;

    /// Mean loss over the batch, writing d loss / d y into `grad` (same shape as y).
    fn loss_and_grad(
        &self,
        y: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
        grad: ArrayViewMut2<'_, F>,
    ) -> Result<F>;

    /// Loss only (used by evaluate and gradient checks).
    fn loss(&self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>) -> Result<F>;

    /// What `predict` returns instead of the raw output, applied in place: softmax for
    /// `softmax_ce`, nothing for `mse`.
    fn link(&self, _y: ArrayViewMut2<'_, F>) {}
}

/// Checks `targets` against an output `y` for a loss named `loss` that needs `expected`:
/// kind, number of samples, width of value rows, range of labels.
pub fn check_targets<F: Float>(
    loss: &'static str,
    expected: TargetKind,
    y: &ArrayView2<'_, F>,
    targets: TargetsView<'_, F>,
) -> Result<()> {
    if targets.kind() != expected {
        return Err(Error::TargetKind {
            loss,
            expected,
            found: targets.kind(),
        });
    }
    if y.nrows() == 0 {
        return Err(Error::EmptyBatch);
    }
    if targets.len() != y.nrows() {
        return Err(Error::CountMismatch {
            inputs: y.nrows(),
            targets: targets.len(),
        });
    }
    match targets {
        TargetsView::Values(v) if v.ncols() != y.ncols() => Err(Error::TargetWidth {
            expected: y.ncols(),
            found: v.ncols(),
        }),
        TargetsView::Labels(labels) => match labels.iter().position(|&l| l >= y.ncols()) {
            Some(index) => Err(Error::LabelOutOfRange {
                index,
                label: labels[index],
                classes: y.ncols(),
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Softmax followed by cross-entropy against integer labels, on logits: PyTorch's
/// `CrossEntropyLoss` (mean over the batch, natural log), computed with a stable
/// log-sum-exp. Its gradient is (softmax(y) − onehot(label)) / batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl<F: Float> LossFn<F> for SoftmaxCrossEntropy {
    const NAME: &'static str = "softmax_ce";
    const TARGETS: TargetKind = TargetKind::Labels;

    fn loss_and_grad(
        &self,
        y: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
        mut grad: ArrayViewMut2<'_, F>,
    ) -> Result<F> {
        let loss = LossFn::<F>::loss(self, y, targets)?;
        let TargetsView::Labels(labels) = targets else {
            unreachable!("checked by loss")
        };
        let scale = F::one() / F::from_f64(labels.len() as f64);
        grad.assign(&y);
        for (mut row, &label) in grad.rows_mut().into_iter().zip(labels) {
            kernels::softmax_in_place(row.view_mut());
            row[label] -= F::one();
            row *= scale;
        }
        Ok(loss)
    }

    fn loss(&self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>) -> Result<F> {
        check_targets(<Self as LossFn<F>>::NAME, TargetKind::Labels, &y, targets)?;
        let TargetsView::Labels(labels) = targets else {
            unreachable!("checked above")
        };
        let total: F = y
            .rows()
            .into_iter()
            .zip(labels)
            .map(|(row, &label)| kernels::log_sum_exp(row) - row[label])
            .sum();
        Ok(total / F::from_f64(labels.len() as f64))
    }

    fn link(&self, mut y: ArrayViewMut2<'_, F>) {
        for row in y.rows_mut() {
            kernels::softmax_in_place(row);
        }
    }
}

/// Mean squared error against real-valued targets: PyTorch's `MSELoss(reduction='mean')`,
/// the mean over all elements (batch × width). Its gradient is 2 (y − t) / (batch · width).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl<F: Float> LossFn<F> for Mse {
    const NAME: &'static str = "mse";
    const TARGETS: TargetKind = TargetKind::Values;

    fn loss_and_grad(
        &self,
        y: ArrayView2<'_, F>,
        targets: TargetsView<'_, F>,
        grad: ArrayViewMut2<'_, F>,
    ) -> Result<F> {
        let loss = LossFn::<F>::loss(self, y, targets)?;
        let TargetsView::Values(t) = targets else {
            unreachable!("checked by loss")
        };
        let scale = F::from_f64(2.0 / y.len() as f64);
        Zip::from(grad)
            .and(y)
            .and(t)
            .for_each(|g, &y, &t| *g = scale * (y - t));
        Ok(loss)
    }

    fn loss(&self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>) -> Result<F> {
        check_targets(<Self as LossFn<F>>::NAME, TargetKind::Values, &y, targets)?;
        let TargetsView::Values(t) = targets else {
            unreachable!("checked above")
        };
        let total = Zip::from(y)
            .and(t)
            .fold(F::zero(), |s, &y, &t| s + (y - t) * (y - t));
        Ok(total / F::from_f64(y.len() as f64))
    }
}

/// The loss at the end of a network of output width `N`: computes the loss of a batch and
/// keeps d loss / d output for the backward pass in a reused buffer.
#[derive(Clone, Debug)]
pub struct Loss<F: Float, L: LossFn<F>, const N: usize> {
    /// The loss function.
    pub function: L,
    grad: Buffer<F>,
}

impl<F: Float, L: LossFn<F>, const N: usize> Loss<F, L, N> {
    /// A loss layer for outputs of width `N`.
    pub fn new(function: L) -> Self {
        Self {
            function,
            grad: Buffer::new(N),
        }
    }

    /// Mean loss of output `y` against `targets`; stores d loss / d y for [`Loss::grad_input`].
    ///
    /// # Panics
    /// If `y` is not `N` wide (a broken invariant of generated code).
    pub fn forward(&mut self, y: ArrayView2<'_, F>, targets: TargetsView<'_, F>) -> Result<F> {
        assert_eq!(y.ncols(), N, "Loss: output width");
        self.grad.resize(y.nrows());
        self.function
            .loss_and_grad(y, targets, self.grad.view_mut())
    }

    /// d loss / d y of the last [`Loss::forward`].
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad.view()
    }

    /// Applies the loss's link to a prediction (softmax for `softmax_ce`), in place.
    pub fn link(&self, mut y: Array2<F>) -> Array2<F> {
        self.function.link(y.view_mut());
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_ce_known_value() {
        // −ln softmax([3.2, 5.1, −1.7])₀ = ln(e^3.2 + e^5.1 + e^−1.7) − 3.2 = 2.0403551528
        // (torch.nn.functional.cross_entropy gives the same).
        let y = array![[3.2f64, 5.1, -1.7]];
        let loss = SoftmaxCrossEntropy
            .loss(y.view(), TargetsView::Labels(&[0]))
            .unwrap();
        assert!((loss - 2.040_355_152_800_170_7).abs() < 1e-12, "{loss}");
        // Mean over the batch: a second, identical sample leaves it unchanged; label 1 adds
        // ln(Σ) − 5.1 = 0.1403551528.
        let y2 = array![[3.2f64, 5.1, -1.7], [3.2, 5.1, -1.7]];
        let loss = SoftmaxCrossEntropy
            .loss(y2.view(), TargetsView::Labels(&[0, 1]))
            .unwrap();
        assert!((loss - (2.040_355_152_800_170_7 + 0.140_355_152_800_170_7) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn softmax_ce_is_finite_for_huge_logits() {
        let y = array![[1e4f64, -1e4], [-1e4, 1e4]];
        let mut grad = Array2::zeros((2, 2));
        let loss = SoftmaxCrossEntropy
            .loss_and_grad(y.view(), TargetsView::Labels(&[1, 1]), grad.view_mut())
            .unwrap();
        // Sample 0 is wrong by 2e4 nats, sample 1 right: mean 1e4.
        assert_eq!(loss, 1e4);
        assert!(grad.iter().all(|g| g.is_finite()));
        assert_eq!(grad, array![[0.5, -0.5], [0.0, 0.0]]);
        let y32 = array![[1e4f32, -1e4]];
        let loss32 = SoftmaxCrossEntropy
            .loss(y32.view(), TargetsView::Labels(&[0]))
            .unwrap();
        assert_eq!(loss32, 0.0);
    }

    #[test]
    fn mse_known_value_and_gradient() {
        // torch.nn.MSELoss()(y, t): ((1)² + 0² + (−2)² + 3²) / 4 = 3.5
        let y = array![[1.0, 2.0], [3.0, 4.0]];
        let t = array![[0.0, 2.0], [5.0, 1.0]];
        let mut grad = Array2::zeros((2, 2));
        let loss = Mse
            .loss_and_grad(y.view(), TargetsView::Values(t.view()), grad.view_mut())
            .unwrap();
        assert_eq!(loss, 3.5);
        assert_eq!(grad, array![[0.5, 0.0], [-1.0, 1.5]]);
    }

    #[test]
    fn target_errors_are_errors() {
        let y = array![[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]];
        let values = array![[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]];
        let ce = |t| SoftmaxCrossEntropy.loss(y.view(), t);
        let mse = |t| Mse.loss(y.view(), t);
        assert_eq!(
            ce(TargetsView::Values(values.view())),
            Err(Error::TargetKind {
                loss: "softmax_ce",
                expected: TargetKind::Labels,
                found: TargetKind::Values
            })
        );
        assert_eq!(
            mse(TargetsView::Labels(&[0, 1])),
            Err(Error::TargetKind {
                loss: "mse",
                expected: TargetKind::Values,
                found: TargetKind::Labels
            })
        );
        assert_eq!(
            ce(TargetsView::Labels(&[0])),
            Err(Error::CountMismatch {
                inputs: 2,
                targets: 1
            })
        );
        assert_eq!(
            mse(TargetsView::Values(values.slice(ndarray::s![..1, ..]))),
            Err(Error::CountMismatch {
                inputs: 2,
                targets: 1
            })
        );
        assert_eq!(
            mse(TargetsView::Values(values.slice(ndarray::s![.., ..2]))),
            Err(Error::TargetWidth {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            ce(TargetsView::Labels(&[2, 3])),
            Err(Error::LabelOutOfRange {
                index: 1,
                label: 3,
                classes: 3
            })
        );
        let mut layer = Loss::<f64, SoftmaxCrossEntropy, 3>::new(SoftmaxCrossEntropy);
        assert!(layer
            .forward(y.view(), TargetsView::Labels(&[0, 7]))
            .is_err());
    }

    #[test]
    fn error_messages_say_expected_and_found() {
        let e = Error::LabelOutOfRange {
            index: 4,
            label: 10,
            classes: 10,
        };
        assert_eq!(
            e.to_string(),
            "label 10 of sample 4 is out of range: the network has 10 classes (labels 0..10)"
        );
        let e = Error::TargetKind {
            loss: "mse",
            expected: TargetKind::Values,
            found: TargetKind::Labels,
        };
        assert_eq!(
            e.to_string(),
            "loss `mse` needs real-valued targets, but was given integer class labels"
        );
    }

    #[test]
    fn loss_layer_links_predictions() {
        let layer = Loss::<f64, SoftmaxCrossEntropy, 2>::new(SoftmaxCrossEntropy);
        let p = layer.link(array![[0.0, 0.0], [1000.0, -1000.0]]);
        assert_eq!(p, array![[0.5, 0.5], [1.0, 0.0]]);
        let layer = Loss::<f64, Mse, 2>::new(Mse);
        assert_eq!(layer.link(array![[3.0, -4.0]]), array![[3.0, -4.0]]);
    }
}
