//! The maxout layer (`maxout IN->OUT k=K`): the maximum over K affine pieces per unit.

use ndarray::{Array1, Array2, ArrayView2, Zip};
use rand::Rng;

use crate::float::Float;
use crate::init::Init;
use crate::kernels;
use crate::model::{Mode, Param};
use crate::scratch::Scratch;

/// Maxout, `IN` → `OUT` columns with `K` pieces per unit: `z = x·Wᵀ + b`, then
/// `out[o] = max_j z[o·K + j]` — the course's `max(w₁ᵀx + b₁, w₂ᵀx + b₂)` is `K = 2`.
///
/// W is `[OUT·K, IN]` (row `o·K + j` is piece j of unit o, so the layer is a PyTorch
/// `Linear(IN, OUT·K)` followed by `view(B, OUT, K).max(-1)`), b is `[OUT·K]`. Backward
/// routes each unit's gradient to its winning piece (the first maximum on ties).
#[derive(Clone, Debug)]
pub struct Maxout<F: Float, const IN: usize, const OUT: usize, const K: usize> {
    /// Weights, `[OUT·K, IN]`, standard (row-major) layout; keep that shape and layout.
    pub weight: Array2<F>,
    /// Biases, `[OUT·K]`.
    pub bias: Array1<F>,
    /// d loss / d weight of the last backward, `[OUT·K, IN]`.
    pub weight_grad: Array2<F>,
    /// d loss / d bias of the last backward, `[OUT·K]`.
    pub bias_grad: Array1<F>,
    /// z = x·Wᵀ + b of the last forward, `OUT·K` columns.
    pre: Scratch<F>,
    /// The maximum over each unit's pieces of the last forward.
    out: Scratch<F>,
    /// d loss / d z of the last backward: the unit's gradient at its winner, 0 elsewhere.
    grad_pre: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, const IN: usize, const OUT: usize, const K: usize> Maxout<F, IN, OUT, K> {
    /// Number of scalar parameters: K pieces of an `IN` → `OUT` affine map.
    pub const PARAMS: usize = K * (IN * OUT + OUT);

    /// A layer whose weights and biases are drawn by `weight_init` and `bias_init`, both with
    /// fan-in `IN` and fan-out `OUT` (each piece is an `IN` → `OUT` map).
    ///
    /// # Panics
    /// If `K` is 0 (the compiler requires k ≥ 2), or on an initializer invariant (see [`Init::fill`]).
    pub fn new<R: Rng + ?Sized>(weight_init: Init, bias_init: Init, rng: &mut R) -> Self {
        assert!(K > 0, "Maxout: K must be at least 1");
        let mut weight = Array2::zeros((OUT * K, IN));
        let mut bias = Array1::zeros(OUT * K);
        weight_init.fill(contiguous(&mut weight), IN, OUT, rng);
        bias_init.fill(contiguous(&mut bias), IN, OUT, rng);
        Self {
            weight,
            bias,
            weight_grad: Array2::zeros((OUT * K, IN)),
            bias_grad: Array1::zeros(OUT * K),
            pre: Scratch::new(OUT * K),
            out: Scratch::new(OUT),
            grad_pre: Scratch::new(OUT * K),
            grad_input: Scratch::new(IN),
        }
    }

    /// z = x·Wᵀ + b; out = the maximum of each unit's K pieces. Keeps z for backward.
    ///
    /// # Panics
    /// If `x` is not `IN` wide (generated code checks the network's input first).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        assert_eq!(x.ncols(), IN, "Maxout: input width");
        let rows = x.nrows();
        for buffer in [&mut self.pre, &mut self.grad_pre] {
            buffer.resize(rows);
        }
        self.out.resize(rows);
        self.grad_input.resize(rows);
        kernels::gemm_nt(
            x,
            self.weight.view(),
            Some(self.bias.view()),
            self.pre.view_mut(),
        );
        max_pieces::<F, K>(self.pre.view(), self.out.view_mut());
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.out.view()
    }

    /// Gradients from `grad_out` = d loss / d output, given `x`, the input of the last
    /// forward: d z is `grad_out[o]` at the winning piece of unit o (first maximum) and 0 at
    /// the others; then dW = d zᵀ·x, db = Σ_rows d z and, if `input_grad`, dx = d z·W.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the rows of the last forward and the layer's widths.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        let rows = self.pre.rows();
        assert!(
            x.dim() == (rows, IN) && grad_out.dim() == (rows, OUT),
            "Maxout: backward on a different batch than forward"
        );
        let mut grad_pre = self.grad_pre.view_mut();
        grad_pre.fill(F::zero());
        for ((z_row, g_row), mut dz_row) in self
            .pre
            .view()
            .rows()
            .into_iter()
            .zip(grad_out.rows())
            .zip(grad_pre.rows_mut())
        {
            for (o, &g) in g_row.iter().enumerate() {
                let pieces = z_row.slice(ndarray::s![o * K..(o + 1) * K]);
                dz_row[o * K + kernels::argmax(pieces)] = g;
            }
        }
        let grad_pre = self.grad_pre.view();
        kernels::gemm_tn(grad_pre, x, self.weight_grad.view_mut());
        kernels::column_sums(grad_pre, self.bias_grad.view_mut());
        if input_grad {
            kernels::gemm_nn(grad_pre, self.weight.view(), self.grad_input.view_mut());
        }
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.pre.rows()
    }

    /// Eval-mode forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `IN` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        assert_eq!(x.ncols(), IN, "Maxout: input width");
        let mut pre = Array2::zeros((x.nrows(), OUT * K));
        kernels::gemm_nt(
            x,
            self.weight.view(),
            Some(self.bias.view()),
            pre.view_mut(),
        );
        let mut out = Array2::zeros((x.nrows(), OUT));
        max_pieces::<F, K>(pre.view(), out.view_mut());
        out
    }

    /// Lends `weight` then `bias`, with their gradients, to `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        f(Param {
            layer,
            name: "weight",
            shape: &[OUT * K, IN],
            value: contiguous(&mut self.weight),
            grad: self
                .weight_grad
                .as_slice_mut()
                .expect("Maxout: weight_grad must be standard layout"),
        });
        f(Param {
            layer,
            name: "bias",
            shape: &[OUT * K],
            value: contiguous(&mut self.bias),
            grad: self
                .bias_grad
                .as_slice_mut()
                .expect("Maxout: bias_grad must be standard layout"),
        });
    }
}

/// `out[r, o] = max_j pre[r, o·K + j]`: each unit's maximum over its K consecutive pieces.
fn max_pieces<F: Float, const K: usize>(
    pre: ArrayView2<'_, F>,
    mut out: ndarray::ArrayViewMut2<'_, F>,
) {
    Zip::from(out.rows_mut())
        .and(pre.rows())
        .for_each(|mut out_row, z_row| {
            for (o, v) in out_row.iter_mut().enumerate() {
                let pieces = z_row.slice(ndarray::s![o * K..(o + 1) * K]);
                *v = pieces[kernels::argmax(pieces)];
            }
        });
}

/// The elements of a parameter array in row-major order.
///
/// # Panics
/// If the array is not in standard layout — only possible if a user replaced a pub
/// parameter field with a transposed array.
fn contiguous<F, D: ndarray::Dimension>(a: &mut ndarray::Array<F, D>) -> &mut [F] {
    a.as_slice_mut()
        .expect("Maxout: parameters must be in standard (row-major) layout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn course_example_two_pieces() {
        // One unit, max(w₁x + b₁, w₂x + b₂) with w = (1, −1), b = (0, 1): x = 2 → max(2, −1) = 2
        // (piece 0 wins), x = −3 → max(−3, 4) = 4 (piece 1 wins).
        let rng = &mut StdRng::seed_from_u64(0);
        let mut m =
            Maxout::<f64, 1, 1, 2>::new(Init::Values(&[1.0, -1.0]), Init::Values(&[0.0, 1.0]), rng);
        let x = array![[2.0], [-3.0]];
        m.forward(x.view(), Mode::Train);
        assert_eq!(m.output(), array![[2.0], [4.0]]);
        assert_eq!(m.predict(x.view()), array![[2.0], [4.0]]);
        m.backward(x.view(), array![[10.0], [100.0]].view(), true);
        // dW row 0 = 10·2, row 1 = 100·(−3); db = (10, 100); dx = (10·1, 100·(−1)).
        assert_eq!(m.weight_grad, array![[20.0], [-300.0]]);
        assert_eq!(m.bias_grad, array![10.0, 100.0]);
        assert_eq!(m.grad_input(), array![[10.0], [-100.0]]);
    }

    #[test]
    fn ties_go_to_the_first_piece() {
        let rng = &mut StdRng::seed_from_u64(0);
        let mut m = Maxout::<f64, 1, 1, 3>::new(Init::Ones, Init::Zeros, rng);
        let x = array![[1.0]];
        m.forward(x.view(), Mode::Train);
        m.backward(x.view(), array![[1.0]].view(), false);
        assert_eq!(m.bias_grad, array![1.0, 0.0, 0.0]);
    }

    #[test]
    fn params_have_pytorch_linear_shapes() {
        let rng = &mut StdRng::seed_from_u64(0);
        let mut m = Maxout::<f32, 3, 2, 4>::new(Init::XavierUniform, Init::Zeros, rng);
        assert_eq!(Maxout::<f32, 3, 2, 4>::PARAMS, 32);
        let mut seen = Vec::new();
        m.visit_params("mx", &mut |p| {
            seen.push((p.full_name(), p.shape.to_vec(), p.value.len()))
        });
        assert_eq!(
            seen,
            vec![
                ("mx.weight".into(), vec![8, 3], 24),
                ("mx.bias".into(), vec![8], 8)
            ]
        );
    }
}
