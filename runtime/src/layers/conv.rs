//! Convolution layers (`conv2d`, `conv1d`): PyTorch's `nn.Conv2d` and `nn.Conv1d`, followed
//! by an activation.
//!
//! A batch is a `[N, C·H·W]` matrix whose rows are samples in NCHW order (`[N, C·L]` for
//! 1-D), like every layer's. The per-sample shapes are const generics; the window (kernel,
//! stride, padding, dilation) is a [`Window2`]/[`Window1`] value checked against them at
//! construction. The work is done by `kernels::conv` (per-sample `im2col` and the matrix
//! tiles of the dense layers), which is generic only over the element type: the code
//! generated for each convolution of a network is the thin wrappers below.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;

use super::window::{Geometry, Window1, Window2};
use crate::activation::{ActivationFn, Identity};
use crate::float::Float;
use crate::init::Init;
use crate::kernels::conv::{conv_backward, conv_forward, ConvShape};
use crate::model::{Mode, Param};
use crate::scratch::{contiguous_rows, Scratch};

/// The buffers of a convolution, and its shape: what [`Conv2d`] and [`Conv1d`] share.
#[derive(Clone, Debug)]
struct Core<F> {
    /// Geometry and output channels.
    shape: ConvShape,
    /// Where each tap reads the padded sample ([`ConvShape::tap_offsets`]).
    taps: Vec<usize>,
    /// conv(x, W) + b of the last forward, `[N, CO·OH·OW]`.
    pre: Scratch<F>,
    /// act(pre) of the last forward (unused when the activation is the identity).
    out: Scratch<F>,
    /// d loss / d pre of the last backward (unused for the identity when `grad_out` has
    /// contiguous rows).
    grad_pre: Scratch<F>,
    /// d loss / d x of the last backward, `[N, CI·H·W]`.
    grad_input: Scratch<F>,
    /// One row per thread: a sample's patches, their gradient and its weight gradient.
    work: Scratch<F>,
    /// One row per group of samples: its share of the weight and bias gradients.
    partials: Scratch<F>,
    /// A copy of an input whose rows are not contiguous (empty otherwise).
    staging: Scratch<F>,
}

impl<F: Float> Core<F> {
    /// Buffers for `geometry` with `out_channels`; sized by the first forward.
    fn new(geometry: Geometry, out_channels: usize) -> Self {
        let shape = ConvShape {
            geometry,
            out_channels,
        };
        Self {
            pre: Scratch::new(shape.output_width()),
            out: Scratch::new(shape.output_width()),
            grad_pre: Scratch::new(shape.output_width()),
            grad_input: Scratch::new(shape.input_width()),
            work: Scratch::new(shape.work_width()),
            partials: Scratch::new(shape.partial_width()),
            staging: Scratch::new(shape.input_width()),
            taps: shape.tap_offsets(),
            shape,
        }
    }

    /// pre = conv(x, W) + b; out = act(pre).
    fn forward<A: ActivationFn<F>>(
        &mut self,
        layer: &str,
        x: ArrayView2<'_, F>,
        weight: &Array2<F>,
        bias: &Array1<F>,
        activation: &A,
    ) {
        assert_eq!(x.ncols(), self.shape.input_width(), "{layer}: input width");
        let rows = x.nrows();
        for buffer in [
            &mut self.pre,
            &mut self.out,
            &mut self.grad_pre,
            &mut self.grad_input,
        ] {
            buffer.resize(rows);
        }
        let x = contiguous_rows(x, &mut self.staging);
        conv_forward(
            &self.shape,
            &self.taps,
            x,
            params(weight),
            params(bias),
            self.pre.view_mut(),
            &mut self.work,
        );
        if !A::IS_IDENTITY {
            activation.forward(self.pre.view(), self.out.view_mut());
        }
    }

    /// The output of the last forward.
    fn output<A: ActivationFn<F>>(&self) -> ArrayView2<'_, F> {
        if A::IS_IDENTITY {
            self.pre.view()
        } else {
            self.out.view()
        }
    }

    /// Weight and bias gradients (overwritten, with the L2 term), and the input gradient if
    /// `input_grad`.
    #[allow(clippy::too_many_arguments)]
    fn backward<A: ActivationFn<F>>(
        &mut self,
        layer: &str,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
        weight: &Array2<F>,
        weight_grad: &mut Array2<F>,
        bias_grad: &mut Array1<F>,
        activation: &A,
        l2: F,
    ) {
        let rows = self.pre.rows();
        assert!(
            x.dim() == (rows, self.shape.input_width())
                && grad_out.dim() == (rows, self.shape.output_width()),
            "{layer}: backward on a different batch than forward"
        );
        // d pre = act'(pre) ⊙ d out, in a buffer with contiguous rows.
        let grad_pre = if A::IS_IDENTITY {
            if grad_out.ncols() <= 1 || grad_out.strides()[1] == 1 {
                grad_out.reborrow()
            } else {
                self.grad_pre.view_mut().assign(&grad_out);
                self.grad_pre.view()
            }
        } else {
            activation.backward(
                self.pre.view(),
                self.out.view(),
                grad_out,
                self.grad_pre.view_mut(),
            );
            self.grad_pre.view()
        };
        let x = contiguous_rows(x, &mut self.staging);
        conv_backward(
            &self.shape,
            &self.taps,
            x,
            grad_pre,
            params(weight),
            weight_grad
                .as_slice_mut()
                .expect("Conv: weight_grad must be standard layout"),
            bias_grad
                .as_slice_mut()
                .expect("Conv: bias_grad must be standard layout"),
            input_grad.then(|| self.grad_input.view_mut()),
            &mut self.work,
            &mut self.partials,
        );
        if l2 != F::zero() {
            // d(λ·Σ W²)/dW = 2λ·W
            weight_grad.scaled_add(l2 + l2, weight);
        }
    }

    /// Eval-mode forward into a new array, with buffers of its own.
    fn predict<A: ActivationFn<F>>(
        &self,
        layer: &str,
        x: ArrayView2<'_, F>,
        weight: &Array2<F>,
        bias: &Array1<F>,
        activation: &A,
    ) -> Array2<F> {
        assert_eq!(x.ncols(), self.shape.input_width(), "{layer}: input width");
        let mut staging = Scratch::new(self.shape.input_width());
        let x = contiguous_rows(x, &mut staging);
        let mut pre = Array2::zeros((x.nrows(), self.shape.output_width()));
        let mut work = Scratch::new(self.shape.work_width());
        conv_forward(
            &self.shape,
            &self.taps,
            x,
            params(weight),
            params(bias),
            pre.view_mut(),
            &mut work,
        );
        if A::IS_IDENTITY {
            return pre;
        }
        let mut out = Array2::zeros(pre.raw_dim());
        activation.forward(pre.view(), out.view_mut());
        out
    }
}

/// The elements of a parameter array in row-major order.
///
/// # Panics
/// If the array is not in standard layout — only possible if a user replaced a pub
/// parameter field with a transposed array.
fn params<F, D: ndarray::Dimension>(a: &ndarray::Array<F, D>) -> &[F] {
    a.as_slice()
        .expect("Conv: parameters must be in standard (row-major) layout")
}

/// Mutable [`params`].
fn params_mut<F, D: ndarray::Dimension>(a: &mut ndarray::Array<F, D>) -> &mut [F] {
    a.as_slice_mut()
        .expect("Conv: parameters must be in standard (row-major) layout")
}

/// Weights and biases drawn by the initializers, with PyTorch's fans for a convolution:
/// fan-in CI·KH·KW, fan-out CO·KH·KW.
fn init_params<F: Float, R: Rng + ?Sized>(
    out_channels: usize,
    in_channels: usize,
    taps: usize,
    weight_init: Init,
    bias_init: Init,
    rng: &mut R,
) -> (Array2<F>, Array1<F>) {
    let mut weight = Array2::zeros((out_channels, in_channels * taps));
    let mut bias = Array1::zeros(out_channels);
    let (fan_in, fan_out) = (in_channels * taps, out_channels * taps);
    weight_init.fill(params_mut(&mut weight), fan_in, fan_out, rng);
    bias_init.fill(params_mut(&mut bias), fan_in, fan_out, rng);
    (weight, bias)
}

/// Lends `weight` (with shape `weight_shape`) then `bias`, with their gradients, to `f`.
fn visit<F>(
    layer: &str,
    weight_shape: &[usize],
    weight: &mut Array2<F>,
    weight_grad: &mut Array2<F>,
    bias: &mut Array1<F>,
    bias_grad: &mut Array1<F>,
    f: &mut dyn FnMut(Param<'_, F>),
) {
    let bias_shape = [bias.len()];
    f(Param {
        layer,
        name: "weight",
        shape: weight_shape,
        value: params_mut(weight),
        grad: params_mut(weight_grad),
    });
    f(Param {
        layer,
        name: "bias",
        shape: &bias_shape,
        value: params_mut(bias),
        grad: params_mut(bias_grad),
    });
}

/// A 2-D convolution followed by an activation, `[CI, H, W]` → `[CO, OH, OW]` per sample:
/// `out[co] = act(b[co] + Σ_ci W[co, ci] ⋆ x[ci])`, PyTorch's `nn.Conv2d(CI, CO,
/// kernel_size, stride, padding, dilation)` (zero padding, `groups=1`) then the activation.
///
/// Weights are stored `[CO, CI·KH·KW]`, which is PyTorch's `[CO, CI, KH, KW]` in row-major
/// order, and visited (and saved in checkpoints) with that 4-D shape as `weight`; biases are
/// `[CO]`, `bias`. Inputs and outputs are batches of NCHW rows. The window is checked at
/// construction to map `H × W` to `OH × OW`.
#[derive(Clone, Debug)]
pub struct Conv2d<
    F: Float,
    const CI: usize,
    const H: usize,
    const W: usize,
    const CO: usize,
    const OH: usize,
    const OW: usize,
    A: ActivationFn<F> = Identity,
> {
    /// Weights, `[CO, CI·KH·KW]` (PyTorch's `[CO, CI, KH, KW]` flattened), standard layout;
    /// keep that shape and layout.
    pub weight: Array2<F>,
    /// Biases, `[CO]`.
    pub bias: Array1<F>,
    /// d loss / d weight of the last backward, `[CO, CI·KH·KW]`.
    pub weight_grad: Array2<F>,
    /// d loss / d bias of the last backward, `[CO]`.
    pub bias_grad: Array1<F>,
    /// The activation applied to the convolution's output.
    pub activation: A,
    /// L2 penalty coefficient λ on the weights, as [`Dense::l2`](super::Dense::l2).
    pub l2: F,
    /// The window, as given to `new`.
    window: Window2,
    /// `[CO, CI, KH, KW]`, the weight's shape in checkpoints.
    weight_shape: [usize; 4],
    /// Buffers and geometry.
    core: Core<F>,
}

impl<
        F: Float,
        const CI: usize,
        const H: usize,
        const W: usize,
        const CO: usize,
        const OH: usize,
        const OW: usize,
        A: ActivationFn<F>,
    > Conv2d<F, CI, H, W, CO, OH, OW, A>
{
    /// A layer with the sliding `window`, whose weights and biases are drawn by
    /// `weight_init` and `bias_init` with PyTorch's fans: fan-in CI·KH·KW, fan-out CO·KH·KW.
    ///
    /// # Panics
    /// If `window` does not map `H × W` to `OH × OW` (the message gives the size it maps
    /// to), or on an initializer invariant (see [`Init::fill`]).
    pub fn new<R: Rng + ?Sized>(
        window: Window2,
        activation: A,
        weight_init: Init,
        bias_init: Init,
        rng: &mut R,
    ) -> Self {
        let geometry = Geometry::new("Conv2d", &window, CI, [H, W], [OH, OW]);
        let [kh, kw] = window.kernel;
        let (weight, bias) = init_params(CO, CI, kh * kw, weight_init, bias_init, rng);
        Self {
            weight_grad: Array2::zeros(weight.raw_dim()),
            bias_grad: Array1::zeros(CO),
            weight,
            bias,
            activation,
            l2: F::zero(),
            window,
            weight_shape: [CO, CI, kh, kw],
            core: Core::new(geometry, CO),
        }
    }

    /// The same layer with an L2 penalty λ on its weights.
    pub fn with_l2(mut self, l2: f64) -> Self {
        self.l2 = F::from_f64(l2);
        self
    }

    /// The layer's share of the loss from its L2 penalty: λ·Σ W² (zero without one).
    pub fn penalty(&self) -> F {
        penalty(self.l2, &self.weight)
    }

    /// The window the layer was built with.
    pub fn window(&self) -> Window2 {
        self.window
    }

    /// Number of scalar parameters: CO·CI·KH·KW weights and CO biases.
    pub fn params(&self) -> usize {
        self.weight.len() + self.bias.len()
    }

    /// pre = conv(x, W) + b; out = act(pre). Keeps both for backward.
    ///
    /// # Panics
    /// If `x` is not `CI·H·W` wide (generated code checks the network's input first).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.core
            .forward("Conv2d", x, &self.weight, &self.bias, &self.activation);
    }

    /// The output of the last forward, `[N, CO·OH·OW]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.core.output::<A>()
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
        self.core.backward(
            "Conv2d",
            x,
            grad_out,
            input_grad,
            &self.weight,
            &mut self.weight_grad,
            &mut self.bias_grad,
            &self.activation,
            self.l2,
        );
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.core.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.core.pre.rows()
    }

    /// Eval-mode forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `CI·H·W` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.core
            .predict("Conv2d", x, &self.weight, &self.bias, &self.activation)
    }

    /// Lends `weight` (shape `[CO, CI, KH, KW]`) then `bias` (`[CO]`), with their
    /// gradients, to `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        visit(
            layer,
            &self.weight_shape,
            &mut self.weight,
            &mut self.weight_grad,
            &mut self.bias,
            &mut self.bias_grad,
            f,
        );
    }
}

/// A 1-D convolution followed by an activation, `[CI, L]` → `[CO, OL]` per sample:
/// PyTorch's `nn.Conv1d(CI, CO, kernel_size, stride, padding, dilation)` then the
/// activation. It is [`Conv2d`] with height 1, and stores its weights the same way:
/// `[CO, CI·K]`, visited as PyTorch's `[CO, CI, K]` (`weight`), biases `[CO]` (`bias`).
#[derive(Clone, Debug)]
pub struct Conv1d<
    F: Float,
    const CI: usize,
    const L: usize,
    const CO: usize,
    const OL: usize,
    A: ActivationFn<F> = Identity,
> {
    /// Weights, `[CO, CI·K]` (PyTorch's `[CO, CI, K]` flattened), standard layout; keep
    /// that shape and layout.
    pub weight: Array2<F>,
    /// Biases, `[CO]`.
    pub bias: Array1<F>,
    /// d loss / d weight of the last backward, `[CO, CI·K]`.
    pub weight_grad: Array2<F>,
    /// d loss / d bias of the last backward, `[CO]`.
    pub bias_grad: Array1<F>,
    /// The activation applied to the convolution's output.
    pub activation: A,
    /// L2 penalty coefficient λ on the weights, as [`Dense::l2`](super::Dense::l2).
    pub l2: F,
    /// The window, as given to `new`.
    window: Window1,
    /// `[CO, CI, K]`, the weight's shape in checkpoints.
    weight_shape: [usize; 3],
    /// Buffers and geometry.
    core: Core<F>,
}

impl<
        F: Float,
        const CI: usize,
        const L: usize,
        const CO: usize,
        const OL: usize,
        A: ActivationFn<F>,
    > Conv1d<F, CI, L, CO, OL, A>
{
    /// A layer with the sliding `window`, whose weights and biases are drawn by
    /// `weight_init` and `bias_init` with PyTorch's fans: fan-in CI·K, fan-out CO·K.
    ///
    /// # Panics
    /// If `window` does not map `L` to `OL` (the message gives the length it maps to), or
    /// on an initializer invariant (see [`Init::fill`]).
    pub fn new<R: Rng + ?Sized>(
        window: Window1,
        activation: A,
        weight_init: Init,
        bias_init: Init,
        rng: &mut R,
    ) -> Self {
        let geometry = Geometry::new("Conv1d", &window, CI, [L], [OL]);
        let [k] = window.kernel;
        let (weight, bias) = init_params(CO, CI, k, weight_init, bias_init, rng);
        Self {
            weight_grad: Array2::zeros(weight.raw_dim()),
            bias_grad: Array1::zeros(CO),
            weight,
            bias,
            activation,
            l2: F::zero(),
            window,
            weight_shape: [CO, CI, k],
            core: Core::new(geometry, CO),
        }
    }

    /// The same layer with an L2 penalty λ on its weights.
    pub fn with_l2(mut self, l2: f64) -> Self {
        self.l2 = F::from_f64(l2);
        self
    }

    /// The layer's share of the loss from its L2 penalty: λ·Σ W² (zero without one).
    pub fn penalty(&self) -> F {
        penalty(self.l2, &self.weight)
    }

    /// The window the layer was built with.
    pub fn window(&self) -> Window1 {
        self.window
    }

    /// Number of scalar parameters: CO·CI·K weights and CO biases.
    pub fn params(&self) -> usize {
        self.weight.len() + self.bias.len()
    }

    /// pre = conv(x, W) + b; out = act(pre). Keeps both for backward.
    ///
    /// # Panics
    /// If `x` is not `CI·L` wide (generated code checks the network's input first).
    pub fn forward(&mut self, x: ArrayView2<'_, F>, _mode: Mode) {
        self.core
            .forward("Conv1d", x, &self.weight, &self.bias, &self.activation);
    }

    /// The output of the last forward, `[N, CO·OL]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.core.output::<A>()
    }

    /// Gradients from `grad_out` = d loss / d output, given `x`, the input of the last
    /// forward. Weight and bias gradients are overwritten; the input gradient is computed
    /// only if `input_grad`.
    ///
    /// # Panics
    /// If `x` or `grad_out` do not have the rows of the last forward and the layer's widths.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_out: ArrayView2<'_, F>,
        input_grad: bool,
    ) {
        self.core.backward(
            "Conv1d",
            x,
            grad_out,
            input_grad,
            &self.weight,
            &mut self.weight_grad,
            &mut self.bias_grad,
            &self.activation,
            self.l2,
        );
    }

    /// d loss / d x of the last backward with `input_grad`.
    pub fn grad_input(&self) -> ArrayView2<'_, F> {
        self.core.grad_input.view()
    }

    /// Rows of the last forward batch (0 before any).
    pub fn rows(&self) -> usize {
        self.core.pre.rows()
    }

    /// Eval-mode forward into a new array; the layer's buffers are left as they are.
    ///
    /// # Panics
    /// If `x` is not `CI·L` wide.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.core
            .predict("Conv1d", x, &self.weight, &self.bias, &self.activation)
    }

    /// Lends `weight` (shape `[CO, CI, K]`) then `bias` (`[CO]`), with their gradients, to
    /// `f`, under the label `layer`.
    pub fn visit_params(&mut self, layer: &str, f: &mut dyn FnMut(Param<'_, F>)) {
        visit(
            layer,
            &self.weight_shape,
            &mut self.weight,
            &mut self.weight_grad,
            &mut self.bias,
            &mut self.bias_grad,
            f,
        );
    }
}

/// λ·Σ W², or zero without a penalty.
fn penalty<F: Float>(l2: F, weight: &Array2<F>) -> F {
    if l2 == F::zero() {
        return F::zero();
    }
    l2 * weight.iter().map(|&w| w * w).sum::<F>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn known_convolution_by_hand() {
        // One 3×3 input channel, a 2×2 kernel [[1, 0], [0, −1]] (x[i, j] − x[i+1, j+1]),
        // bias 0.5: x = [[1 2 3] [4 5 6] [7 8 9]] → every entry is −4 + 0.5.
        let rng = &mut StdRng::seed_from_u64(0);
        let mut conv = Conv2d::<f64, 1, 3, 3, 1, 2, 2>::new(
            Window2::new([2, 2]),
            Identity,
            Init::Values(&[1.0, 0.0, 0.0, -1.0]),
            Init::Constant(0.5),
            rng,
        );
        let x = array![[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]];
        conv.forward(x.view(), Mode::Train);
        assert_eq!(conv.output(), array![[-3.5, -3.5, -3.5, -3.5]]);
        assert_eq!(conv.predict(x.view()), conv.output());
        // d out = [[1, 0], [0, 0]]: dW = the top-left patch [1, 2, 4, 5], db = 1,
        // dx = the kernel at the top-left corner.
        conv.backward(x.view(), array![[1.0, 0.0, 0.0, 0.0]].view(), true);
        assert_eq!(conv.weight_grad, array![[1.0, 2.0, 4.0, 5.0]]);
        assert_eq!(conv.bias_grad, array![1.0]);
        assert_eq!(
            conv.grad_input(),
            array![[1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0]]
        );
    }

    #[test]
    fn params_have_pytorch_shapes_and_fans() {
        let rng = &mut StdRng::seed_from_u64(0);
        let mut conv = Conv2d::<f32, 3, 8, 8, 4, 4, 8>::new(
            Window2::new([3, 1]).with_stride([2, 1]).with_pad([1, 0]),
            Identity,
            // Uniform bound √(6 / (fan_in + fan_out)) = √(6 / (9 + 12)).
            Init::XavierUniform,
            Init::Zeros,
            rng,
        );
        assert_eq!(conv.params(), 4 * 3 * 3 + 4);
        let bound = (6.0f32 / 21.0).sqrt();
        assert!(conv.weight.iter().all(|w| w.abs() <= bound));
        assert!(conv.weight.iter().any(|w| w.abs() > 0.8 * bound));
        let mut seen = Vec::new();
        conv.visit_params("conv1", &mut |p| {
            seen.push((p.full_name(), p.shape.to_vec(), p.value.len(), p.grad.len()))
        });
        assert_eq!(
            seen,
            vec![
                ("conv1.weight".into(), vec![4, 3, 3, 1], 36, 36),
                ("conv1.bias".into(), vec![4], 4, 4)
            ]
        );
        let mut conv1d = Conv1d::<f64, 2, 10, 3, 4, crate::activation::Relu>::new(
            Window1::new([4]).with_stride([2]),
            crate::activation::Relu,
            Init::HeNormal,
            Init::Zeros,
            rng,
        );
        let mut seen = Vec::new();
        conv1d.visit_params("c", &mut |p| seen.push(p.shape.to_vec()));
        assert_eq!(seen, vec![vec![3, 2, 4], vec![3]]);
    }

    #[test]
    #[should_panic(
        expected = "Conv2d: the window (kernel 5x5, stride 1x1, pad 0x0, dilation 1x1) maps an input of 28x28 to 24x24, not to the declared 28x28"
    )]
    fn a_window_that_does_not_fit_the_shapes_panics() {
        let rng = &mut StdRng::seed_from_u64(0);
        Conv2d::<f32, 1, 28, 28, 6, 28, 28>::new(
            Window2::new([5, 5]),
            Identity,
            Init::HeNormal,
            Init::Zeros,
            rng,
        );
    }
}
