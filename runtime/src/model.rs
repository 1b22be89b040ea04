//! The `Model` trait every compiled network implements, and what goes with it.

use std::path::Path;

use ndarray::{s, Array2, ArrayView2};

use crate::data::{Dataset, TargetsView};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::optim::Optimizer;
use crate::train::{self, Evaluation, Fit, History};

/// Whether a forward pass is part of training (dropout active, batch statistics) or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Training: stochastic layers are active and batch statistics are used.
    Train,
    /// Evaluation and prediction: deterministic, running statistics.
    Eval,
}

/// One parameter tensor with its gradient, as visited by optimizers and checkpoints.
///
/// Visiting (rather than returning a list) lets a network lend out each of its parameters
/// in turn without allocating; the visit order is fixed, so optimizers can keep
/// per-parameter state indexed by it.
#[derive(Debug)]
pub struct Param<'a, F> {
    /// Label of the layer that owns the parameter (`"fc1"`).
    pub layer: &'a str,
    /// Name of the parameter within the layer (`"weight"`, `"bias"`).
    pub name: &'static str,
    /// Shape: `[OUT, IN]` for a dense weight (PyTorch layout), `[OUT]` for a bias.
    pub shape: &'a [usize],
    /// The values, row-major and contiguous; optimizers update them in place.
    pub value: &'a mut [F],
    /// The gradient of the last backward pass, same layout as `value`.
    pub grad: &'a mut [F],
}

impl<F> Param<'_, F> {
    /// The checkpoint key, `layer.name` (`"fc1.weight"`), as PyTorch's `state_dict` names it.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.layer, self.name)
    }
}

/// A non-trainable state tensor (PyTorch calls these buffers): batchnorm's running statistics.
///
/// Buffers are saved in checkpoints next to the parameters but have no gradient and are
/// never touched by optimizers; they change only in training-mode forward passes.
#[derive(Debug)]
pub struct Buffer<'a, F> {
    /// Label of the layer that owns the buffer (`"bn1"`).
    pub layer: &'a str,
    /// Name of the buffer within the layer (`"running_mean"`, `"running_var"`).
    pub name: &'static str,
    /// Shape: `[N]` for batchnorm's running statistics.
    pub shape: &'a [usize],
    /// The values, row-major and contiguous; checkpoints read and restore them in place.
    pub value: &'a mut [F],
}

impl<F> Buffer<'_, F> {
    /// The checkpoint key, `layer.name` (`"bn1.running_mean"`), as PyTorch's `state_dict` names it.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.layer, self.name)
    }
}

/// Checks that a batch fits a network: at least one row and `width` columns.
///
/// Generated `forward` and `predict` call it first, so a wrong batch is an `Err`
/// rather than a panic deep in a kernel.
pub fn check_input<F: Float>(
    network: &'static str,
    x: &ArrayView2<'_, F>,
    width: usize,
) -> Result<()> {
    if x.ncols() != width {
        return Err(Error::InputWidth {
            network,
            expected: width,
            found: x.ncols(),
        });
    }
    if x.nrows() == 0 {
        return Err(Error::EmptyBatch);
    }
    Ok(())
}

/// Checks the arguments of `backward_with` of network `network` against the last forward
/// pass, whose output had shape `output` (rows, columns): `x` must have those rows (and a
/// forward must have run), an explicit `grad_output` must have that shape.
///
/// Generated `backward_with` calls it first: the layers' backward passes assume the same
/// batch as the forward pass.
pub fn check_backward<F: Float>(
    network: &'static str,
    x: &ArrayView2<'_, F>,
    grad_output: Option<&ArrayView2<'_, F>>,
    output: (usize, usize),
) -> Result<()> {
    if output.0 == 0 || x.nrows() != output.0 {
        return Err(Error::BatchMismatch {
            network,
            expected: output.0,
            found: x.nrows(),
        });
    }
    match grad_output {
        Some(g) if g.dim() != output => Err(Error::GradShape {
            network,
            expected: output,
            found: g.dim(),
        }),
        _ => Ok(()),
    }
}

/// A network that can be trained: what `network!` generates an implementation of.
///
/// Optimizers, [`train::fit`], [`train::evaluate`], checkpoints and gradient checks work on
/// any `Model`. The trait is object safe, so `&mut dyn Model<F>` works too.
///
/// One training step, by hand (what [`Model::fit`] does for every mini-batch):
///
/// ```
/// use axonal::ndarray::array;
/// use axonal::optim::{Optimizer, Sgd};
/// use axonal::{Mode, Model, TargetsView};
///
/// axonal::network! { Net { input 2; dense 3 relu; dense 2; softmax_ce } }
///
/// let mut net = Net::<f32>::seeded(0);
/// let x = array![[0.5, -1.0], [1.5, 0.2]];
/// let labels = [1, 0];
/// net.forward(x.view(), Mode::Train)?;
/// let before = net.loss(TargetsView::Labels(&labels))?;
/// net.backward(x.view())?;
/// Sgd::new(0.1).step(&mut net);
/// net.forward(x.view(), Mode::Train)?;
/// assert!(net.loss(TargetsView::Labels(&labels))? < before);
/// // predict: eval mode, through the loss's link (softmax here).
/// let p = net.predict(x.view())?;
/// assert!((p.row(0).sum() - 1.0).abs() < 1e-6);
/// # Ok::<(), axonal::Error>(())
/// ```
pub trait Model<F: Float> {
    /// Name of the network (`"Mnist"`), for messages.
    fn name(&self) -> &'static str;

    /// Number of input columns.
    fn input_width(&self) -> usize;

    /// Number of output columns (before the loss).
    fn output_width(&self) -> usize;

    /// Runs the network on a batch, keeping what backward needs; returns the output (before the loss).
    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>>;

    /// The output of the last forward.
    fn output(&self) -> ArrayView2<'_, F>;

    /// Loss of the last forward output against targets; stores d loss / d output for backward.
    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F>;

    /// Backpropagates `grad_output` (or, if `None`, the gradient stored by `loss`) through the
    /// network given the same `x` as the last forward. Parameter gradients are overwritten
    /// (not accumulated). If `input_grad`, the gradient w.r.t. `x` is also computed (see
    /// [`Model::input_grad`]).
    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()>;

    /// d loss / d x of the last `backward_with(.., input_grad = true)`.
    fn input_grad(&self) -> ArrayView2<'_, F>;

    /// Lends each parameter with its gradient to `f`, in a fixed order.
    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>));

    /// Lends each non-trainable state tensor (batchnorm's running statistics) to `f`, in a
    /// fixed order. The default visits nothing: a network without such layers has none.
    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_, F>)) {
        let _ = f;
    }

    /// Eval-mode forward that allocates its own buffers; the output is after the loss's link
    /// (probabilities for `softmax_ce`).
    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>>;

    /// Forward pass in training mode.
    fn forward_train(&mut self, x: ArrayView2<'_, F>) -> Result<ArrayView2<'_, F>> {
        self.forward(x, Mode::Train)
    }

    /// Backpropagates the gradient stored by the last `loss` call, without the input gradient.
    fn backward(&mut self, x: ArrayView2<'_, F>) -> Result<()> {
        self.backward_with(x, None, false)
    }

    /// Total number of scalar parameters.
    fn param_count(&mut self) -> usize {
        let mut count = 0;
        self.visit_params(&mut |p| count += p.value.len());
        count
    }

    /// Trains the network on `data`; see [`train::fit`] and [`Fit`].
    fn fit<O: Optimizer<F> + ?Sized>(
        &mut self,
        data: &Dataset<F>,
        optimizer: &mut O,
        config: Fit<'_, F>,
    ) -> Result<History>
    where
        Self: Sized,
    {
        train::fit(self, data, optimizer, &config)
    }

    /// Mean loss and accuracy on `data`, in eval mode; see [`train::evaluate`].
    fn evaluate(&mut self, data: &Dataset<F>, batch: usize) -> Result<Evaluation>
    where
        Self: Sized,
    {
        train::evaluate(self, data, batch)
    }

    /// [`Model::predict`] over consecutive batches of at most `batch` rows, stacked: the same
    /// result with the memory of one batch's activations, for inputs too large to run at once.
    ///
    /// # Errors
    /// [`Error::Config`] if `batch` is 0, and those of `predict` (wrong width, empty input).
    fn predict_batched(&self, x: ArrayView2<'_, F>, batch: usize) -> Result<Array2<F>> {
        if batch == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        check_input(self.name(), &x, self.input_width())?;
        let mut out: Option<Array2<F>> = None;
        for start in (0..x.nrows()).step_by(batch) {
            let end = start.saturating_add(batch).min(x.nrows());
            let part = self.predict(x.slice(s![start..end, ..]))?;
            let out = out.get_or_insert_with(|| Array2::zeros((x.nrows(), part.ncols())));
            out.slice_mut(s![start..end, ..]).assign(&part);
        }
        Ok(out.expect("check_input ensures at least one row"))
    }

    /// Saves the parameters and buffers to a safetensors checkpoint; see [`crate::io::save`].
    fn save(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::io::save(self, path)
    }

    /// Loads a safetensors checkpoint written for this network; see [`crate::io::load`]. On
    /// any error (missing file, another network's checkpoint, …) the network is unchanged.
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::io::load(self, path)
    }

    /// The ONNX graph of `predict` without its weights, as the compiler wrote it (the
    /// generated `Net::ONNX`); `None` for a hand-written model.
    fn onnx_graph(&self) -> Option<&'static [u8]> {
        None
    }

    /// Writes the network as an ONNX model computing `predict`, with the current weights;
    /// see [`crate::onnx::save`].
    fn save_onnx(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::onnx::save(self, path)
    }
}

/// A mutable reference to a model is a model, so generic code over `M: Model<F> + ?Sized`
/// can still hand an optimizer a `&mut dyn Model<F>`.
impl<F: Float, M: Model<F> + ?Sized> Model<F> for &mut M {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn input_width(&self) -> usize {
        (**self).input_width()
    }

    fn onnx_graph(&self) -> Option<&'static [u8]> {
        (**self).onnx_graph()
    }

    fn output_width(&self) -> usize {
        (**self).output_width()
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        (**self).forward(x, mode)
    }

    fn output(&self) -> ArrayView2<'_, F> {
        (**self).output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        (**self).loss(targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        (**self).backward_with(x, grad_output, input_grad)
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        (**self).input_grad()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        (**self).visit_params(f)
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_, F>)) {
        (**self).visit_buffers(f)
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        (**self).predict(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn check_input_reports_width_and_empty_batch() {
        let x = array![[1.0f32, 2.0, 3.0]];
        assert_eq!(check_input("Net", &x.view(), 3), Ok(()));
        assert_eq!(
            check_input("Net", &x.view(), 2),
            Err(Error::InputWidth {
                network: "Net",
                expected: 2,
                found: 3
            })
        );
        let empty = Array2::<f32>::zeros((0, 3));
        assert_eq!(check_input("Net", &empty.view(), 3), Err(Error::EmptyBatch));
    }

    #[test]
    fn check_backward_reports_mismatches() {
        let x = Array2::<f64>::zeros((4, 3));
        let g = Array2::<f64>::zeros((4, 2));
        assert_eq!(
            check_backward("Net", &x.view(), Some(&g.view()), (4, 2)),
            Ok(())
        );
        assert_eq!(
            check_backward("Net", &x.view(), None, (5, 2)),
            Err(Error::BatchMismatch {
                network: "Net",
                expected: 5,
                found: 4
            })
        );
        assert_eq!(
            check_backward("Net", &x.view(), None, (0, 2)),
            Err(Error::BatchMismatch {
                network: "Net",
                expected: 0,
                found: 4
            })
        );
        assert_eq!(
            check_backward("Net", &x.view(), Some(&g.view()), (4, 3)),
            Err(Error::GradShape {
                network: "Net",
                expected: (4, 3),
                found: (4, 2)
            })
        );
    }

    #[test]
    fn full_name_joins_layer_and_name() {
        let mut v = [0.0f32; 2];
        let p = Param {
            layer: "fc1",
            name: "weight",
            shape: &[1, 2],
            value: &mut v,
            grad: &mut [0.0, 0.0],
        };
        assert_eq!(p.full_name(), "fc1.weight");
    }

    #[test]
    fn buffer_full_name_joins_layer_and_name() {
        let mut v = [0.0f32; 2];
        let b = Buffer {
            layer: "bn1",
            name: "running_var",
            shape: &[2],
            value: &mut v,
        };
        assert_eq!(b.full_name(), "bn1.running_var");
    }
}
