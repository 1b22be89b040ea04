//! Every loss against PyTorch / Keras reference values (fixtures/losses.json, written by
//! fixtures/losses.py) in f64: per-sample losses, the mean and sum reductions and their
//! gradients, to 1e-9 relative; f64 central-difference gradient checks; finiteness at logits of
//! ±1e4 and probabilities of 0 and 1; the course's worked example; fused against unfused forms.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axonal::activation::{ActivationFn, Sigmoid, Softmax};
use axonal::gradcheck::{numeric_gradient, relative_error};
use axonal::loss::{
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, CrossEntropy,
    Hinge, Huber, KlDivergence, LogCosh, Loss, LossFn, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Mse, MulticlassHinge, Poisson,
    Reduction, SoftmaxCrossEntropy, SparseCategoricalCrossentropy, SquaredHinge, SseHalf,
};
use axonal::ndarray::{array, Array2, ArrayView2};
use axonal::{Float, TargetsView};
use serde_json::Value;

/// Agreement with the frameworks, relative, in f64.
const REFERENCE_TOLERANCE: f64 = 1e-9;
/// Central differences: step and relative error bound (as in tests/gradients.rs).
const EPS: f64 = 1e-5;
const GRADCHECK_TOLERANCE: f64 = 1e-6;
/// Every fixture case has outputs of this width.
const WIDTH: usize = 3;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/losses.json");
    let text =
        std::fs::read_to_string(path).expect("fixtures/losses.json (run fixtures/losses.py)");
    serde_json::from_str(&text).unwrap()
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (r, c) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((r, c), rows.concat()).unwrap()
}

fn vector(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

/// |a − b| / max(|a|, |b|), 0 when equal (exact zeros must match exactly).
fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// The worst relative error seen per loss, printed by `every_loss_matches_its_framework`.
static WORST: Mutex<BTreeMap<String, (f64, f64)>> = Mutex::new(BTreeMap::new());

/// A case's targets, owned.
enum Owned {
    Labels(Vec<usize>),
    Values(Array2<f64>),
}

impl Owned {
    fn of(case: &Value) -> Self {
        match case.get("labels") {
            Some(l) => Owned::Labels(serde_json::from_value(l.clone()).unwrap()),
            None => Owned::Values(matrix(&case["values"])),
        }
    }

    fn view(&self) -> TargetsView<'_, f64> {
        match self {
            Owned::Labels(l) => TargetsView::Labels(l),
            Owned::Values(v) => TargetsView::Values(v.view()),
        }
    }

    fn to_f32(&self) -> Owned32 {
        match self {
            Owned::Labels(l) => Owned32::Labels(l.clone()),
            Owned::Values(v) => Owned32::Values(v.mapv(|x| x as f32)),
        }
    }
}

enum Owned32 {
    Labels(Vec<usize>),
    Values(Array2<f32>),
}

impl Owned32 {
    fn view(&self) -> TargetsView<'_, f32> {
        match self {
            Owned32::Labels(l) => TargetsView::Labels(l),
            Owned32::Values(v) => TargetsView::Values(v.view()),
        }
    }
}

/// Checks one fixture case against `function` (f64): values, per-sample losses and gradients
/// for both reductions; a gradient check; and finiteness (also in f32) for extreme cases.
fn check_case<L: LossFn<f64> + LossFn<f32>>(case: &Value, function: L) {
    let name = case["name"].as_str().unwrap();
    let y = matrix(&case["y"]);
    let targets = Owned::of(case);
    let mut worst_value: f64 = 0.0;
    let mut worst_grad: f64 = 0.0;

    let mut none = Loss::<f64, L, WIDTH>::with_reduction(function.clone(), Reduction::None);
    let total = none.forward(y.view(), targets.view()).unwrap();
    for (i, (&ours, theirs)) in none
        .per_sample()
        .iter()
        .zip(vector(&case["per_sample"]))
        .enumerate()
    {
        let e = rel(ours, theirs);
        assert!(
            e <= REFERENCE_TOLERANCE,
            "{name}: per_sample[{i}] {ours} vs {theirs} ({e:e})"
        );
        worst_value = worst_value.max(e);
    }

    for (key, reduction) in [("mean", Reduction::Mean), ("sum", Reduction::Sum)] {
        let mut layer = Loss::<f64, L, WIDTH>::with_reduction(function.clone(), reduction);
        let value = layer.forward(y.view(), targets.view()).unwrap();
        let expected = case[key]["value"].as_f64().unwrap();
        let e = rel(value, expected);
        assert!(
            e <= REFERENCE_TOLERANCE,
            "{name} {key}: {value} vs {expected} ({e:e})"
        );
        worst_value = worst_value.max(e);
        if reduction == Reduction::Sum {
            assert_eq!(value, total, "{name}: Reduction::None returns the sum");
            assert_eq!(
                layer.grad_input(),
                none.grad_input(),
                "{name}: None's gradient is the sum's"
            );
        }
        if case[key]["grad"].is_null() {
            continue; // the framework's own gradient is not finite there (see losses.py)
        }
        let expected = matrix(&case[key]["grad"]);
        for ((r, c), &ours) in layer.grad_input().indexed_iter() {
            let theirs = expected[[r, c]];
            let e = rel(ours, theirs);
            assert!(
                e <= REFERENCE_TOLERANCE,
                "{name} {key}: grad[{r}, {c}] {ours} vs {theirs} ({e:e})"
            );
            worst_grad = worst_grad.max(e);
        }
    }

    // Central differences need a smooth neighbourhood and a moderate loss: not at kinks or clip
    // bounds, not at ±1e4 or with a 1e8 loss (its rounding noise / eps swamps the derivative).
    let extreme = case["extreme"].as_bool().unwrap();
    if extreme {
        assert_finite(name, &function, y.view(), targets.view());
        let y32 = y.mapv(|v| v as f32);
        assert_finite(name, &function, y32.view(), targets.to_f32().view());
    } else if !case["at_kink"].as_bool().unwrap() {
        gradient_check(name, &function, &y, targets.view());
    }

    let loss = case["loss"].as_str().unwrap().to_string();
    let mut worst = WORST.lock().unwrap();
    let entry = worst.entry(loss).or_insert((0.0, 0.0));
    *entry = (entry.0.max(worst_value), entry.1.max(worst_grad));
}

/// The layer's gradient (mean and sum) against central differences of its own loss.
fn gradient_check<L: LossFn<f64>>(
    name: &str,
    function: &L,
    y: &Array2<f64>,
    targets: TargetsView<'_, f64>,
) {
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let mut layer = Loss::<f64, L, WIDTH>::with_reduction(function.clone(), reduction);
        layer.forward(y.view(), targets).unwrap();
        let analytic = layer.grad_input().to_owned();
        let numeric = numeric_gradient(
            |v| {
                let y = ArrayView2::from_shape(y.dim(), v).unwrap();
                layer.forward(y, targets).unwrap()
            },
            y.as_slice().unwrap(),
            EPS,
        );
        for (i, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            let e = relative_error(a, n);
            assert!(
                e < GRADCHECK_TOLERANCE,
                "{name} {reduction:?}: gradient[{i}] {a} vs numeric {n} ({e:e})"
            );
        }
    }
}

/// Loss, per-sample losses and gradient are all finite.
fn assert_finite<F: Float, L: LossFn<F>>(
    name: &str,
    function: &L,
    y: ArrayView2<'_, F>,
    t: TargetsView<'_, F>,
) {
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let mut layer = Loss::<F, L, WIDTH>::with_reduction(function.clone(), reduction);
        let value = layer.forward(y, t).unwrap();
        assert!(value.is_finite(), "{name} ({}): loss {value}", F::DTYPE);
        assert!(
            layer.per_sample().iter().all(|v| v.is_finite()),
            "{name} ({}): {}",
            F::DTYPE,
            layer.per_sample()
        );
        assert!(
            layer.grad_input().iter().all(|v| v.is_finite()),
            "{name} ({}): {}",
            F::DTYPE,
            layer.grad_input()
        );
    }
}

fn param(case: &Value, key: &str) -> Value {
    case["params"][key].clone()
}

/// The loss struct a case names, as generated code would write it, checked against the case.
fn dispatch(case: &Value) {
    let from_logits = || param(case, "from_logits").as_bool().unwrap();
    match case["loss"].as_str().unwrap() {
        "softmax_ce" => check_case(case, SoftmaxCrossEntropy),
        "multiclass_hinge" => check_case(
            case,
            MulticlassHinge {
                margin: param(case, "margin").as_f64().unwrap(),
            },
        ),
        "mse" | "mean_squared_error" => check_case(case, Mse),
        "sse_half" => check_case(case, SseHalf),
        "cross_entropy" => check_case(case, CrossEntropy),
        "binary_crossentropy" => check_case(
            case,
            BinaryCrossentropy {
                from_logits: from_logits(),
            },
        ),
        "categorical_crossentropy" => check_case(
            case,
            CategoricalCrossentropy {
                from_logits: from_logits(),
            },
        ),
        "sparse_categorical_crossentropy" => check_case(
            case,
            SparseCategoricalCrossentropy {
                from_logits: from_logits(),
            },
        ),
        "poisson" => check_case(case, Poisson),
        "kl_divergence" => check_case(case, KlDivergence),
        "mean_absolute_error" => check_case(case, MeanAbsoluteError),
        "mean_absolute_percentage_error" => check_case(case, MeanAbsolutePercentageError),
        "mean_squared_logarithmic_error" => check_case(case, MeanSquaredLogarithmicError),
        "cosine_similarity" => check_case(case, CosineSimilarity),
        "huber" => check_case(
            case,
            Huber {
                delta: param(case, "delta").as_f64().unwrap(),
            },
        ),
        "log_cosh" => check_case(case, LogCosh),
        "hinge" => check_case(case, Hinge),
        "squared_hinge" => check_case(case, SquaredHinge),
        "categorical_hinge" => check_case(case, CategoricalHinge),
        other => panic!("fixture names an unknown loss `{other}`"),
    }
}

#[test]
fn every_loss_matches_its_framework() {
    let fixtures = fixtures();
    let cases = fixtures["cases"].as_array().unwrap();
    for case in cases {
        dispatch(case);
    }
    let worst = WORST.lock().unwrap();
    // Every loss of the spec has at least one case.
    for loss in [
        "softmax_ce",
        "multiclass_hinge",
        "mse",
        "sse_half",
        "cross_entropy",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "poisson",
        "kl_divergence",
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "cosine_similarity",
        "huber",
        "log_cosh",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
    ] {
        assert!(worst.contains_key(loss), "no fixture case for `{loss}`");
    }
    println!(
        "{} cases; worst relative error per loss (value, gradient):",
        cases.len()
    );
    for (loss, (v, g)) in worst.iter() {
        println!("  {loss:<32} {v:.1e}  {g:.1e}");
    }
}

#[test]
fn course_worked_example() {
    let fixtures = fixtures();
    let course = &fixtures["course"];
    // Scores for (cat, car, frog); true classes cat, car, frog.
    let scores = array![[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]];
    assert_eq!(scores, matrix(&course["scores"]));
    let labels = [0, 1, 2];

    let mut hinge =
        Loss::<f64, _, 3>::with_reduction(MulticlassHinge { margin: 1.0 }, Reduction::None);
    let total = hinge
        .forward(scores.view(), TargetsView::Labels(&labels))
        .unwrap();
    let per_sample = hinge.per_sample().to_vec();
    for (ours, slide) in per_sample.iter().zip([2.9, 0.0, 12.9]) {
        assert!((ours - slide).abs() < 1e-12, "{per_sample:?}");
    }
    for (ours, torch) in per_sample.iter().zip(vector(&course["multiclass_hinge"])) {
        assert!(
            rel(*ours, torch) <= REFERENCE_TOLERANCE,
            "{ours} vs {torch}"
        );
    }
    assert!((total - 15.8).abs() < 1e-12);
    let mut mean = Loss::<f64, _, 3>::new(MulticlassHinge { margin: 1.0 });
    let m = mean
        .forward(scores.view(), TargetsView::Labels(&labels))
        .unwrap();
    assert!(
        (m - 5.27).abs() < 5e-3 && (m - 15.8 / 3.0).abs() < 1e-12,
        "{m}"
    );

    // Softmax cross-entropy of the first example: natural log ≈ 2.04; the slide's 0.89 is log10.
    let first = scores.slice(axonal::ndarray::s![..1, ..]);
    let ce = SoftmaxCrossEntropy
        .loss(first, TargetsView::Labels(&[0]))
        .unwrap();
    assert!((ce - 2.04).abs() < 5e-3, "{ce}");
    assert!(rel(ce, course["softmax_ce_first"].as_f64().unwrap()) <= REFERENCE_TOLERANCE);
    let log10 = ce / std::f64::consts::LN_10;
    assert!((log10 - 0.89).abs() < 5e-3, "{log10}");
    assert!(rel(log10, course["softmax_ce_first_log10"].as_f64().unwrap()) <= 1e-12);
}

/// Outputs of ±1e4 (and exact 0 and 1 for the losses on probabilities) with targets of the
/// kind each loss takes: no NaN, no infinity, in f32 and f64, for every loss.
#[test]
fn every_loss_is_finite_at_extremes() {
    fn both<L: LossFn<f64> + LossFn<f32>>(name: &str, f: L, y: &Array2<f64>, t: &Owned) {
        assert_finite(name, &f, y.view(), t.view());
        assert_finite(name, &f, y.mapv(|v| v as f32).view(), t.to_f32().view());
    }
    let logits = array![
        [1e4, -1e4, 0.0],
        [-1e4, 1e4, 1e4],
        [-1e4, -1e4, -1e4],
        [1e4, 1e4, 1e4]
    ];
    let probs = array![
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, 0.0]
    ];
    let rates = array![
        [0.0, 1e4, 0.0],
        [1e4, 0.0, 1.0],
        [0.0, 0.0, 0.0],
        [1e4, 1e4, 1e4]
    ];
    let labels = Owned::Labels(vec![0, 2, 1, 0]);
    let one_hot = Owned::Values(array![
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0]
    ]);
    let signed = Owned::Values(array![
        [1.0, -1.0, 1.0],
        [-1.0, -1.0, 1.0],
        [1.0, 1.0, 1.0],
        [-1.0, 1.0, -1.0]
    ]);
    let real = Owned::Values(array![
        [0.0, 1.0, -2.0],
        [1e4, -1e4, 0.0],
        [0.5, 0.0, 3.0],
        [0.0, 0.0, 0.0]
    ]);
    let counts = Owned::Values(array![
        [0.0, 3.0, 1.0],
        [2.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 5.0, 1.0]
    ]);

    both("softmax_ce", SoftmaxCrossEntropy, &logits, &labels);
    both("softmax_ce", SoftmaxCrossEntropy, &logits, &one_hot);
    both(
        "multiclass_hinge",
        MulticlassHinge { margin: 1.0 },
        &logits,
        &labels,
    );
    both("cross_entropy", CrossEntropy, &probs, &labels);
    both("cross_entropy", CrossEntropy, &probs, &one_hot);
    for from_logits in [false, true] {
        let y = if from_logits { &logits } else { &probs };
        both(
            "binary_crossentropy",
            BinaryCrossentropy { from_logits },
            y,
            &one_hot,
        );
        both(
            "categorical_crossentropy",
            CategoricalCrossentropy { from_logits },
            y,
            &one_hot,
        );
        both(
            "sparse_categorical_crossentropy",
            SparseCategoricalCrossentropy { from_logits },
            y,
            &labels,
        );
    }
    both("kl_divergence", KlDivergence, &probs, &one_hot);
    both("poisson", Poisson, &rates, &counts);
    for y in [&logits, &probs] {
        both("mse", Mse, y, &real);
        both("sse_half", SseHalf, y, &real);
        both("mean_absolute_error", MeanAbsoluteError, y, &real);
        both(
            "mean_absolute_percentage_error",
            MeanAbsolutePercentageError,
            y,
            &real,
        );
        both(
            "mean_squared_logarithmic_error",
            MeanSquaredLogarithmicError,
            y,
            &counts,
        );
        both("cosine_similarity", CosineSimilarity, y, &real);
        both("huber", Huber { delta: 1.0 }, y, &real);
        both("log_cosh", LogCosh, y, &real);
        both("hinge", Hinge, y, &signed);
        both("squared_hinge", SquaredHinge, y, &signed);
        both("categorical_hinge", CategoricalHinge, y, &one_hot);
    }
}

/// d loss / d logits of `loss` applied after `activation`: the activation's backward pass of
/// the loss's gradient, as an unfused network computes it. Returns (loss, gradient).
fn unfused<A: ActivationFn<f64>, L: LossFn<f64>>(
    activation: A,
    loss: L,
    logits: &Array2<f64>,
    t: TargetsView<'_, f64>,
) -> (f64, Array2<f64>) {
    let mut out = Array2::zeros(logits.dim());
    activation.forward(logits.view(), out.view_mut());
    let mut layer = Loss::<f64, L, WIDTH>::new(loss);
    let value = layer.forward(out.view(), t).unwrap();
    let mut grad = Array2::zeros(logits.dim());
    activation.backward(
        logits.view(),
        out.view(),
        layer.grad_input(),
        grad.view_mut(),
    );
    (value, grad)
}

/// The fused form on logits (what generated code uses when the network ends in the matching
/// activation) against the activation followed by the loss on probabilities.
#[test]
fn fused_and_unfused_agree() {
    let logits = array![
        [0.3, -1.2, 2.0],
        [1.5, 0.1, -0.7],
        [-2.0, 0.4, 0.9],
        [0.0, 0.2, -0.1]
    ];
    let labels = [2usize, 0, 1, 1];
    let one_hot = array![
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 1.0, 0.0]
    ];
    let bits = array![
        [1.0, 0.0, 1.0],
        [0.0, 0.0, 1.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0]
    ];
    let agree = |fused: (f64, Array2<f64>), unfused: (f64, Array2<f64>), what: &str| {
        assert!(
            rel(fused.0, unfused.0) < 1e-12,
            "{what}: {} vs {}",
            fused.0,
            unfused.0
        );
        for (a, b) in fused.1.iter().zip(unfused.1.iter()) {
            assert!(
                (a - b).abs() < 1e-12,
                "{what}: {} vs {}",
                fused.1,
                unfused.1
            );
        }
    };
    let fused = |loss: &dyn Fn(&mut Array2<f64>) -> f64| {
        let mut grad = Array2::zeros(logits.dim());
        let value = loss(&mut grad);
        (value, grad)
    };

    // softmax + categorical_crossentropy  ==  categorical_crossentropy from_logits
    let t = TargetsView::Values(one_hot.view());
    agree(
        fused(&|g| {
            CategoricalCrossentropy { from_logits: true }
                .loss_and_grad(logits.view(), t, g.view_mut())
                .unwrap()
        }),
        unfused(
            Softmax,
            CategoricalCrossentropy { from_logits: false },
            &logits,
            t,
        ),
        "categorical_crossentropy",
    );
    // softmax + sparse_categorical_crossentropy  ==  from_logits  ==  softmax_ce
    let l = TargetsView::Labels(&labels);
    agree(
        fused(&|g| {
            SoftmaxCrossEntropy
                .loss_and_grad(logits.view(), l, g.view_mut())
                .unwrap()
        }),
        unfused(
            Softmax,
            SparseCategoricalCrossentropy { from_logits: false },
            &logits,
            l,
        ),
        "sparse_categorical_crossentropy",
    );
    // softmax + cross_entropy (the course)  ==  softmax_ce
    agree(
        fused(&|g| {
            SoftmaxCrossEntropy
                .loss_and_grad(logits.view(), l, g.view_mut())
                .unwrap()
        }),
        unfused(Softmax, CrossEntropy, &logits, l),
        "cross_entropy",
    );
    // sigmoid + binary_crossentropy  ==  binary_crossentropy from_logits
    let b = TargetsView::Values(bits.view());
    agree(
        fused(&|g| {
            BinaryCrossentropy { from_logits: true }
                .loss_and_grad(logits.view(), b, g.view_mut())
                .unwrap()
        }),
        unfused(
            Sigmoid,
            BinaryCrossentropy { from_logits: false },
            &logits,
            b,
        ),
        "binary_crossentropy",
    );
}

/// Wrong kinds, counts, widths and labels are errors for every loss, never panics.
#[test]
fn target_mistakes_are_errors() {
    use axonal::Error;
    let y = array![[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]];
    let narrow = array![[1.0, 0.0], [0.0, 1.0]];
    let one_row = array![[1.0, 0.0, 0.0]];
    fn errors<L: LossFn<f64>>(f: L, y: &Array2<f64>, t: TargetsView<'_, f64>) -> Error {
        let mut layer = Loss::<f64, L, WIDTH>::new(f);
        layer.forward(y.view(), t).expect_err(L::NAME)
    }
    assert!(matches!(
        errors(Mse, &y, TargetsView::Values(narrow.view())),
        Error::TargetWidth {
            expected: 3,
            found: 2
        }
    ));
    assert!(matches!(
        errors(Hinge, &y, TargetsView::Values(one_row.view())),
        Error::CountMismatch {
            inputs: 2,
            targets: 1
        }
    ));
    assert!(matches!(
        errors(SoftmaxCrossEntropy, &y, TargetsView::Values(narrow.view())),
        Error::TargetWidth { .. }
    ));
    assert!(matches!(
        errors(
            SparseCategoricalCrossentropy { from_logits: true },
            &y,
            TargetsView::Labels(&[0, 3])
        ),
        Error::LabelOutOfRange {
            index: 1,
            label: 3,
            classes: 3
        }
    ));
    assert!(matches!(
        errors(
            MulticlassHinge { margin: 1.0 },
            &y,
            TargetsView::Values(y.view())
        ),
        Error::TargetKind { .. }
    ));
    assert!(matches!(
        errors(Poisson, &y, TargetsView::Labels(&[0, 1])),
        Error::TargetKind { .. }
    ));
    assert!(matches!(
        errors(CrossEntropy, &y, TargetsView::Labels(&[0])),
        Error::CountMismatch { .. }
    ));
}
