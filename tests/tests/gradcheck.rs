//! Gradient checks through whole generated networks: every parameter, several
//! batch sizes, f64 central differences against the generated backward pass.

use axonal::gradcheck::{check_input_grad, check_model};
use axonal::ndarray::Array2;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Model, TargetsView};

axonal::network! {
    /// Every activation of the runtime, as dense attributes and as statements.
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
