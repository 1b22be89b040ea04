//! Gradient checks through whole generated networks: every parameter, several
//! batch sizes, f64 central differences against the generated backward pass. Between them
//! the networks use every activation of the language (checked by
//! `every_activation_is_in_a_checked_network`) and every loss.

use axonal::gradcheck::{check_input_grad, check_model};
use axonal::ndarray::Array2;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Model, TargetsView};
use axonal_dsl::vocab::ACTIVATIONS;

axonal::network! {
    /// The classic activations, as dense attributes and as statements.
    Classifier {
        input 5;
        dense 7 tanh;
        dense 6 sigmoid;
        relu;
        dense 6 relu;
        tanh;
        sigmoid;
        dense 4;
        softmax_ce
    }

    /// A regression network with an explicit softmax before mse.
    Regressor {
        input 3;
        first: dense 3->5 tanh init=normal(0, 0.5) bias=0.1;
        dense 4 softmax;
        mse
    }

    /// Identity and a labelled layer.
    Linear { dense 3->2 identity; last: dense 2; mse }

    /// L2 penalties: part of the loss and of the weight gradients.
    Regularized { input 3; dense 4 tanh l2=0.05; dense 2 l2=0.5; mse }

    /// A step layer: derivative 0, so nothing before it gets a gradient, and the layer after
    /// it gets the gradient of its constant 0/1 inputs.
    Stepped { input 3; a: dense 4 tanh; b: dense 3 step; c: dense 2; mse }
}

fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.5..1.5))
}

const TOLERANCE: f64 = 1e-6;

#[test]
fn classifier_parameters_and_inputs() {
    let mut rng = StdRng::seed_from_u64(1);
    for batch in [1, 3, 8] {
        let mut net = Classifier::<f64>::new(&mut rng);
        let x = random(batch, 5, &mut rng);
        let labels: Vec<usize> = (0..batch).map(|i| (i * 3 + 1) % 4).collect();
        let report = check_model(&mut net, x.view(), TargetsView::Labels(&labels), 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch}: {report:?}"
        );
        assert_eq!(report.checked, Classifier::<f64>::PARAMS);
        let report =
            check_input_grad(&mut net, x.view(), TargetsView::Labels(&labels), 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch} input: {report:?}"
        );
    }
}

#[test]
fn regressor_parameters_and_inputs() {
    let mut rng = StdRng::seed_from_u64(2);
    for batch in [1, 2, 5] {
        let mut net = Regressor::<f64>::new(&mut rng);
        let x = random(batch, 3, &mut rng);
        let t = random(batch, 4, &mut rng);
        let report = check_model(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch}: {report:?}"
        );
        assert_eq!(report.checked, Regressor::<f64>::PARAMS);
        let report =
            check_input_grad(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch} input: {report:?}"
        );
    }
}

#[test]
fn linear_network_and_checkpoint_names() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = Linear::<f64>::new(&mut rng);
    let x = random(4, 3, &mut rng);
    let t = random(4, 2, &mut rng);
    let report = check_model(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5).unwrap();
    assert!(report.max_relative_error < TOLERANCE, "{report:?}");

    let mut names = Vec::new();
    net.visit_params(&mut |p| names.push((p.full_name(), p.shape.to_vec())));
    assert_eq!(
        names,
        [
            ("dense0.weight".to_string(), vec![2, 3]),
            ("dense0.bias".to_string(), vec![2]),
            ("last.weight".to_string(), vec![2, 2]),
            ("last.bias".to_string(), vec![2]),
        ]
    );
}

#[test]
fn l2_penalties_are_in_the_loss_and_the_gradients() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = Regularized::<f64>::new(&mut rng);
    let x = random(4, 3, &mut rng);
    let t = random(4, 2, &mut rng);
    let report = check_model(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5).unwrap();
    assert!(report.max_relative_error < TOLERANCE, "{report:?}");
    // The penalty is really there: the loss exceeds the data term by λ·Σ W².
    net.forward_train(x.view()).unwrap();
    let total = net.loss(TargetsView::Values(t.view())).unwrap();
    let data_only = net
        .loss
        .forward(net.dense1.output(), TargetsView::Values(t.view()))
        .unwrap();
    let penalty = 0.05 * net.dense0.weight.iter().map(|w| w * w).sum::<f64>()
        + 0.5 * net.dense1.weight.iter().map(|w| w * w).sum::<f64>();
    assert!(
        (total - data_only - penalty).abs() < 1e-12,
        "{total} {data_only} {penalty}"
    );
}

#[test]
fn a_step_layer_passes_no_gradient_back() {
    let mut rng = StdRng::seed_from_u64(4);
    for batch in [1, 6] {
        let mut net = Stepped::<f64>::new(&mut rng);
        let x = random(batch, 3, &mut rng);
        let t = random(batch, 2, &mut rng);
        let targets = TargetsView::Values(t.view());
        let report = check_model(&mut net, x.view(), targets, 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch}: {report:?}"
        );
        assert_eq!(report.checked, Stepped::<f64>::PARAMS);
        // Nothing reaches the layers before the step: their gradients are exactly zero.
        net.forward_train(x.view()).unwrap();
        net.loss(targets).unwrap();
        net.backward(x.view()).unwrap();
        let before_step = (net.a.weight_grad.iter()).chain(net.a.bias_grad.iter());
        let before_step = before_step.chain(net.b.weight_grad.iter().chain(net.b.bias_grad.iter()));
        assert!(before_step.copied().all(|g| g == 0.0));
        assert!(net.c.bias_grad.iter().any(|&g| g != 0.0));
    }
}

/// Every activation of the language (an alias counts for the activation it names) appears
/// in one of this file's gradient-checked networks: read from the file's own text.
#[test]
fn every_activation_is_in_a_checked_network() {
    let source = include_str!("gradcheck.rs");
    let mut words = std::collections::BTreeSet::new();
    // Split on the macro's name written in two parts, so that this line is no match.
    for block in source.split(concat!("axonal::", "network! {")).skip(1) {
        let end = block
            .find("\n}\n")
            .expect("a network! block ends in a line `}`");
        for line in block[..end].lines() {
            let code = line.split("//").next().unwrap_or_default();
            words.extend(
                code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty()),
            );
        }
    }
    let missing: Vec<&str> = ACTIVATIONS
        .iter()
        .filter(|w| {
            !ACTIVATIONS
                .iter()
                .any(|u| words.contains(u.name) && (u.make)(0.5) == (w.make)(0.5))
        })
        .map(|w| w.name)
        .collect();
    assert!(missing.is_empty(), "not in a checked network: {missing:?}");
}

#[test]
fn a_wrong_gradient_is_caught() {
    // The checker itself must be able to fail: corrupt one gradient and expect a large error.
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = Linear::<f64>::new(&mut rng);
    let x = random(3, 3, &mut rng);
    let t = random(3, 2, &mut rng);
    net.forward_train(x.view()).unwrap();
    net.loss(TargetsView::Values(t.view())).unwrap();
    net.backward(x.view()).unwrap();
    let analytic = net.last.weight_grad[[0, 1]];
    let eps = 1e-6;
    let mut loss_at = |delta: f64| {
        net.last.weight[[0, 1]] += delta;
        net.forward_train(x.view()).unwrap();
        let l = net.loss(TargetsView::Values(t.view())).unwrap();
        net.last.weight[[0, 1]] -= delta;
        l
    };
    let numeric = (loss_at(eps) - loss_at(-eps)) / (2.0 * eps);
    assert!((analytic - numeric).abs() < 1e-8, "{analytic} vs {numeric}");
    assert!(axonal::gradcheck::relative_error(analytic * 1.01, numeric) > 1e-3);
}

axonal::network! {
    /// Every layer kind, and the activations beyond the classic ones, in one network.
    Catalogue {
        input 6;
        fc1: dense 8 leaky_relu 0.1;
        bn: batchnorm momentum=0.2 eps=1e-3;
        drop: dropout 0.3;
        mx: maxout 5 k=3;
        elu 0.7;
        dense 6 selu;
        gelu; gelu_tanh; silu; softplus; mish;
        dense 6 hard_sigmoid init=normal(0, 0.3);
        dense 5 tanh;
        log_softmax;
        dense 4;
        softmax_ce
    }
}

#[test]
fn every_layer_and_activation_in_one_network() {
    let mut rng = StdRng::seed_from_u64(5);
    for batch in [2, 7] {
        let mut net = Catalogue::<f64>::new(&mut rng);
        let x = random(batch, 6, &mut rng);
        let labels: Vec<usize> = (0..batch).map(|i| i % 4).collect();
        // Draw a dropout mask once, then keep it for every finite-difference evaluation.
        net.forward_train(x.view()).unwrap();
        net.drop.freeze_mask(true);
        let report = check_model(&mut net, x.view(), TargetsView::Labels(&labels), 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch}: {report:?}"
        );
        assert_eq!(report.checked, Catalogue::<f64>::PARAMS);
        let report =
            check_input_grad(&mut net, x.view(), TargetsView::Labels(&labels), 1e-5).unwrap();
        assert!(
            report.max_relative_error < TOLERANCE,
            "batch {batch} input: {report:?}"
        );
    }
}

/// One small network per loss; `$targets` builds targets for a batch from the rng.
macro_rules! loss_gradchecks {
    ($($name:ident: $targets:expr;)*) => {
        #[test]
        fn every_loss_through_a_generated_network() {
            let mut rng = StdRng::seed_from_u64(6);
            $({
                let mut net = $name::<f64>::new(&mut rng);
                let x = random(5, 3, &mut rng);
                let make: fn(&mut StdRng) -> Targets = $targets;
                let targets = make(&mut rng);
                let report = check_model(&mut net, x.view(), targets.view(), 1e-5).unwrap();
                assert!(
                    report.max_relative_error < TOLERANCE,
                    "{}: {report:?}",
                    stringify!($name)
                );
            })*
        }
    };
}

type Targets = axonal::Targets<f64>;

fn labels(classes: usize) -> impl Fn(&mut StdRng) -> Targets {
    move |rng| Targets::Labels((0..5).map(|_| rng.random_range(0..classes)).collect())
}

fn values(width: usize, low: f64, high: f64) -> impl Fn(&mut StdRng) -> Targets {
    move |rng| {
        Targets::Values(Array2::from_shape_fn((5, width), |_| {
            rng.random_range(low..high)
        }))
    }
}

fn one_hot(rng: &mut StdRng) -> Targets {
    let labels: Vec<usize> = (0..5).map(|_| rng.random_range(0..3)).collect();
    Targets::one_hot(&labels, 3).unwrap()
}

/// Targets in {−1, 1}, `width` per sample.
fn signs(width: usize) -> impl Fn(&mut StdRng) -> Targets {
    move |rng| {
        Targets::Values(Array2::from_shape_fn((5, width), |_| {
            if rng.random::<bool>() {
                1.0
            } else {
                -1.0
            }
        }))
    }
}

/// Targets in {0, 1}, `width` per sample (the hinge losses convert them to ±1).
fn bits(width: usize) -> impl Fn(&mut StdRng) -> Targets {
    move |rng| {
        Targets::Values(Array2::from_shape_fn((5, width), |_| {
            f64::from(u8::from(rng.random::<bool>()))
        }))
    }
}

axonal::network! {
    SoftmaxCe { input 3; dense 3; softmax_ce }
    MulticlassHinge { input 3; dense 3; multiclass_hinge margin=0.5 }
    Sparse { input 3; dense 3; sparse_categorical_crossentropy from_logits=true reduction=sum }
    CrossEntropy { input 3; dense 3 softmax; cross_entropy }
    Categorical { input 3; dense 3; softmax; categorical_crossentropy }
    Mse { input 3; dense 2; mse }
    SseHalf { input 3; dense 2; sse_half }
    Mae { input 3; dense 2; mae }
    Mape { input 3; dense 2; mape }
    Msle { input 3; dense 2 sigmoid; msle }
    Poisson { input 3; dense 2 softplus; poisson }
    Kld { input 3; dense 3 softmax; kl_divergence }
    Cosine { input 3; dense 3; cosine_similarity }
    Huber { input 3; dense 2; huber delta=0.3 }
    LogCosh { input 3; dense 2; log_cosh reduction=none }
    Bce { input 3; dense 1 sigmoid; bce }
    BceLogits { input 3; dense 1; binary_crossentropy from_logits=true }
    MultiLabel { input 3; dense 4 sigmoid; binary_crossentropy }
    MultiLabelLogits { input 3; dense 4; bce from_logits=true reduction=sum }
    Hinge { input 3; dense 1; hinge }
    SquaredHinge { input 3; dense 1; squared_hinge }
    WideHinge { input 3; dense 4 tanh; hinge }
    WideHingeBinary { input 3; dense 4; hinge }
    WideSquaredHinge { input 3; dense 4; squared_hinge reduction=none }
    CategoricalHinge { input 3; dense 3; categorical_hinge }
}

loss_gradchecks! {
    SoftmaxCe: |rng| labels(3)(rng);
    MulticlassHinge: |rng| labels(3)(rng);
    Sparse: |rng| labels(3)(rng);
    CrossEntropy: one_hot;
    Categorical: one_hot;
    Mse: |rng| values(2, -1.0, 1.0)(rng);
    SseHalf: |rng| values(2, -1.0, 1.0)(rng);
    Mae: |rng| values(2, 2.0, 3.0)(rng);
    Mape: |rng| values(2, 2.0, 3.0)(rng);
    Msle: |rng| values(2, 0.0, 1.0)(rng);
    Poisson: |rng| values(2, 0.0, 3.0)(rng);
    Kld: one_hot;
    Cosine: |rng| values(3, -1.0, 1.0)(rng);
    Huber: |rng| values(2, -1.0, 1.0)(rng);
    LogCosh: |rng| values(2, -1.0, 1.0)(rng);
    Bce: |rng| values(1, 0.0, 1.0)(rng);
    BceLogits: |rng| values(1, 0.0, 1.0)(rng);
    MultiLabel: |rng| values(4, 0.0, 1.0)(rng);
    MultiLabelLogits: |rng| bits(4)(rng);
    Hinge: |rng| signs(1)(rng);
    SquaredHinge: |rng| signs(1)(rng);
    WideHinge: |rng| signs(4)(rng);
    WideHingeBinary: |rng| bits(4)(rng);
    WideSquaredHinge: |rng| signs(4)(rng);
    CategoricalHinge: one_hot;
}
