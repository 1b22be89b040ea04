//! Unit tests of the loss layer and the target checks; the numerical reference tests of
//! every loss are in `tests/losses_reference.rs`.

use super::*;
use ndarray::array;

#[test]
fn softmax_ce_known_value() {
    // −ln softmax([3.2, 5.1, −1.7])₀ = ln(e^3.2 + e^5.1 + e^−1.7) − 3.2 = 2.0403551528
    // (torch.nn.functional.cross_entropy gives the same).
    let y = array![[3.2f64, 5.1, -1.7]];
    let loss = SoftmaxCrossEntropy
        .loss(y.view(), TargetsView::Labels(&[0]))
        .unwrap();
    assert!((loss - 2.040_355_152_800_170_7).abs() < 1e-12, "{loss}");
    // Mean over the batch: a second, identical sample leaves it unchanged; label 1 adds
    // ln(Σ) − 5.1 = 0.1403551528.
    let y2 = array![[3.2f64, 5.1, -1.7], [3.2, 5.1, -1.7]];
    let loss = SoftmaxCrossEntropy
        .loss(y2.view(), TargetsView::Labels(&[0, 1]))
        .unwrap();
    assert!((loss - (2.040_355_152_800_170_7 + 0.140_355_152_800_170_7) / 2.0).abs() < 1e-12);
}

#[test]
fn softmax_ce_is_finite_for_huge_logits() {
    let y = array![[1e4f64, -1e4], [-1e4, 1e4]];
    let mut grad = Array2::zeros((2, 2));
    let loss = SoftmaxCrossEntropy
        .loss_and_grad(y.view(), TargetsView::Labels(&[1, 1]), grad.view_mut())
        .unwrap();
    // Sample 0 is wrong by 2e4 nats, sample 1 right: mean 1e4.
    assert_eq!(loss, 1e4);
    assert!(grad.iter().all(|g| g.is_finite()));
    assert_eq!(grad, array![[0.5, -0.5], [0.0, 0.0]]);
    let y32 = array![[1e4f32, -1e4]];
    let loss32 = SoftmaxCrossEntropy
        .loss(y32.view(), TargetsView::Labels(&[0]))
        .unwrap();
    assert_eq!(loss32, 0.0);
}

#[test]
fn mse_known_value_and_gradient() {
    // torch.nn.MSELoss()(y, t): ((1)² + 0² + (−2)² + 3²) / 4 = 3.5
    let y = array![[1.0, 2.0], [3.0, 4.0]];
    let t = array![[0.0, 2.0], [5.0, 1.0]];
    let mut grad = Array2::zeros((2, 2));
    let loss = Mse
        .loss_and_grad(y.view(), TargetsView::Values(t.view()), grad.view_mut())
        .unwrap();
    assert_eq!(loss, 3.5);
    assert_eq!(grad, array![[0.5, 0.0], [-1.0, 1.5]]);
}

#[test]
fn target_errors_are_errors() {
    let y = array![[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]];
    let values = array![[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]];
    let ce = |t| SoftmaxCrossEntropy.loss(y.view(), t);
    let mse = |t| Mse.loss(y.view(), t);
    // softmax_ce takes labels or rows (one-hot, probabilities); multiclass_hinge only labels.
    assert!(ce(TargetsView::Values(values.view())).is_ok());
    assert_eq!(
        MulticlassHinge { margin: 1.0 }.loss(y.view(), TargetsView::Values(values.view())),
        Err(Error::TargetKind {
            loss: "multiclass_hinge",
            expected: TargetKind::Labels,
            found: TargetKind::Values
        })
    );
    assert_eq!(
        mse(TargetsView::Labels(&[0, 1])),
        Err(Error::TargetKind {
            loss: "mse",
            expected: TargetKind::Values,
            found: TargetKind::Labels
        })
    );
    assert_eq!(
        ce(TargetsView::Labels(&[0])),
        Err(Error::CountMismatch {
            inputs: 2,
            targets: 1
        })
    );
    assert_eq!(
        mse(TargetsView::Values(values.slice(ndarray::s![..1, ..]))),
        Err(Error::CountMismatch {
            inputs: 2,
            targets: 1
        })
    );
    assert_eq!(
        mse(TargetsView::Values(values.slice(ndarray::s![.., ..2]))),
        Err(Error::TargetWidth {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        ce(TargetsView::Labels(&[2, 3])),
        Err(Error::LabelOutOfRange {
            index: 1,
            label: 3,
            classes: 3
        })
    );
    let mut layer = Loss::<f64, SoftmaxCrossEntropy, 3>::new(SoftmaxCrossEntropy);
    assert!(layer
        .forward(y.view(), TargetsView::Labels(&[0, 7]))
        .is_err());
}

#[test]
fn error_messages_say_expected_and_found() {
    let e = Error::LabelOutOfRange {
        index: 4,
        label: 10,
        classes: 10,
    };
    assert_eq!(
        e.to_string(),
        "label 10 of sample 4 is out of range: the network has 10 classes (labels 0..10)"
    );
    let e = Error::TargetKind {
        loss: "mse",
        expected: TargetKind::Values,
        found: TargetKind::Labels,
    };
    assert_eq!(
        e.to_string(),
        "loss `mse` needs real-valued targets, but was given integer class labels"
    );
}

#[test]
fn loss_layer_links_predictions() {
    let layer = Loss::<f64, SoftmaxCrossEntropy, 2>::new(SoftmaxCrossEntropy);
    let p = layer.link(array![[0.0, 0.0], [1000.0, -1000.0]]);
    assert_eq!(p, array![[0.5, 0.5], [1.0, 0.0]]);
    let layer = Loss::<f64, Mse, 2>::new(Mse);
    assert_eq!(layer.link(array![[3.0, -4.0]]), array![[3.0, -4.0]]);
}

#[test]
fn softmax_ce_accepts_one_hot_and_probability_targets() {
    let y = array![[3.2f64, 5.1, -1.7], [1.3, 4.9, 2.0]];
    let one_hot = array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    let by_label = SoftmaxCrossEntropy
        .loss(y.view(), TargetsView::Labels(&[0, 1]))
        .unwrap();
    let by_row = SoftmaxCrossEntropy
        .loss(y.view(), TargetsView::Values(one_hot.view()))
        .unwrap();
    assert!((by_label - by_row).abs() < 1e-15, "{by_label} vs {by_row}");
    // A soft target (½, ½, 0) on the first sample: ½ (lse − 3.2) + ½ (lse − 5.1).
    let soft = array![[0.5, 0.5, 0.0]];
    let loss = SoftmaxCrossEntropy
        .loss(
            y.slice(ndarray::s![..1, ..]),
            TargetsView::Values(soft.view()),
        )
        .unwrap();
    assert!((loss - (2.040_355_152_800_170_7 + 0.140_355_152_800_170_7) / 2.0).abs() < 1e-12);
}

#[test]
fn reductions_mean_sum_none() {
    let y = array![[3.2f64, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]];
    let labels = [0, 1, 2];
    let hinge = MulticlassHinge { margin: 1.0 };
    let mut mean = Loss::<f64, _, 3>::new(hinge);
    let mut sum = Loss::<f64, _, 3>::with_reduction(hinge, Reduction::Sum);
    let mut none = Loss::<f64, _, 3>::with_reduction(hinge, Reduction::None);
    let m = mean
        .forward(y.view(), TargetsView::Labels(&labels))
        .unwrap();
    let s = sum.forward(y.view(), TargetsView::Labels(&labels)).unwrap();
    let n = none
        .forward(y.view(), TargetsView::Labels(&labels))
        .unwrap();
    assert!((m - 15.8 / 3.0).abs() < 1e-12, "{m}");
    assert!(
        (s - 15.8).abs() < 1e-12 && (n - 15.8).abs() < 1e-12,
        "{s} {n}"
    );
    for layer in [&mean, &sum, &none] {
        let p = layer.per_sample();
        assert!(
            (p[0] - 2.9).abs() < 1e-12 && p[1] == 0.0 && (p[2] - 12.9).abs() < 1e-12,
            "{p}"
        );
    }
    assert_eq!(sum.grad_input(), none.grad_input());
    assert_eq!(mean.grad_input().mapv(|g| g * 3.0), sum.grad_input());
    // Sample 0 violates the margin at car only: +1 on car, −1 on cat.
    assert_eq!(sum.grad_input().row(0).to_vec(), vec![-1.0, 1.0, 0.0]);
    assert_eq!(Reduction::default(), Reduction::Mean);
}

#[test]
fn loss_layer_reuses_its_buffers() {
    let mut layer = Loss::<f64, Mse, 2>::new(Mse);
    let y = ndarray::Array2::from_elem((4, 2), 1.0);
    let t = ndarray::Array2::from_elem((4, 2), 0.5);
    layer
        .forward(y.view(), TargetsView::Values(t.view()))
        .unwrap();
    let (g, p) = (layer.grad_input().as_ptr(), layer.per_sample().as_ptr());
    layer
        .forward(
            y.slice(ndarray::s![..3, ..]),
            TargetsView::Values(t.slice(ndarray::s![..3, ..])),
        )
        .unwrap();
    assert_eq!(layer.per_sample().len(), 3);
    assert_eq!(
        (layer.grad_input().as_ptr(), layer.per_sample().as_ptr()),
        (g, p)
    );
}

#[test]
fn every_loss_names_its_accepted_targets() {
    use TargetKind::{Labels, Values};
    fn kinds<L: LossFn<f64>>(_: L) -> &'static [TargetKind] {
        L::TARGETS
    }
    assert_eq!(kinds(SoftmaxCrossEntropy), &[Labels, Values]);
    assert_eq!(kinds(CrossEntropy), &[Labels, Values]);
    assert_eq!(kinds(MulticlassHinge::default()), &[Labels]);
    assert_eq!(kinds(SparseCategoricalCrossentropy::default()), &[Labels]);
    assert_eq!(kinds(CategoricalCrossentropy::default()), &[Values]);
    assert!(<Hinge as LossFn<f64>>::accepts(Values));
    assert!(!<Hinge as LossFn<f64>>::accepts(Labels));
    let y = array![[0.1f64, 0.9]];
    assert_eq!(
        SparseCategoricalCrossentropy::default().loss(y.view(), TargetsView::Values(y.view())),
        Err(Error::TargetKind {
            loss: "sparse_categorical_crossentropy",
            expected: Labels,
            found: Values
        })
    );
    assert_eq!(
        CategoricalCrossentropy::default().loss(y.view(), TargetsView::Labels(&[1])),
        Err(Error::TargetKind {
            loss: "categorical_crossentropy",
            expected: Values,
            found: Labels
        })
    );
    let empty = ndarray::Array2::<f64>::zeros((0, 2));
    assert_eq!(
        Hinge.loss(empty.view(), TargetsView::Values(empty.view())),
        Err(Error::EmptyBatch)
    );
}

#[test]
fn links_per_loss() {
    let y = array![[0.0f64, 0.0]];
    let link = |f: &dyn Fn(ndarray::ArrayViewMut2<'_, f64>)| {
        let mut y = y.clone();
        f(y.view_mut());
        y
    };
    let softmax = array![[0.5, 0.5]];
    assert_eq!(
        link(&|y| CategoricalCrossentropy { from_logits: true }.link(y)),
        softmax
    );
    assert_eq!(
        link(&|y| SparseCategoricalCrossentropy { from_logits: true }.link(y)),
        softmax
    );
    assert_eq!(
        link(&|y| BinaryCrossentropy { from_logits: true }.link(y)),
        softmax
    );
    assert_eq!(
        link(&|y| BinaryCrossentropy { from_logits: false }.link(y)),
        y
    );
    assert_eq!(
        link(&|y| CategoricalCrossentropy { from_logits: false }.link(y)),
        y
    );
    assert_eq!(link(&|y| LossFn::<f64>::link(&Huber { delta: 1.0 }, y)), y);
}

/// The one-pass value and gradient of the losses on logits (what the `Loss` layer runs) agree
/// with the separate `losses` and `grads` (what the reference tests check against PyTorch and
/// Keras), for labels and probability rows, huge logits, −∞ logits and non-contiguous rows.
#[test]
fn fused_logits_losses_match_the_separate_passes() {
    fn check<L: LossFn<f64>>(loss: L, y: ArrayView2<'_, f64>, t: TargetsView<'_, f64>) {
        let n = y.nrows();
        let (mut losses, mut grads) = (Array1::zeros(n), Array2::zeros(y.raw_dim()));
        loss.losses(y, t, losses.view_mut());
        loss.grads(y, t, grads.view_mut());
        let (mut fused, mut fused_grads) = (Array1::zeros(n), Array2::zeros(y.raw_dim()));
        loss.losses_and_grads(y, t, fused.view_mut(), fused_grads.view_mut());
        let close = |a: f64, b: f64| {
            a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-14 * a.abs().max(b.abs())
        };
        for (a, b) in losses.iter().zip(&fused) {
            assert!(close(*a, *b), "{}: loss {a} vs fused {b}", L::NAME);
        }
        for (a, b) in grads.iter().zip(&fused_grads) {
            assert!(close(*a, *b), "{}: gradient {a} vs fused {b}", L::NAME);
        }
    }
    let y = array![
        [3.2, 5.1, -1.7, 0.0],
        [1e4, -1e4, 0.5, 2.0],
        [f64::NEG_INFINITY, 1.0, 2.0, -3.0],
        [-0.3, -0.3, -0.3, -0.3]
    ];
    let labels = [1, 0, 3, 2];
    let probs = array![
        [0.0, 1.0, 0.0, 0.0],
        [0.25, 0.25, 0.5, 0.5],
        [0.0, 0.1, 0.2, 0.7],
        [0.4, 0.3, 0.2, 0.1]
    ];
    let transposed = y.t().to_owned();
    for y in [y.view(), transposed.t()] {
        check(SoftmaxCrossEntropy, y, TargetsView::Labels(&labels));
        check(SoftmaxCrossEntropy, y, TargetsView::Values(probs.view()));
        let logits = CategoricalCrossentropy { from_logits: true };
        check(logits, y, TargetsView::Values(probs.view()));
        let sparse = SparseCategoricalCrossentropy { from_logits: true };
        check(sparse, y, TargetsView::Labels(&labels));
        let on_probs = SparseCategoricalCrossentropy { from_logits: false };
        check(on_probs, probs.view(), TargetsView::Labels(&labels));
    }
}
