//! ONNX export checked by the real engine: every example network and the snapshot networks
//! (every statement, every activation, every block kind, nested) are exported with
//! `save_onnx`, pass `onnx.checker` and strict shape inference, and ONNX Runtime's outputs
//! agree with `predict` to 1e-5 (f32) on random inputs. See `axonal_tests::onnx_runtime`.
//! The random networks are checked in `random_networks.rs`, trained models on real data in
//! `mnist.rs` and `cnn.rs`.

use axonal::ndarray::Array2;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Mode, Model};
use axonal_examples as ex;
use axonal_tests::onnx_runtime::{python, Cases};

const TOL: f64 = 1e-5;

mod networks;
use networks::*;

axonal::network! {
    /// Only an activation: the graph's input goes straight to its output through it.
    Encoder { input 16; dense 8 tanh; sigmoid }
}

/// A random batch of `rows` samples for `net`, uniform in [−1.5, 1.5).
fn batch<M: Model<f32>>(net: &M, rows: usize, rng: &mut StdRng) -> Array2<f32> {
    Array2::from_shape_fn((rows, net.input_width()), |_| rng.random_range(-1.5..1.5))
}

/// Adds `net` after one training pass on a random batch (so that batchnorm's running
/// statistics are not their initial 0 and 1).
fn add<M: Model<f32>>(cases: &mut Cases, name: &str, mut net: M, out: &[usize], rng: &mut StdRng) {
    let warm = batch(&net, 16, rng);
    net.forward(warm.view(), Mode::Train)
        .expect("a training pass");
    let x = batch(&net, 7, rng);
    cases.close(name, &mut net, out, x.view(), TOL);
}

#[test]
fn every_example_and_snapshot_network_runs_in_onnx_runtime() {
    let Some(python) = python() else { return };
    let rng = &mut StdRng::seed_from_u64(7);
    let mut cases = Cases::new("examples");
    macro_rules! case {
        ($($ty:ty),* $(,)?) => {$(
            add(&mut cases, stringify!($ty), <$ty>::seeded(rng.random()), <$ty>::OUTPUT_SHAPE, rng);
        )*};
    }
    case!(
        ex::gates::And<f32>,
        ex::gates::Or<f32>,
        ex::gates::Nand<f32>,
        ex::gates::Perceptron<f32>,
        ex::xor::XorNet<f32>,
        ex::backprop::Affine<f32>,
        ex::losses::SvmScores<f32>,
        ex::losses::CeScores<f32>,
        ex::spiral::Spiral<f32>,
        ex::init::SigmoidStd1<f32>,
        ex::init::ReluHe<f32>,
        ex::mnist::Mnist<f32>,
        ex::lenet::Lenet<f32>,
        ex::fashion::Fashion<f32>,
        ex::resnet::ResNet<f32>,
        Everything<f32>,
        Activations<f32>,
        Images<f32>,
        Signals<f32>,
        Res<f32>,
        Nested<f32>,
        Categorical<f32>,
        Binary<f32>,
        Logits<f32>,
        Encoder<f32>,
    );
    match cases.check(&python) {
        Ok(report) => eprintln!("{report}"),
        Err(report) => panic!("ONNX Runtime disagrees with predict:\n{report}"),
    }
}

#[test]
fn axc_export_writes_what_save_onnx_writes() {
    // The same graph and weights by both routes: from the network in memory, and from its
    // source and checkpoint (what `axc export` does).
    let dir = std::env::temp_dir().join(format!("axonal-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut net = ex::resnet::ResNet::<f32>::seeded(3);
    let x = batch(&net, 8, &mut StdRng::seed_from_u64(1));
    net.forward(x.view(), Mode::Train).unwrap();
    let checkpoint = dir.join("resnet.safetensors");
    net.save(&checkpoint).unwrap();
    let program = axonal_dsl::check_source(include_str!("../../examples/models/resnet.nn"))
        .expect("the example checks");
    let bytes = std::fs::read(&checkpoint).unwrap();
    let exported = axonal_dsl::onnx::export_with_weights(&program.networks[0], &bytes).unwrap();
    assert_eq!(exported, axonal::onnx::to_bytes(&mut net).unwrap());

    // Another network's checkpoint: refused, naming the tensors.
    let mut other = ex::mnist::Mnist::<f32>::seeded(1);
    other.save(&checkpoint).unwrap();
    let bytes = std::fs::read(&checkpoint).unwrap();
    let err = axonal_dsl::onnx::export_with_weights(&program.networks[0], &bytes).unwrap_err();
    assert!(err.contains("`stem.weight` is missing"), "{err}");
    assert!(err.contains("is not a tensor of network `ResNet`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
