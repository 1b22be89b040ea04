//! A whole LeNet-5 written in the language, against PyTorch in f64 (fixtures/lenet.json,
//! written by fixtures/lenet.py): with the same fixed weights and batch, the logits, the
//! loss, every parameter's gradient, the input gradient and the parameters after one plain
//! SGD step agree to 1e-9.

mod fixture;

use axonal::ndarray::Array2;
use axonal::optim::{Optimizer, Sgd};
use axonal::{Mode, Model, TargetsView};
use fixture::{load, matrix, reference_error, vector, REFERENCE_TOLERANCE};

axonal::network! {
    /// LeNet-5 as fixtures/lenet.py builds it in PyTorch.
    LeNet {
        input 1x28x28;
        conv1: conv2d 1->6 k=5 pad=2 relu;
        maxpool 2;
        conv2: conv2d 16 k=5 relu;
        maxpool 2;
        flatten;
        fc1: dense 120 relu;
        fc2: dense 84 relu;
        fc3: dense 10;
        softmax_ce
    }
}

/// `hash(t) = frac(437.585·sin(t))`, fixtures/lenet.py's noise.
fn noise(t: f64) -> f64 {
    let v = 437.585 * t.sin();
    v - v.floor()
}

/// Parameter `k` of the checkpoint order, as fixtures/lenet.py fills it: element i is
/// `(2·hash(12.9898·i + 78.233·k) − 1) / sqrt(fan_in)`, fan_in the elements per output unit
/// of a weight, 10 for a bias.
fn fill(k: usize, shape: &[usize], values: &mut [f64]) {
    let fan_in = if shape.len() > 1 {
        shape[1..].iter().product::<usize>()
    } else {
        10
    } as f64;
    for (i, v) in values.iter_mut().enumerate() {
        *v = (2.0 * noise(12.9898 * i as f64 + 78.233 * k as f64) - 1.0) / fan_in.sqrt();
    }
}

#[test]
fn lenet_matches_pytorch_forward_backward_and_one_sgd_step() {
    let f = load("lenet.json");
    let batch = f["batch"].as_u64().unwrap() as usize;
    let lr = f["lr"].as_f64().unwrap();
    let labels: Vec<usize> = f["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();

    let mut net = LeNet::<f64>::seeded(0);
    let mut k = 0;
    let mut names = Vec::new();
    net.visit_params(&mut |p| {
        let name = format!("{}.{}", p.layer, p.name);
        // The checkpoint's names and shapes are PyTorch's.
        let shape: Vec<usize> = f["shapes"][&name]
            .as_array()
            .unwrap_or_else(|| panic!("PyTorch has no {name}"))
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(p.shape, &shape[..], "{name}");
        fill(k, p.shape, p.value);
        k += 1;
        names.push(name);
    });
    assert_eq!(k, f["shapes"].as_object().unwrap().len(), "{names:?}");

    let x = Array2::from_shape_fn((batch, 784), |(n, i)| {
        noise(0.731 * i as f64 + 3.7 * n as f64)
    });
    let mut worst: Vec<(String, f64)> = Vec::new();
    let mut check = |what: &str, ours: &[f64], theirs: &[f64]| {
        let e = reference_error(ours, theirs);
        worst.push((what.to_string(), e));
    };

    net.forward(x.view(), Mode::Train).unwrap();
    let logits = net.output().to_owned();
    check(
        "logits",
        logits.as_slice().unwrap(),
        matrix(&f["logits"]).as_slice().unwrap(),
    );
    let loss = net.loss(TargetsView::Labels(&labels)).unwrap();
    check("loss", &[loss], &[f["loss"].as_f64().unwrap()]);
    net.backward_with(x.view(), None, true).unwrap();
    let input_grad = net.input_grad().to_owned();
    check(
        "input gradient",
        input_grad.as_slice().unwrap(),
        matrix(&f["input_grad"]).as_slice().unwrap(),
    );
    let mut before = Vec::new();
    net.visit_params(&mut |p| {
        let name = format!("{}.{}", p.layer, p.name);
        check(
            &format!("{name} gradient"),
            p.grad,
            vector(&f["grads"][&name]).as_slice().unwrap(),
        );
        before.push((name, p.value.to_vec()));
    });

    // One plain SGD step: p − lr·grad, with PyTorch's gradients.
    let mut sgd = Sgd::new(lr);
    sgd.step(&mut net);
    let mut i = 0;
    net.visit_params(&mut |p| {
        let (name, old) = &before[i];
        let grad = vector(&f["grads"][name]);
        let expected: Vec<f64> = old.iter().zip(&grad).map(|(w, g)| w - lr * g).collect();
        check(&format!("{name} after SGD"), p.value, &expected);
        i += 1;
    });

    let (what, e) = worst
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
        .clone();
    eprintln!("LeNet-5 against PyTorch: worst relative error {e:.2e} ({what})");
    assert_eq!(worst.len(), 3 + 2 * 10);
    for (what, e) in &worst {
        assert!(
            *e <= REFERENCE_TOLERANCE,
            "{what}: relative error {e:e} > {REFERENCE_TOLERANCE:e}"
        );
    }
}
