//! f64 gradient checks of blocks: residual blocks (identity and projection shortcuts, dense and
//! convolutional) and branches joined by `concat` and `sum`, each written by hand the way
//! generated code writes a block: the parts' forwards in order and a join ([`Sum`],
//! [`Concat`]); backward in reverse, the join's gradient passed to every part unchanged
//! (`Sum`) or by columns ([`Concat::part`]), and [`Fork`] summing the parts' gradients of
//! the block's input. Every parameter gradient and the input gradient are checked against
//! central differences through `Model`.

use axonal::activation::{Identity, Relu, Sigmoid, Tanh};
use axonal::gradcheck::{check_input_grad, check_model};
use axonal::init::Init;
use axonal::layers::{
    Activation, BatchNorm, Concat, Conv2d, Dense, Fork, GlobalAvgPool, Sum, Window2,
};
use axonal::loss::{Loss, Mse, SoftmaxCrossEntropy};
use axonal::model::{check_backward, check_input};
use axonal::ndarray::{Array2, ArrayView2};
use axonal::{Float, Mode, Model, Param, Result, TargetsView};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const EPS: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

/// A `rows × cols` matrix of uniform draws in (−1, 1).
fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let rng = &mut StdRng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
}

/// Biases away from zero, so that no gradient is trivially zero.
const BIAS: Init = Init::Normal {
    mean: 0.0,
    std: 0.3,
};

/// Checks every parameter gradient (`params` of them) and the input gradient of `net` at `x`
/// against central differences; that every parameter and the input get a gradient at all,
/// except the parameters named in `zero`, whose gradient must be zero (the bias of a
/// convolution followed by a train-mode batch normalization, which subtracts it again);
/// and that `predict` is the eval-mode forward followed by the loss's link (`softmax`, or
/// none).
fn check<M: Model<f64>>(
    name: &str,
    net: &mut M,
    x: Array2<f64>,
    targets: TargetsView<'_, f64>,
    (params, zero): (usize, &[&str]),
    softmax: bool,
) {
    let c = check_model(net, x.view(), targets, EPS).unwrap();
    println!("{name} parameters: {c:?}");
    assert_eq!(c.checked, params, "{name}: parameters checked");
    assert!(c.max_relative_error < TOLERANCE, "{name}: {c:?}");
    let c = check_input_grad(net, x.view(), targets, EPS).unwrap();
    println!("{name} input: {c:?}");
    assert_eq!(c.checked, x.len());
    assert!(c.max_relative_error < TOLERANCE, "{name}: {c:?}");

    // The check has teeth: no gradient is trivially zero.
    net.forward(x.view(), Mode::Train).unwrap();
    net.loss(targets).unwrap();
    net.backward_with(x.view(), None, true).unwrap();
    net.visit_params(&mut |p| {
        let param = p.full_name();
        if zero.contains(&param.as_str()) {
            assert!(
                p.grad.iter().all(|g| g.abs() < 1e-12),
                "{name}: {param} before a batch normalization has a gradient"
            );
        } else {
            assert!(
                p.grad.iter().any(|g| g.abs() > 1e-4),
                "{name}: trivial gradient of {param}"
            );
        }
    });
    assert!(
        net.input_grad().iter().any(|g| g.abs() > 1e-4),
        "{name}: trivial input gradient"
    );

    let mut expected = net.forward(x.view(), Mode::Eval).unwrap().to_owned();
    if softmax {
        for row in expected.rows_mut() {
            axonal::kernels::softmax_in_place(row);
        }
    }
    let predicted = net.predict(x.view()).unwrap();
    assert_eq!(predicted.dim(), expected.dim());
    assert!(
        predicted
            .iter()
            .zip(&expected)
            .all(|(p, e)| (p - e).abs() < 1e-14),
        "{name}: predict against the eval forward"
    );
}

// ---------------------------------------------------------------------------------------
// (a) Residual blocks with identity shortcuts

/// `input 6; residual relu { fc1: dense 8 relu; fc2: dense 6 }; residual relu { fc3: dense 5
/// tanh; fc4: dense 6 }; head: dense 3; softmax_ce`. The first block's shortcut is the
/// network's input itself, and its fork gives the network's input gradient; the second's
/// fork feeds the first block's activation.
struct Residual<F: Float> {
    fc1: Dense<F, 6, 8, Relu>,
    fc2: Dense<F, 8, 6>,
    sum1: Sum<F, 6>,
    act1: Activation<F, Relu, 6>,
    fork1: Fork<F, 6>,
    fc3: Dense<F, 6, 5, Tanh>,
    fc4: Dense<F, 5, 6>,
    sum2: Sum<F, 6>,
    act2: Activation<F, Relu, 6>,
    fork2: Fork<F, 6>,
    head: Dense<F, 6, 3>,
    loss: Loss<F, SoftmaxCrossEntropy, 3>,
}

impl<F: Float> Residual<F> {
    const PARAMS: usize = (6 * 8 + 8) + (8 * 6 + 6) + (6 * 5 + 5) + (5 * 6 + 6) + (6 * 3 + 3);

    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        Self {
            fc1: Dense::new(Relu, Init::HeNormal, BIAS, rng),
            fc2: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            sum1: Sum::new(),
            act1: Activation::new(Relu),
            fork1: Fork::new(),
            fc3: Dense::new(Tanh, Init::XavierNormal, BIAS, rng),
            fc4: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            sum2: Sum::new(),
            act2: Activation::new(Relu),
            fork2: Fork::new(),
            head: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            loss: Loss::new(SoftmaxCrossEntropy),
        }
    }
}

impl<F: Float> Model<F> for Residual<F> {
    fn name(&self) -> &'static str {
        "Residual"
    }

    fn input_width(&self) -> usize {
        6
    }

    fn output_width(&self) -> usize {
        3
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, 6)?;
        self.fc1.forward(x, mode);
        self.fc2.forward(self.fc1.output(), mode);
        // `x.view()`: ndarray's views are invariant in their lifetime, so the caller's `x`
        // joins the layers' outputs as a view borrowed as briefly as they are.
        self.sum1.forward(&[self.fc2.output(), x.view()]);
        self.act1.forward(self.sum1.output(), mode);
        self.fc3.forward(self.act1.output(), mode);
        self.fc4.forward(self.fc3.output(), mode);
        self.sum2.forward(&[self.fc4.output(), self.act1.output()]);
        self.act2.forward(self.sum2.output(), mode);
        self.head.forward(self.act2.output(), mode);
        Ok(self.head.output())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        self.head.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        self.loss.forward(self.head.output(), targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.head.output().dim(),
        )?;
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.loss.grad_input(),
        };
        self.head.backward(self.act2.output(), grad, true);
        self.act2
            .backward(self.sum2.output(), self.head.grad_input(), true);
        // The sum passes act2's input gradient to the body and to the (identity) shortcut.
        self.fc4
            .backward(self.fc3.output(), self.act2.grad_input(), true);
        self.fc3
            .backward(self.act1.output(), self.fc4.grad_input(), true);
        self.fork2
            .backward(&[self.fc3.grad_input(), self.act2.grad_input()]);
        self.act1
            .backward(self.sum1.output(), self.fork2.grad_input(), true);
        self.fc2
            .backward(self.fc1.output(), self.act1.grad_input(), true);
        self.fc1.backward(x, self.fc2.grad_input(), input_grad);
        if input_grad {
            self.fork1
                .backward(&[self.fc1.grad_input(), self.act1.grad_input()]);
        }
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.fork1.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.fc1.visit_params("fc1", f);
        self.fc2.visit_params("fc2", f);
        self.fc3.visit_params("fc3", f);
        self.fc4.visit_params("fc4", f);
        self.head.visit_params("head", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, 6)?;
        let h = self.fc2.predict(self.fc1.predict(x).view());
        let h = self.sum1.predict(&[h.view(), x.view()]);
        let block1 = self.act1.predict(h.view());
        let h = self.fc4.predict(self.fc3.predict(block1.view()).view());
        let h = self.sum2.predict(&[h.view(), block1.view()]);
        let h = self.act2.predict(h.view());
        Ok(self.loss.link(self.head.predict(h.view())))
    }
}

#[test]
fn residual_blocks_with_identity_shortcuts() {
    let mut net = Residual::<f64>::new(1);
    let labels = [0, 2, 1, 1, 0];
    check(
        "residual",
        &mut net,
        random(5, 6, 2),
        TargetsView::Labels(&labels),
        (Residual::<f64>::PARAMS, &[]),
        true,
    );
}

// ---------------------------------------------------------------------------------------
// (b) A residual block with a projection shortcut

/// `input 6; residual relu { fc1: dense 8 relu; fc2: dense 4 } shortcut: { proj: dense 4 };
/// head: dense 2; mse`: the block is the network's first statement, so its fork gives the
/// network's input gradient.
struct Projection<F: Float> {
    fc1: Dense<F, 6, 8, Relu>,
    fc2: Dense<F, 8, 4>,
    proj: Dense<F, 6, 4>,
    sum: Sum<F, 4>,
    act: Activation<F, Relu, 4>,
    fork: Fork<F, 6>,
    head: Dense<F, 4, 2>,
    loss: Loss<F, Mse, 2>,
}

impl<F: Float> Projection<F> {
    const PARAMS: usize = (6 * 8 + 8) + (8 * 4 + 4) + (6 * 4 + 4) + (4 * 2 + 2);

    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        Self {
            fc1: Dense::new(Relu, Init::HeNormal, BIAS, rng),
            fc2: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            proj: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            sum: Sum::new(),
            act: Activation::new(Relu),
            fork: Fork::new(),
            head: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            loss: Loss::new(Mse),
        }
    }
}

impl<F: Float> Model<F> for Projection<F> {
    fn name(&self) -> &'static str {
        "Projection"
    }

    fn input_width(&self) -> usize {
        6
    }

    fn output_width(&self) -> usize {
        2
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, 6)?;
        self.fc1.forward(x, mode);
        self.fc2.forward(self.fc1.output(), mode);
        self.proj.forward(x, mode);
        self.sum.forward(&[self.fc2.output(), self.proj.output()]);
        self.act.forward(self.sum.output(), mode);
        self.head.forward(self.act.output(), mode);
        Ok(self.head.output())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        self.head.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        self.loss.forward(self.head.output(), targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.head.output().dim(),
        )?;
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.loss.grad_input(),
        };
        self.head.backward(self.act.output(), grad, true);
        self.act
            .backward(self.sum.output(), self.head.grad_input(), true);
        self.fc2
            .backward(self.fc1.output(), self.act.grad_input(), true);
        self.fc1.backward(x, self.fc2.grad_input(), input_grad);
        self.proj.backward(x, self.act.grad_input(), input_grad);
        if input_grad {
            self.fork
                .backward(&[self.fc1.grad_input(), self.proj.grad_input()]);
        }
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.fork.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.fc1.visit_params("fc1", f);
        self.fc2.visit_params("fc2", f);
        self.proj.visit_params("proj", f);
        self.head.visit_params("head", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, 6)?;
        let body = self.fc2.predict(self.fc1.predict(x).view());
        let shortcut = self.proj.predict(x);
        let h = self.sum.predict(&[body.view(), shortcut.view()]);
        let h = self.act.predict(h.view());
        Ok(self.loss.link(self.head.predict(h.view())))
    }
}

#[test]
fn residual_block_with_projection_shortcut() {
    let mut net = Projection::<f64>::new(3);
    let targets = random(4, 2, 4);
    check(
        "projection",
        &mut net,
        random(4, 6, 5),
        TargetsView::Values(targets.view()),
        (Projection::<f64>::PARAMS, &[]),
        false,
    );
}

// ---------------------------------------------------------------------------------------
// A convolutional residual block (ResNet's basic block with a projection)

/// `input 2x4x4; residual relu { conv2d 3 k=3 pad=1; batchnorm; relu; conv2d 3 k=3 pad=1;
/// batchnorm } shortcut: { conv2d 3 k=1; batchnorm }; global_avgpool; dense 3; softmax_ce`.
struct BasicBlock<F: Float> {
    conv1: Conv2d<F, 2, 4, 4, 3, 4, 4, Identity>,
    bn1: BatchNorm<F, 3, 16>,
    relu1: Activation<F, Relu, 48>,
    conv2: Conv2d<F, 3, 4, 4, 3, 4, 4, Identity>,
    bn2: BatchNorm<F, 3, 16>,
    proj: Conv2d<F, 2, 4, 4, 3, 4, 4, Identity>,
    bn_proj: BatchNorm<F, 3, 16>,
    sum: Sum<F, 48>,
    act: Activation<F, Relu, 48>,
    fork: Fork<F, 32>,
    gap: GlobalAvgPool<F, 3, 16>,
    fc: Dense<F, 3, 3>,
    loss: Loss<F, SoftmaxCrossEntropy, 3>,
}

impl<F: Float> BasicBlock<F> {
    const PARAMS: usize = (3 * 2 * 9 + 3) + 6 + (3 * 3 * 9 + 3) + 6 + (3 * 2 + 3) + 6 + (3 * 3 + 3);

    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        let same = Window2::new([3, 3]).with_pad([1, 1]);
        let mut bn = || {
            let mut bn = BatchNorm::new(0.1, 1e-5);
            bn.weight
                .mapv_inplace(|_| F::from_f64(rng.random_range(0.5..1.5)));
            bn.bias
                .mapv_inplace(|_| F::from_f64(rng.random_range(-0.5..0.5)));
            bn
        };
        let (bn1, bn2, bn_proj) = (bn(), bn(), bn());
        Self {
            conv1: Conv2d::new(same, Identity, Init::HeNormal, BIAS, rng),
            bn1,
            relu1: Activation::new(Relu),
            conv2: Conv2d::new(same, Identity, Init::HeNormal, BIAS, rng),
            bn2,
            proj: Conv2d::new(Window2::new([1, 1]), Identity, Init::HeNormal, BIAS, rng),
            bn_proj,
            sum: Sum::new(),
            act: Activation::new(Relu),
            fork: Fork::new(),
            gap: GlobalAvgPool::new(),
            fc: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            loss: Loss::new(SoftmaxCrossEntropy),
        }
    }
}

impl<F: Float> Model<F> for BasicBlock<F> {
    fn name(&self) -> &'static str {
        "BasicBlock"
    }

    fn input_width(&self) -> usize {
        32
    }

    fn output_width(&self) -> usize {
        3
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, 32)?;
        self.conv1.forward(x, mode);
        self.bn1.forward(self.conv1.output(), mode);
        self.relu1.forward(self.bn1.output(), mode);
        self.conv2.forward(self.relu1.output(), mode);
        self.bn2.forward(self.conv2.output(), mode);
        self.proj.forward(x, mode);
        self.bn_proj.forward(self.proj.output(), mode);
        self.sum
            .forward(&[self.bn2.output(), self.bn_proj.output()]);
        self.act.forward(self.sum.output(), mode);
        self.gap.forward(self.act.output(), mode);
        self.fc.forward(self.gap.output(), mode);
        Ok(self.fc.output())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        self.fc.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        self.loss.forward(self.fc.output(), targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.fc.output().dim(),
        )?;
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.loss.grad_input(),
        };
        self.fc.backward(self.gap.output(), grad, true);
        self.gap
            .backward(self.act.output(), self.fc.grad_input(), true);
        self.act
            .backward(self.sum.output(), self.gap.grad_input(), true);
        self.bn2
            .backward(self.conv2.output(), self.act.grad_input(), true);
        self.conv2
            .backward(self.relu1.output(), self.bn2.grad_input(), true);
        self.relu1
            .backward(self.bn1.output(), self.conv2.grad_input(), true);
        self.bn1
            .backward(self.conv1.output(), self.relu1.grad_input(), true);
        self.conv1.backward(x, self.bn1.grad_input(), input_grad);
        self.bn_proj
            .backward(self.proj.output(), self.act.grad_input(), true);
        self.proj.backward(x, self.bn_proj.grad_input(), input_grad);
        if input_grad {
            self.fork
                .backward(&[self.conv1.grad_input(), self.proj.grad_input()]);
        }
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.fork.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.conv1.visit_params("conv1", f);
        self.bn1.visit_params("bn1", f);
        self.conv2.visit_params("conv2", f);
        self.bn2.visit_params("bn2", f);
        self.proj.visit_params("proj", f);
        self.bn_proj.visit_params("bn_proj", f);
        self.fc.visit_params("fc", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, 32)?;
        let h = self.bn1.predict(self.conv1.predict(x).view());
        let h = self.relu1.predict(h.view());
        let body = self.bn2.predict(self.conv2.predict(h.view()).view());
        let shortcut = self.bn_proj.predict(self.proj.predict(x).view());
        let h = self.sum.predict(&[body.view(), shortcut.view()]);
        let h = self.act.predict(h.view());
        let h = self.gap.predict(h.view());
        Ok(self.loss.link(self.fc.predict(h.view())))
    }
}

#[test]
fn convolutional_residual_block_with_projection_shortcut() {
    let mut net = BasicBlock::<f64>::new(6);
    let labels = [2, 0, 1];
    check(
        "basic block",
        &mut net,
        random(3, 32, 7),
        TargetsView::Labels(&labels),
        (
            BasicBlock::<f64>::PARAMS,
            &["conv1.bias", "conv2.bias", "proj.bias"],
        ),
        true,
    );
}

// ---------------------------------------------------------------------------------------
// (c) Branches joined by concat

/// `input 2x5x5; concat a: { conv2d 3 k=3 pad=1 tanh } b: { conv2d 2 k=1; batchnorm };
/// dense 3; softmax_ce`: the branches' `[3, 5, 5]` and `[2, 5, 5]` outputs are concatenated
/// along channels into `[5, 5, 5]`, which the dense layer reads flattened, one weight per
/// column, so a part placed in the wrong columns shows in its gradients.
struct Branches<F: Float> {
    a: Conv2d<F, 2, 5, 5, 3, 5, 5, Tanh>,
    b: Conv2d<F, 2, 5, 5, 2, 5, 5, Identity>,
    b_bn: BatchNorm<F, 2, 25>,
    concat: Concat<F, 125>,
    fork: Fork<F, 50>,
    fc: Dense<F, 125, 3>,
    loss: Loss<F, SoftmaxCrossEntropy, 3>,
}

impl<F: Float> Branches<F> {
    const PARAMS: usize = (3 * 2 * 9 + 3) + (2 * 2 + 2) + 4 + (125 * 3 + 3);

    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        let mut b_bn = BatchNorm::new(0.1, 1e-5);
        b_bn.weight = axonal::ndarray::array![F::from_f64(0.8), F::from_f64(1.3)];
        b_bn.bias = axonal::ndarray::array![F::from_f64(0.2), F::from_f64(-0.1)];
        Self {
            a: Conv2d::new(
                Window2::new([3, 3]).with_pad([1, 1]),
                Tanh,
                Init::XavierNormal,
                BIAS,
                rng,
            ),
            b: Conv2d::new(Window2::new([1, 1]), Identity, Init::HeNormal, BIAS, rng),
            b_bn,
            concat: Concat::new(),
            fork: Fork::new(),
            fc: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            loss: Loss::new(SoftmaxCrossEntropy),
        }
    }
}

impl<F: Float> Model<F> for Branches<F> {
    fn name(&self) -> &'static str {
        "Branches"
    }

    fn input_width(&self) -> usize {
        50
    }

    fn output_width(&self) -> usize {
        3
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, 50)?;
        self.a.forward(x, mode);
        self.b.forward(x, mode);
        self.b_bn.forward(self.b.output(), mode);
        self.concat.forward(&[self.a.output(), self.b_bn.output()]);
        self.fc.forward(self.concat.output(), mode);
        Ok(self.fc.output())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        self.fc.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        self.loss.forward(self.fc.output(), targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.fc.output().dim(),
        )?;
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.loss.grad_input(),
        };
        self.fc.backward(self.concat.output(), grad, true);
        self.a.backward(
            x,
            Concat::<F, 125>::part(self.fc.grad_input(), 0, 75),
            input_grad,
        );
        self.b_bn.backward(
            self.b.output(),
            Concat::<F, 125>::part(self.fc.grad_input(), 75, 50),
            true,
        );
        self.b.backward(x, self.b_bn.grad_input(), input_grad);
        if input_grad {
            self.fork
                .backward(&[self.a.grad_input(), self.b.grad_input()]);
        }
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.fork.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.a.visit_params("a", f);
        self.b.visit_params("b", f);
        self.b_bn.visit_params("b_bn", f);
        self.fc.visit_params("fc", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, 50)?;
        let a = self.a.predict(x);
        let b = self.b_bn.predict(self.b.predict(x).view());
        let h = self.concat.predict(&[a.view(), b.view()]);
        Ok(self.loss.link(self.fc.predict(h.view())))
    }
}

#[test]
fn convolutional_branches_joined_by_concat() {
    let mut net = Branches::<f64>::new(8);
    let labels = [1, 0, 2];
    check(
        "concat",
        &mut net,
        random(3, 50, 9),
        TargetsView::Labels(&labels),
        (Branches::<f64>::PARAMS, &["b.bias"]),
        true,
    );
    // The layout: per sample, a's 3 channels then b's 2, each 5×5.
    let x = random(2, 50, 10);
    net.forward(x.view(), Mode::Train).unwrap();
    let out = net.concat.output();
    for n in 0..2 {
        for c in 0..5 {
            let from = if c < 3 {
                net.a.output().row(n).to_owned()
            } else {
                net.b_bn.output().row(n).to_owned()
            };
            let c_part = if c < 3 { c } else { c - 3 };
            for s in 0..25 {
                assert_eq!(out[[n, c * 25 + s]], from[c_part * 25 + s]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// (d) Branches joined by sum

/// `input 4; stem: dense 6 tanh; sum a: { dense 5 tanh } b: { dense 4 relu; dense 5 }
/// c: { dense 5 sigmoid }; head: dense 2; mse`: three parts, so the sum and the fork add
/// three matrices.
struct SumBranches<F: Float> {
    stem: Dense<F, 4, 6, Tanh>,
    a: Dense<F, 6, 5, Tanh>,
    b1: Dense<F, 6, 4, Relu>,
    b2: Dense<F, 4, 5>,
    c: Dense<F, 6, 5, Sigmoid>,
    sum: Sum<F, 5>,
    fork: Fork<F, 6>,
    head: Dense<F, 5, 2>,
    loss: Loss<F, Mse, 2>,
}

impl<F: Float> SumBranches<F> {
    const PARAMS: usize =
        (4 * 6 + 6) + (6 * 5 + 5) + (6 * 4 + 4) + (4 * 5 + 5) + (6 * 5 + 5) + (5 * 2 + 2);

    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        Self {
            stem: Dense::new(Tanh, Init::XavierNormal, BIAS, rng),
            a: Dense::new(Tanh, Init::XavierNormal, BIAS, rng),
            b1: Dense::new(Relu, Init::HeNormal, BIAS, rng),
            b2: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            c: Dense::new(Sigmoid, Init::XavierNormal, BIAS, rng),
            sum: Sum::new(),
            fork: Fork::new(),
            head: Dense::new(Identity, Init::XavierNormal, BIAS, rng),
            loss: Loss::new(Mse),
        }
    }
}

impl<F: Float> Model<F> for SumBranches<F> {
    fn name(&self) -> &'static str {
        "SumBranches"
    }

    fn input_width(&self) -> usize {
        4
    }

    fn output_width(&self) -> usize {
        2
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, 4)?;
        self.stem.forward(x, mode);
        self.a.forward(self.stem.output(), mode);
        self.b1.forward(self.stem.output(), mode);
        self.b2.forward(self.b1.output(), mode);
        self.c.forward(self.stem.output(), mode);
        self.sum
            .forward(&[self.a.output(), self.b2.output(), self.c.output()]);
        self.head.forward(self.sum.output(), mode);
        Ok(self.head.output())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        self.head.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        self.loss.forward(self.head.output(), targets)
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.head.output().dim(),
        )?;
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.loss.grad_input(),
        };
        self.head.backward(self.sum.output(), grad, true);
        // The sum passes head's input gradient to every branch.
        self.a
            .backward(self.stem.output(), self.head.grad_input(), true);
        self.b2
            .backward(self.b1.output(), self.head.grad_input(), true);
        self.b1
            .backward(self.stem.output(), self.b2.grad_input(), true);
        self.c
            .backward(self.stem.output(), self.head.grad_input(), true);
        self.fork.backward(&[
            self.a.grad_input(),
            self.b1.grad_input(),
            self.c.grad_input(),
        ]);
        self.stem.backward(x, self.fork.grad_input(), input_grad);
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.stem.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.stem.visit_params("stem", f);
        self.a.visit_params("a", f);
        self.b1.visit_params("b1", f);
        self.b2.visit_params("b2", f);
        self.c.visit_params("c", f);
        self.head.visit_params("head", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, 4)?;
        let stem = self.stem.predict(x);
        let a = self.a.predict(stem.view());
        let b = self.b2.predict(self.b1.predict(stem.view()).view());
        let c = self.c.predict(stem.view());
        let h = self.sum.predict(&[a.view(), b.view(), c.view()]);
        Ok(self.loss.link(self.head.predict(h.view())))
    }
}

#[test]
fn branches_joined_by_sum() {
    let mut net = SumBranches::<f64>::new(11);
    let targets = random(5, 2, 12);
    check(
        "sum",
        &mut net,
        random(5, 4, 13),
        TargetsView::Values(targets.view()),
        (SumBranches::<f64>::PARAMS, &[]),
        false,
    );
}
