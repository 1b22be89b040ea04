//! f64 gradient checks of the convolution, pooling and normalization layers, each alone
//! (strides, padding, dilation, non-square kernels, 1-D and 2-D) and composed into a small
//! CNN checked through `Model`; ImageNet-sized inputs (3×224×224) without stack overflow;
//! inputs whose rows are not contiguous. (Thread-count independence: `conv_threads.rs`.)

use axonal::activation::{Elu, Identity, Relu, Tanh};
use axonal::gradcheck::{check_input_grad, check_model, numeric_gradient, relative_error};
use axonal::init::Init;
use axonal::layers::{
    Activation, AvgPool1d, AvgPool2d, BatchNorm, Conv1d, Conv2d, Dense, Dropout, GlobalAvgPool,
    LayerNorm, MaxPool1d, MaxPool2d, Window1, Window2,
};
use axonal::loss::{Loss, SoftmaxCrossEntropy};
use axonal::model::{check_backward, check_input};
use axonal::ndarray::{Array2, ArrayView2};
use axonal::{Float, Mode, Model, Param, Result, TargetsView};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const EPS: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

/// A `rows × cols` matrix of uniform draws in (−1, 1).
fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let rng = &mut StdRng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
}

/// A `rows × cols` matrix of distinct values at least 0.01 apart, shuffled: no two entries of
/// a max-pooling window are within a finite-difference step of a tie.
fn distinct(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut values: Vec<f64> = (0..rows * cols).map(|i| i as f64 * 0.01 - 1.0).collect();
    values.shuffle(&mut StdRng::seed_from_u64(seed));
    Array2::from_shape_vec((rows, cols), values).unwrap()
}

/// Largest relative error between an analytic and a numeric gradient.
fn worst(analytic: &[f64], numeric: &[f64]) -> f64 {
    assert_eq!(analytic.len(), numeric.len());
    analytic
        .iter()
        .zip(numeric)
        .map(|(&a, &n)| relative_error(a, n))
        .fold(0.0, f64::max)
}

/// What the checks need of a layer: the calls every layer has, and its parameters (none by
/// default) and penalty.
trait Layer: Clone {
    fn forward(&mut self, x: ArrayView2<'_, f64>, mode: Mode);
    fn output(&self) -> ArrayView2<'_, f64>;
    fn backward(&mut self, x: ArrayView2<'_, f64>, g: ArrayView2<'_, f64>);
    fn grad_input(&self) -> ArrayView2<'_, f64>;
    fn predict(&self, x: ArrayView2<'_, f64>) -> Array2<f64>;
    fn visit(&mut self, _f: &mut dyn FnMut(Param<'_, f64>)) {}
    fn penalty(&self) -> f64 {
        0.0
    }
}

macro_rules! layer {
    ($t:ident<$($c:ident),*> $(, $a:ident)? ; $($params:tt)*) => {
        impl<$(const $c: usize),* $(, $a: axonal::activation::ActivationFn<f64>)?> Layer
            for $t<f64, $($c),* $(, $a)?>
        {
            fn forward(&mut self, x: ArrayView2<'_, f64>, mode: Mode) {
                $t::forward(self, x, mode)
            }
            fn output(&self) -> ArrayView2<'_, f64> {
                $t::output(self)
            }
            fn backward(&mut self, x: ArrayView2<'_, f64>, g: ArrayView2<'_, f64>) {
                $t::backward(self, x, g, true)
            }
            fn grad_input(&self) -> ArrayView2<'_, f64> {
                $t::grad_input(self)
            }
            fn predict(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
                $t::predict(self, x)
            }
            $($params)*
        }
    };
}

layer!(Conv2d<CI, H, W, CO, OH, OW>, A;
    fn visit(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) { self.visit_params("conv", f) }
    fn penalty(&self) -> f64 { Conv2d::penalty(self) }
);
layer!(Conv1d<CI, L, CO, OL>, A;
    fn visit(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) { self.visit_params("conv", f) }
    fn penalty(&self) -> f64 { Conv1d::penalty(self) }
);
layer!(BatchNorm<C, S>;
    fn visit(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) { self.visit_params("bn", f) }
);
layer!(LayerNorm<N>;
    fn visit(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) { self.visit_params("ln", f) }
);
layer!(MaxPool2d<C, H, W, OH, OW>;);
layer!(MaxPool1d<C, L, OL>;);
layer!(AvgPool2d<C, H, W, OH, OW>;);
layer!(AvgPool1d<C, L, OL>;);
layer!(GlobalAvgPool<C, S>;);

/// Σ out ⊙ r + penalty after a forward of `x`: a scalar whose gradient w.r.t. the output is
/// exactly `r`.
fn loss<L: Layer>(layer: &mut L, x: ArrayView2<'_, f64>, r: &Array2<f64>, mode: Mode) -> f64 {
    layer.forward(x, mode);
    (&layer.output() * r).sum() + layer.penalty()
}

/// Checks the input gradient and every parameter gradient of `layer` at `x` against central
/// differences, and that the gradients are not trivially zero. Returns the worst error.
fn check<L: Layer>(name: &str, mut layer: L, x: Array2<f64>, mode: Mode) -> f64 {
    let r = random(
        x.nrows(),
        {
            let mut probe = layer.clone();
            probe.forward(x.view(), mode);
            probe.output().ncols()
        },
        99,
    );
    loss(&mut layer, x.view(), &r, mode);
    layer.backward(x.view(), r.view());
    // predict is the eval-mode forward.
    if mode == Mode::Eval {
        assert_eq!(layer.predict(x.view()), layer.output(), "{name}: predict");
    }
    let mut errors = Vec::new();
    let numeric_x = numeric_gradient(
        |xs| {
            let x = ArrayView2::from_shape(x.dim(), xs).unwrap();
            loss(&mut layer.clone(), x, &r, mode)
        },
        x.as_slice().unwrap(),
        EPS,
    );
    let analytic_x: Vec<f64> = layer.grad_input().iter().copied().collect();
    assert!(
        analytic_x.iter().any(|g| g.abs() > 1e-3),
        "{name}: trivial input gradient"
    );
    errors.push(("x".to_string(), worst(&analytic_x, &numeric_x)));

    let mut params: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    layer.visit(&mut |p| params.push((p.full_name(), p.value.to_vec(), p.grad.to_vec())));
    for (index, (param, values, analytic)) in params.iter().enumerate() {
        let numeric = numeric_gradient(
            |v| {
                let mut l = layer.clone();
                let mut i = 0;
                l.visit(&mut |p| {
                    if i == index {
                        p.value.copy_from_slice(v);
                    }
                    i += 1;
                });
                loss(&mut l, x.view(), &r, mode)
            },
            values,
            EPS,
        );
        assert!(
            analytic.iter().any(|g| g.abs() > 1e-3),
            "{name}: trivial gradient of {param}"
        );
        errors.push((param.clone(), worst(analytic, &numeric)));
    }
    println!("{name}: {errors:?}");
    let (what, error) = errors
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("x at least")
        .clone();
    assert!(error < TOLERANCE, "{name}: gradient of {what}: {error:e}");
    error
}

fn conv2d<
    const CI: usize,
    const H: usize,
    const W: usize,
    const CO: usize,
    const OH: usize,
    const OW: usize,
>(
    window: Window2,
    seed: u64,
) -> Conv2d<f64, CI, H, W, CO, OH, OW, Tanh> {
    let rng = &mut StdRng::seed_from_u64(seed);
    let normal = Init::Normal {
        mean: 0.0,
        std: 0.5,
    };
    Conv2d::new(window, Tanh, Init::XavierNormal, normal, rng)
}

#[test]
fn conv2d_gradients() {
    let w = |k: [usize; 2], s: [usize; 2], p: [usize; 2], d: [usize; 2]| Window2 {
        kernel: k,
        stride: s,
        pad: p,
        dilation: d,
    };
    // LeNet-like: square kernel, same padding.
    check(
        "conv2d k3 pad1",
        conv2d::<1, 5, 5, 2, 5, 5>(w([3, 3], [1, 1], [1, 1], [1, 1]), 1),
        random(2, 25, 1),
        Mode::Train,
    );
    // Non-square kernel, stride and padding.
    check(
        "conv2d k3x2 stride 2x1 pad 1x0",
        conv2d::<2, 6, 5, 3, 3, 4>(w([3, 2], [2, 1], [1, 0], [1, 1]), 2),
        random(2, 60, 2),
        Mode::Train,
    );
    // Dilation, a stride larger than the kernel, padding larger than the kernel.
    check(
        "conv2d k2x3 stride 1x3 pad 0x2 dilation 2x1",
        conv2d::<3, 5, 6, 2, 3, 3>(w([2, 3], [1, 3], [0, 2], [2, 1]), 3),
        random(3, 90, 3),
        Mode::Train,
    );
    check(
        "conv2d k2 stride 3 pad 3",
        conv2d::<1, 4, 4, 2, 3, 3>(w([2, 2], [3, 3], [3, 3], [1, 1]), 4),
        random(1, 16, 4),
        Mode::Train,
    );
    // Pointwise (1×1): the patches are the input itself.
    check(
        "conv2d 1x1",
        conv2d::<3, 2, 3, 4, 2, 3>(w([1, 1], [1, 1], [0, 0], [1, 1]), 5),
        random(2, 18, 5),
        Mode::Train,
    );
    // 16 output channels (the weight gradient is computed transposed), a strided height.
    check(
        "conv2d 2->16 k3 stride 2x1 pad 1",
        conv2d::<2, 5, 4, 16, 3, 4>(w([3, 3], [2, 1], [1, 1], [1, 1]), 9),
        random(2, 40, 9),
        Mode::Train,
    );
    // With an L2 penalty on the weights.
    let rng = &mut StdRng::seed_from_u64(6);
    let conv = Conv2d::<f64, 2, 4, 4, 2, 2, 2, Identity>::new(
        Window2::new([3, 3]),
        Identity,
        Init::XavierNormal,
        Init::Uniform {
            low: -1.0,
            high: 1.0,
        },
        rng,
    )
    .with_l2(0.3);
    check("conv2d l2", conv, random(2, 32, 6), Mode::Train);
}

#[test]
fn conv1d_gradients() {
    let rng = &mut StdRng::seed_from_u64(7);
    let conv = Conv1d::<f64, 2, 9, 3, 5, Tanh>::new(
        Window1::new([3])
            .with_stride([2])
            .with_pad([2])
            .with_dilation([2]),
        Tanh,
        Init::XavierNormal,
        Init::Normal {
            mean: 0.0,
            std: 0.5,
        },
        rng,
    );
    check("conv1d k3 s2 p2 d2", conv, random(2, 18, 7), Mode::Train);
    let conv = Conv1d::<f64, 1, 5, 2, 8, Identity>::new(
        Window1::new([4]).with_pad([3]),
        Identity,
        Init::XavierNormal,
        Init::Constant(0.1),
        rng,
    );
    check("conv1d k4 p3", conv, random(3, 5, 8), Mode::Train);
}

#[test]
fn pooling_gradients() {
    let w = |k: [usize; 2], s: [usize; 2], p: [usize; 2], d: [usize; 2]| Window2 {
        kernel: k,
        stride: s,
        pad: p,
        dilation: d,
    };
    check(
        "maxpool2d 2x2",
        MaxPool2d::<f64, 2, 4, 6, 2, 3>::new(Window2::pool([2, 2])),
        distinct(2, 48, 10),
        Mode::Train,
    );
    check(
        "maxpool2d k3 s2 p1 (overlapping, padded)",
        MaxPool2d::<f64, 1, 5, 6, 3, 3>::new(
            Window2::new([3, 3]).with_stride([2, 2]).with_pad([1, 1]),
        ),
        distinct(2, 30, 11),
        Mode::Train,
    );
    check(
        "maxpool2d k2x3 s1x2 p1x1 d2x1",
        MaxPool2d::<f64, 2, 5, 7, 5, 4>::new(w([2, 3], [1, 2], [1, 1], [2, 1])),
        distinct(2, 70, 12),
        Mode::Train,
    );
    check(
        "maxpool1d k3 s2 p1",
        MaxPool1d::<f64, 2, 9, 5>::new(Window1::new([3]).with_stride([2]).with_pad([1])),
        distinct(2, 18, 13),
        Mode::Train,
    );
    check(
        "maxpool1d k2 d3",
        MaxPool1d::<f64, 1, 8, 5>::new(Window1::new([2]).with_dilation([3])),
        distinct(3, 8, 14),
        Mode::Train,
    );
    for counted in [true, false] {
        check(
            &format!("avgpool2d k3x2 s2x1 p1x1 counted={counted}"),
            AvgPool2d::<f64, 2, 5, 4, 3, 5>::new(w([3, 2], [2, 1], [1, 1], [1, 1]), counted),
            random(2, 40, 15),
            Mode::Train,
        );
        check(
            &format!("avgpool1d k3 s2 p1 counted={counted}"),
            AvgPool1d::<f64, 2, 7, 4>::new(
                Window1::new([3]).with_stride([2]).with_pad([1]),
                counted,
            ),
            random(2, 14, 16),
            Mode::Train,
        );
    }
    check(
        "avgpool2d 2x2",
        AvgPool2d::<f64, 1, 4, 4, 2, 2>::new(Window2::pool([2, 2]), true),
        random(2, 16, 17),
        Mode::Train,
    );
    check(
        "global average",
        GlobalAvgPool::<f64, 3, 6>::new(),
        random(2, 18, 18),
        Mode::Train,
    );
}

#[test]
fn normalization_gradients() {
    let scaled = |rows, cols, seed| random(rows, cols, seed).mapv(|v| 3.0 * v + 1.0);
    // Per channel over the batch and 6 positions, in training (batch statistics) and eval.
    let mut bn = BatchNorm::<f64, 3, 6>::new(0.1, 1e-5);
    bn.weight = axonal::ndarray::array![0.7, 1.3, -0.4];
    bn.bias = axonal::ndarray::array![0.1, -0.2, 0.3];
    check(
        "batchnorm C=3 S=6 train",
        bn.clone(),
        scaled(2, 18, 20),
        Mode::Train,
    );
    bn.running_mean = axonal::ndarray::array![0.5, -1.0, 2.0];
    bn.running_var = axonal::ndarray::array![2.0, 0.5, 4.0];
    check("batchnorm C=3 S=6 eval", bn, scaled(2, 18, 21), Mode::Eval);
    // One sample: the statistics come from its positions alone.
    check(
        "batchnorm C=2 S=5, batch of one",
        BatchNorm::<f64, 2, 5>::new(0.1, 1e-5),
        scaled(1, 10, 22),
        Mode::Train,
    );
    let mut ln = LayerNorm::<f64, 12>::new(&[3, 2, 2], 1e-5);
    ln.weight = random(1, 12, 23)
        .into_shape_with_order(12)
        .unwrap()
        .mapv(|v| v + 1.5);
    ln.bias = random(1, 12, 24).into_shape_with_order(12).unwrap();
    check(
        "layernorm [3, 2, 2]",
        ln.clone(),
        scaled(3, 12, 25),
        Mode::Train,
    );
    check(
        "layernorm [3, 2, 2] eval",
        ln,
        scaled(2, 12, 26),
        Mode::Eval,
    );
}

/// The batch-of-one case of per-channel batch normalization is not degenerate: a [C, S]
/// sample has S values per channel.
#[test]
fn batchnorm_with_positions_updates_running_statistics_from_one_sample() {
    let mut bn = BatchNorm::<f64, 1, 4>::new(1.0, 1e-5);
    bn.forward(
        axonal::ndarray::array![[1.0, 2.0, 3.0, 6.0]].view(),
        Mode::Train,
    );
    assert_eq!(bn.running_mean.to_vec(), vec![3.0]);
    assert_eq!(
        bn.running_var.to_vec(),
        vec![14.0 / 3.0],
        "unbiased: Σ(x − μ)² / (4 − 1)"
    );
}

// ---------------------------------------------------------------------------------------
// A small CNN through `Model`

/// `input 1x6x6; conv2d 1->2 k=3 pad=1 tanh; maxpool 2; batchnorm; elu; dropout 0.3;
/// conv1d 2->3 k=3 (on [2, 9]); layernorm; global_avgpool; dense 3->3; softmax_ce`, written
/// by hand the way the compiler generates a network. The activation and the dropout work on
/// the flattened `[2, 3, 3]` values as on any vector (the mask is frozen for the check).
#[derive(Clone)]
struct TinyCnn<F: Float> {
    conv: Conv2d<F, 1, 6, 6, 2, 6, 6, Tanh>,
    pool: MaxPool2d<F, 2, 6, 6, 3, 3>,
    bn: BatchNorm<F, 2, 9>,
    act: Activation<F, Elu<F>, 18>,
    drop: Dropout<F, 18>,
    conv1d: Conv1d<F, 2, 9, 3, 7, Identity>,
    ln: LayerNorm<F, 21>,
    gap: GlobalAvgPool<F, 3, 7>,
    fc: Dense<F, 3, 3>,
    loss: Loss<F, SoftmaxCrossEntropy, 3>,
}

impl<F: Float> TinyCnn<F> {
    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        let bias = Init::Normal {
            mean: 0.0,
            std: 0.3,
        };
        let mut ln = LayerNorm::new(&[3, 7], 1e-5);
        ln.weight
            .mapv_inplace(|_| F::from_f64(rng.random_range(0.5..1.5)));
        ln.bias
            .mapv_inplace(|_| F::from_f64(rng.random_range(-0.5..0.5)));
        TinyCnn {
            conv: Conv2d::new(
                Window2::new([3, 3]).with_pad([1, 1]),
                Tanh,
                Init::HeNormal,
                bias,
                rng,
            ),
            pool: MaxPool2d::new(Window2::pool([2, 2])),
            bn: BatchNorm::new(0.1, 1e-5),
            act: Activation::new(Elu::default()),
            drop: Dropout::new(0.3, rng),
            conv1d: Conv1d::new(Window1::new([3]), Identity, Init::XavierNormal, bias, rng),
            ln,
            gap: GlobalAvgPool::new(),
            fc: Dense::new(Identity, Init::XavierNormal, bias, rng),
            loss: Loss::new(SoftmaxCrossEntropy),
        }
    }
}

impl<F: Float> Model<F> for TinyCnn<F> {
    fn name(&self) -> &'static str {
        "TinyCnn"
    }

    fn input_width(&self) -> usize {
        36
    }

    fn output_width(&self) -> usize {
        3
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.name(), &x, 36)?;
        self.conv.forward(x, mode);
        self.pool.forward(self.conv.output(), mode);
        self.bn.forward(self.pool.output(), mode);
        self.act.forward(self.bn.output(), mode);
        self.drop.forward(self.act.output(), mode);
        self.conv1d.forward(self.drop.output(), mode);
        self.ln.forward(self.conv1d.output(), mode);
        self.gap.forward(self.ln.output(), mode);
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
            .backward(self.ln.output(), self.fc.grad_input(), true);
        self.ln
            .backward(self.conv1d.output(), self.gap.grad_input(), true);
        self.conv1d
            .backward(self.drop.output(), self.ln.grad_input(), true);
        self.drop
            .backward(self.act.output(), self.conv1d.grad_input(), true);
        self.act
            .backward(self.bn.output(), self.drop.grad_input(), true);
        self.bn
            .backward(self.pool.output(), self.act.grad_input(), true);
        self.pool
            .backward(self.conv.output(), self.bn.grad_input(), true);
        self.conv.backward(x, self.pool.grad_input(), input_grad);
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        self.conv.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.conv.visit_params("conv", f);
        self.bn.visit_params("bn", f);
        self.conv1d.visit_params("conv1d", f);
        self.ln.visit_params("ln", f);
        self.fc.visit_params("fc", f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        check_input(self.name(), &x, 36)?;
        let h = self.conv.predict(x);
        let h = self.pool.predict(h.view());
        let h = self.bn.predict(h.view());
        let h = self.act.predict(h.view());
        let h = self.drop.predict(h.view());
        let h = self.conv1d.predict(h.view());
        let h = self.ln.predict(h.view());
        let h = self.gap.predict(h.view());
        Ok(self.loss.link(self.fc.predict(h.view())))
    }
}

#[test]
fn a_small_cnn_passes_model_gradient_checks() {
    let mut net = TinyCnn::<f64>::new(30);
    let x = random(4, 36, 31);
    let labels = [0, 2, 1, 2];
    let targets = TargetsView::Labels(&labels);
    net.forward(x.view(), Mode::Train).unwrap();
    net.drop.freeze_mask(true);
    let dropped = net.drop.mask().iter().filter(|&&m| m == 0.0).count();
    assert!(
        dropped > 0 && dropped < 4 * 18,
        "the mask drops some values"
    );
    let c = check_model(&mut net, x.view(), targets, EPS).unwrap();
    assert_eq!(
        c.checked,
        (2 * 9 + 2) + 2 * 2 + (3 * 2 * 3 + 3) + 2 * 21 + (3 * 3 + 3)
    );
    assert!(c.max_relative_error < TOLERANCE, "{c:?}");
    let c = check_input_grad(&mut net, x.view(), targets, EPS).unwrap();
    assert!(c.max_relative_error < TOLERANCE, "{c:?}");
    // Eval predict through every layer agrees with the eval forward (after softmax).
    let forward = net.forward(x.view(), Mode::Eval).unwrap().to_owned();
    let mut probabilities = forward.clone();
    for row in probabilities.rows_mut() {
        axonal::kernels::softmax_in_place(row);
    }
    let predicted = net.predict(x.view()).unwrap();
    assert!((&predicted - &probabilities)
        .iter()
        .all(|d| d.abs() < 1e-15));
}

// ---------------------------------------------------------------------------------------
// Threads and sizes

/// A ResNet stem on 3×224×224 images at batch 2: convolution 7×7 stride 2, batch
/// normalization, 3×3 max pooling, forward and backward, on the heap (no stack array grows
/// with the input). A few outputs are compared with the convolution's definition.
#[test]
fn imagenet_sized_inputs_work() {
    let rng = &mut StdRng::seed_from_u64(50);
    let mut conv = Conv2d::<f32, 3, 224, 224, 8, 112, 112, Relu>::new(
        Window2::new([7, 7]).with_stride([2, 2]).with_pad([3, 3]),
        Relu,
        Init::HeNormal,
        Init::Uniform {
            low: -0.1,
            high: 0.1,
        },
        rng,
    );
    let mut bn = BatchNorm::<f32, 8, { 112 * 112 }>::new(0.1, 1e-5);
    let mut pool = MaxPool2d::<f32, 8, 112, 112, 56, 56>::new(
        Window2::new([3, 3]).with_stride([2, 2]).with_pad([1, 1]),
    );
    let x = Array2::from_shape_fn((2, 3 * 224 * 224), |_| rng.random_range(-1.0f32..1.0));
    conv.forward(x.view(), Mode::Train);
    bn.forward(conv.output(), Mode::Train);
    pool.forward(bn.output(), Mode::Train);
    let g = Array2::from_elem((2, 8 * 56 * 56), 1e-3f32);
    pool.backward(bn.output(), g.view(), true);
    bn.backward(conv.output(), pool.grad_input(), true);
    conv.backward(x.view(), bn.grad_input(), true);
    assert!(conv.grad_input().iter().all(|v| v.is_finite()));
    assert!(conv.grad_input().iter().any(|&v| v != 0.0));
    assert!(conv.weight_grad.iter().any(|&v| v != 0.0));
    // out[n, co, oh, ow] = relu(b[co] + Σ W[co, ci, kh, kw]·x[n, ci, 2oh + kh − 3, 2ow + kw − 3])
    for &(n, co, oh, ow) in &[
        (0, 0, 0, 0),
        (1, 7, 111, 111),
        (0, 3, 50, 17),
        (1, 5, 1, 110),
    ] {
        let mut sum = f64::from(conv.bias[co]);
        for ci in 0..3 {
            for kh in 0..7 {
                for kw in 0..7 {
                    let (ih, iw) = ((2 * oh + kh) as isize - 3, (2 * ow + kw) as isize - 3);
                    if (0..224).contains(&ih) && (0..224).contains(&iw) {
                        let xv = x[[n, ci * 224 * 224 + ih as usize * 224 + iw as usize]];
                        let wv = conv.weight[[co, ci * 49 + kh * 7 + kw]];
                        sum += f64::from(xv) * f64::from(wv);
                    }
                }
            }
        }
        let got = f64::from(conv.output()[[n, co * 112 * 112 + oh * 112 + ow]]);
        assert!(
            (got - sum.max(0.0)).abs() < 1e-4,
            "out[{n}, {co}, {oh}, {ow}]: {got} vs {sum}"
        );
    }
}

/// Inputs whose rows are not contiguous (a transposed array) give the same results.
#[test]
fn strided_inputs_give_the_same_results() {
    let rng = &mut StdRng::seed_from_u64(60);
    let mut conv = Conv2d::<f64, 2, 4, 4, 3, 2, 2>::new(
        Window2::new([3, 3]),
        Identity,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let x = random(3, 32, 61);
    let x_t = x.t().to_owned(); // 32 × 3; its transpose is x with columns 3 apart
    let r = random(3, 12, 62);
    let r_t = r.t().to_owned();
    conv.forward(x.view(), Mode::Train);
    conv.backward(x.view(), r.view(), true);
    let expected = (
        conv.output().to_owned(),
        conv.grad_input().to_owned(),
        conv.weight_grad.clone(),
    );
    conv.forward(x_t.t(), Mode::Train);
    conv.backward(x_t.t(), r_t.t(), true);
    assert_eq!(conv.output(), expected.0);
    assert_eq!(conv.grad_input(), expected.1);
    assert_eq!(conv.weight_grad, expected.2);
    assert_eq!(conv.predict(x_t.t()), expected.0);
    let mut pool = MaxPool2d::<f64, 2, 4, 4, 2, 2>::new(Window2::pool([2, 2]));
    pool.forward(x.view(), Mode::Train);
    let pooled = pool.output().to_owned();
    pool.forward(x_t.t(), Mode::Train);
    assert_eq!(pool.output(), pooled);
    let mut bn = BatchNorm::<f64, 2, 16>::new(0.1, 1e-5);
    bn.forward(x.view(), Mode::Train);
    let normalized = bn.output().to_owned();
    bn.forward(x_t.t(), Mode::Train);
    assert_eq!(bn.output(), normalized);
}
