//! f64 gradient checks: every backward pass of the runtime against central differences.

mod common;

use axonal::activation::{ActivationFn, Identity, Relu, Sigmoid, Softmax, Step, Tanh};
use axonal::gradcheck::{check_input_grad, check_model, numeric_gradient, relative_error};
use axonal::init::Init;
use axonal::layers::{Activation, Dense};
use axonal::loss::{LossFn, Mse, SoftmaxCrossEntropy};
use axonal::ndarray::{Array2, ArrayView2};
use axonal::{Error, Mode, Model, TargetsView};
use common::{matrix, Mlp};
use rand::rngs::StdRng;
use rand::SeedableRng;

const EPS: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

/// Largest relative error between two gradients.
fn worst(analytic: &[f64], numeric: &[f64]) -> f64 {
    assert_eq!(analytic.len(), numeric.len());
    analytic
        .iter()
        .zip(numeric)
        .map(|(&a, &n)| relative_error(a, n))
        .fold(0.0, f64::max)
}

/// Σ out ⊙ r: a scalar whose gradient w.r.t. the output is exactly `r`.
fn weighted_sum(out: ArrayView2<'_, f64>, r: &Array2<f64>) -> f64 {
    (&out * r).sum()
}

fn check_dense<A: ActivationFn<f64>>(activation: A) {
    const B: usize = 5;
    let rng = &mut StdRng::seed_from_u64(11);
    let mut dense = Dense::<f64, 4, 3, A>::new(
        activation,
        Init::XavierNormal,
        Init::Normal {
            mean: 0.0,
            std: 0.5,
        },
        rng,
    );
    let x = matrix(B, 4, 0.3);
    let r = matrix(B, 3, 2.1);
    dense.forward(x.view(), Mode::Train);
    dense.backward(x.view(), r.view(), true);

    let numeric_w = numeric_gradient(
        |w| {
            let mut d = dense.clone();
            d.weight.as_slice_mut().unwrap().copy_from_slice(w);
            d.forward(x.view(), Mode::Train);
            weighted_sum(d.output(), &r)
        },
        dense.weight.as_slice().unwrap(),
        EPS,
    );
    let numeric_b = numeric_gradient(
        |b| {
            let mut d = dense.clone();
            d.bias.as_slice_mut().unwrap().copy_from_slice(b);
            d.forward(x.view(), Mode::Train);
            weighted_sum(d.output(), &r)
        },
        dense.bias.as_slice().unwrap(),
        EPS,
    );
    let numeric_x = numeric_gradient(
        |xs| {
            let mut d = dense.clone();
            let x = ArrayView2::from_shape((B, 4), xs).unwrap();
            d.forward(x, Mode::Train);
            weighted_sum(d.output(), &r)
        },
        x.as_slice().unwrap(),
        EPS,
    );
    let name = A::NAME;
    let e = worst(dense.weight_grad.as_slice().unwrap(), &numeric_w);
    assert!(e < TOLERANCE, "dense {name} weight: {e}");
    let e = worst(dense.bias_grad.as_slice().unwrap(), &numeric_b);
    assert!(e < TOLERANCE, "dense {name} bias: {e}");
    let e = worst(
        dense.grad_input().as_standard_layout().as_slice().unwrap(),
        &numeric_x,
    );
    assert!(e < TOLERANCE, "dense {name} input: {e}");
    // The check has teeth: the gradients are not all zero (except through step).
    if name != "step" {
        assert!(
            dense.weight_grad.iter().any(|g| g.abs() > 1e-3),
            "{name}: trivial gradient"
        );
    }
}

#[test]
fn dense_with_each_activation() {
    check_dense(Identity);
    check_dense(Step);
    check_dense(Sigmoid);
    check_dense(Tanh);
    check_dense(Relu);
    check_dense(Softmax);
}

fn check_activation_layer<A: ActivationFn<f64>>(function: A, x: Array2<f64>) {
    let mut layer = Activation::<f64, A, 4>::new(function);
    let r = matrix(x.nrows(), 4, 0.9);
    layer.forward(x.view(), Mode::Train);
    layer.backward(x.view(), r.view(), true);
    let numeric = numeric_gradient(
        |xs| {
            let mut l = layer.clone();
            l.forward(ArrayView2::from_shape(x.dim(), xs).unwrap(), Mode::Train);
            weighted_sum(l.output(), &r)
        },
        x.as_slice().unwrap(),
        EPS,
    );
    let e = worst(
        layer.grad_input().as_standard_layout().as_slice().unwrap(),
        &numeric,
    );
    assert!(e < TOLERANCE, "activation {}: {e}", A::NAME);
}

#[test]
fn each_activation_layer_input_gradient() {
    // Entries of 3·sin(..) stay well away from relu's and step's kink at 0.
    let x = matrix(6, 4, 0.2).mapv(|v| 3.0 * v);
    assert!(x.iter().all(|v| v.abs() > 1e-3));
    check_activation_layer(Identity, x.clone());
    check_activation_layer(Step, x.clone());
    check_activation_layer(Sigmoid, x.clone());
    check_activation_layer(Tanh, x.clone());
    check_activation_layer(Relu, x.clone());
    check_activation_layer(Softmax, x);
}

fn check_loss<L: LossFn<f64>>(function: L, y: Array2<f64>, targets: TargetsView<'_, f64>) {
    let mut grad = Array2::zeros(y.dim());
    function
        .loss_and_grad(y.view(), targets, grad.view_mut())
        .unwrap();
    let numeric = numeric_gradient(
        |ys| {
            function
                .loss(ArrayView2::from_shape(y.dim(), ys).unwrap(), targets)
                .unwrap()
        },
        y.as_slice().unwrap(),
        EPS,
    );
    let e = worst(grad.as_slice().unwrap(), &numeric);
    assert!(e < TOLERANCE, "loss {}: {e}", L::NAME);
}

#[test]
fn losses_gradient_wrt_output() {
    let y = matrix(5, 3, 1.3).mapv(|v| 2.0 * v);
    check_loss(
        SoftmaxCrossEntropy,
        y.clone(),
        TargetsView::Labels(&[0, 2, 1, 1, 0]),
    );
    let t = matrix(5, 3, 4.0);
    check_loss(Mse, y, TargetsView::Values(t.view()));
}

type Classifier = Mlp<f64, 3, 5, 4, Tanh, SoftmaxCrossEntropy>;
type Regressor = Mlp<f64, 3, 6, 2, Sigmoid, Mse>;

#[test]
fn whole_models_every_parameter_and_input_several_batch_sizes() {
    for batch in [1, 3, 8] {
        let rng = &mut StdRng::seed_from_u64(batch as u64);
        let x = matrix(batch, 3, 0.5);
        let labels: Vec<usize> = (0..batch).map(|i| (i * 7) % 4).collect();
        let mut net = Classifier::new(Tanh, SoftmaxCrossEntropy, rng);
        let c = check_model(&mut net, x.view(), TargetsView::Labels(&labels), EPS).unwrap();
        assert_eq!(c.checked, 3 * 5 + 5 + 5 * 4 + 4);
        assert!(c.max_relative_error < TOLERANCE, "batch {batch}: {c:?}");
        let c = check_input_grad(&mut net, x.view(), TargetsView::Labels(&labels), EPS).unwrap();
        assert_eq!(c.checked, batch * 3);
        assert!(c.max_relative_error < TOLERANCE, "batch {batch}: {c:?}");

        let t = matrix(batch, 2, 3.3);
        let mut net = Regressor::new(Sigmoid, Mse, rng);
        let c = check_model(&mut net, x.view(), TargetsView::Values(t.view()), EPS).unwrap();
        assert!(c.max_relative_error < TOLERANCE, "batch {batch}: {c:?}");
        let c = check_input_grad(&mut net, x.view(), TargetsView::Values(t.view()), EPS).unwrap();
        assert!(c.max_relative_error < TOLERANCE, "batch {batch}: {c:?}");
    }
}

#[test]
fn check_model_restores_parameters() {
    let rng = &mut StdRng::seed_from_u64(5);
    let mut net = Classifier::new(Tanh, SoftmaxCrossEntropy, rng);
    let before = (net.fc1.weight.clone(), net.fc2.bias.clone());
    let x = matrix(2, 3, 0.1);
    check_model(&mut net, x.view(), TargetsView::Labels(&[1, 3]), EPS).unwrap();
    assert_eq!((net.fc1.weight.clone(), net.fc2.bias.clone()), before);
}

/// A model whose backward is subtly wrong (fc2's bias gradient off by 1%).
struct Broken(Classifier);

impl Model<f64> for Broken {
    fn name(&self) -> &'static str {
        "Broken"
    }
    fn input_width(&self) -> usize {
        3
    }
    fn output_width(&self) -> usize {
        4
    }
    fn forward(
        &mut self,
        x: ArrayView2<'_, f64>,
        mode: Mode,
    ) -> axonal::Result<ArrayView2<'_, f64>> {
        self.0.forward(x, mode)
    }
    fn output(&self) -> ArrayView2<'_, f64> {
        self.0.output()
    }
    fn loss(&mut self, targets: TargetsView<'_, f64>) -> axonal::Result<f64> {
        self.0.loss(targets)
    }
    fn backward_with(
        &mut self,
        x: ArrayView2<'_, f64>,
        g: Option<ArrayView2<'_, f64>>,
        input_grad: bool,
    ) -> axonal::Result<()> {
        self.0.backward_with(x, g, input_grad)?;
        self.0.fc2.bias_grad *= 1.01;
        Ok(())
    }
    fn input_grad(&self) -> ArrayView2<'_, f64> {
        self.0.input_grad()
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(axonal::Param<'_, f64>)) {
        self.0.visit_params(f)
    }
    fn predict(&self, x: ArrayView2<'_, f64>) -> axonal::Result<Array2<f64>> {
        self.0.predict(x)
    }
}

#[test]
fn check_model_catches_a_wrong_gradient() {
    let rng = &mut StdRng::seed_from_u64(5);
    let mut net = Broken(Classifier::new(Tanh, SoftmaxCrossEntropy, rng));
    let x = matrix(4, 3, 0.1);
    let c = check_model(&mut net, x.view(), TargetsView::Labels(&[1, 3, 0, 2]), EPS).unwrap();
    assert!(c.max_relative_error > 1e-3, "{c:?}");
    assert!(c.worst.starts_with("fc2.bias["), "{c:?}");
}

#[test]
fn model_errors_are_errors() {
    let rng = &mut StdRng::seed_from_u64(5);
    let mut net = Classifier::new(Tanh, SoftmaxCrossEntropy, rng);
    let wide = matrix(2, 4, 0.0);
    assert_eq!(
        net.forward(wide.view(), Mode::Train).err(),
        Some(Error::InputWidth {
            network: "Mlp",
            expected: 3,
            found: 4
        })
    );
    let x = matrix(2, 3, 0.0);
    net.forward(x.view(), Mode::Train).unwrap();
    assert!(matches!(
        net.loss(TargetsView::Labels(&[0, 4])),
        Err(Error::LabelOutOfRange { .. })
    ));
    let other = matrix(3, 3, 0.0);
    assert_eq!(
        net.backward(other.view()),
        Err(Error::BatchMismatch {
            network: "Mlp",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(net.param_count(), 3 * 5 + 5 + 5 * 4 + 4);
    let p = net.predict(x.view()).unwrap();
    for row in p.rows() {
        assert!(
            (row.sum() - 1.0).abs() < 1e-12,
            "predict applies softmax: {row}"
        );
    }
}
