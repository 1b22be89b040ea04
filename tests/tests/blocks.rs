//! Blocks in generated networks: every kind (residual with identity and projection
//! shortcut, `add` and `concat` branches, `repeat`), alone and nested, gradient-checked in
//! f64 against central differences, with the checkpoint names PyTorch's nested modules have.

use axonal::gradcheck::{check_input_grad, check_model};
use axonal::ndarray::Array2;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Mode, Model, TargetsView};

const TOLERANCE: f64 = 1e-6;

axonal::network! {
    /// A small ResNet: an identity residual repeated, a projection residual, then branches.
    Res {
        input 3x6x6;
        stem: conv2d 4 k=3 pad=1;
        stage1: repeat 2 {
            residual relu {
                conv1: conv2d 4 k=3 pad=1; bn1: batchnorm; relu;
                conv2: conv2d 4 k=3 pad=1; bn2: batchnorm
            }
        }
        down: residual relu {
            conv1: conv2d 6 k=3 stride=2 pad=1; bn1: batchnorm
        } shortcut: {
            conv2d 6 k=1 stride=2; batchnorm
        }
        towers: concat wide: { conv2d 2 k=1 } deep: { fc: conv2d 3 k=3 pad=1 tanh }
        global_avgpool;
        both: add { dense 4 } { dense 4 tanh; dense 4 }
        dense 3;
        softmax_ce
    }
}

axonal::network! {
    /// Vectors: a residual inside a repeat inside a branch, with an L2 penalty inside.
    Nested {
        input 5;
        dense 6 tanh;
        split: concat a: {
            repeat 2 { residual tanh { dense 6 tanh l2=0.1; dense 6 } }
        } b: {
            dense 3 sigmoid
        }
        out: dense 2;
        mse
    }
}

fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
}

#[test]
fn residual_repeat_and_branches_have_the_gradients_of_central_differences() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut net = Res::<f64>::new(&mut rng);
    let x = random(3, Res::<f64>::INPUT, &mut rng);
    let labels = [0, 2, 1];
    let report = check_model(&mut net, x.view(), TargetsView::Labels(&labels), 1e-5).unwrap();
    assert!(report.max_relative_error < TOLERANCE, "{report:?}");
    assert_eq!(report.checked, Res::<f64>::PARAMS);
    let report = check_input_grad(&mut net, x.view(), TargetsView::Labels(&labels), 1e-5).unwrap();
    assert!(report.max_relative_error < TOLERANCE, "input: {report:?}");
}

#[test]
fn nested_blocks_have_the_gradients_of_central_differences() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut net = Nested::<f64>::new(&mut rng);
    for batch in [1, 4] {
        let x = random(batch, 5, &mut rng);
        let t = random(batch, 2, &mut rng);
        let report = check_model(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5).unwrap();
        assert!(report.max_relative_error < TOLERANCE, "{report:?}");
        let report =
            check_input_grad(&mut net, x.view(), TargetsView::Values(t.view()), 1e-5).unwrap();
        assert!(report.max_relative_error < TOLERANCE, "input: {report:?}");
    }
}

#[test]
fn checkpoint_names_nest_like_pytorch_modules() {
    let mut net = Res::<f32>::seeded(0);
    let mut names = Vec::new();
    net.visit_params(&mut |p| names.push(p.full_name()));
    for expected in [
        "stem.weight",
        "stage1.0.conv1.weight",
        "stage1.0.bn1.weight",
        "stage1.1.conv2.bias",
        "down.conv1.weight",
        "down.shortcut.conv2d0.weight",
        "down.shortcut.batchnorm1.bias",
        "towers.wide.conv2d0.weight",
        "towers.deep.fc.weight",
        "both.branch0.dense0.weight",
        "both.branch1.dense1.bias",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    let mut buffers = Vec::new();
    net.visit_buffers(&mut |b| buffers.push(b.full_name()));
    assert!(
        buffers.iter().any(|n| n == "stage1.1.bn2.running_mean"),
        "{buffers:?}"
    );
}

#[test]
fn forward_and_predict_agree_in_eval_mode() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = Res::<f64>::new(&mut rng);
    let x = random(5, Res::<f64>::INPUT, &mut rng);
    // Train once so that batchnorm's running statistics are not the defaults.
    net.forward(x.view(), Mode::Train).unwrap();
    let forward = net.forward(x.view(), Mode::Eval).unwrap().to_owned();
    let logits = net.predict(x.view()).unwrap();
    // `predict` applies the loss's link (softmax); forward gives logits.
    let soft = logits.map(|v| v.ln());
    for (row_f, row_p) in forward.rows().into_iter().zip(soft.rows()) {
        let shift = row_f[0] - row_p[0];
        for (a, b) in row_f.iter().zip(row_p) {
            assert!((a - b - shift).abs() < 1e-12, "{a} {b}");
        }
    }
}
