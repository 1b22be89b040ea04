//! `fit` and `evaluate` through a hand-written model.

mod common;

use axonal::activation::{Identity, Tanh};
use axonal::init::Init;
use axonal::loss::{Mse, SoftmaxCrossEntropy};
use axonal::ndarray::{array, Array2};
use axonal::optim::{Optimizer, Sgd};
use axonal::{train, Dataset, Error, Fit, Model, Targets};
use common::{matrix, Mlp};
use rand::rngs::StdRng;
use rand::SeedableRng;

type Xor = Mlp<f64, 2, 8, 2, Tanh, SoftmaxCrossEntropy>;

fn xor() -> Dataset<f64> {
    let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    Dataset::new(x, Targets::Labels(vec![0, 1, 1, 0])).unwrap()
}

fn trained(seed: u64, data: &Dataset<f64>) -> (Xor, axonal::History) {
    let mut net = Xor::new(Tanh, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(1));
    let history = net
        .fit(
            data,
            &mut Sgd::new(0.5),
            Fit::epochs(300).batch(2).seed(seed).quiet(),
        )
        .unwrap();
    (net, history)
}

#[test]
fn learns_xor() {
    let data = xor();
    let (mut net, history) = trained(1, &data);
    assert_eq!(history.epochs.len(), 300);
    assert!(history.epochs[0].loss > 0.5, "{:?}", history.epochs[0]);
    assert!(history.final_loss().unwrap() < 0.05, "{:?}", history.last());
    assert_eq!(history.last().unwrap().accuracy, Some(1.0));
    let eval = net.evaluate(&data, 3).unwrap();
    assert_eq!(eval.accuracy, Some(1.0));
    assert!(eval.loss < 0.05);
}

#[test]
fn same_seed_bit_identical_different_seed_not() {
    let data = xor();
    let (a, ha) = trained(7, &data);
    let (b, hb) = trained(7, &data);
    let (c, _) = trained(8, &data);
    let losses = |h: &axonal::History| {
        h.epochs
            .iter()
            .map(|e| e.loss.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&ha), losses(&hb));
    assert_eq!(a.fc1.weight, b.fc1.weight);
    assert_eq!(a.fc2.bias, b.fc2.bias);
    assert_ne!(a.fc1.weight, c.fc1.weight);
}

#[test]
fn evaluate_known_values() {
    // Zero weights and biases: logits [0, 0] for every sample, so the loss is ln 2 each and
    // argmax picks class 0 (first on ties): 3 of 5 labels are 0.
    let mut net = Xor::new(Tanh, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(0));
    net.fc2.weight.fill(0.0);
    net.fc2.bias.fill(0.0);
    let x = matrix(5, 2, 0.0);
    let data = Dataset::new(x, Targets::Labels(vec![0, 1, 0, 1, 0])).unwrap();
    for batch in [1, 2, 5, 64] {
        let e = train::evaluate(&mut net, &data, batch).unwrap();
        assert!((e.loss - std::f64::consts::LN_2).abs() < 1e-15, "{e:?}");
        assert_eq!(e.accuracy, Some(0.6));
    }
}

#[test]
fn sgd_moves_against_the_gradient() {
    // One step of plain SGD on a single sample, checked by hand: w ← w − lr·g.
    let mut net =
        Mlp::<f64, 1, 1, 1, Identity, Mse>::new(Identity, Mse, &mut StdRng::seed_from_u64(0));
    let rng = &mut StdRng::seed_from_u64(0);
    net.fc1 = axonal::layers::Dense::new(Identity, Init::Values(&[2.0]), Init::Constant(0.0), rng);
    net.fc2 = axonal::layers::Dense::new(Identity, Init::Values(&[3.0]), Init::Constant(1.0), rng);
    // y = 3·(2·x) + 1 at x = 1 is 7; target 5: loss (7−5)² = 4, dL/dy = 4.
    // dL/dw2 = 4·h = 8, dL/db2 = 4, dL/dw1 = 4·3·x = 12, dL/db1 = 12.
    let data = Dataset::new(array![[1.0]], Targets::Values(array![[5.0]])).unwrap();
    let mut sgd = Sgd::new(0.1);
    let h = net.fit(&data, &mut sgd, Fit::epochs(1).quiet()).unwrap();
    assert_eq!(h.final_loss(), Some(4.0));
    assert!((net.fc2.weight[[0, 0]] - (3.0 - 0.8)).abs() < 1e-15);
    assert!((net.fc2.bias[0] - (1.0 - 0.4)).abs() < 1e-15);
    assert!((net.fc1.weight[[0, 0]] - (2.0 - 1.2)).abs() < 1e-15);
    assert!((net.fc1.bias[0] - (0.0 - 1.2)).abs() < 1e-15);
    assert_eq!(Optimizer::<f64>::learning_rate(&sgd), 0.1);
    Optimizer::<f64>::set_learning_rate(&mut sgd, 0.01);
    assert_eq!(sgd.lr, 0.01);
}

#[test]
fn fit_errors() {
    let data = xor();
    let mut net = Xor::new(Tanh, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(3));
    let mut sgd = Sgd::new(0.1);
    assert!(matches!(
        net.fit(&data, &mut sgd, Fit::epochs(0).quiet()),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        net.fit(&data, &mut sgd, Fit::epochs(1).batch(0).quiet()),
        Err(Error::Config(_))
    ));
    assert!(matches!(net.evaluate(&data, 0), Err(Error::Config(_))));

    let wide = Dataset::new(Array2::zeros((4, 3)), Targets::Labels(vec![0; 4])).unwrap();
    assert_eq!(
        net.fit(&wide, &mut sgd, Fit::epochs(1).quiet()).err(),
        Some(Error::InputWidth {
            network: "Mlp",
            expected: 2,
            found: 3
        })
    );
    let values = Dataset::new(
        Array2::zeros((4, 2)),
        Targets::Values(Array2::zeros((4, 3))), // softmax_ce takes one-hot rows, but 2 wide
    )
    .unwrap();
    assert!(matches!(
        net.fit(&values, &mut sgd, Fit::epochs(1).quiet()),
        Err(Error::TargetWidth { found: 3, .. })
    ));

    // A NaN in sample 5 (unshuffled, batches of 2): the loss turns NaN at epoch 1, step 3.
    let mut x = matrix(8, 2, 0.0);
    x[[5, 1]] = f64::NAN;
    let poisoned = Dataset::new(x, Targets::Labels(vec![0; 8])).unwrap();
    assert!(matches!(
        net.fit(
            &poisoned,
            &mut sgd,
            Fit::epochs(2).batch(2).shuffle(false).quiet()
        )
        .err(),
        Some(Error::Diverged {
            epoch: 1,
            step: 3,
            ..
        })
    ));
}

#[test]
fn fit_works_through_dyn_model() {
    let data = xor();
    let mut net = Xor::new(Tanh, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(3));
    let model: &mut dyn Model<f64> = &mut net;
    let optimizer: &mut dyn Optimizer<f64> = &mut Sgd::new(0.5);
    let h = train::fit(model, &data, optimizer, &Fit::epochs(2).quiet()).unwrap();
    assert_eq!(h.epochs.len(), 2);
}
