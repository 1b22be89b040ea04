//! An activation function as a layer of its own (`relu` as a statement).

use ndarray::{Array2, ArrayView2};

use crate::activation::ActivationFn;
use crate::float::Float;
use crate::model::Mode;
use crate::scratch::Scratch;

/// A stand-alone activation over `N` columns: `out = f(x)`. It has no parameters.
#[derive(Clone, Debug)]
pub struct Activation<F: Float, A: ActivationFn<F>, const N: usize> {
    /// The activation function.
    pub function: A,
    /// f(x) of the last forward.
    out: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, A: ActivationFn<F>, const N: usize> Activation<F, A, N> {
    /// Number of scalar parameters: none.
    pub const PARAMS: usize = 0;

    /// A layer applying `function`.
    pub fn new(function: A) -> Self {
        Self {
            function,
            out: Scratch::new(N),
            grad_input: Scratch::new(N),
        }
    }

    /// out = f(x), kept for backward.
    ///
    /// # Panics
    /// If `x` is not `N` wide (generated code guarantees it).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        assert_eq!(x.ncols(), N, "Activation: input width");
        self.out.resize(x.nrows());
        self.grad_input.resize(x.nrows());
        self.function.forward(x, self.out.view_mut());
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// d loss / d x = f'(x) ⊙ `grad_out`, given `x`, the input of the last forward. With no
    /// parameters there is nothing else to compute, so `input_grad = false` skips everything.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the shape of the last forward.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        if !input_grad {
            return;
        }
        let shape = (self.out.rows(), N);
        assert!(
            x.dim() == shape && grad_out.dim() == shape,
            "Activation: backward on a different batch than forward"
        );
        self.function
            .backward(x, self.out.view(), grad_out, self.grad_input.view_mut());
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.out.rows()
    }

    /// Eval-mode forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `N` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(x.ncols(), N, "Activation: input width");
        let mut out = Array2::zeros(x.raw_dim());
        self.function.forward(x, out.view_mut());
        out
    }
}
