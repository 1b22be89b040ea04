//! The runtime's error type: every mistake a user can make is an `Err`, never a panic.

use std::path::PathBuf;

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
    /// An invalid training or evaluation setting (zero epochs, zero batch size, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file could not be read or written (permissions, full disk, …).
    #[error("cannot {action} `{}`: {message}", .path.display())]
    Io {
        /// What was being done: "read", "write", "rename", …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The kind of the underlying I/O error, for programs that react to it.
        kind: std::io::ErrorKind,
        /// The underlying I/O error, as text.
        message: String,
    },
    /// A data or checkpoint file that does not exist, with where to get it.
    #[error("`{}` does not exist. {hint}", .path.display())]
    MissingFile {
        /// The file looked for.
        path: PathBuf,
        /// Where to get it, or how to point the program at it.
        hint: String,
    },
    /// A file whose magic number is not that of the format expected (an IDX labels file
    /// given where images are expected, a file of another format).
    #[error("`{}` is not an IDX {what} file: its magic number is {found:#010x}{}, but that of an IDX {what} file is {expected:#010x}", .path.display(), magic_hint(*.found))]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// What the file should hold ("images", "labels").
        what: &'static str,
        /// The magic number of that format.
        expected: u32,
        /// The first four bytes of the file, big-endian.
        found: u32,
    },
    /// A file shorter (truncated download) or longer than its header says.
    #[error("`{}` {}: its header describes {expected} bytes but it has {found}", .path.display(), if .found < .expected { "is truncated" } else { "has trailing bytes" })]
    FileLength {
        /// The file (for a `.gz`, the lengths are of the decompressed data).
        path: PathBuf,
        /// Length in bytes the header describes.
        expected: u64,
        /// Length in bytes found.
        found: u64,
    },
    /// An images file and a labels file that do not hold the same number of samples.
    #[error("`{}` holds {images} images but `{}` holds {labels} labels; they must match", .images_path.display(), .labels_path.display())]
    SampleCountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },
    /// A CSV field or row that cannot be read, with its 1-based line and column.
    #[error("`{}`, line {line}, column {column}: {message}", .path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line number, counting from 1 (including skipped header lines).
        line: usize,
        /// Column number, counting from 1.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A file with no data in it (after any skipped header lines).
    #[error("`{}` has no data rows{}", .path.display(), if *.skipped > 0 { format!(" after the {} skipped header line(s)", .skipped) } else { String::new() })]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// Number of header lines that were skipped.
        skipped: usize,
    },
    /// A file that is corrupt for its format: broken gzip data, an unreadable safetensors header.
    #[error("`{}` is not a valid {format} file: {message}", .path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// The format expected ("gzip", "safetensors checkpoint", …).
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    // Hostile files (issue 13): the readers' file checks and limits, and non-finite weights.
    /// A path that is not a regular file (a directory, a FIFO, a device such as `/dev/zero`,
    /// a socket): the data readers and `load` read only regular files, so that they can
    /// neither block on a pipe nor read without end.
    #[error("`{}` is {kind}, not a regular file: axonal reads data and checkpoints only from regular files (copy the data into one first)", .path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead: "a directory", "a FIFO (named pipe)", "a character device", …
        kind: &'static str,
    },
    /// A file (or stream) larger than its reader accepts; the limits are listed under
    /// "Limits" in docs/reference.md.
    #[error("`{}` is too large for {what}: {}. {hint}", .path.display(), too_large(*.size, *.limit))]
    FileTooLarge {
        /// The file (`<reader>` or `<memory>` for data that did not come from a file).
        path: PathBuf,
        /// Whose limit it exceeds: "the CSV reader", "the IDX reader", "a checkpoint of
        /// network `Net`".
        what: String,
        /// Its size in bytes (for an IDX file, the size of the data its header describes);
        /// `None` for a stream that went on past the limit.
        size: Option<u64>,
        /// The limit in bytes.
        limit: u64,
        /// Why the limit is there, or what to do.
        hint: &'static str,
    },
    /// A checkpoint holding a NaN or infinite value, refused by [`crate::io::load`] unless
    /// [`crate::io::LoadOptions::allow_non_finite`] allows it. The network was left unchanged.
    #[error("checkpoint `{}` holds a non-finite value: `{tensor}`{index:?} is {value}; the network was not changed. It was probably saved after training diverged: load an earlier checkpoint, or pass `LoadOptions::default().allow_non_finite(true)` to `axonal::io::load_with` to load it anyway", .path.display())]
    NonFiniteWeight {
        /// The checkpoint file.
        path: PathBuf,
        /// The first tensor (in the network's order) with a non-finite value.
        tensor: String,
        /// The position of the first non-finite value in that tensor, one index per axis.
        index: Vec<usize>,
        /// The value: NaN, inf or -inf.
        value: f64,
    },
    /// A checkpoint that does not fit the network: every missing tensor, unexpected tensor,
    /// wrong shape and wrong dtype, one per entry. The network was left unchanged.
    ///
    /// Its message lists the first [`MISMATCHES_SHOWN`] problems and counts the rest; the
    /// field `problems` holds them all.
    #[error("checkpoint `{}` does not fit network `{network}` ({} problem(s)); the network was not changed:{}", .path.display(), .problems.len(), problem_list(.problems))]
    CheckpointMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Name of the network.
        network: &'static str,
        /// One line per problem, e.g. "fc1.weight: shape [10, 784] in the network, [10, 100] in the checkpoint".
        problems: Vec<String>,
    },
    /// Training diverged: the loss, a gradient or an updated parameter became NaN or infinite.
    /// `fit` checks the loss and every gradient before each optimizer step (always on, one pass
    /// over the gradients) and puts back a step that made a parameter non-finite, so unless
    /// `what` says otherwise the model holds the weights from before the failing step.
    #[error("training diverged at epoch {epoch}, step {step}{}: {what}. Try a smaller learning rate or gradient clipping (`Fit::clip_grad_norm`), and check the data for NaN or infinite values", .layer.as_deref().map(|l| format!(" in layer `{l}`")).unwrap_or_default())]
    Diverged {
        /// Epoch, counting from 1.
        epoch: usize,
        /// Mini-batch within the epoch, counting from 1.
        step: usize,
        /// Label of the layer whose parameter is the first (in visit order) with a non-finite
        /// gradient or value; `None` when only the loss (or the data) is at fault.
        layer: Option<String>,
        /// What became non-finite, e.g. "the gradient of `fc1.weight` is NaN …", and whether
        /// the weights are the last good ones.
        what: String,
    },
    /// A network could not be exported to ONNX: it has no graph (a hand-written model), or
    /// its graph and its parameters disagree.
    #[error("cannot export network `{network}` to ONNX: {message}")]
    Onnx {
        /// Name of the network.
        network: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A plot could not be drawn or written (`History::plot`, feature `plot`).
    #[error("cannot plot to `{}`: {message}", .path.display())]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What went wrong (an unknown extension, a drawing or encoding error).
        message: String,
    },
}

/// How many problems the message of an [`Error::CheckpointMismatch`] lists before it
/// counts the rest ("… and 199,976 more").
pub const MISMATCHES_SHOWN: usize = 24;

/// The problems of an [`Error::CheckpointMismatch`], one per line, the first
/// [`MISMATCHES_SHOWN`] of them and a count of the rest.
fn problem_list(problems: &[String]) -> String {
    let mut out = String::new();
    for p in problems.iter().take(MISMATCHES_SHOWN) {
        out += "\n  ";
        out += p;
    }
    if problems.len() > MISMATCHES_SHOWN {
        out += &format!(
            "\n  … and {} more",
            thousands(problems.len() - MISMATCHES_SHOWN)
        );
    }
    out
}

/// `n` with commas between groups of three digits: 199,976.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// "N bytes, more than the limit of M bytes" for an [`Error::FileTooLarge`].
fn too_large(size: Option<u64>, limit: u64) -> String {
    match size {
        Some(size) => format!("{size} bytes, more than the limit of {limit} bytes"),
        None => format!("more than the limit of {limit} bytes"),
    }
}

/// A word on what a wrong magic number looks like, to help whoever reads a [`Error::BadMagic`].
fn magic_hint(found: u32) -> &'static str {
    match found {
        0x0000_0801 => " (that of an IDX labels file)",
        0x0000_0803 => " (that of an IDX images file)",
        _ if found >> 16 == 0x1f8b => " (gzip data)",
        _ if found & 0xffff_ff00 == 0x0000_0800 => " (an IDX file of another shape)",
        _ => "",
    }
}

impl Error {
    /// An [`Error::Io`] for `action` ("read", "write", …) on `path`.
    pub(crate) fn io(action: &'static str, path: &std::path::Path, err: &std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}
