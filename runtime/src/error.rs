//! The runtime's error type: every mistake a user can make is an `Err`, never a panic.

use crate::loss::TargetKind;

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Something the user asked the runtime to do that cannot be done, with what was expected
/// and what was found, worded for the person running the program.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A batch whose number of columns is not the network's input width.
    #[error(
        "network `{network}` takes inputs of width {expected}, but the batch has {found} columns"
    )]
    InputWidth {
        /// Name of the network.
        network: &'static str,
        /// The network's input width.
        expected: usize,
        /// Columns of the batch given.
        found: usize,
    },
    /// A batch with no rows.
    #[error("the batch is empty: it needs at least one row")]
    EmptyBatch,
    /// A dataset with no samples.
    #[error("the dataset is empty: it needs at least one sample")]
    EmptyDataset,
    /// Inputs and targets (of a dataset or a batch) disagree on the number of samples.
    #[error("there are {inputs} samples (input rows) but {targets} targets; they must match")]
    CountMismatch {
        /// Number of input rows.
        inputs: usize,
        /// Number of targets.
        targets: usize,
    },
    /// Targets of the wrong kind for the loss (class labels given to `mse`, say).
    #[error("loss `{loss}` needs {expected}, but was given {found}")]
    TargetKind {
        /// Name of the loss.
        loss: &'static str,
        /// The kind the loss needs.
        expected: TargetKind,
        /// The kind given.
        found: TargetKind,
    },
    /// Real-valued targets whose width is not the network's output width.
    #[error("the targets have {found} columns, but the network's output has {expected}")]
    TargetWidth {
        /// The network's output width.
        expected: usize,
        /// Columns of the targets.
        found: usize,
    },
    /// A class label that is not smaller than the number of classes.
    #[error("label {label} of sample {index} is out of range: the network has {classes} classes (labels 0..{classes})")]
    LabelOutOfRange {
        /// Position of the sample in the batch.
        index: usize,
        /// The label found.
        label: usize,
        /// Number of classes (the output width).
        classes: usize,
    },
    /// `loss` (or training) was asked of a network compiled without a loss statement.
    #[error("network `{network}` has no loss; add one (e.g. `softmax_ce` or `mse`) as its last statement")]
    NoLoss {
        /// Name of the network.
        network: &'static str,
    },
    /// `backward` was given a batch with a different number of rows than the last `forward`.
    #[error("backward of network `{network}` was given a batch of {found} rows, but the last forward ran on {expected} rows (0: no forward yet); pass the same batch to both")]
    BatchMismatch {
        /// Name of the network.
        network: &'static str,
        /// Rows of the last forward batch (0 if there was none).
        expected: usize,
        /// Rows of the batch given to backward.
        found: usize,
    },
    /// An explicit output gradient whose shape is not (batch rows, output width).
    #[error("the output gradient given to network `{network}` has shape {found:?}, but the last forward's output has shape {expected:?}")]
    GradShape {
        /// Name of the network.
        network: &'static str,
        /// (rows, columns) of the last forward output.
        expected: (usize, usize),
        /// (rows, columns) of the gradient given.
        found: (usize, usize),
    },
    /// The loss became NaN or infinite during training; training stopped there.
    #[error("the loss became NaN or infinite at epoch {epoch}, step {step}; try a smaller learning rate or check the data")]
    NonFinite {
        /// Epoch, counting from 1.
        epoch: usize,
        /// Mini-batch within the epoch, counting from 1.
        step: usize,
    },
    /// An invalid training or evaluation setting (zero epochs, zero batch size, …).
    #[error("invalid configuration: {0}")]
    Config(String),
}
