//! Datasets (inputs with their targets) and mini-batch gathering.

pub mod csv;
pub mod idx;

use std::fs::{self, File};
use std::io::{self, Read};
use std::ops::Range;
use std::path::Path;

use ndarray::{s, Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::kernels;
use crate::loss::TargetKind;
use crate::scratch::Scratch;

/// Opens `path` for reading if it is a regular file (following symbolic links), and returns
/// it with its length. Anything else (a directory, a FIFO, a device such as `/dev/zero`, a
/// socket) is an [`Error::NotAFile`], found from the file's metadata before it is opened, so
/// that opening cannot block on a FIFO with no writer. A missing file is an
/// [`Error::MissingFile`] with `missing_hint`.
pub(crate) fn open_regular(path: &Path, missing_hint: &str) -> Result<(File, u64)> {
    let open_error = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Error::MissingFile {
            path: path.to_path_buf(),
            hint: missing_hint.into(),
        },
        _ => Error::io("open", path, &e),
    };
    let not_a_file = |kind| Error::NotAFile {
        path: path.to_path_buf(),
        kind,
    };
    let metadata = fs::metadata(path).map_err(open_error)?;
    if !metadata.is_file() {
        return Err(not_a_file(file_kind(&metadata.file_type())));
    }
    let file = File::open(path).map_err(open_error)?;
    // The path may have been replaced between the two looks: trust only the opened file.
    let metadata = file.metadata().map_err(|e| Error::io("read", path, &e))?;
    if !metadata.is_file() {
        return Err(not_a_file(file_kind(&metadata.file_type())));
    }
    Ok((file, metadata.len()))
}

/// What a file that is not a regular file is, for [`Error::NotAFile`].
fn file_kind(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "something else"
    }
}

/// All of `reader`, if it holds at most `limit` bytes; `None` if it holds more (then
/// `limit + 1` bytes were read, no more). `capacity` is reserved up front (a known file
/// length, or 0); beyond it the buffer grows only as data arrives.
pub(crate) fn read_at_most(
    reader: impl Read,
    limit: u64,
    capacity: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(capacity)
        .map_err(io::Error::other)?;
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The targets of a dataset: one class label or one row of values per sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<F> {
    /// Integer class labels (for classification losses such as `softmax_ce`).
    Labels(Vec<usize>),
    /// Real-valued targets, one row per sample (for regression losses such as `mse`).
    Values(Array2<F>),
}

impl<F: Float> Targets<F> {
    /// One-hot rows of width `classes` for integer `labels`: the targets of
    /// `categorical_crossentropy` and `categorical_hinge`, which take rows rather than labels.
    /// A label not below `classes` is an [`Error::LabelOutOfRange`].
    pub fn one_hot(labels: &[usize], classes: usize) -> Result<Self> {
        if let Some(index) = labels.iter().position(|&l| l >= classes) {
            return Err(Error::LabelOutOfRange {
                index,
                label: labels[index],
                classes,
            });
        }
        Ok(Targets::Values(Array2::from_shape_fn(
            (labels.len(), classes),
            |(i, k)| if labels[i] == k { F::one() } else { F::zero() },
        )))
    }

    /// A borrowed view, the form losses take.
    pub fn view(&self) -> TargetsView<'_, F> {
        match self {
            Targets::Labels(labels) => TargetsView::Labels(labels),
            Targets::Values(values) => TargetsView::Values(values.view()),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// True if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Labels or values.
    pub fn kind(&self) -> TargetKind {
        self.view().kind()
    }
}

/// Borrowed targets of a batch: what `Model::loss` takes.
#[derive(Debug)]
pub enum TargetsView<'a, F> {
    /// Integer class labels.
    Labels(&'a [usize]),
    /// Real-valued targets, one row per sample.
    Values(ArrayView2<'a, F>),
}

impl<F> Clone for TargetsView<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for TargetsView<'_, F> {}

impl<'a, F> TargetsView<'a, F> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            TargetsView::Labels(labels) => labels.len(),
            TargetsView::Values(values) => values.nrows(),
        }
    }

    /// True if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Labels or values.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetsView::Labels(_) => TargetKind::Labels,
            TargetsView::Values(_) => TargetKind::Values,
        }
    }

    /// The targets of samples `range` (for evaluating in consecutive batches).
    ///
    /// # Panics
    /// If the range is out of bounds.
    pub fn rows(self, range: Range<usize>) -> TargetsView<'a, F> {
        match self {
            TargetsView::Labels(labels) => TargetsView::Labels(&labels[range]),
            TargetsView::Values(values) => TargetsView::Values(values.slice_move(s![range, ..])),
        }
    }
}

/// Inputs (one row per sample) with their targets; the unit `fit` and `evaluate` work on.
///
/// ```
/// use axonal::ndarray::array;
/// use axonal::{Dataset, Targets};
///
/// // Four samples of two features, with class labels…
/// let xor = Dataset::new(array![[0., 0.], [0., 1.], [1., 0.], [1., 1.]], Targets::Labels(vec![0, 1, 1, 0]))?;
/// assert_eq!((xor.len(), xor.input_width()), (4, 2));
/// // …or with one row of real-valued targets per sample.
/// let regression = Dataset::new(array![[1.0f32], [2.0]], Targets::Values(array![[2.0], [4.0]]))?;
/// assert_eq!(regression.len(), 2);
/// // Counts must agree: a mistake is an error, not a panic.
/// assert!(Dataset::new(array![[1.0f32]], Targets::Labels(vec![0, 1])).is_err());
/// # Ok::<(), axonal::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<F> {
    inputs: Array2<F>,
    targets: Targets<F>,
}

impl<F: Float> Dataset<F> {
    /// Pairs inputs with targets, checking that there is at least one sample and that both
    /// have the same number of samples.
    pub fn new(inputs: Array2<F>, targets: Targets<F>) -> Result<Self> {
        if inputs.nrows() != targets.len() {
            return Err(Error::CountMismatch {
                inputs: inputs.nrows(),
                targets: targets.len(),
            });
        }
        if inputs.nrows() == 0 {
            return Err(Error::EmptyDataset);
        }
        Ok(Self { inputs, targets })
    }

    /// The inputs, one row per sample.
    pub fn inputs(&self) -> ArrayView2<'_, F> {
        self.inputs.view()
    }

    /// The targets.
    pub fn targets(&self) -> TargetsView<'_, F> {
        self.targets.view()
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.inputs.nrows()
    }

    /// Always false for a constructed dataset (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of input columns.
    pub fn input_width(&self) -> usize {
        self.inputs.ncols()
    }
}

/// Gathers (optionally shuffled) mini-batches of a dataset into buffers reused across
/// batches and epochs: once built, producing a batch allocates nothing.
///
/// The order is a permutation of the sample indices; [`Batcher::shuffle`] draws a fresh one
/// from an `Rng`, so a seeded `Rng` gives the same batches every run. The last batch of an
/// epoch holds the remainder and may be smaller.
#[derive(Debug)]
pub struct Batcher<'a, F> {
    data: &'a Dataset<F>,
    batch_size: usize,
    order: Vec<usize>,
    inputs: Scratch<F>,
    labels: Vec<usize>,
    values: Scratch<F>,
}

impl<'a, F: Float> Batcher<'a, F> {
    /// A batcher over `data` in sample order, with buffers for `batch_size` rows. A batch
    /// size larger than the dataset (up to `usize::MAX`) gives one batch of every sample.
    ///
    /// # Errors
    /// [`Error::Config`] if `batch_size` is 0.
    pub fn new(data: &'a Dataset<F>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        let batch_size = batch_size.min(data.len());
        let value_cols = match data.targets() {
            TargetsView::Labels(_) => 0,
            TargetsView::Values(v) => v.ncols(),
        };
        let mut batcher = Self {
            data,
            batch_size,
            order: (0..data.len()).collect(),
            inputs: Scratch::new(data.input_width()),
            labels: Vec::with_capacity(batch_size),
            values: Scratch::new(value_cols),
        };
        batcher.inputs.resize(batch_size);
        batcher.values.resize(batch_size);
        Ok(batcher)
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Always false: a dataset has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Rows per batch (all but possibly the last).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Puts the samples back in dataset order.
    pub fn unshuffle(&mut self) {
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i;
        }
    }

    /// Draws a new order: a uniformly random permutation of the samples, determined by the
    /// `Rng` alone (not by earlier shuffles).
    pub fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.unshuffle();
        self.order.shuffle(rng);
    }

    /// The sample indices of batch `index` in the current order.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn indices(&self, index: usize) -> &[usize] {
        &self.order[self.range(index)]
    }

    /// The positions in `order` of batch `index`. The product `index · batch_size` is checked:
    /// an index so large that it overflows is out of range like any other, not a wrapped-around
    /// batch.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    fn range(&self, index: usize) -> Range<usize> {
        let n = self.order.len();
        match index.checked_mul(self.batch_size) {
            Some(start) if start < n => start..start + self.batch_size.min(n - start),
            _ => panic!("batch {index} of {}", self.len()),
        }
    }

    /// Gathers batch `index` (in the current order) and returns its inputs and targets.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn batch(&mut self, index: usize) -> (ArrayView2<'_, F>, TargetsView<'_, F>) {
        let indices = &self.order[self.range(index)];
        let (inputs, targets) = (self.data.inputs(), self.data.targets());

        self.inputs.resize(indices.len());
        kernels::gather_rows(inputs, indices, self.inputs.view_mut());
        let targets = match targets {
            TargetsView::Labels(labels) => {
                self.labels.clear();
                self.labels.extend(indices.iter().map(|&i| labels[i]));
                TargetsView::Labels(&self.labels[..])
            }
            TargetsView::Values(values) => {
                self.values.resize(indices.len());
                kernels::gather_rows(values, indices, self.values.view_mut());
                TargetsView::Values(self.values.view())
            }
        };
        (self.inputs.view(), targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// 10 samples; input row i is [i, 10 i] and its label is i, so a batch shows which
    /// samples it holds and whether inputs and targets stayed paired.
    fn numbered(n: usize) -> Dataset<f64> {
        let inputs =
            Array2::from_shape_fn((n, 2), |(i, j)| (i * if j == 0 { 1 } else { 10 }) as f64);
        Dataset::new(inputs, Targets::Labels((0..n).collect())).unwrap()
    }

    fn epoch(batcher: &mut Batcher<'_, f64>) -> Vec<Vec<usize>> {
        (0..batcher.len())
            .map(|b| {
                let (x, t) = batcher.batch(b);
                let TargetsView::Labels(labels) = t else {
                    panic!("labels expected")
                };
                for (row, &l) in x.rows().into_iter().zip(labels) {
                    assert_eq!(
                        row.to_vec(),
                        vec![l as f64, 10.0 * l as f64],
                        "input/target pairing"
                    );
                }
                labels.to_vec()
            })
            .collect()
    }

    #[test]
    fn dataset_checks_counts() {
        let x = Array2::<f32>::zeros((3, 2));
        assert_eq!(
            Dataset::new(x.clone(), Targets::Labels(vec![0, 1])),
            Err(Error::CountMismatch {
                inputs: 3,
                targets: 2
            })
        );
        assert_eq!(
            Dataset::new(Array2::<f32>::zeros((0, 2)), Targets::Labels(vec![])),
            Err(Error::EmptyDataset)
        );
        let d = Dataset::new(x, Targets::Values(Array2::zeros((3, 4)))).unwrap();
        assert_eq!(
            (d.len(), d.input_width(), d.targets().kind()),
            (3, 2, TargetKind::Values)
        );
    }

    #[test]
    fn every_sample_once_per_epoch_last_batch_smaller() {
        let data = numbered(10);
        let mut batcher = Batcher::new(&data, 4).unwrap();
        assert_eq!(batcher.len(), 3);
        assert_eq!(
            epoch(&mut batcher),
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
        );
        for seed in 0..5 {
            batcher.shuffle(&mut StdRng::seed_from_u64(seed));
            let batches = epoch(&mut batcher);
            assert_eq!(
                batches.iter().map(Vec::len).collect::<Vec<_>>(),
                vec![4, 4, 2]
            );
            let mut all: Vec<usize> = batches.concat();
            all.sort_unstable();
            assert_eq!(all, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn shuffling_is_determined_by_the_seed() {
        let data = numbered(50);
        let mut a = Batcher::new(&data, 8).unwrap();
        let mut b = Batcher::new(&data, 8).unwrap();
        a.shuffle(&mut StdRng::seed_from_u64(42));
        let first = epoch(&mut a);
        b.shuffle(&mut StdRng::seed_from_u64(1));
        b.shuffle(&mut StdRng::seed_from_u64(42)); // history does not matter
        assert_eq!(epoch(&mut b), first);
        b.shuffle(&mut StdRng::seed_from_u64(43));
        assert_ne!(epoch(&mut b), first);
        assert_ne!(
            first.concat(),
            (0..50).collect::<Vec<_>>(),
            "a shuffle changes the order"
        );
    }

    #[test]
    fn value_targets_are_gathered_with_their_inputs() {
        let inputs = array![[0.0], [1.0], [2.0]];
        let values = array![[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]];
        let data = Dataset::new(inputs, Targets::Values(values)).unwrap();
        let mut batcher = Batcher::new(&data, 2).unwrap();
        batcher.shuffle(&mut StdRng::seed_from_u64(3));
        for b in 0..batcher.len() {
            let (x, t) = batcher.batch(b);
            let TargetsView::Values(v) = t else {
                panic!("values expected")
            };
            assert_eq!(x.nrows(), v.nrows());
            for (xr, vr) in x.rows().into_iter().zip(v.rows()) {
                assert_eq!(vr.to_vec(), vec![xr[0], xr[0] + 0.5]);
            }
        }
    }

    #[test]
    fn zero_batch_size_is_an_error() {
        assert!(matches!(
            Batcher::new(&numbered(3), 0),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn one_hot_targets() {
        let t = Targets::<f64>::one_hot(&[2, 0], 3).unwrap();
        assert_eq!(t, Targets::Values(array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]));
        assert_eq!(t.kind(), TargetKind::Values);
        assert_eq!(
            Targets::<f64>::one_hot(&[0, 3], 3),
            Err(Error::LabelOutOfRange {
                index: 1,
                label: 3,
                classes: 3
            })
        );
    }

    #[test]
    fn target_rows_slice() {
        let t = Targets::<f64>::Labels(vec![5, 6, 7, 8]);
        let TargetsView::Labels(l) = t.view().rows(1..3) else {
            panic!()
        };
        assert_eq!(l, &[6, 7]);
    }
}
