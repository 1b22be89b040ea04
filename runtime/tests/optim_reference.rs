//! Optimizers, learning-rate schedules and gradient clipping against PyTorch
//! (`fixtures/optim.json`, written by `fixtures/optim.py`).
//!
//! Optimizers: 10 steps on the 3-parameter Rosenbrock function from (−1.2, 1.0, 0.5), the
//! parameters split into two tensors (x₀, x₁) and (x₂) so per-parameter state is exercised;
//! our gradient is the analytic one, PyTorch's came from autograd. Every point must match to
//! 1e-9 relative in f64 (1e-6 in f32).

use axonal::ndarray::{Array2, ArrayView2};
use axonal::optim::{
    clip_grad_norm, clip_grad_value, Adadelta, Adagrad, Adam, AdamW, NAdam, Optimizer, RAdam,
    RmsProp, Sgd,
};
use axonal::schedule::{
    Chain, CosineAnnealing, Exponential, Linear, MultiStep, Schedule, Sequential, Step,
};
use axonal::{Error, Float, Mode, Model, Param, Result, TargetsView};
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/optim.json");
    let text = std::fs::read_to_string(path).expect("fixtures/optim.json (run fixtures/optim.py)");
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Relative error of `ours` against `reference`.
fn relative(ours: f64, reference: f64) -> f64 {
    (ours - reference).abs() / reference.abs().max(f64::MIN_POSITIVE)
}

/// f(x) = Σᵢ (1 − xᵢ)² + 100 (xᵢ₊₁ − xᵢ²)² over consecutive pairs.
fn rosenbrock<F: Float>(x: &[F]) -> F {
    let (one, hundred) = (F::one(), F::from_f64(100.0));
    x.windows(2)
        .map(|w| {
            (one - w[0]) * (one - w[0]) + hundred * (w[1] - w[0] * w[0]) * (w[1] - w[0] * w[0])
        })
        .sum()
}

/// ∂f/∂xᵢ = −2(1 − xᵢ) − 400 xᵢ (xᵢ₊₁ − xᵢ²) + 200 (xᵢ − xᵢ₋₁²), terms present where the
/// neighbours exist.
fn rosenbrock_grad<F: Float>(x: &[F], grad: &mut [F]) {
    let c = F::from_f64;
    for i in 0..x.len() {
        let mut g = F::zero();
        if i + 1 < x.len() {
            g += c(-2.0) * (F::one() - x[i]) - c(400.0) * x[i] * (x[i + 1] - x[i] * x[i]);
        }
        if i > 0 {
            g += c(200.0) * (x[i] - x[i - 1] * x[i - 1]);
        }
        grad[i] = g;
    }
}

/// Our optimizer for a fixture case: `Default` (PyTorch's defaults) plus every
/// hyperparameter the case sets, so the defaults are tested too.
fn optimizer<F: Float>(case: &Value) -> Box<dyn Optimizer<F>> {
    let h = &case["hyper"];
    let num = |k: &str| h[k].as_f64();
    let flag = |k: &str| h[k].as_bool();
    let betas = || {
        h["betas"]
            .as_array()
            .map(|b| (b[0].as_f64().unwrap(), b[1].as_f64().unwrap()))
    };
    macro_rules! set {
        ($o:ident, $($key:ident: $get:ident),*) => {
            $( if let Some(v) = $get(stringify!($key)) { $o = $o.$key(v); } )*
        };
    }
    macro_rules! adam_like {
        ($o:ident) => {{
            if let Some(lr) = num("lr") {
                $o.lr = lr;
            }
            if let Some((b1, b2)) = betas() {
                $o = $o.betas(b1, b2);
            }
        }};
    }
    match case["optimizer"].as_str().unwrap() {
        "SGD" => {
            let mut o = Sgd::default();
            o.lr = num("lr").unwrap_or(o.lr);
            set!(o, momentum: num, dampening: num, nesterov: flag, weight_decay: num);
            Box::new(o)
        }
        "Adagrad" => {
            let mut o = Adagrad::default();
            o.lr = num("lr").unwrap_or(o.lr);
            set!(o, lr_decay: num, weight_decay: num, initial_accumulator_value: num, eps: num);
            Box::new(o)
        }
        "RMSprop" => {
            let mut o = RmsProp::default();
            o.lr = num("lr").unwrap_or(o.lr);
            set!(o, alpha: num, eps: num, weight_decay: num, momentum: num, centered: flag);
            Box::new(o)
        }
        "Adadelta" => {
            let mut o = Adadelta::default();
            o.lr = num("lr").unwrap_or(o.lr);
            set!(o, rho: num, eps: num, weight_decay: num);
            Box::new(o)
        }
        "Adam" => {
            let mut o = Adam::default();
            adam_like!(o);
            set!(o, eps: num, weight_decay: num, amsgrad: flag);
            Box::new(o)
        }
        "AdamW" => {
            let mut o = AdamW::default();
            adam_like!(o);
            set!(o, eps: num, weight_decay: num, amsgrad: flag);
            Box::new(o)
        }
        "NAdam" => {
            let mut o = NAdam::default();
            adam_like!(o);
            set!(o, eps: num, weight_decay: num, momentum_decay: num, decoupled_weight_decay: flag);
            Box::new(o)
        }
        "RAdam" => {
            let mut o = RAdam::default();
            adam_like!(o);
            set!(o, eps: num, weight_decay: num, decoupled_weight_decay: flag);
            Box::new(o)
        }
        other => panic!("no optimizer for {other}"),
    }
}

/// Runs a case with `update` on the two tensors (x₀, x₁) and (x₂); returns the points after
/// each step and the function values before each.
fn run<F: Float>(case: &Value) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut opt = optimizer::<F>(case);
    let mut x: Vec<F> = floats(&case["start"])
        .into_iter()
        .map(F::from_f64)
        .collect();
    let mut g = vec![F::zero(); 3];
    let (mut points, mut losses) = (Vec::new(), Vec::new());
    for _ in 0..case["points"].as_array().unwrap().len() {
        losses.push(rosenbrock(&x).as_f64());
        rosenbrock_grad(&x, &mut g);
        let (a, b) = x.split_at_mut(2);
        opt.update(0, a, &g[..2]).unwrap();
        opt.update(1, b, &g[2..]).unwrap();
        points.push(x.iter().map(|v| v.as_f64()).collect());
    }
    (points, losses)
}

/// Largest relative error of `ours` against the case's points.
fn worst_error(case: &Value, ours: &[Vec<f64>]) -> f64 {
    let reference = case["points"].as_array().unwrap();
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .flat_map(|(p, q)| {
            p.iter()
                .zip(floats(q))
                .map(|(&a, b)| relative(a, b))
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max)
}

#[test]
fn optimizers_follow_pytorch_trajectories() {
    let fixtures = fixtures();
    let cases = fixtures["optimizers"].as_array().unwrap();
    assert!(cases.len() >= 25);
    let mut report = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (error, tolerance) = match case["dtype"].as_str().unwrap() {
            "float64" => {
                let (points, losses) = run::<f64>(case);
                for (ours, theirs) in losses.iter().zip(floats(&case["losses"])) {
                    assert!(
                        relative(*ours, theirs) < 1e-9,
                        "{name}: f {ours} vs {theirs}"
                    );
                }
                (worst_error(case, &points), 1e-9)
            }
            "float32" => (worst_error(case, &run::<f32>(case).0), 1e-6),
            other => panic!("dtype {other}"),
        };
        report.push(format!("{name}: {error:.1e}"));
        assert!(
            error < tolerance,
            "{name}: relative error {error:e} ≥ {tolerance:e}"
        );
    }
    println!("worst relative error per case: {}", report.join(", "));
}

/// The options change the trajectory by far more than the tolerance, so a test that ignored
/// one (or a fixture produced without it) would fail.
#[test]
fn every_variant_matters_at_the_tested_tolerance() {
    let fixtures = fixtures();
    let cases = fixtures["optimizers"].as_array().unwrap();
    let last = |name: &str| {
        let case = cases.iter().find(|c| c["name"] == name).unwrap();
        floats(case["points"].as_array().unwrap().last().unwrap())
    };
    let pairs = [
        ("sgd", "sgd_momentum"),
        ("sgd_momentum", "sgd_dampening"),
        ("sgd_momentum", "sgd_nesterov"),
        ("adagrad", "adagrad_all"),
        ("rmsprop", "rmsprop_centered"),
        ("rmsprop", "rmsprop_momentum"),
        ("adadelta", "adadelta_all"),
        ("adam", "adam_weight_decay"),
        ("adam", "adamw"),
        ("nadam_weight_decay", "nadam_decoupled"),
        ("radam", "radam_decoupled"),
    ];
    for (a, b) in pairs {
        let gap = last(a)
            .iter()
            .zip(last(b))
            .map(|(x, y)| relative(*x, y))
            .fold(0.0, f64::max);
        assert!(gap > 1e-4, "{a} and {b} end {gap:e} apart");
    }
    for case in cases.iter().filter(|c| c["hyper"]["amsgrad"] == true) {
        assert_eq!(case["amsgrad_active"], true, "{}", case["name"]);
    }
    // And our own amsgrad changes the outcome too: the same run without it misses the fixture.
    let case = cases.iter().find(|c| c["name"] == "adam_amsgrad").unwrap();
    let mut plain = case.clone();
    plain["hyper"]["amsgrad"] = Value::Bool(false);
    assert!(worst_error(case, &run::<f64>(&plain).0) > 1e-4);
}

/// A model that is nothing but parameter tensors with settable gradients, so `step` and the
/// clipping functions can be run through the `Model` interface.
struct Tensors {
    shapes: Vec<Vec<usize>>,
    values: Vec<Vec<f64>>,
    grads: Vec<Vec<f64>>,
    empty: Array2<f64>,
}

impl Tensors {
    fn new(shapes: Vec<Vec<usize>>, values: Vec<Vec<f64>>, grads: Vec<Vec<f64>>) -> Self {
        Self {
            shapes,
            values,
            grads,
            empty: Array2::zeros((0, 0)),
        }
    }
}

fn unsupported<T>() -> Result<T> {
    Err(Error::Config("Tensors only holds parameters".into()))
}

impl Model<f64> for Tensors {
    fn name(&self) -> &'static str {
        "Tensors"
    }

    fn input_width(&self) -> usize {
        0
    }

    fn output_width(&self) -> usize {
        0
    }

    fn forward(&mut self, _: ArrayView2<'_, f64>, _: Mode) -> Result<ArrayView2<'_, f64>> {
        unsupported()
    }

    fn output(&self) -> ArrayView2<'_, f64> {
        self.empty.view()
    }

    fn loss(&mut self, _: TargetsView<'_, f64>) -> Result<f64> {
        unsupported()
    }

    fn backward_with(
        &mut self,
        _: ArrayView2<'_, f64>,
        _: Option<ArrayView2<'_, f64>>,
        _: bool,
    ) -> Result<()> {
        unsupported()
    }

    fn input_grad(&self) -> ArrayView2<'_, f64> {
        self.empty.view()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) {
        let tensors = self
            .values
            .iter_mut()
            .zip(&mut self.grads)
            .zip(&self.shapes);
        for (i, ((value, grad), shape)) in tensors.enumerate() {
            f(Param {
                layer: "t",
                name: ["a", "b", "c"][i],
                shape,
                value,
                grad,
            });
        }
    }

    fn predict(&self, _: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        unsupported()
    }
}

/// `step` through `Model::visit_params` gives the same trajectory as `update`, so the
/// visit order indexes the state correctly.
#[test]
fn step_through_a_model_follows_pytorch() {
    let fixtures = fixtures();
    for case in fixtures["optimizers"].as_array().unwrap() {
        if case["dtype"] != "float64" {
            continue;
        }
        let mut opt = optimizer::<f64>(case);
        let start = floats(&case["start"]);
        let mut model = Tensors::new(
            vec![vec![2], vec![1]],
            vec![start[..2].to_vec(), start[2..].to_vec()],
            vec![vec![0.0; 2], vec![0.0; 1]],
        );
        let mut points = Vec::new();
        let mut g = [0.0; 3];
        for _ in 0..case["points"].as_array().unwrap().len() {
            let x: Vec<f64> = model.values.concat();
            rosenbrock_grad(&x, &mut g);
            model.grads = vec![g[..2].to_vec(), g[2..].to_vec()];
            opt.step(&mut model);
            points.push(model.values.concat());
        }
        let error = worst_error(case, &points);
        assert!(error < 1e-9, "{}: {error:e}", case["name"]);
    }
}

/// Learning rate for each epoch of a fixture schedule; mirrors `schedule_cases` in optim.py.
fn schedule(name: &str) -> Box<dyn Schedule> {
    match name {
        "step" => Box::new(Step::new(4, 0.5)),
        "multi_step" => Box::new(MultiStep::new(vec![3, 7, 7, 15], 0.3)),
        "exponential" => Box::new(Exponential::new(0.9)),
        "cosine" => Box::new(CosineAnnealing::new(10, 0.001)),
        "cosine_zero_min" => Box::new(CosineAnnealing::new(12, 0.0)),
        "linear_warmup" => Box::new(Linear::warmup(0.1, 5)),
        "linear_down" => Box::new(Linear::new(1.0, 0.2, 8)),
        "warmup_then_cosine" => Box::new(
            Sequential::new(
                vec![
                    Box::new(Linear::warmup(0.1, 5)),
                    Box::new(CosineAnnealing::new(15, 0.001)),
                ],
                vec![5],
            )
            .unwrap(),
        ),
        "sequential_three" => Box::new(
            Sequential::new(
                vec![
                    Box::new(Linear::warmup(0.25, 4)),
                    Box::new(Step::new(3, 0.5)),
                    Box::new(Exponential::new(0.8)),
                ],
                vec![4, 12],
            )
            .unwrap(),
        ),
        "chained_warmup_exponential" => Box::new(Chain::new(vec![
            Box::new(Linear::warmup(0.2, 6)),
            Box::new(Exponential::new(0.9)),
        ])),
        "chained_step_multistep" => Box::new(Chain::new(vec![
            Box::new(Step::new(5, 0.5)),
            Box::new(MultiStep::new(vec![2, 9], 0.1)),
        ])),
        other => panic!("no schedule for {other}"),
    }
}

/// Each schedule's rate per epoch (25–30 epochs) matches torch.optim.lr_scheduler to 1e-12
/// relative (PyTorch updates most rates recursively, we use closed forms).
#[test]
fn schedules_follow_pytorch() {
    let fixtures = fixtures();
    let cases = fixtures["schedules"].as_array().unwrap();
    assert_eq!(cases.len(), 11);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let base = case["base_lr"].as_f64().unwrap();
        let s = schedule(name);
        s.validate().unwrap();
        let lrs = floats(&case["lrs"]);
        assert!(lrs.len() >= 25, "{name}");
        for (epoch, expected) in lrs.into_iter().enumerate() {
            let ours = s.lr(base, epoch);
            assert!(
                (ours - expected).abs() <= 1e-12 * expected.abs() + 1e-15 * base,
                "{name}, epoch {epoch}: {ours} vs {expected}"
            );
        }
    }
}

fn nested(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|row| match row {
            Value::Array(_) => floats(row),
            x => vec![x.as_f64().unwrap()],
        })
        .collect()
}

/// clip_grad_norm and clip_grad_value on a 2×3 weight and a 2-bias match
/// torch.nn.utils.clip_grad_norm_ / clip_grad_value_ to 1e-12 relative.
#[test]
fn clipping_follows_pytorch() {
    let fixtures = fixtures();
    let clipping = &fixtures["clipping"];
    let (weight, bias) = (
        nested(&clipping["weight_grad"]),
        floats(&clipping["bias_grad"]),
    );
    for case in clipping["cases"].as_array().unwrap() {
        let mut model = Tensors::new(
            vec![vec![2, 3], vec![2]],
            vec![vec![0.0; 6], vec![0.0; 2]],
            vec![weight.clone(), bias.clone()],
        );
        if case["kind"] == "norm" {
            let norm = clip_grad_norm(&mut model, case["max_norm"].as_f64().unwrap());
            let expected = case["total_norm"].as_f64().unwrap();
            assert!(relative(norm, expected) < 1e-12, "{norm} vs {expected}");
        } else {
            clip_grad_value(&mut model, case["clip"].as_f64().unwrap());
        }
        let ours = model.grads.concat();
        let theirs = [nested(&case["weight_grad"]), floats(&case["bias_grad"])].concat();
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(relative(*a, *b) < 1e-12, "{case}: {ours:?} vs {theirs:?}");
        }
    }
}

#[test]
fn clipping_handles_zero_and_nan_gradients() {
    let mut zero = Tensors::new(vec![vec![2]], vec![vec![1.0; 2]], vec![vec![0.0; 2]]);
    assert_eq!(clip_grad_norm(&mut zero, 1.0), 0.0);
    assert_eq!(zero.grads, [[0.0, 0.0]]);
    let mut nan = Tensors::new(vec![vec![2]], vec![vec![1.0; 2]], vec![vec![f64::NAN, 1.0]]);
    assert!(clip_grad_norm(&mut nan, 1.0).is_nan());
    assert!(nan.grads[0].iter().all(|g| g.is_nan()));
    let mut nan = Tensors::new(
        vec![vec![3]],
        vec![vec![1.0; 3]],
        vec![vec![f64::NAN, -5.0, 0.5]],
    );
    clip_grad_value(&mut nan, 1.0);
    assert!(nan.grads[0][0].is_nan());
    assert_eq!(nan.grads[0][1..], [-1.0, 0.5]);
}
