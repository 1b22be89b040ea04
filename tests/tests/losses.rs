//! Losses through generated networks: the course's worked example, and fused
//! output activations agreeing with the unfused computation.

use axonal::activation::{ActivationFn, Sigmoid, Softmax};
use axonal::loss::{BinaryCrossentropy, CategoricalCrossentropy, Loss};
use axonal::ndarray::{array, Array2};
use axonal::{Mode, Model, TargetsView};

axonal::network! {
    SvmScores { input 3; identity; multiclass_hinge reduction=none }
    CeScores { input 3; identity; softmax_ce }
    /// Fused: trains on the logits of the last dense layer.
    Categorical { input 4; dense 3 softmax; categorical_crossentropy }
    /// Fused: trains on the logit of the last dense layer.
    Binary { input 4; dense 1; sigmoid; binary_crossentropy }
}

#[test]
fn the_course_worked_example() {
    let scores = array![[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]];
    let labels = [0, 1, 2];
    let mut svm = SvmScores::<f64>::seeded(0);
    svm.forward(scores.view(), Mode::Eval).unwrap();
    let sum = svm.loss(TargetsView::Labels(&labels)).unwrap();
    let per_sample = svm.loss.per_sample().to_vec();
    for (got, want) in per_sample.iter().zip([2.9, 0.0, 12.9]) {
        assert!((got - want).abs() < 1e-12, "{per_sample:?}");
    }
    assert!((sum / 3.0 - 5.266_666_666_666_667).abs() < 1e-12, "{sum}");

    let mut ce = CeScores::<f64>::seeded(0);
    ce.forward(scores.slice(axonal::ndarray::s![0..1, ..]), Mode::Eval)
        .unwrap();
    let first = ce.loss(TargetsView::Labels(&labels[..1])).unwrap();
    // −ln(e^3.2 / (e^3.2 + e^5.1 + e^−1.7)), computed by hand.
    let by_hand = -(3.2f64.exp() / (3.2f64.exp() + 5.1f64.exp() + (-1.7f64).exp())).ln();
    assert!((first - by_hand).abs() < 1e-12);
    assert!((first - 2.04).abs() < 0.005, "{first}");
    assert!((first / std::f64::consts::LN_10 - 0.89).abs() < 0.005);
}

/// Loss and d loss / d logits of a probability loss after an activation, unfused.
fn unfused<A: ActivationFn<f64>, L: axonal::loss::LossFn<f64>, const N: usize>(
    activation: A,
    loss: L,
    logits: &Array2<f64>,
    targets: TargetsView<'_, f64>,
) -> (f64, Array2<f64>) {
    let mut probs = Array2::zeros(logits.dim());
    activation.forward(logits.view(), probs.view_mut());
    let mut criterion = Loss::<f64, L, N>::new(loss);
    let value = criterion.forward(probs.view(), targets).unwrap();
    let mut grad_logits = Array2::zeros(logits.dim());
    activation.backward(
        logits.view(),
        probs.view(),
        criterion.grad_input(),
        grad_logits.view_mut(),
    );
    (value, grad_logits)
}

fn assert_close(a: &Array2<f64>, b: &Array2<f64>) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 + 1e-9 * y.abs(), "{a} vs {b}");
    }
}

#[test]
fn fused_softmax_cross_entropy_agrees_with_unfused() {
    let mut net = Categorical::<f64>::seeded(3);
    let x = array![[0.5, -1.0, 2.0, 0.1], [1.5, 0.3, -0.7, 0.0]];
    let one_hot = array![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let logits = net.forward(x.view(), Mode::Train).unwrap().to_owned();
    let fused = net.loss(TargetsView::Values(one_hot.view())).unwrap();
    let (value, grad) = unfused::<_, _, 3>(
        Softmax,
        CategoricalCrossentropy { from_logits: false },
        &logits,
        TargetsView::Values(one_hot.view()),
    );
    assert!((fused - value).abs() < 1e-12, "{fused} vs {value}");
    assert_close(&net.loss.grad_input().to_owned(), &grad);
    // predict still gives probabilities.
    let p = net.predict(x.view()).unwrap();
    assert!((p.row(0).sum() - 1.0).abs() < 1e-12);
}

#[test]
fn fused_sigmoid_binary_cross_entropy_agrees_with_unfused() {
    let mut net = Binary::<f64>::seeded(4);
    let x = array![
        [0.5, -1.0, 2.0, 0.1],
        [1.5, 0.3, -0.7, 0.0],
        [0.0, 0.0, 0.2, 0.9]
    ];
    let t = array![[1.0], [0.0], [1.0]];
    let logits = net.forward(x.view(), Mode::Train).unwrap().to_owned();
    let fused = net.loss(TargetsView::Values(t.view())).unwrap();
    let (value, grad) = unfused::<_, _, 1>(
        Sigmoid,
        BinaryCrossentropy { from_logits: false },
        &logits,
        TargetsView::Values(t.view()),
    );
    assert!((fused - value).abs() < 1e-9, "{fused} vs {value}");
    assert_close(&net.loss.grad_input().to_owned(), &grad);
    let p = net.predict(x.view()).unwrap();
    assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)));
}
