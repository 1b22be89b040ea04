//! Convolution, pooling, batch and layer normalization against PyTorch in f64
//! (fixtures/conv.json, written by fixtures/conv.py): outputs and every gradient, for
//! strides, padding, dilation, non-square kernels, 1-D and 2-D, and max pooling with exact
//! ties (the gradient goes to the first maximum in scan order, as PyTorch routes it).

mod fixture;

use axonal::activation::Identity;
use axonal::init::Init;
use axonal::layers::{
    AvgPool1d, AvgPool2d, BatchNorm, Conv1d, Conv2d, GlobalAvgPool, LayerNorm, MaxPool1d,
    MaxPool2d, Window,
};
use axonal::ndarray::{Array1, Array2, ArrayView2};
use axonal::Mode;
use fixture::{load, matrix, reference_error, vector, REFERENCE_TOLERANCE};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

fn fixtures() -> Value {
    load("conv.json")
}

fn sizes<const D: usize>(v: &Value) -> [usize; D] {
    let list: Vec<usize> = v
        .as_array()
        .expect("a list of sizes")
        .iter()
        .map(|x| x.as_u64().expect("a size") as usize)
        .collect();
    list.try_into().expect("one size per axis")
}

fn window<const D: usize>(case: &Value) -> Window<D> {
    Window {
        kernel: sizes(&case["kernel"]),
        stride: sizes(&case["stride"]),
        pad: sizes(&case["pad"]),
        dilation: sizes(&case["dilation"]),
    }
}

/// Compares named arrays with PyTorch's and returns the worst error.
struct Checker {
    case: String,
    worst: f64,
}

impl Checker {
    fn new(case: &Value) -> Self {
        Checker {
            case: case["name"].as_str().expect("a name").to_string(),
            worst: 0.0,
        }
    }

    fn check(&mut self, what: &str, ours: ArrayView2<'_, f64>, theirs: &Value) {
        let theirs = matrix(theirs);
        assert_eq!(ours.dim(), theirs.dim(), "{}: {what}: shape", self.case);
        let ours: Vec<f64> = ours.iter().copied().collect();
        let theirs: Vec<f64> = theirs.iter().copied().collect();
        self.record(what, &ours, &theirs);
    }

    fn check_vector(&mut self, what: &str, ours: &Array1<f64>, theirs: &Value) {
        let theirs = vector(theirs);
        self.record(what, ours.as_slice().unwrap(), theirs.as_slice().unwrap());
    }

    fn record(&mut self, what: &str, ours: &[f64], theirs: &[f64]) {
        let error = reference_error(ours, theirs);
        assert!(
            error < REFERENCE_TOLERANCE,
            "{}: {what}: relative error {error:e} vs PyTorch\n ours:   {ours:?}\n theirs: {theirs:?}",
            self.case
        );
        self.worst = self.worst.max(error);
    }
}

fn assert_shape<const D: usize>(case: &Value, field: &str, expected: [usize; D]) {
    assert_eq!(
        sizes::<D>(&case[field]),
        expected,
        "{}: {field}",
        case["name"]
    );
}

// ---------------------------------------------------------------------------------------
// Convolutions

fn conv2d_case<
    const CI: usize,
    const H: usize,
    const W: usize,
    const CO: usize,
    const OH: usize,
    const OW: usize,
>(
    case: &Value,
) -> f64 {
    assert_shape(case, "input", [H, W]);
    assert_shape(case, "output", [OH, OW]);
    let rng = &mut StdRng::seed_from_u64(0);
    let mut conv = Conv2d::<f64, CI, H, W, CO, OH, OW>::new(
        window(case),
        Identity,
        Init::Zeros,
        Init::Zeros,
        rng,
    );
    conv.weight = matrix(&case["weight"]);
    conv.bias = vector(&case["bias"]);
    let (x, r) = (matrix(&case["x"]), matrix(&case["upstream"]));
    let mut c = Checker::new(case);
    conv.forward(x.view(), Mode::Train);
    c.check("output", conv.output(), &case["out"]);
    c.check("predict", conv.predict(x.view()).view(), &case["out"]);
    conv.backward(x.view(), r.view(), true);
    c.check("grad x", conv.grad_input(), &case["grad_x"]);
    c.check("grad weight", conv.weight_grad.view(), &case["grad_weight"]);
    c.check_vector("grad bias", &conv.bias_grad, &case["grad_bias"]);
    c.worst
}

fn conv1d_case<const CI: usize, const L: usize, const CO: usize, const OL: usize>(
    case: &Value,
) -> f64 {
    assert_shape(case, "input", [L]);
    assert_shape(case, "output", [OL]);
    let rng = &mut StdRng::seed_from_u64(0);
    let mut conv =
        Conv1d::<f64, CI, L, CO, OL>::new(window(case), Identity, Init::Zeros, Init::Zeros, rng);
    conv.weight = matrix(&case["weight"]);
    conv.bias = vector(&case["bias"]);
    let (x, r) = (matrix(&case["x"]), matrix(&case["upstream"]));
    let mut c = Checker::new(case);
    conv.forward(x.view(), Mode::Train);
    c.check("output", conv.output(), &case["out"]);
    c.check("predict", conv.predict(x.view()).view(), &case["out"]);
    conv.backward(x.view(), r.view(), true);
    c.check("grad x", conv.grad_input(), &case["grad_x"]);
    c.check("grad weight", conv.weight_grad.view(), &case["grad_weight"]);
    c.check_vector("grad bias", &conv.bias_grad, &case["grad_bias"]);
    c.worst
}

#[test]
fn conv2d_matches_pytorch() {
    let f = fixtures();
    let cases = f["conv2d"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    let errors = [
        conv2d_case::<1, 6, 6, 2, 6, 6>(&cases[0]),
        conv2d_case::<2, 7, 5, 3, 4, 4>(&cases[1]),
        conv2d_case::<3, 6, 7, 2, 4, 3>(&cases[2]),
        conv2d_case::<3, 4, 3, 4, 4, 3>(&cases[3]),
        conv2d_case::<2, 5, 4, 16, 3, 4>(&cases[4]),
    ];
    println!("conv2d vs PyTorch, worst relative error per case: {errors:?}");
}

#[test]
fn conv1d_matches_pytorch() {
    let f = fixtures();
    let cases = f["conv1d"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let errors = [
        conv1d_case::<2, 11, 3, 5>(&cases[0]),
        conv1d_case::<3, 6, 2, 9>(&cases[1]),
    ];
    println!("conv1d vs PyTorch, worst relative error per case: {errors:?}");
}

// ---------------------------------------------------------------------------------------
// Pooling

/// The layer calls every pooling layer shares, so one function checks them all.
trait Pool {
    fn forward(&mut self, x: ArrayView2<'_, f64>);
    fn output(&self) -> ArrayView2<'_, f64>;
    fn backward(&mut self, x: ArrayView2<'_, f64>, g: ArrayView2<'_, f64>);
    fn grad_input(&self) -> ArrayView2<'_, f64>;
    fn predict(&self, x: ArrayView2<'_, f64>) -> Array2<f64>;
}

macro_rules! impl_pool {
    ($($t:ident<$($c:ident),*>),*) => {$(
        impl<$(const $c: usize),*> Pool for $t<f64, $($c),*> {
            fn forward(&mut self, x: ArrayView2<'_, f64>) {
                $t::forward(self, x, Mode::Train)
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
        }
    )*};
}

impl_pool!(
    MaxPool2d<C, H, W, OH, OW>,
    MaxPool1d<C, L, OL>,
    AvgPool2d<C, H, W, OH, OW>,
    AvgPool1d<C, L, OL>,
    GlobalAvgPool<C, S>
);

fn check_pool(case: &Value, pool: &mut dyn Pool) -> f64 {
    let (x, r) = (matrix(&case["x"]), matrix(&case["upstream"]));
    let mut c = Checker::new(case);
    pool.forward(x.view());
    c.check("output", pool.output(), &case["out"]);
    c.check("predict", pool.predict(x.view()).view(), &case["out"]);
    pool.backward(x.view(), r.view());
    c.check("grad x", pool.grad_input(), &case["grad_x"]);
    c.worst
}

fn pool2d_case<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    case: &Value,
) -> f64 {
    assert_shape(case, "input", [H, W]);
    assert_shape(case, "output", [OH, OW]);
    assert_eq!(case["channels"].as_u64(), Some(C as u64));
    if case["kind"] == "max" {
        check_pool(
            case,
            &mut MaxPool2d::<f64, C, H, W, OH, OW>::new(window(case)),
        )
    } else {
        let counted = case["count_include_pad"].as_bool().unwrap();
        check_pool(
            case,
            &mut AvgPool2d::<f64, C, H, W, OH, OW>::new(window(case), counted),
        )
    }
}

fn pool1d_case<const C: usize, const L: usize, const OL: usize>(case: &Value) -> f64 {
    assert_shape(case, "input", [L]);
    assert_shape(case, "output", [OL]);
    assert_eq!(case["channels"].as_u64(), Some(C as u64));
    if case["kind"] == "max" {
        check_pool(case, &mut MaxPool1d::<f64, C, L, OL>::new(window(case)))
    } else {
        let counted = case["count_include_pad"].as_bool().unwrap();
        check_pool(
            case,
            &mut AvgPool1d::<f64, C, L, OL>::new(window(case), counted),
        )
    }
}

#[test]
fn pooling_matches_pytorch_including_tied_maxima() {
    let f = fixtures();
    let cases = f["pool"].as_array().unwrap();
    assert_eq!(cases.len(), 11);
    // The max-pooling inputs are small integers: many windows have tied maxima.
    for case in cases.iter().filter(|c| c["kind"] == "max") {
        assert!(
            case["tied_windows"].as_u64().unwrap() > 0,
            "{}: no ties",
            case["name"]
        );
    }
    let errors = [
        pool2d_case::<2, 6, 6, 3, 3>(&cases[0]),
        pool2d_case::<2, 7, 6, 4, 3>(&cases[1]),
        pool2d_case::<1, 7, 8, 7, 4>(&cases[2]),
        pool1d_case::<2, 9, 5>(&cases[3]),
        pool1d_case::<2, 8, 6>(&cases[4]),
        pool2d_case::<2, 6, 4, 3, 2>(&cases[5]),
        pool2d_case::<2, 5, 6, 3, 3>(&cases[6]),
        pool2d_case::<2, 5, 6, 3, 3>(&cases[7]),
        pool2d_case::<1, 6, 5, 3, 6>(&cases[8]),
        pool1d_case::<2, 7, 4>(&cases[9]),
        pool1d_case::<2, 7, 4>(&cases[10]),
    ];
    println!("pooling vs PyTorch, worst relative error per case: {errors:?}");
}

#[test]
fn global_average_pooling_matches_pytorch() {
    let f = fixtures();
    let cases = f["global_avg"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["positions"].as_u64(), Some(20));
    assert_eq!(cases[1]["positions"].as_u64(), Some(7));
    let errors = [
        check_pool(&cases[0], &mut GlobalAvgPool::<f64, 3, 20>::new()),
        check_pool(&cases[1], &mut GlobalAvgPool::<f64, 2, 7>::new()),
    ];
    println!("global average pooling vs PyTorch: {errors:?}");
}

// ---------------------------------------------------------------------------------------
// Normalization

fn batchnorm_case<const C: usize, const S: usize>(case: &Value) -> f64 {
    assert_eq!(case["channels"].as_u64(), Some(C as u64));
    assert_eq!(case["positions"].as_u64(), Some(S as u64));
    let mut bn = BatchNorm::<f64, C, S>::new(
        case["momentum"].as_f64().unwrap(),
        case["eps"].as_f64().unwrap(),
    );
    bn.weight = vector(&case["weight"]);
    bn.bias = vector(&case["bias"]);
    let (x1, r) = (matrix(&case["x1"]), matrix(&case["upstream"]));
    let mut c = Checker::new(case);
    bn.forward(x1.view(), Mode::Train);
    c.check("train output", bn.output(), &case["train_output"]);
    bn.backward(x1.view(), r.view(), true);
    c.check("grad x", bn.grad_input(), &case["grad_x"]);
    c.check_vector("grad weight", &bn.weight_grad, &case["grad_weight"]);
    c.check_vector("grad bias", &bn.bias_grad, &case["grad_bias"]);
    c.check_vector("running mean 1", &bn.running_mean, &case["running_mean_1"]);
    c.check_vector("running var 1", &bn.running_var, &case["running_var_1"]);
    let x2 = matrix(&case["x2"]);
    bn.forward(x2.view(), Mode::Train);
    c.check_vector("running mean 2", &bn.running_mean, &case["running_mean_2"]);
    c.check_vector("running var 2", &bn.running_var, &case["running_var_2"]);
    let (x3, r3) = (matrix(&case["x3"]), matrix(&case["eval_upstream"]));
    bn.forward(x3.view(), Mode::Eval);
    c.check("eval output", bn.output(), &case["eval_output"]);
    c.check(
        "predict",
        bn.predict(x3.view()).view(),
        &case["eval_output"],
    );
    bn.backward(x3.view(), r3.view(), true);
    c.check("eval grad x", bn.grad_input(), &case["eval_grad_x"]);
    c.worst
}

#[test]
fn batchnorm_per_channel_matches_pytorch() {
    let f = fixtures();
    let cases = f["batchnorm"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let errors = [
        batchnorm_case::<3, 20>(&cases[0]),
        batchnorm_case::<2, 6>(&cases[1]),
    ];
    println!("BatchNorm2d / BatchNorm1d on [N, C, L] vs PyTorch: {errors:?}");
}

fn layernorm_case<const N: usize>(case: &Value, shape: &'static [usize]) -> f64 {
    let declared: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
    let fixture: Vec<u64> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(fixture, declared, "{}: shape", case["name"]);
    let mut ln = LayerNorm::<f64, N>::new(shape, case["eps"].as_f64().unwrap());
    ln.weight = vector(&case["weight"]);
    ln.bias = vector(&case["bias"]);
    let (x, r) = (matrix(&case["x"]), matrix(&case["upstream"]));
    let mut c = Checker::new(case);
    ln.forward(x.view(), Mode::Train);
    c.check("output", ln.output(), &case["out"]);
    c.check("predict", ln.predict(x.view()).view(), &case["out"]);
    ln.backward(x.view(), r.view(), true);
    c.check("grad x", ln.grad_input(), &case["grad_x"]);
    c.check_vector("grad weight", &ln.weight_grad, &case["grad_weight"]);
    c.check_vector("grad bias", &ln.bias_grad, &case["grad_bias"]);
    c.worst
}

#[test]
fn layernorm_matches_pytorch() {
    let f = fixtures();
    let cases = f["layernorm"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let errors = [
        layernorm_case::<24>(&cases[0], &[2, 3, 4]),
        layernorm_case::<15>(&cases[1], &[3, 5]),
    ];
    println!("LayerNorm vs PyTorch: {errors:?}");
}
