//! Shuffled mini-batches of the first `n` samples of a dataset (the training part when the
//! rest is held out by `validation_split`), gathered into buffers reused across steps.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::data::{Dataset, TargetsView};
use crate::float::Float;
use crate::kernels;
use crate::scratch::Scratch;

/// Like [`crate::data::Batcher`], over samples `0..n` only; the same seed gives the same
/// order as a `Batcher` over the whole dataset when `n` is its length. Producing a batch
/// allocates nothing.
pub(super) struct Batches<'a, F> {
    data: &'a Dataset<F>,
    batch_size: usize,
    order: Vec<usize>,
    inputs: Scratch<F>,
    labels: Vec<usize>,
    values: Scratch<F>,
}

impl<'a, F: Float> Batches<'a, F> {
    /// Batches of `batch_size` (≥ 1) rows over samples `0..n` (1 ≤ n ≤ data.len()), in order.
    pub(super) fn new(data: &'a Dataset<F>, n: usize, batch_size: usize) -> Self {
        let batch_size = batch_size.clamp(1, n);
        let value_cols = match data.targets() {
            TargetsView::Labels(_) => 0,
            TargetsView::Values(v) => v.ncols(),
        };
        let mut batches = Self {
            data,
            batch_size,
            order: (0..n).collect(),
            inputs: Scratch::new(data.input_width()),
            labels: Vec::with_capacity(batch_size),
            values: Scratch::new(value_cols),
        };
        batches.inputs.resize(batch_size);
        batches.values.resize(batch_size);
        batches
    }

    /// Number of batches per epoch.
    pub(super) fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Draws a new order, determined by `rng` alone (not by earlier shuffles).
    pub(super) fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i;
        }
        self.order.shuffle(rng);
    }

    /// Gathers batch `index` and returns its inputs, targets and dataset rows.
    pub(super) fn batch(
        &mut self,
        index: usize,
    ) -> (ArrayView2<'_, F>, TargetsView<'_, F>, &[usize]) {
        let start = index * self.batch_size;
        let indices = &self.order[start..(start + self.batch_size).min(self.order.len())];
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
        (self.inputs.view(), targets, indices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Batcher, Targets};
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn labels(t: TargetsView<'_, f64>) -> Vec<usize> {
        match t {
            TargetsView::Labels(l) => l.to_vec(),
            TargetsView::Values(_) => panic!("labels expected"),
        }
    }

    #[test]
    fn same_order_as_batcher_and_only_the_first_n() {
        let data = Dataset::new(
            Array2::from_shape_fn((10, 1), |(i, _)| i as f64),
            Targets::Labels((0..10).collect()),
        )
        .unwrap();
        let mut whole = Batches::new(&data, 10, 4);
        let mut batcher = Batcher::new(&data, 4).unwrap();
        whole.shuffle(&mut StdRng::seed_from_u64(5));
        batcher.shuffle(&mut StdRng::seed_from_u64(5));
        for b in 0..3 {
            assert_eq!(labels(whole.batch(b).1), labels(batcher.batch(b).1));
        }
        let mut part = Batches::new(&data, 7, 3);
        part.shuffle(&mut StdRng::seed_from_u64(5));
        assert_eq!(part.len(), 3);
        let mut seen: Vec<usize> = (0..3).flat_map(|b| labels(part.batch(b).1)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        let (x, t, rows) = part.batch(2);
        assert_eq!(rows, labels(t).as_slice());
        assert_eq!(
            x.column(0).to_vec(),
            labels(t).iter().map(|&l| l as f64).collect::<Vec<_>>()
        );
    }
}
