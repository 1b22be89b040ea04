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

axonal::network! {
    /// Every layer statement and activation (the snapshot `every_statement`).
    Everything {
        input 8;
        fc1: dense 8->16 leaky_relu 0.1 init=he bias=0.01 l2=1e-4;
        bn1: batchnorm momentum=0.1 eps=1e-5;
        drop1: dropout 0.25;
        mx: maxout 16->8 k=3 init=xavier_uniform;
        elu 0.5;
        dense 8 selu;
        gelu; gelu_tanh; silu; swish; softplus; mish; hard_sigmoid;
        dense 8 step init=uniform(-0.1, 0.1);
        identity; sigmoid; tanh; relu;
        dense 8 init=lecun_uniform bias=[0, 1, 2, 3, 4, 5, 6, 7];
        log_softmax;
        dense 4 init=normal(0, 0.01);
        huber delta=0.5 reduction=sum
    }
}

axonal::network! {
    /// Every activation side by side on the same input (in `Everything` a step hides what
    /// came before it).
    Activations {
        input 6;
        all: concat
            a: { identity } b: { step } c: { sigmoid } d: { tanh } e: { relu }
            f: { leaky_relu 0.2 } g: { elu 0.7 } h: { selu } i: { gelu } j: { gelu_tanh }
            k: { silu } l: { softplus } m: { mish } n: { hard_sigmoid } o: { softmax }
            p: { log_softmax } q: { swish } r: { linear }
    }
}

axonal::network! {
    /// Convolutions, pooling and normalization in every form the language has, activations
    /// on images.
    Images {
        input 2x9x8;
        c1: conv2d 2->4 k=3x2 stride=2x1 pad=1x0 dilation=1 elu;
        bn: batchnorm;
        same: conv2d 4 k=3 pad=same gelu;
        dil: conv2d 3 k=2 dilation=2 hard_sigmoid;
        mp: maxpool 2 stride=1 pad=1 dilation=1x2;
        ap: avgpool 3 stride=2 pad=1;
        ln: layernorm;
        mish;
        drop: dropout 0.5;
        flatten;
        log_softmax;
        dense 5 silu;
        mse
    }
}

axonal::network! {
    /// One-dimensional signals: conv1d, pools, global average pooling.
    Signals {
        input 3x20;
        conv1d 3->6 k=5 stride=2 pad=2 relu;
        avgpool 2 count_include_pad=false pad=1;
        batchnorm;
        conv1d 4 k=3 pad=same tanh;
        maxpool 3 stride=2;
        global_avgpool;
        dense 3 softmax;
        cross_entropy
    }
}

axonal::network! {
    /// A small ResNet: an identity residual repeated, a projection residual, branches
    /// joined by concatenation and by sum (tests/blocks.rs's `Res`).
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
    /// Vectors: a residual inside a repeat inside a branch; three branches summed.
    Nested {
        input 5;
        dense 6 tanh;
        split: concat a: {
            repeat 2 { residual tanh { dense 6 tanh l2=0.1; dense 6 } }
        } b: {
            dense 3 sigmoid
        }
        three: add selu { dense 4 } { dense 4 tanh } { dense 4 step }
        out: dense 2;
        bce from_logits=true
    }
}

axonal::network! {
    /// The fused output activations (snapshot `fused_output_activations`).
    Categorical { input 4; dense 3 softmax; categorical_crossentropy }
}
axonal::network! {
    Binary { input 4; dense 8 relu; dense 1; sigmoid; bce }
}
axonal::network! {
    Logits { input 4; dense 3; sparse_categorical_crossentropy from_logits=true reduction=none }
}
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
