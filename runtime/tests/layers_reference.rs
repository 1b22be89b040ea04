//! Dropout, batch normalization and maxout: f64 gradient checks of each backward pass,
//! batchnorm and maxout against PyTorch (fixtures/layers.json, written by fixtures/layers.py),
//! and dropout's statistics (PyTorch's random generator differs from ours, so masks cannot be
//! compared with it).

mod fixture;

use axonal::activation::Identity;
use axonal::gradcheck::{check_input_grad, check_model, numeric_gradient, relative_error};
use axonal::init::Init;
use axonal::layers::{BatchNorm, Dense, Dropout, Maxout};
use axonal::model::{check_backward, check_input};
use axonal::ndarray::{Array1, Array2, ArrayView2};
use axonal::{Buffer, Mode, Model, Param, Result, TargetsView};
use fixture::{load, matrix, reference_error, vector};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde_json::Value;

const EPS: f64 = 1e-5;
const GRADCHECK_TOLERANCE: f64 = 1e-6;
/// Agreement required with PyTorch's float64 results, relative (see
/// [`fixture::reference_error`]): tighter than the shared 1e-9 for these short computations.
const REFERENCE_TOLERANCE: f64 = 1e-12;

// ---------------------------------------------------------------------------------------
// Helpers

/// A `rows`×`cols` matrix of standard normal draws, column j scaled by `scales[j % len]`
/// and shifted by `shift`.
fn normal_matrix(rows: usize, cols: usize, seed: u64, scales: &[f64], shift: f64) -> Array2<f64> {
    let rng = &mut StdRng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |(_, j)| {
        rng.sample::<f64, _>(StandardNormal) * scales[j % scales.len()] + shift
    })
}

/// Σ out ⊙ r: a scalar whose gradient w.r.t. the output is exactly `r`.
fn weighted_sum(out: ArrayView2<'_, f64>, r: &Array2<f64>) -> f64 {
    (&out * r).sum()
}

/// Largest relative error between an analytic and a numeric gradient.
fn worst(analytic: &[f64], numeric: &[f64]) -> f64 {
    assert_eq!(analytic.len(), numeric.len());
    analytic
        .iter()
        .zip(numeric)
        .map(|(&a, &n)| relative_error(a, n))
        .fold(0.0, f64::max)
}

fn assert_matches(what: &str, ours: &[f64], theirs: &[f64]) -> f64 {
    let error = reference_error(ours, theirs);
    assert!(
        error < REFERENCE_TOLERANCE,
        "{what}: relative error {error:e} vs PyTorch\n ours:   {ours:?}\n theirs: {theirs:?}"
    );
    error
}

fn fixtures() -> Value {
    load("layers.json")
}

fn flat(a: &Array2<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

// ---------------------------------------------------------------------------------------
// Batch normalization

fn batchnorm_against_pytorch<const N: usize>(case: &Value) -> f64 {
    let name = case["name"].as_str().unwrap();
    assert_eq!(case["features"].as_u64(), Some(N as u64));
    let mut bn = BatchNorm::<f64, N>::new(
        case["momentum"].as_f64().unwrap(),
        case["eps"].as_f64().unwrap(),
    );
    bn.weight = vector(&case["weight"]);
    bn.bias = vector(&case["bias"]);
    let (x1, r) = (matrix(&case["x1"]), matrix(&case["upstream"]));
    let mut worst_error = 0.0f64;
    let mut check = |what: &str, ours: &[f64], theirs: &[f64]| {
        worst_error = worst_error.max(assert_matches(&format!("{name}: {what}"), ours, theirs));
    };

    bn.forward(x1.view(), Mode::Train);
    check(
        "train output",
        &flat(&bn.output().to_owned()),
        &flat(&matrix(&case["train_output"])),
    );
    bn.backward(x1.view(), r.view(), true);
    check(
        "grad x",
        &flat(&bn.grad_input().to_owned()),
        &flat(&matrix(&case["grad_x"])),
    );
    check(
        "grad weight",
        bn.weight_grad.as_slice().unwrap(),
        vector(&case["grad_weight"]).as_slice().unwrap(),
    );
    check(
        "grad bias",
        bn.bias_grad.as_slice().unwrap(),
        vector(&case["grad_bias"]).as_slice().unwrap(),
    );
    for (step, x) in [(1, None), (2, Some(matrix(&case["x2"])))] {
        if let Some(x) = x {
            bn.forward(x.view(), Mode::Train);
        }
        check(
            &format!("running_mean after step {step}"),
            bn.running_mean.as_slice().unwrap(),
            vector(&case[format!("running_mean_{step}")])
                .as_slice()
                .unwrap(),
        );
        check(
            &format!("running_var after step {step}"),
            bn.running_var.as_slice().unwrap(),
            vector(&case[format!("running_var_{step}")])
                .as_slice()
                .unwrap(),
        );
    }
    let x3 = matrix(&case["x3"]);
    let expected = flat(&matrix(&case["eval_output"]));
    bn.forward(x3.view(), Mode::Eval);
    check("eval output", &flat(&bn.output().to_owned()), &expected);
    check("predict", &flat(&bn.predict(x3.view())), &expected);
    worst_error
}

#[test]
fn batchnorm_matches_pytorch() {
    let fixtures = fixtures();
    let cases = fixtures["batchnorm"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let errors = [
        batchnorm_against_pytorch::<4>(&cases[0]),
        batchnorm_against_pytorch::<3>(&cases[1]),
    ];
    println!("batchnorm vs PyTorch, worst relative error per case: {errors:?}");
}

/// loss(x, γ, β) = Σ BN_train(x) ⊙ R, differentiated w.r.t. all three.
#[test]
fn batchnorm_gradients_in_training_mode() {
    const B: usize = 6;
    const N: usize = 3;
    let x = normal_matrix(B, N, 21, &[0.2, 1.0, 5.0], 1.5);
    let r = normal_matrix(B, N, 22, &[1.0], 0.0);
    let gamma = [0.7, 1.3, -0.4];
    let beta = [0.1, -0.2, 0.3];
    let mut bn = BatchNorm::<f64, N>::new(0.1, 1e-5);
    let mut loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
        bn.weight.assign(&Array1::from(gamma.to_vec()));
        bn.bias.assign(&Array1::from(beta.to_vec()));
        let x = Array2::from_shape_vec((B, N), x.to_vec()).unwrap();
        bn.forward(x.view(), Mode::Train);
        weighted_sum(bn.output(), &r)
    };
    let x_flat = flat(&x);
    let numeric_x = numeric_gradient(|v| loss(v, &gamma, &beta), &x_flat, EPS);
    let numeric_gamma = numeric_gradient(|v| loss(&x_flat, v, &beta), &gamma, EPS);
    let numeric_beta = numeric_gradient(|v| loss(&x_flat, &gamma, v), &beta, EPS);

    let mut bn = BatchNorm::<f64, N>::new(0.1, 1e-5);
    bn.weight = Array1::from(gamma.to_vec());
    bn.bias = Array1::from(beta.to_vec());
    bn.forward(x.view(), Mode::Train);
    bn.backward(x.view(), r.view(), true);
    let errors = [
        worst(&flat(&bn.grad_input().to_owned()), &numeric_x),
        worst(bn.weight_grad.as_slice().unwrap(), &numeric_gamma),
        worst(bn.bias_grad.as_slice().unwrap(), &numeric_beta),
    ];
    println!("batchnorm train gradcheck (x, γ, β): {errors:?}");
    assert!(
        errors.iter().all(|&e| e < GRADCHECK_TOLERANCE),
        "batchnorm gradients: {errors:?}"
    );
    // The x gradient is not the naive γ·inv_std·g: the batch statistics depend on x.
    let naive: Vec<f64> = r
        .indexed_iter()
        .map(|((_, j), g)| gamma[j] * g / (x.column(j).var(0.0) + 1e-5).sqrt())
        .collect();
    assert!(worst(&naive, &numeric_x) > 1e-2);
}

/// In eval mode the statistics are constants: dx = γ / √(running_var + eps) ⊙ g.
#[test]
fn batchnorm_gradients_in_eval_mode() {
    const B: usize = 4;
    const N: usize = 2;
    let x = normal_matrix(B, N, 31, &[1.0, 3.0], 0.5);
    let r = normal_matrix(B, N, 32, &[1.0], 0.0);
    let mut bn = BatchNorm::<f64, N>::new(0.1, 1e-5);
    bn.weight = Array1::from(vec![1.5, -0.5]);
    bn.running_mean = Array1::from(vec![0.3, -0.2]);
    bn.running_var = Array1::from(vec![2.0, 0.5]);
    let numeric = numeric_gradient(
        |v| {
            let x = Array2::from_shape_vec((B, N), v.to_vec()).unwrap();
            bn.forward(x.view(), Mode::Eval);
            weighted_sum(bn.output(), &r)
        },
        &flat(&x),
        EPS,
    );
    bn.forward(x.view(), Mode::Eval);
    bn.backward(x.view(), r.view(), true);
    let error = worst(&flat(&bn.grad_input().to_owned()), &numeric);
    assert!(error < GRADCHECK_TOLERANCE, "eval-mode dx: {error:e}");
    assert_eq!(
        bn.running_mean.to_vec(),
        vec![0.3, -0.2],
        "eval must not update"
    );
}

#[test]
fn batchnorm_train_output_is_normalized() {
    let x = normal_matrix(50, 3, 41, &[0.01, 1.0, 100.0], 7.0);
    let mut bn = BatchNorm::<f64, 3>::new(0.1, 1e-5);
    bn.forward(x.view(), Mode::Train);
    for (j, column) in bn.output().columns().into_iter().enumerate() {
        let (mean, var) = (column.mean().unwrap(), column.var(0.0));
        let expected_var = x.column(j).var(0.0) / (x.column(j).var(0.0) + 1e-5);
        assert!(mean.abs() < 1e-12, "column {j}: mean {mean}");
        assert!((var - expected_var).abs() < 1e-12, "column {j}: var {var}");
    }
}

// ---------------------------------------------------------------------------------------
// Maxout

fn maxout_against_pytorch<const IN: usize, const OUT: usize, const K: usize>(case: &Value) -> f64 {
    let name = case["name"].as_str().unwrap();
    assert_eq!(
        (
            case["in"].as_u64(),
            case["out"].as_u64(),
            case["k"].as_u64()
        ),
        (Some(IN as u64), Some(OUT as u64), Some(K as u64))
    );
    assert!(
        case["min_winner_gap"].as_f64().unwrap() > 1e-6,
        "{name}: a near tie"
    );
    let mut layer =
        Maxout::<f64, IN, OUT, K>::new(Init::Zeros, Init::Zeros, &mut StdRng::seed_from_u64(0));
    layer.weight = matrix(&case["weight"]);
    layer.bias = vector(&case["bias"]);
    let (x, r) = (matrix(&case["x"]), matrix(&case["upstream"]));
    layer.forward(x.view(), Mode::Train);
    layer.backward(x.view(), r.view(), true);
    let output = flat(&matrix(&case["output"]));
    let errors = [
        assert_matches(name, &flat(&layer.output().to_owned()), &output),
        assert_matches(name, &flat(&layer.predict(x.view())), &output),
        assert_matches(
            name,
            &flat(&layer.grad_input().to_owned()),
            &flat(&matrix(&case["grad_x"])),
        ),
        assert_matches(
            name,
            &flat(&layer.weight_grad),
            &flat(&matrix(&case["grad_weight"])),
        ),
        assert_matches(
            name,
            layer.bias_grad.as_slice().unwrap(),
            vector(&case["grad_bias"]).as_slice().unwrap(),
        ),
    ];
    errors.into_iter().fold(0.0, f64::max)
}

#[test]
fn maxout_matches_pytorch() {
    let fixtures = fixtures();
    let cases = fixtures["maxout"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let errors = [
        maxout_against_pytorch::<5, 3, 2>(&cases[0]),
        maxout_against_pytorch::<4, 2, 3>(&cases[1]),
    ];
    println!("maxout vs PyTorch, worst relative error per case: {errors:?}");
}

/// Gradient check of W, b and x. Inputs are random; the test asserts that no unit is within
/// 1e-3 of a tie, where a step of 1e-5 could switch the winner.
#[test]
fn maxout_gradients() {
    const B: usize = 5;
    const IN: usize = 4;
    const OUT: usize = 3;
    const K: usize = 3;
    let rng = &mut StdRng::seed_from_u64(51);
    let mut layer = Maxout::<f64, IN, OUT, K>::new(
        Init::XavierNormal,
        Init::Normal {
            mean: 0.0,
            std: 0.5,
        },
        rng,
    );
    let x = normal_matrix(B, IN, 52, &[1.0], 0.0);
    let r = normal_matrix(B, OUT, 53, &[1.0], 0.0);

    // Distance from ties, from z = x·Wᵀ + b.
    let z = x.dot(&layer.weight.t()) + &layer.bias;
    let mut winners = vec![0usize; K];
    for row in z.rows() {
        for o in 0..OUT {
            let mut pieces: Vec<(f64, usize)> = (0..K).map(|j| (row[o * K + j], j)).collect();
            pieces.sort_by(|a, b| b.0.total_cmp(&a.0));
            assert!(
                pieces[0].0 - pieces[1].0 > 1e-3,
                "inputs too close to a tie"
            );
            winners[pieces[0].1] += 1;
        }
    }
    assert!(
        winners.iter().all(|&w| w > 0),
        "every piece should win somewhere: {winners:?}"
    );

    let (w0, b0, x0) = (layer.weight.clone(), layer.bias.clone(), x.clone());
    let mut loss = |w: &Array2<f64>, b: &Array1<f64>, x: &Array2<f64>| {
        layer.weight.assign(w);
        layer.bias.assign(b);
        layer.forward(x.view(), Mode::Train);
        weighted_sum(layer.output(), &r)
    };
    let numeric_w = numeric_gradient(
        |v| {
            loss(
                &Array2::from_shape_vec(w0.raw_dim(), v.to_vec()).unwrap(),
                &b0,
                &x0,
            )
        },
        w0.as_slice().unwrap(),
        EPS,
    );
    let numeric_b = numeric_gradient(
        |v| loss(&w0, &Array1::from(v.to_vec()), &x0),
        b0.as_slice().unwrap(),
        EPS,
    );
    let numeric_x = numeric_gradient(
        |v| {
            loss(
                &w0,
                &b0,
                &Array2::from_shape_vec(x0.raw_dim(), v.to_vec()).unwrap(),
            )
        },
        x0.as_slice().unwrap(),
        EPS,
    );
    loss(&w0, &b0, &x0);
    layer.backward(x.view(), r.view(), true);
    let errors = [
        worst(layer.weight_grad.as_slice().unwrap(), &numeric_w),
        worst(layer.bias_grad.as_slice().unwrap(), &numeric_b),
        worst(&flat(&layer.grad_input().to_owned()), &numeric_x),
    ];
    println!("maxout gradcheck (W, b, x): {errors:?}");
    assert!(
        errors.iter().all(|&e| e < GRADCHECK_TOLERANCE),
        "maxout gradients: {errors:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Dropout

#[test]
fn dropout_gradient_with_frozen_mask() {
    const B: usize = 6;
    const N: usize = 5;
    let mut d = Dropout::<f64, N>::new(0.4, &mut StdRng::seed_from_u64(61));
    let x = normal_matrix(B, N, 62, &[1.0], 0.0);
    let r = normal_matrix(B, N, 63, &[1.0], 0.0);
    d.forward(x.view(), Mode::Train);
    d.freeze_mask(true);
    let mask = d.mask().to_owned();
    let dropped = mask.iter().filter(|&&m| m == 0.0).count();
    assert!(
        dropped > 0 && dropped < B * N,
        "the mask should drop some, not all"
    );
    let numeric = numeric_gradient(
        |v| {
            let x = Array2::from_shape_vec((B, N), v.to_vec()).unwrap();
            d.forward(x.view(), Mode::Train);
            weighted_sum(d.output(), &r)
        },
        x.as_slice().unwrap(),
        EPS,
    );
    assert_eq!(d.mask(), mask, "a frozen mask must not change");
    d.forward(x.view(), Mode::Train);
    d.backward(x.view(), r.view(), true);
    let error = worst(&flat(&d.grad_input().to_owned()), &numeric);
    assert!(error < GRADCHECK_TOLERANCE, "dropout dx: {error:e}");
}

#[test]
fn dropout_keeps_one_minus_p_and_scales_survivors() {
    const N: usize = 500;
    for (rate, seed) in [(0.5, 1), (0.2, 2), (0.9, 3)] {
        let mut d = Dropout::<f32, N>::new(rate, &mut StdRng::seed_from_u64(seed));
        let x = Array2::from_shape_fn((400, N), |(i, j)| 1.0 + ((i * N + j) % 7) as f32);
        d.forward(x.view(), Mode::Train);
        let scale = (1.0 / (1.0 - rate)) as f32;
        let mut kept = 0usize;
        for (&o, &x) in d.output().iter().zip(&x) {
            if o != 0.0 {
                kept += 1;
                assert_eq!(o, x * scale, "survivors are scaled by 1/(1 − p)");
            }
        }
        let fraction = kept as f64 / x.len() as f64;
        // 200 000 Bernoulli draws: the standard deviation of the fraction is below 0.0012.
        assert!(
            (fraction - (1.0 - rate)).abs() < 0.006,
            "rate {rate}: kept {fraction}"
        );
        // Inverted dropout keeps the expected value: the means agree to a few per cent.
        let (mean_in, mean_out) = (x.mean().unwrap(), d.output().mean().unwrap());
        assert!(
            ((mean_out - mean_in) / mean_in).abs() < 0.03,
            "rate {rate}: mean {mean_out} vs {mean_in}"
        );
    }
}

#[test]
fn dropout_eval_and_predict_are_identity() {
    let mut d = Dropout::<f64, 4>::new(0.5, &mut StdRng::seed_from_u64(7));
    let x = normal_matrix(3, 4, 71, &[1.0], 0.0);
    d.forward(x.view(), Mode::Eval);
    assert_eq!(d.output(), x);
    assert_eq!(d.predict(x.view()), x);
    d.forward(x.view(), Mode::Train);
    assert_ne!(
        d.output(),
        x,
        "training must drop something at p = 0.5 over 12 entries"
    );
    assert_eq!(
        d.predict(x.view()),
        x,
        "predict is eval mode whatever the last forward"
    );
}

#[test]
fn dropout_backward_uses_the_forward_mask() {
    let mut d = Dropout::<f64, 8>::new(0.5, &mut StdRng::seed_from_u64(8));
    let x = normal_matrix(10, 8, 81, &[1.0], 0.0);
    let g = normal_matrix(10, 8, 82, &[1.0], 0.0);
    d.forward(x.view(), Mode::Train);
    let out = d.output().to_owned();
    d.backward(x.view(), g.view(), true);
    for ((&o, &x), (&g, &dx)) in out.iter().zip(&x).zip(g.iter().zip(d.grad_input())) {
        if o == 0.0 {
            assert_eq!(dx, 0.0, "a dropped unit gets no gradient");
        } else {
            assert_eq!(dx, g * (o / x), "a kept unit gets g·scale");
            assert_eq!(o / x, 2.0);
        }
    }
}

#[test]
fn dropout_masks_follow_the_construction_seed() {
    let x = Array2::from_elem((16, 32), 1.0f64);
    let masks = |seed: u64| {
        let rng = &mut StdRng::seed_from_u64(seed);
        let _other_layer_weights: f64 = rng.random(); // the model's generator is shared
        let mut d = Dropout::<f64, 32>::new(0.5, rng);
        let mut drawn = Vec::new();
        for _ in 0..2 {
            d.forward(x.view(), Mode::Train);
            drawn.push(d.mask().to_owned());
        }
        drawn
    };
    let (a, b, c) = (masks(5), masks(5), masks(6));
    assert_eq!(a, b, "same seed, same masks");
    assert_ne!(a[0], a[1], "each training forward draws a fresh mask");
    assert_ne!(a[0], c[0], "another seed, other masks");
}

#[test]
fn dropout_freeze_and_unfreeze() {
    let x = Array2::from_elem((8, 16), 1.0f64);
    let mut d = Dropout::<f64, 16>::new(0.5, &mut StdRng::seed_from_u64(9));
    d.forward(x.view(), Mode::Train);
    let first = d.mask().to_owned();
    d.freeze_mask(true);
    d.forward(x.view(), Mode::Eval); // an eval pass in between does not disturb the mask
    d.forward(x.view(), Mode::Train);
    assert_eq!(d.mask(), first);
    assert_eq!(d.output(), first, "x of ones: the output is the mask");
    d.freeze_mask(false);
    d.forward(x.view(), Mode::Train);
    assert_ne!(d.mask(), first);
}

#[test]
fn dropout_rate_zero_is_identity_in_training() {
    let mut d = Dropout::<f64, 3>::new(0.0, &mut StdRng::seed_from_u64(10));
    let x = normal_matrix(5, 3, 101, &[1.0], 0.0);
    let g = normal_matrix(5, 3, 102, &[1.0], 0.0);
    d.forward(x.view(), Mode::Train);
    assert_eq!(d.output(), x);
    d.backward(x.view(), g.view(), true);
    assert_eq!(d.grad_input(), g);
}

// ---------------------------------------------------------------------------------------
// The three layers inside a model, written the way generated code calls them

/// `mx: maxout 4->3 k=2; bn: batchnorm; drop: dropout 0.3; fc: dense 3->2; mse` (the loss
/// is ½ Σ (y − t)², written here so the test does not depend on the loss module).
struct Net {
    mx: Maxout<f64, 4, 3, 2>,
    bn: BatchNorm<f64, 3>,
    drop: Dropout<f64, 3>,
    fc: Dense<f64, 3, 2>,
    grad: Array2<f64>,
}

impl Net {
    fn new(seed: u64) -> Self {
        let rng = &mut StdRng::seed_from_u64(seed);
        let normal = Init::Normal {
            mean: 0.0,
            std: 0.5,
        };
        let mut bn = BatchNorm::new(0.1, 1e-5);
        bn.weight = Array1::from(vec![1.2, 0.8, -0.5]);
        bn.bias = Array1::from(vec![0.1, 0.0, -0.3]);
        Self {
            mx: Maxout::new(Init::XavierNormal, normal, rng),
            bn,
            drop: Dropout::new(0.3, rng),
            fc: Dense::new(Identity, Init::XavierNormal, normal, rng),
            grad: Array2::zeros((0, 2)),
        }
    }
}

impl Model<f64> for Net {
    fn name(&self) -> &'static str {
        "Net"
    }

    fn input_width(&self) -> usize {
        4
    }

    fn output_width(&self) -> usize {
        2
    }

    fn forward(&mut self, x: ArrayView2<'_, f64>, mode: Mode) -> Result<ArrayView2<'_, f64>> {
        check_input(self.name(), &x, 4)?;
        self.mx.forward(x, mode);
        self.bn.forward(self.mx.output(), mode);
        self.drop.forward(self.bn.output(), mode);
        self.fc.forward(self.drop.output(), mode);
        Ok(self.fc.output())
    }

    fn output(&self) -> ArrayView2<'_, f64> {
        self.fc.output()
    }

    fn loss(&mut self, targets: TargetsView<'_, f64>) -> Result<f64> {
        let TargetsView::Values(t) = targets else {
            panic!("Net: value targets only")
        };
        self.grad = &self.fc.output() - &t;
        Ok(0.5 * self.grad.iter().map(|d| d * d).sum::<f64>())
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, f64>,
        grad_output: Option<ArrayView2<'_, f64>>,
        input_grad: bool,
    ) -> Result<()> {
        check_backward(
            self.name(),
            &x,
            grad_output.as_ref(),
            self.fc.output().dim(),
        )?;
        let grad = match grad_output {
            Some(g) => g.reborrow(),
            None => self.grad.view(),
        };
        self.fc.backward(self.drop.output(), grad, true);
        self.drop
            .backward(self.bn.output(), self.fc.grad_input(), true);
        self.bn
            .backward(self.mx.output(), self.drop.grad_input(), true);
        self.mx.backward(x, self.bn.grad_input(), input_grad);
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, f64> {
        self.mx.grad_input()
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) {
        self.mx.visit_params("mx", f);
        self.bn.visit_params("bn", f);
        self.fc.visit_params("fc", f);
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_, f64>)) {
        self.bn.visit_buffers("bn", f);
    }

    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_input(self.name(), &x, 4)?;
        let h = self.mx.predict(x);
        let h = self.bn.predict(h.view());
        let h = self.drop.predict(h.view());
        Ok(self.fc.predict(h.view()))
    }
}

#[test]
fn model_with_all_three_layers_passes_gradient_checks() {
    let mut net = Net::new(91);
    let x = normal_matrix(16, 4, 92, &[1.0], 0.0);
    let t = normal_matrix(16, 2, 93, &[1.0], 0.0);
    let targets = TargetsView::Values(t.view());
    net.forward(x.view(), Mode::Train).unwrap();
    net.drop.freeze_mask(true);
    assert!(net.drop.mask().iter().any(|&m| m == 0.0));
    let params = check_model(&mut net, x.view(), targets, EPS).unwrap();
    let input = check_input_grad(&mut net, x.view(), targets, EPS).unwrap();
    println!(
        "model gradcheck: params {:e} at {} ({} vs {}), x {:e} at {}",
        params.max_relative_error,
        params.worst,
        params.worst_analytic,
        params.worst_numeric,
        input.max_relative_error,
        input.worst
    );
    assert_eq!(params.checked, Maxout::<f64, 4, 3, 2>::PARAMS + 6 + 8);
    assert!(
        params.max_relative_error < GRADCHECK_TOLERANCE,
        "{params:?}"
    );
    assert!(input.max_relative_error < GRADCHECK_TOLERANCE, "{input:?}");
}

#[test]
fn model_buffers_are_named_and_writable() {
    let mut net = Net::new(94);
    let mut model: &mut dyn Model<f64> = &mut net;
    let mut names = Vec::new();
    model.visit_buffers(&mut |b| names.push((b.full_name(), b.value.to_vec())));
    assert_eq!(
        names,
        vec![
            ("bn.running_mean".to_string(), vec![0.0; 3]),
            ("bn.running_var".to_string(), vec![1.0; 3])
        ]
    );
    // A checkpoint restores buffers through the same visit; eval output then uses them.
    (&mut model).visit_buffers(&mut |b| {
        b.value
            .fill(if b.name == "running_var" { 4.0 } else { 1.0 })
    });
    assert_eq!(net.bn.running_mean.to_vec(), vec![1.0; 3]);
    assert_eq!(net.bn.running_var.to_vec(), vec![4.0; 3]);
    let x = normal_matrix(5, 4, 95, &[1.0], 0.0);
    let eval = net.forward(x.view(), Mode::Eval).unwrap().to_owned();
    assert_eq!(eval, net.predict(x.view()).unwrap());
    net.forward(x.view(), Mode::Train).unwrap();
    assert_ne!(
        net.bn.running_mean.to_vec(),
        vec![1.0; 3],
        "training updates buffers"
    );
}
