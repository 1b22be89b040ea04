//! LeNet-5 as a hand-written [`Model`], shared by the benches (`throughput`, `lenet_layers`).

use axonal::activation::{Identity, Relu};
use axonal::init::Init;
use axonal::layers::{Conv2d, Dense, MaxPool2d, Window2};
use axonal::loss::{Loss, SoftmaxCrossEntropy};
use axonal::model::{check_backward, check_input};
use axonal::ndarray::{Array2, ArrayView2};
use axonal::rand::Rng;
use axonal::{Float, Mode, Model, Param, TargetsView};

/// LeNet-5 of the issue, written by hand in the shape of the code `network!` generates (see
/// tests/tests/snapshots/): it becomes
///
/// ```text
/// pub Lenet {
///     input 1x28x28;
///     conv1: conv2d 1->6 k=5 pad=2 relu init=he;
///     pool1: maxpool 2;
///     conv2: conv2d 6->16 k=5 relu init=he;
///     pool2: maxpool 2;
///     flatten;
///     fc1: dense 400->120 relu init=he;
///     fc2: dense 120->84 relu init=he;
///     fc3: dense 84->10;
///     softmax_ce
/// }
/// ```
///
/// once the language has the `conv2d` and `maxpool` statements. `flatten` has no field: a
/// batch is already a `[batch, C·H·W]` matrix.
#[derive(Clone, Debug)]
pub struct Lenet<F: Float = f32> {
    /// `conv2d 1->6 k=5 pad=2 relu`: [batch, 6, 28, 28]
    pub conv1: Conv2d<F, 1, 28, 28, 6, 28, 28, Relu>,
    /// `maxpool 2`: [batch, 6, 14, 14]
    pub pool1: MaxPool2d<F, 6, 28, 28, 14, 14>,
    /// `conv2d 6->16 k=5 relu`: [batch, 16, 10, 10]
    pub conv2: Conv2d<F, 6, 14, 14, 16, 10, 10, Relu>,
    /// `maxpool 2`: [batch, 16, 5, 5]
    pub pool2: MaxPool2d<F, 16, 10, 10, 5, 5>,
    /// `dense 400->120 relu`: [batch, 120]
    pub fc1: Dense<F, 400, 120, Relu>,
    /// `dense 120->84 relu`: [batch, 84]
    pub fc2: Dense<F, 120, 84, Relu>,
    /// `dense 84->10`: [batch, 10]
    pub fc3: Dense<F, 84, 10>,
    /// The loss: `softmax_ce` (mean over the batch).
    pub loss: Loss<F, SoftmaxCrossEntropy, 10>,
}

impl<F: Float> Lenet<F> {
    /// Width of one input sample: 1·28·28.
    pub const INPUT: usize = 784;
    /// Width of one output sample.
    pub const OUTPUT: usize = 10;

    /// A network with parameters drawn from its initializers.
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self {
            conv1: Conv2d::new(
                Window2::new([5, 5]).with_pad([2, 2]),
                Relu,
                Init::HeNormal,
                Init::Zeros,
                rng,
            ),
            pool1: MaxPool2d::new(Window2::pool([2, 2])),
            conv2: Conv2d::new(Window2::new([5, 5]), Relu, Init::HeNormal, Init::Zeros, rng),
            pool2: MaxPool2d::new(Window2::pool([2, 2])),
            fc1: Dense::new(Relu, Init::HeNormal, Init::Zeros, rng),
            fc2: Dense::new(Relu, Init::HeNormal, Init::Zeros, rng),
            fc3: Dense::new(Identity, Init::XavierNormal, Init::Zeros, rng),
            loss: Loss::new(SoftmaxCrossEntropy),
        }
    }

    /// A network initialized from a seeded random generator: same seed, same network.
    pub fn seeded(seed: u64) -> Self {
        Self::new(&mut axonal::seeded_rng(seed))
    }
}

impl<F: Float> Model<F> for Lenet<F> {
    fn name(&self) -> &'static str {
        "Lenet"
    }
    fn input_width(&self) -> usize {
        Self::INPUT
    }
    fn output_width(&self) -> usize {
        Self::OUTPUT
    }
    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> axonal::Result<ArrayView2<'_, F>> {
        check_input("Lenet", &x, Self::INPUT)?;
        self.conv1.forward(x, mode);
        self.pool1.forward(self.conv1.output(), mode);
        self.conv2.forward(self.pool1.output(), mode);
        self.pool2.forward(self.conv2.output(), mode);
        self.fc1.forward(self.pool2.output(), mode);
        self.fc2.forward(self.fc1.output(), mode);
        self.fc3.forward(self.fc2.output(), mode);
        Ok(self.fc3.output())
    }
    fn output(&self) -> ArrayView2<'_, F> {
        self.fc3.output()
    }
    fn loss(&mut self, targets: TargetsView<'_, F>) -> axonal::Result<F> {
        self.loss.forward(self.fc3.output(), targets)
    }
    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> axonal::Result<()> {
        check_backward("Lenet", &x, grad_output.as_ref(), self.fc3.output().dim())?;
        let grad = match grad_output {
            Some(grad) => grad.reborrow(),
            None => self.loss.grad_input(),
        };
        self.fc3.backward(self.fc2.output(), grad, true);
        self.fc2
            .backward(self.fc1.output(), self.fc3.grad_input(), true);
        self.fc1
            .backward(self.pool2.output(), self.fc2.grad_input(), true);
        self.pool2
            .backward(self.conv2.output(), self.fc1.grad_input(), true);
        self.conv2
            .backward(self.pool1.output(), self.pool2.grad_input(), true);
        self.pool1
            .backward(self.conv1.output(), self.conv2.grad_input(), true);
        self.conv1.backward(x, self.pool1.grad_input(), input_grad);
        Ok(())
    }
    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.conv1.grad_input()
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.conv1.visit_params("conv1", f);
        self.conv2.visit_params("conv2", f);
        self.fc1.visit_params("fc1", f);
        self.fc2.visit_params("fc2", f);
        self.fc3.visit_params("fc3", f);
    }
    fn predict(&self, x: ArrayView2<'_, F>) -> axonal::Result<Array2<F>> {
        check_input("Lenet", &x, Self::INPUT)?;
        let x = self.conv1.predict(x);
        let x = self.pool1.predict(x.view());
        let x = self.conv2.predict(x.view());
        let x = self.pool2.predict(x.view());
        let x = self.fc1.predict(x.view());
        let x = self.fc2.predict(x.view());
        let x = self.fc3.predict(x.view());
        Ok(self.loss.link(x))
    }
}
