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
}
