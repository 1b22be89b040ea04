//! Every activation of the runtime against PyTorch, in f64: forward values and derivatives
//! from `fixtures/activations.json` (written by `fixtures/activations.py`, torch autograd),
//! finiteness at extreme inputs in f64 and f32, and central-difference gradient checks.
//!
//! Tolerances, per function (`|ours − torch| ≤ rtol·|torch| + atol`):
//! * `EXACT` (rtol 1e-12, atol 0): the same closed form as PyTorch's kernel, so only the last
//!   bits of libm's `exp`/`tanh`/`expm1`/`erfc` against PyTorch's may differ. Everything
//!   except the three below, forward and derivative, softmax and log_softmax included.
//! * `CANCELS` (rtol 1e-9, atol 0): tanh's derivative 1 − y², which cancels for |x| ≥ 5 in
//!   PyTorch as here (an ulp of difference in tanh(5) is 6e-13 of 1 − tanh²(5)).
//! * `APPROX` (rtol 1e-9, atol 1e-15): gelu and gelu_tanh, computed here in a form that does
//!   not cancel for negative x (½·erfc(−x/√2) and x·σ(2u)) where PyTorch computes ½·(1 + erf)
//!   and ½·(1 + tanh u); below about x = −5 the two differ by PyTorch's rounding (PyTorch
//!   even returns −0 below about −8), under 1e-15 in absolute terms. For these two the
//!   fixture also holds mpmath's true values, which ours match with `EXACT`.
//! * hard_sigmoid's derivative: see [`hard_sigmoid_torch_derivative`].

use axonal::activation::{
    ActivationFn, Elu, Gelu, GeluTanh, HardSigmoid, Identity, LeakyRelu, LogSoftmax, Mish, Relu,
    Selu, Sigmoid, Silu, Softmax, Softplus, Step, Tanh,
};
use axonal::gradcheck::{numeric_gradient, relative_error};
use axonal::ndarray::{Array2, ArrayView2};
use serde_json::Value;

/// A tolerance: `|ours − torch| ≤ rtol·|torch| + atol`.
#[derive(Clone, Copy, Debug)]
struct Tol {
    rtol: f64,
    atol: f64,
}

const EXACT: Tol = Tol {
    rtol: 1e-12,
    atol: 0.0,
};
const CANCELS: Tol = Tol {
    rtol: 1e-9,
    atol: 0.0,
};
const APPROX: Tol = Tol {
    rtol: 1e-9,
    atol: 1e-15,
};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/activations.json");
    let text = std::fs::read_to_string(path).expect("fixtures/activations.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(floats).collect();
    let cols = rows[0].len();
    Array2::from_shape_vec((rows.len(), cols), rows.concat()).expect("rectangular")
}

/// The entries of a matrix, row-major.
fn floats_of(m: &Array2<f64>) -> Vec<f64> {
    m.iter().copied().collect()
}

/// y = f(x) and grad_x for the upstream gradient `g`, both freshly computed by the runtime.
fn run<A: ActivationFn<f64>>(
    a: &A,
    x: ArrayView2<'_, f64>,
    g: ArrayView2<'_, f64>,
) -> (Array2<f64>, Array2<f64>) {
    let mut y = Array2::from_elem(x.dim(), f64::NAN);
    a.forward(x, y.view_mut());
    let mut gx = Array2::from_elem(x.dim(), f64::NAN);
    a.backward(x, y.view(), g, gx.view_mut());
    (y, gx)
}

/// What one fixture entry's comparison produced.
struct Run {
    forward: Array2<f64>,
    derivative: Array2<f64>,
    /// Tolerance of the forward values against PyTorch.
    forward_tol: Tol,
    /// Tolerance of the derivatives (or VJPs) against PyTorch.
    derivative_tol: Tol,
}

/// The runtime's activation for a fixture entry, run on `x` with upstream `g`, and the
/// tolerances it is held to.
fn run_named(name: &str, params: &Value, x: ArrayView2<'_, f64>, g: ArrayView2<'_, f64>) -> Run {
    let param = |key: &str| params[key].as_f64().expect(key);
    match name {
        "identity" => with(run(&Identity, x, g), EXACT),
        "step" => with(run(&Step, x, g), EXACT),
        "sigmoid" => with(run(&Sigmoid, x, g), EXACT),
        "tanh" => with2(run(&Tanh, x, g), EXACT, CANCELS),
        "relu" => with(run(&Relu, x, g), EXACT),
        "leaky_relu" => with(run(&LeakyRelu::new(param("slope")), x, g), EXACT),
        "elu" => with(run(&Elu::new(param("alpha")), x, g), EXACT),
        "selu" => with(run(&Selu, x, g), EXACT),
        "gelu" => with(run(&Gelu, x, g), APPROX),
        "gelu_tanh" => with(run(&GeluTanh, x, g), APPROX),
        "silu" => with(run(&Silu, x, g), EXACT),
        "softplus" => with(run(&Softplus, x, g), EXACT),
        "mish" => with(run(&Mish, x, g), EXACT),
        "hard_sigmoid" => with(run(&HardSigmoid, x, g), EXACT),
        "softmax" => with(run(&Softmax, x, g), EXACT),
        "log_softmax" => with(run(&LogSoftmax, x, g), EXACT),
        other => panic!("fixture names an activation the test does not know: {other}"),
    }
}

fn with(result: (Array2<f64>, Array2<f64>), tol: Tol) -> Run {
    with2(result, tol, tol)
}

fn with2((forward, derivative): (Array2<f64>, Array2<f64>), f: Tol, d: Tol) -> Run {
    Run {
        forward,
        derivative,
        forward_tol: f,
        derivative_tol: d,
    }
}

/// Err if some |ours − torch| > rtol·|torch| + atol (or ours is not finite); otherwise the
/// worst relative error over the entries with |torch| > 1e-12, for the record.
fn compare(
    what: &str,
    inputs: &[f64],
    ours: &[f64],
    torch: &[f64],
    tol: Tol,
) -> Result<f64, String> {
    assert_eq!(ours.len(), torch.len(), "{what}: lengths");
    let mut worst_rel: f64 = 0.0;
    for ((&x, &a), &t) in inputs.iter().zip(ours).zip(torch) {
        if !a.is_finite() {
            return Err(format!("{what}: not finite at x = {x}: {a} (torch {t})"));
        }
        let diff = (a - t).abs();
        if diff > tol.rtol * t.abs() + tol.atol {
            return Err(format!(
                "{what}: at x = {x}: ours {a:e}, torch {t:e}, diff {diff:e} beyond {tol:?}"
            ));
        }
        if t.abs() > 1e-12 {
            worst_rel = worst_rel.max(diff / t.abs());
        }
    }
    Ok(worst_rel)
}

/// PyTorch's CPU `hardsigmoid_backward` multiplies by a `float` 1/6 even for f64 tensors,
/// so its derivative inside (−3, 3) is 1/6 rounded to f32. Ours is the exact 1/6. This
/// checks both facts, then puts the exact value in torch's place for the comparison.
fn hard_sigmoid_torch_derivative(torch: &[f64]) -> Vec<f64> {
    let f32_sixth = f64::from(1.0f32 / 6.0);
    torch
        .iter()
        .map(|&d| {
            if d == 0.0 {
                0.0
            } else {
                assert_eq!(d, f32_sixth, "torch's hardsigmoid derivative changed");
                1.0 / 6.0
            }
        })
        .collect()
}

#[test]
fn elementwise_forward_and_derivative_match_pytorch() {
    let fx = fixture();
    let inputs = floats(&fx["inputs"]);
    let x = Array2::from_shape_vec((1, inputs.len()), inputs.clone()).unwrap();
    let ones = Array2::ones(x.dim());
    let entries = fx["elementwise"].as_array().unwrap();
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for e in entries {
        let name = e["name"].as_str().unwrap();
        let run = run_named(name, &e["params"], x.view(), ones.view());
        let label = format!("{name} {}", e["params"]);
        let mut torch_d = floats(&e["derivative"]);
        if name == "hard_sigmoid" {
            torch_d = hard_sigmoid_torch_derivative(&torch_d);
        }
        let (y, dy) = (
            run.forward.as_slice().unwrap(),
            run.derivative.as_slice().unwrap(),
        );
        let mut checks = vec![
            (
                "forward",
                compare(
                    &format!("{label} forward"),
                    &inputs,
                    y,
                    &floats(&e["forward"]),
                    run.forward_tol,
                ),
            ),
            (
                "derivative",
                compare(
                    &format!("{label} derivative"),
                    &inputs,
                    dy,
                    &torch_d,
                    run.derivative_tol,
                ),
            ),
        ];
        if !e["exact_forward"].is_null() {
            let exact_f = floats(&e["exact_forward"]);
            let exact_d = floats(&e["exact_derivative"]);
            checks.push((
                "forward vs mpmath",
                compare(
                    &format!("{label} forward vs mpmath"),
                    &inputs,
                    y,
                    &exact_f,
                    EXACT,
                ),
            ));
            checks.push((
                "derivative vs mpmath",
                compare(
                    &format!("{label} derivative vs mpmath"),
                    &inputs,
                    dy,
                    &exact_d,
                    EXACT,
                ),
            ));
        }
        for (what, check) in checks {
            match check {
                Ok(rel) => eprintln!("{label} {what}: worst relative error {rel:.1e}"),
                Err(e) => failures.push(e),
            }
        }
        seen.push(name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for name in [
        "identity",
        "step",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "gelu_tanh",
        "silu",
        "softplus",
        "mish",
        "hard_sigmoid",
    ] {
        assert!(seen.contains(&name), "fixture lacks {name}");
    }
}

#[test]
fn rowwise_forward_and_vjp_match_pytorch() {
    let fx = fixture();
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    for e in fx["rowwise"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        seen.push(name);
        for case in e["cases"].as_array().unwrap() {
            let x = matrix(&case["x"]);
            let g = matrix(&case["upstream"]);
            let run = run_named(name, &Value::Null, x.view(), g.view());
            let xs: Vec<f64> = x.iter().copied().collect();
            let results = [
                compare(
                    &format!("{name} forward"),
                    &xs,
                    run.forward.as_slice().unwrap(),
                    &floats_of(&matrix(&case["forward"])),
                    run.forward_tol,
                ),
                compare(
                    &format!("{name} vjp"),
                    &xs,
                    run.derivative.as_slice().unwrap(),
                    &floats_of(&matrix(&case["vjp"])),
                    run.derivative_tol,
                ),
            ];
            for r in results {
                match r {
                    Ok(rel) => eprintln!("{name} {:?}: worst relative error {rel:.1e}", x.dim()),
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(seen, ["softmax", "log_softmax"]);
}

#[test]
fn rowwise_fixture_has_the_extreme_rows() {
    let fx = fixture();
    let x = matrix(&fx["rowwise"][0]["cases"][0]["x"]);
    assert_eq!(x.row(0).to_vec(), [1000.0, 1000.0]);
    assert_eq!(x.row(1).to_vec(), [-1000.0, 0.0]);
}

/// Runs `a` forward and backward (upstream all ones) in `F`, and asserts every value is finite.
fn assert_finite<F: axonal::Float, A: ActivationFn<F>>(a: A, xs: &[f64]) {
    let x = Array2::from_shape_vec((1, xs.len()), xs.iter().map(|&v| F::from_f64(v)).collect())
        .unwrap();
    let g = Array2::from_elem(x.dim(), F::one());
    let mut y = Array2::from_elem(x.dim(), F::nan());
    a.forward(x.view(), y.view_mut());
    let mut gx = Array2::from_elem(x.dim(), F::nan());
    a.backward(x.view(), y.view(), g.view(), gx.view_mut());
    for ((x, y), d) in x.iter().zip(&y).zip(&gx) {
        assert!(
            y.is_finite() && d.is_finite(),
            "{} ({}) at {x}: value {y}, derivative {d}",
            A::NAME,
            std::any::type_name::<F>()
        );
    }
}

fn assert_all_finite<F: axonal::Float>(xs: &[f64]) {
    assert_finite::<F, _>(Identity, xs);
    assert_finite::<F, _>(Step, xs);
    assert_finite::<F, _>(Sigmoid, xs);
    assert_finite::<F, _>(Tanh, xs);
    assert_finite::<F, _>(Relu, xs);
    assert_finite::<F, _>(LeakyRelu::<F>::default(), xs);
    assert_finite::<F, _>(Elu::<F>::default(), xs);
    assert_finite::<F, _>(Selu, xs);
    assert_finite::<F, _>(Gelu, xs);
    assert_finite::<F, _>(GeluTanh, xs);
    assert_finite::<F, _>(Silu, xs);
    assert_finite::<F, _>(Softplus, xs);
    assert_finite::<F, _>(Mish, xs);
    assert_finite::<F, _>(HardSigmoid, xs);
    // Row-wise: pairs of extremes as rows of two.
    for pair in xs.chunks_exact(2) {
        assert_finite::<F, _>(Softmax, pair);
        assert_finite::<F, _>(LogSoftmax, pair);
    }
}

#[test]
fn no_nan_or_inf_at_extreme_inputs() {
    // In pairs, for the row-wise functions: each pair's log-softmax is representable (a row
    // [3e38, −3e38] is not: its true log-softmax −6e38 overflows f32).
    let extremes = [
        1000.0, 1000.0, -1000.0, 0.0, 1000.0, -1000.0, 50.0, -50.0, 88.0, 89.0, -104.0, -750.0,
        1e10, -1e10, 1e30, -1e30, 3e38, 1e38, -3e38, -1e38, 0.0, -0.0,
    ];
    assert_all_finite::<f64>(&extremes);
    assert_all_finite::<f32>(&extremes);
    // (selu(f64::MAX) = λ·MAX is truly beyond f64, so 1e300 is as far as this goes.)
    assert_all_finite::<f64>(&[1e300, -1e300, 1e300, 1e299, -1e300, -1e299]);
}

fn forward_one<A: ActivationFn<f64>>(a: A, xs: &[f64]) -> Vec<f64> {
    let x = Array2::from_shape_vec((1, xs.len()), xs.to_vec()).unwrap();
    let mut y = Array2::from_elem(x.dim(), f64::NAN);
    a.forward(x.view(), y.view_mut());
    floats_of(&y)
}

// The values the issue names, from their definitions: softplus is x itself above 20;
// mish(−1000) = −1000·tanh(ln(1 + e^−1000)) rounds to −0; gelu(1000) = 1000·Φ(1000) = 1000
// and gelu(−1000) underflows to −0; selu(−1000) = −λα; log_softmax([1000, 1000]) = −ln 2
// each, and log_softmax([−1000, 0]) = [−1000, −ln(1 + e^−1000)] = [−1000, 0].
#[test]
fn named_extreme_values() {
    assert_eq!(forward_one(Softplus, &[1000.0, -1000.0]), [1000.0, 0.0]);
    let m = forward_one(Mish, &[-1000.0, 1000.0]);
    assert_eq!(m, [0.0, 1000.0]);
    assert!(m[0].is_sign_negative(), "mish(−1000) = −0");
    assert_eq!(forward_one(Gelu, &[1000.0, -1000.0]), [1000.0, 0.0]);
    assert_eq!(forward_one(GeluTanh, &[1000.0, -1000.0]), [1000.0, 0.0]);
    let selu = forward_one(Selu, &[-1000.0]);
    assert!(
        (selu[0] + Selu::SCALE * Selu::ALPHA).abs() < 1e-15,
        "{selu:?}"
    );
    let ln2 = std::f64::consts::LN_2;
    assert_eq!(forward_one(LogSoftmax, &[1000.0, 1000.0]), [-ln2, -ln2]);
    assert_eq!(forward_one(LogSoftmax, &[-1000.0, 0.0]), [-1000.0, 0.0]);
}

#[test]
fn defaults_are_the_documented_ones() {
    assert_eq!(LeakyRelu::<f64>::default().slope, 0.01);
    assert_eq!(LeakyRelu::<f32>::default().slope, 0.01f32);
    assert_eq!(LeakyRelu::<f64>::new(0.1).slope, 0.1);
    assert_eq!(Elu::<f64>::default().alpha, 1.0);
    assert_eq!(Elu::<f64>::new(0.5).alpha, 0.5);
    // PyTorch's SELU constants (torch/nn/functional.py, aten Activation.cpp).
    // (Python's repr of the f64s; selu'(0) = λα is also pinned by the fixture.)
    assert_eq!(Selu::ALPHA, 1.6732632423543772);
    assert_eq!(Selu::SCALE, 1.0507009873554805);
}

#[test]
fn names_are_the_language_keywords() {
    assert_eq!(<LeakyRelu<f64> as ActivationFn<f64>>::NAME, "leaky_relu");
    assert_eq!(<Elu<f64> as ActivationFn<f64>>::NAME, "elu");
    assert_eq!(<Selu as ActivationFn<f64>>::NAME, "selu");
    assert_eq!(<Gelu as ActivationFn<f64>>::NAME, "gelu");
    assert_eq!(<GeluTanh as ActivationFn<f64>>::NAME, "gelu_tanh");
    assert_eq!(<Silu as ActivationFn<f64>>::NAME, "silu");
    assert_eq!(<Softplus as ActivationFn<f64>>::NAME, "softplus");
    assert_eq!(<Mish as ActivationFn<f64>>::NAME, "mish");
    assert_eq!(<HardSigmoid as ActivationFn<f64>>::NAME, "hard_sigmoid");
    assert_eq!(<LogSoftmax as ActivationFn<f64>>::NAME, "log_softmax");
}

// ---- Central-difference gradient checks (f64) ----

const EPS: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

/// Deterministic, well-spread values (as tests/common's `matrix`): 0.5 + … sin, scaled.
fn spread(rows: usize, cols: usize, phase: f64, scale: f64) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        scale * ((i * cols + j) as f64 * 0.7 + phase).sin()
    })
}

/// Points away from every kink (0, ±3) and from softplus's threshold 20, by more than EPS
/// many times over; they cover the ordinary range and the tails (±8, ±15, ±25).
fn smooth_points() -> Array2<f64> {
    let mut x = spread(6, 5, 0.3, 5.0);
    let tails = [-25.0, -15.0, -8.0, 8.0, 15.0, 25.0, -3.5, 3.5, -2.9, 2.9];
    for (v, &t) in x.iter_mut().zip(tails.iter()) {
        *v = t;
    }
    for &v in &x {
        assert!(v.abs() > 1e-3 && (v.abs() - 3.0).abs() > 1e-3 && (v - 20.0).abs() > 1e-3);
    }
    x
}

/// Checks `a`'s backward (upstream `r`) against central differences, entry by entry, of
/// Σ f(row) ⊙ r over the one row the entry is in: keeping the sum to one row keeps the
/// rounding noise of the other terms out of the difference quotient. Element-wise functions
/// are given one column, so each check sees one f(xᵢ)·rᵢ; row-wise ones see the whole row.
fn gradcheck<A: ActivationFn<f64>>(a: A, x: &Array2<f64>) -> f64 {
    let worst = gradcheck_error(&a, x);
    assert!(worst < TOLERANCE, "{}: relative error {worst:e}", A::NAME);
    worst
}

/// The worst relative error of [`gradcheck`], which asserts it small and the gradient
/// non-trivial.
fn gradcheck_error<A: ActivationFn<f64>>(a: &A, x: &Array2<f64>) -> f64 {
    let r = spread(x.nrows(), x.ncols(), 1.1, 1.0);
    let (_, analytic) = run(a, x.view(), r.view());
    let mut worst: f64 = 0.0;
    for ((x_row, r_row), a_row) in x.rows().into_iter().zip(r.rows()).zip(analytic.rows()) {
        let numeric = numeric_gradient(
            |xs| {
                let x = ArrayView2::from_shape((1, xs.len()), xs).unwrap();
                let mut y = Array2::zeros(x.dim());
                a.forward(x, y.view_mut());
                (&y.row(0) * &r_row).sum()
            },
            &x_row.to_vec(),
            EPS,
        );
        for (&an, &nu) in a_row.iter().zip(&numeric) {
            worst = worst.max(relative_error(an, nu));
        }
    }
    if A::NAME != "step" {
        assert!(
            analytic.iter().any(|g| g.abs() > 1e-2),
            "{}: trivial gradient",
            A::NAME
        );
    }
    worst
}

#[test]
fn every_activation_passes_a_gradient_check() {
    let rows = smooth_points();
    let x = rows.to_shape((rows.len(), 1)).unwrap().to_owned();
    let results = [
        ("identity", gradcheck(Identity, &x)),
        ("step", gradcheck(Step, &x)),
        ("sigmoid", gradcheck(Sigmoid, &x)),
        ("tanh", gradcheck(Tanh, &x)),
        ("relu", gradcheck(Relu, &x)),
        ("leaky_relu 0.01", gradcheck(LeakyRelu::new(0.01), &x)),
        ("leaky_relu 0.2", gradcheck(LeakyRelu::new(0.2), &x)),
        ("elu 1.0", gradcheck(Elu::new(1.0), &x)),
        ("elu 0.5", gradcheck(Elu::new(0.5), &x)),
        ("selu", gradcheck(Selu, &x)),
        ("gelu", gradcheck(Gelu, &x)),
        ("gelu_tanh", gradcheck(GeluTanh, &x)),
        ("silu", gradcheck(Silu, &x)),
        ("softplus", gradcheck(Softplus, &x)),
        ("mish", gradcheck(Mish, &x)),
        ("hard_sigmoid", gradcheck(HardSigmoid, &x)),
        ("softmax", gradcheck(Softmax, &rows)),
        ("log_softmax", gradcheck(LogSoftmax, &rows)),
    ];
    for (name, e) in results {
        eprintln!("gradcheck {name}: {e:.1e}");
    }
}

/// The check has teeth: a backward that is off by 1% somewhere fails it.
#[test]
fn gradcheck_catches_a_wrong_derivative() {
    #[derive(Clone, Debug)]
    struct AlmostSilu;
    impl ActivationFn<f64> for AlmostSilu {
        const NAME: &'static str = "almost_silu";
        fn forward(&self, x: ArrayView2<'_, f64>, y: axonal::ndarray::ArrayViewMut2<'_, f64>) {
            Silu.forward(x, y)
        }
        fn backward(
            &self,
            x: ArrayView2<'_, f64>,
            y: ArrayView2<'_, f64>,
            g: ArrayView2<'_, f64>,
            mut gx: axonal::ndarray::ArrayViewMut2<'_, f64>,
        ) {
            Silu.backward(x, y, g, gx.view_mut());
            gx[[2, 3]] *= 1.01;
        }
    }
    let x = smooth_points();
    let e = gradcheck_error(&AlmostSilu, &x);
    assert!(e > 1e-3, "a 1% error went unnoticed: {e:e}");
}

/// The derivative conventions at kinks, spelled out (the fixture's grid contains 0 and ±3,
/// so `elementwise_forward_and_derivative_match_pytorch` pins them against PyTorch too).
#[test]
fn derivatives_at_kinks_follow_pytorch() {
    let fx = fixture();
    let inputs = floats(&fx["inputs"]);
    let at = |name: &str, params: Value, x: f64| -> f64 {
        let e = fx["elementwise"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name && e["params"] == params)
            .unwrap_or_else(|| panic!("{name} {params}"));
        let i = inputs.iter().position(|&v| v == x).unwrap();
        e["derivative"][i].as_f64().unwrap()
    };
    let ours = |d: Array2<f64>| d[[0, 0]];
    let x0 = Array2::from_elem((1, 1), 0.0);
    let d = |name: &str, params: Value, x: &Array2<f64>| {
        ours(run_named(name, &params, x.view(), Array2::ones((1, 1)).view()).derivative)
    };
    let none = || serde_json::json!({});
    assert_eq!(d("relu", none(), &x0), 0.0);
    assert_eq!(at("relu", none(), 0.0), 0.0);
    for slope in [0.01, 0.2] {
        let p = serde_json::json!({ "slope": slope });
        assert_eq!(d("leaky_relu", p.clone(), &x0), slope);
        assert_eq!(at("leaky_relu", p, 0.0), slope);
    }
    for alpha in [1.0, 0.5] {
        let p = serde_json::json!({ "alpha": alpha });
        assert_eq!(d("elu", p.clone(), &x0), alpha);
        assert_eq!(at("elu", p, 0.0), alpha);
    }
    let selu0 = d("selu", none(), &x0);
    assert!((selu0 - Selu::SCALE * Selu::ALPHA).abs() < 1e-15);
    assert!((at("selu", none(), 0.0) - selu0).abs() < 1e-15);
    for x in [-3.0, 3.0] {
        assert_eq!(
            d("hard_sigmoid", none(), &Array2::from_elem((1, 1), x)),
            0.0
        );
        assert_eq!(at("hard_sigmoid", none(), x), 0.0);
    }
    assert_eq!(d("hard_sigmoid", none(), &x0), 1.0 / 6.0);
    assert_eq!(d("step", none(), &x0), 0.0);
}
