//! Blocks written in the language against PyTorch in f64 (fixtures/blocks.json, written by
//! fixtures/blocks.py): a residual block with an identity shortcut, one with a projection
//! shortcut, `concat` branches and `add` branches. With PyTorch's weights loaded by their
//! nested checkpoint names and the same batch, the output, the loss, every parameter's
//! gradient, the input gradient, batchnorm's running statistics and the parameters after
//! one SGD step agree to 1e-9 (batchnorm in train mode).

mod fixture;

use axonal::ndarray::Array2;
use axonal::optim::{Optimizer, Sgd};
use axonal::{Mode, Model, TargetsView};
use fixture::{load, matrix, reference_error, vector, REFERENCE_TOLERANCE};
use serde_json::Value;

axonal::network! {
    /// fixtures/blocks.py's `Identity`: a residual block whose shortcut is the identity.
    Identity {
        input 3x5x5;
        block: residual relu {
            conv1: conv2d 3 k=3 pad=1; bn1: batchnorm; relu;
            conv2: conv2d 3 k=3 pad=1; bn2: batchnorm
        }
        flatten;
        fc: dense 4;
        softmax_ce
    }

    /// fixtures/blocks.py's `Projection`: the body halves the image and widens the
    /// channels, so the shortcut projects.
    Projection {
        input 2x6x6;
        down: residual relu {
            conv1: conv2d 4 k=3 stride=2 pad=1; bn1: batchnorm; relu;
            conv2: conv2d 4 k=3 pad=1; bn2: batchnorm
        } shortcut: {
            conv2d 4 k=1 stride=2; batchnorm
        }
        flatten;
        fc: dense 3;
        softmax_ce
    }

    /// fixtures/blocks.py's `Concat`: branches of 2 and 4 channels, joined along channels.
    Branches {
        input 3x5x5;
        towers: concat narrow: { conv2d 2 k=1 } wide: { conv2d 4 k=3 pad=1 relu }
        global_avgpool;
        fc: dense 3;
        softmax_ce
    }

    /// fixtures/blocks.py's `Add`: two unnamed dense branches, summed, then tanh.
    Sum {
        input 5;
        both: add tanh { dense 4 } { dense 6 relu; dense 4 }
        out: dense 2;
        mse
    }
}

/// Loads the fixture's weights into `net` by checkpoint name, checking that both have the
/// same names and shapes; `perturb` names a parameter whose first value is then nudged.
fn load_weights<M: Model<f64>>(net: &mut M, case: &Value, perturb: Option<&str>) {
    let mut names = Vec::new();
    net.visit_params(&mut |p| {
        let name = p.full_name();
        let shape: Vec<usize> = case["shapes"][&name]
            .as_array()
            .unwrap_or_else(|| panic!("PyTorch has no {name}"))
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(p.shape, &shape[..], "{name}");
        p.value
            .copy_from_slice(vector(&case["params"][&name]).as_slice().unwrap());
        if perturb == Some(name.as_str()) {
            p.value[0] += 1e-6;
        }
        names.push(name);
    });
    assert_eq!(
        names.len(),
        case["shapes"].as_object().unwrap().len(),
        "axonal has {names:?}"
    );
}

/// Below this, in absolute value, a gradient is rounding noise around an exact zero.
///
/// The bias of a convolution that a batchnorm in train mode follows has a gradient of
/// exactly zero (the batchnorm subtracts each channel's mean, bias included): PyTorch's
/// and ours are both rounding noise, about 1e-16, whose relative difference means nothing.
/// Such a gradient is compared absolutely instead: both within `ZERO` of zero.
const ZERO: f64 = 1e-12;

/// The largest absolute value of `v`.
fn largest(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, g| m.max(g.abs()))
}

/// Runs one training step of `net` on the fixture's batch and returns the error of every
/// quantity compared, named: relative (see [`reference_error`]) for all but the gradients
/// that are exactly zero, whose error is the largest |value| of either, over [`ZERO`], times
/// the tolerance (so that both under `ZERO` passes).
fn compare<M: Model<f64>>(net: &mut M, case: &Value) -> Vec<(String, f64)> {
    let lr = case["lr"].as_f64().unwrap();
    let x = matrix(&case["input"]);
    let labels: Vec<usize>;
    let values: Array2<f64>;
    let targets = if case["targets"][0].is_u64() {
        labels = case["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        TargetsView::Labels(&labels)
    } else {
        values = matrix(&case["targets"]);
        TargetsView::Values(values.view())
    };

    let mut errors: Vec<(String, f64)> = Vec::new();
    let mut check = |what: &str, ours: &[f64], theirs: &[f64]| {
        errors.push((what.to_string(), reference_error(ours, theirs)));
    };
    net.forward(x.view(), Mode::Train).unwrap();
    let output = net.output().to_owned();
    check(
        "output",
        output.as_slice().unwrap(),
        matrix(&case["output"]).as_slice().unwrap(),
    );
    let loss = net.loss(targets).unwrap();
    check("loss", &[loss], &[case["loss"].as_f64().unwrap()]);
    net.backward_with(x.view(), None, true).unwrap();
    let input_grad = net.input_grad().to_owned();
    check(
        "input gradient",
        input_grad.as_slice().unwrap(),
        matrix(&case["input_grad"]).as_slice().unwrap(),
    );
    let mut zeros = Vec::new();
    net.visit_params(&mut |p| {
        let name = p.full_name();
        let theirs = vector(&case["grads"][&name]);
        let theirs = theirs.as_slice().unwrap();
        if largest(theirs) < ZERO {
            let e = largest(p.grad).max(largest(theirs)) / ZERO * REFERENCE_TOLERANCE;
            zeros.push((format!("{name} gradient (exactly zero)"), e));
        } else {
            check(&format!("{name} gradient"), p.grad, theirs);
        }
    });
    let mut buffers = 0;
    net.visit_buffers(&mut |b| {
        let name = b.full_name();
        let theirs = case["buffers"]
            .get(&name)
            .unwrap_or_else(|| panic!("PyTorch has no buffer {name}"));
        check(&name, b.value, vector(theirs).as_slice().unwrap());
        buffers += 1;
    });
    assert_eq!(buffers, case["buffers"].as_object().unwrap().len());

    // One plain SGD step, against torch.optim.SGD's.
    Sgd::new(lr).step(net);
    net.visit_params(&mut |p| {
        let name = p.full_name();
        check(
            &format!("{name} after SGD"),
            p.value,
            vector(&case["after_sgd"][&name]).as_slice().unwrap(),
        );
    });
    errors.extend(zeros);
    errors
}

/// The fixture `name` against `net`: every quantity within the reference tolerance.
fn matches_pytorch<M: Model<f64>>(mut net: M, name: &str) {
    let fixture = load("blocks.json");
    let case = &fixture[name];
    load_weights(&mut net, case, None);
    let errors = compare(&mut net, case);
    let params = case["shapes"].as_object().unwrap().len();
    let buffers = case["buffers"].as_object().unwrap().len();
    assert_eq!(errors.len(), 3 + 2 * params + buffers);
    let (zeros, relative): (Vec<_>, Vec<_>) = errors
        .iter()
        .partition(|(what, _)| what.ends_with("(exactly zero)"));
    let (what, e) = relative.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    eprintln!("{name} against PyTorch: worst relative error {e:.2e} ({what})");
    for (what, e) in zeros {
        // Only the biases of convolutions followed by a batchnorm have a zero gradient.
        assert!(
            what.contains(".bias ") && what.contains("conv"),
            "{name}: {what} is unexpectedly zero"
        );
        eprintln!(
            "{name}: {what}: largest |value| {:.2e}",
            e / REFERENCE_TOLERANCE * ZERO
        );
    }
    for (what, e) in &errors {
        assert!(
            *e <= REFERENCE_TOLERANCE,
            "{name}, {what}: relative error {e:e} > {REFERENCE_TOLERANCE:e}"
        );
    }
}

#[test]
fn residual_with_identity_shortcut_matches_pytorch() {
    matches_pytorch(Identity::<f64>::seeded(0), "identity");
}

#[test]
fn residual_with_projection_shortcut_matches_pytorch() {
    matches_pytorch(Projection::<f64>::seeded(0), "projection");
}

#[test]
fn concat_of_conv_branches_matches_pytorch() {
    matches_pytorch(Branches::<f64>::seeded(0), "concat");
}

#[test]
fn add_of_dense_branches_matches_pytorch() {
    matches_pytorch(Sum::<f64>::seeded(0), "add");
}

/// The comparison can fail: a shortcut weight nudged by 1e-6 is caught in the output, the
/// loss and the gradients.
#[test]
fn a_nudged_shortcut_weight_is_caught() {
    let fixture = load("blocks.json");
    let case = &fixture["projection"];
    let mut net = Projection::<f64>::seeded(0);
    load_weights(&mut net, case, Some("down.shortcut.conv2d0.weight"));
    let errors = compare(&mut net, case);
    let failed = |what: &str| {
        errors
            .iter()
            .find(|(w, _)| w == what)
            .unwrap_or_else(|| panic!("{what} not compared"))
            .1
            > REFERENCE_TOLERANCE
    };
    for what in [
        "output",
        "loss",
        "input gradient",
        "down.shortcut.conv2d0.weight gradient",
        "down.conv1.weight gradient",
    ] {
        assert!(failed(what), "{what} not caught: {errors:?}");
    }
}
