//! The fully connected layer.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;

use crate::activation::{ActivationFn, Identity};
use crate::float::Float;
use crate::init::Init;
use crate::kernels;
use crate::model::{Mode, Param};
use crate::scratch::Scratch;

/// An affine layer followed by an activation: `out = act(x·Wᵀ + b)`, `IN` → `OUT` columns.
///
/// Weights use PyTorch's `Linear` layout, `[OUT, IN]`, so checkpoints map one to one.
/// The widths are const generics: connecting layers of different widths does not compile.
#[derive(Clone, Debug)]
pub struct Dense<F: Float, const IN: usize, const OUT: usize, A: ActivationFn<F> = Identity> {
    /// Weights, `[OUT, IN]`, standard (row-major) layout; keep that shape and layout.
    pub weight: Array2<F>,
    /// Biases, `[OUT]`.
    pub bias: Array1<F>,
    /// d loss / d weight of the last backward, `[OUT, IN]`.
    pub weight_grad: Array2<F>,
    /// d loss / d bias of the last backward, `[OUT]`.
    pub bias_grad: Array1<F>,
    /// The activation applied to the affine output.
    pub activation: A,
    /// L2 penalty coefficient λ: the loss gains λ·Σ W² (biases are not penalized, as in
    /// Keras's `kernel_regularizer=l2(λ)`), so `backward` adds 2λ·W to the weight gradient.
    pub l2: F,
    /// x·Wᵀ + b of the last forward.
    pre: Scratch<F>,
    /// act(pre) of the last forward (unused when the activation is the identity).
    out: Scratch<F>,
    /// d loss / d pre of the last backward.
    grad_pre: Scratch<F>,
    /// d loss / d x of the last backward.
    grad_input: Scratch<F>,
}

impl<F: Float, const IN: usize, const OUT: usize, A: ActivationFn<F>> Dense<F, IN, OUT, A> {
    /// Number of scalar parameters (weights and biases).
    pub const PARAMS: usize = IN * OUT + OUT;

    /// A layer whose weights and biases are drawn by `weight_init` and `bias_init`, both
    /// with fan-in `IN` and fan-out `OUT`.
    pub fn new<R: Rng + ?Sized>(
        activation: A,
        weight_init: Init,
        bias_init: Init,
        rng: &mut R,
    ) -> Self {
        let mut weight = Array2::zeros((OUT, IN));
        let mut bias = Array1::zeros(OUT);
        weight_init.fill(contiguous(&mut weight), IN, OUT, rng);
        bias_init.fill(contiguous(&mut bias), IN, OUT, rng);
        Self {
            weight,
            bias,
            weight_grad: Array2::zeros((OUT, IN)),
            bias_grad: Array1::zeros(OUT),
            activation,
            l2: F::zero(),
            pre: Scratch::new(OUT),
            out: Scratch::new(OUT),
            grad_pre: Scratch::new(OUT),
            grad_input: Scratch::new(IN),
        }
    }

    /// The same layer with an L2 penalty λ on its weights (`dense … l2=1e-4`).
    pub fn with_l2(mut self, l2: f64) -> Self {
        self.l2 = F::from_f64(l2);
        self
    }

    /// The layer's share of the loss from its L2 penalty: λ·Σ W² (zero without one).
    pub fn penalty(&self) -> F {
        if self.l2 == F::zero() {
            return F::zero();
        }
        self.l2 * self.weight.iter().map(|&w| w * w).sum::<F>()
    }

    /// pre = x·Wᵀ + b; out = act(pre). Keeps both for backward.
    ///
    /// # Panics
    /// If `x` is not `IN` wide (generated code checks the network's input first).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        assert_eq!(x.ncols(), IN, "Dense: input width");
        let rows = x.nrows();
        for buffer in [
            &mut self.pre,
            &mut self.out,
            &mut self.grad_pre,
            &mut self.grad_input,
        ] {
            buffer.resize(rows);
        }
        kernels::gemm_nt_packed(
            x,
            self.weight.view(),
            Some(self.bias.view()),
            self.pre.view_mut(),
        );
        if !A::IS_IDENTITY {
            self.activation
                .forward(self.pre.view(), self.out.view_mut());
        }
    }

    /// The output of the last forward.
    pub fn output(&self) -> ArrayView2<'_, F> {
        if A::IS_IDENTITY {
            self.pre.view()
        } else {
            self.out.view()
        }
    }

    /// Gradients from `grad_out` = d loss / d output, given `x`, the input of the last
    /// forward. Weight and bias gradients are overwritten; the input gradient is computed
    /// only if `input_grad` (the first layer of a network does not need it).
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
            "Dense: backward on a different batch than forward"
        );
        // d pre = act'(pre) ⊙ d out
        let grad_pre = if A::IS_IDENTITY {
            grad_out.reborrow()
        } else {
            self.activation.backward(
                self.pre.view(),
                self.out.view(),
                grad_out,
                self.grad_pre.view_mut(),
            );
            self.grad_pre.view()
        };
        // dW = d preᵀ · x ;  db = Σ_rows d pre ;  dx = d pre · W
        kernels::gemm_tn(grad_pre, x, self.weight_grad.view_mut());
        if self.l2 != F::zero() {
            // d(λ·Σ W²)/dW = 2λ·W
            let two_l2 = self.l2 + self.l2;
            self.weight_grad.scaled_add(two_l2, &self.weight);
        }
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
        assert_eq!(x.ncols(), IN, "Dense: input width");
        let mut pre = Array2::zeros((x.nrows(), OUT));
        kernels::gemm_nt_packed(
            x,
            self.weight.view(),
            Some(self.bias.view()),
            pre.view_mut(),
        );
        if A::IS_IDENTITY {
            return pre;
        }
        let mut out = Array2::zeros(pre.raw_dim());
        self.activation.forward(pre.view(), out.view_mut());
        out
    }

    /// Lends `weight` then `bias`, with their gradients, to `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        f(Param {
            layer,
            name: "weight",
            shape: &[OUT, IN],
            value: contiguous(&mut self.weight),
            grad: self
                .weight_grad
                .as_slice_mut()
                .expect("Dense: weight_grad must be standard layout"),
        });
        f(Param {
            layer,
            name: "bias",
            shape: &[OUT],
            value: contiguous(&mut self.bias),
            grad: self
                .bias_grad
                .as_slice_mut()
                .expect("Dense: bias_grad must be standard layout"),
        });
    }
}

/// The elements of a parameter array in row-major order.
///
/// # Panics
/// If the array is not in standard layout — only possible if a user replaced a pub
/// parameter field with a transposed array.
fn contiguous<F, D: ndarray::Dimension>(a: &mut ndarray::Array<F, D>) -> &mut [F] {
    a.as_slice_mut()
        .expect("Dense: parameters must be in standard (row-major) layout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Relu, Step};
    use ndarray::array;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn backprop_example_by_hand() {
        // f = w·x + b with w = −2, x = 5, b = 3: f = −7, ∂f/∂w = 5, ∂f/∂x = −2, ∂f/∂b = 1.
        let rng = &mut StdRng::seed_from_u64(0);
        let mut d =
            Dense::<f64, 1, 1>::new(Identity, Init::Values(&[-2.0]), Init::Constant(3.0), rng);
        let x = array![[5.0]];
        d.forward(x.view(), Mode::Train);
        assert_eq!(d.output(), array![[-7.0]]);
        d.backward(x.view(), array![[1.0]].view(), true);
        assert_eq!(
            (
                d.weight_grad[[0, 0]],
                d.bias_grad[0],
                d.grad_input()[[0, 0]]
            ),
            (5.0, 1.0, -2.0)
        );
    }

    #[test]
    fn and_gate_perceptron() {
        // w = (0.5, 0.5), θ = 0.7 ⇒ bias −0.7: output 1 only for (1, 1).
        let rng = &mut StdRng::seed_from_u64(0);
        let mut d = Dense::<f32, 2, 1, Step>::new(
            Step,
            Init::Values(&[0.5, 0.5]),
            Init::Constant(-0.7),
            rng,
        );
        let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        d.forward(x.view(), Mode::Eval);
        assert_eq!(d.output(), array![[0.0], [0.0], [0.0], [1.0]]);
        assert_eq!(d.predict(x.view()), array![[0.0], [0.0], [0.0], [1.0]]);
    }

    #[test]
    fn known_forward_and_backward() {
        // W = [[1, 2], [−3, 4]], b = [0.5, −1], x = [[1, 1]]: pre = [3.5, 0], relu → [3.5, 0]
        // (relu'(0) = 0). With d out = [1, 1]: d pre = [1, 0], dW = [[1, 1], [0, 0]],
        // db = [1, 0], dx = d pre·W = [1, 2].
        let rng = &mut StdRng::seed_from_u64(0);
        let mut d = Dense::<f64, 2, 2, Relu>::new(
            Relu,
            Init::Values(&[1.0, 2.0, -3.0, 4.0]),
            Init::Values(&[0.5, -1.0]),
            rng,
        );
        let x = array![[1.0, 1.0]];
        d.forward(x.view(), Mode::Train);
        assert_eq!(d.output(), array![[3.5, 0.0]]);
        d.backward(x.view(), array![[1.0, 1.0]].view(), true);
        assert_eq!(d.weight_grad, array![[1.0, 1.0], [0.0, 0.0]]);
        assert_eq!(d.bias_grad, array![1.0, 0.0]);
        assert_eq!(d.grad_input(), array![[1.0, 2.0]]);
    }

    #[test]
    fn params_are_visited_weight_then_bias() {
        let rng = &mut StdRng::seed_from_u64(0);
        let mut d = Dense::<f32, 3, 2>::new(Identity, Init::Ones, Init::Zeros, rng);
        assert_eq!(Dense::<f32, 3, 2>::PARAMS, 8);
        let mut seen = Vec::new();
        d.visit_params("fc1", &mut |p| {
            seen.push((p.full_name(), p.shape.to_vec(), p.value.len(), p.grad.len()))
        });
        assert_eq!(
            seen,
            vec![
                ("fc1.weight".into(), vec![2, 3], 6, 6),
                ("fc1.bias".into(), vec![2], 2, 2)
            ]
        );
    }

    #[test]
    fn smaller_batch_after_larger_reuses_buffers() {
        let rng = &mut StdRng::seed_from_u64(0);
        let mut d = Dense::<f64, 2, 3, Relu>::new(Relu, Init::HeNormal, Init::Zeros, rng);
        let big = Array2::from_elem((5, 2), 1.0);
        d.forward(big.view(), Mode::Train);
        let ptr = d.output().as_ptr();
        let small = array![[1.0, 1.0]];
        d.forward(small.view(), Mode::Train);
        assert_eq!(d.output().as_ptr(), ptr);
        assert_eq!(d.output().row(0), d.predict(small.view()).row(0));
    }
}
