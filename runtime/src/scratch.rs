//! Reusable scratch memory: a matrix whose row count follows the batch size.

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};

use crate::float::Float;

/// A matrix with a fixed number of columns and a row count set per batch.
///
/// Layers keep their activations and gradients in these. The storage grows when a larger
/// batch arrives and never shrinks, so alternating batch sizes (a smaller last mini-batch,
/// evaluation batches) do not reallocate: a steady-state training step allocates nothing.
#[derive(Clone, Debug)]
pub struct Scratch<F> {
    data: Array2<F>,
    rows: usize,
}

impl<F: Float> Scratch<F> {
    /// An empty scratch matrix of `cols` columns; no storage until the first `resize`.
    pub fn new(cols: usize) -> Self {
        Self {
            data: Array2::zeros((0, cols)),
            rows: 0,
        }
    }

    /// Sets the row count, allocating (zeroed) storage only if it exceeds the capacity.
    /// Contents are unspecified afterwards: callers overwrite them.
    pub fn resize(&mut self, rows: usize) {
        if rows > self.data.nrows() {
            self.data = Array2::zeros((rows, self.data.ncols()));
        }
        self.rows = rows;
    }

    /// Current number of rows (the batch size of the last `resize`).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.data.ncols()
    }

    /// The current rows, contiguous and row-major.
    pub fn view(&self) -> ArrayView2<'_, F> {
        self.data.slice(s![..self.rows, ..])
    }

    /// The current rows, mutably.
    pub fn view_mut(&mut self) -> ArrayViewMut2<'_, F> {
        self.data.slice_mut(s![..self.rows, ..])
    }
}

/// `x` itself if each of its rows is contiguous in memory, else a copy of it in `staging`
/// (grown, never shrunk): for layers whose kernels read a sample as one slice, when a user
/// passes a column-major or otherwise strided batch.
pub(crate) fn contiguous_rows<'a, 'x: 'a, F: Float>(
    x: ArrayView2<'x, F>,
    staging: &'a mut Scratch<F>,
) -> ArrayView2<'a, F> {
    if x.ncols() <= 1 || x.strides()[1] == 1 {
        return x.reborrow();
    }
    staging.resize(x.nrows());
    staging.view_mut().assign(&x);
    staging.view()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_but_never_shrinks_storage() {
        let mut b = Scratch::<f32>::new(3);
        assert_eq!(b.view().dim(), (0, 3));
        b.resize(4);
        let ptr = b.view().as_ptr();
        b.resize(2);
        assert_eq!(b.view().dim(), (2, 3));
        assert_eq!(b.view().as_ptr(), ptr, "shrinking must reuse storage");
        b.resize(4);
        assert_eq!(
            b.view().as_ptr(),
            ptr,
            "regrowing within capacity must reuse storage"
        );
        b.resize(5);
        assert_eq!(b.view().dim(), (5, 3));
        assert!(b.view().is_standard_layout());
    }

    #[test]
    fn strided_rows_are_copied_contiguous_ones_are_not() {
        let x = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
        let mut staging = Scratch::new(4);
        let same = contiguous_rows(x.view(), &mut staging);
        assert_eq!(same.as_ptr(), x.as_ptr());
        assert_eq!(staging.rows(), 0, "no copy of contiguous rows");
        let t = x.t().to_owned(); // 4 × 3; its transpose view has rows 4 apart... columns strided
        let copied = contiguous_rows(t.t(), &mut staging);
        assert_eq!(copied, x);
        assert!(copied.row(1).as_slice().is_some());
    }
}
