//! `axc import` on models PyTorch exported (`fixtures/onnx/make.py`, `torch.onnx.export`: the
//! TorchScript exporter at opset 17, and the default dynamo exporter at opset 18): both give
//! exactly the sources in `tests/models/torch_*.nn` (compiled by `tests/build.rs`), and those
//! networks, with the imported weights loaded from a safetensors checkpoint as `axc import`
//! writes it, predict what PyTorch predicted, to 1e-5 (f32).

use std::path::Path;

use axonal::ndarray::Array2;
use axonal::Model;

// The imported sources write private networks, as any `.nn` without `pub`.
include!(concat!(env!("OUT_DIR"), "/torch_cnn.rs"));
include!(concat!(env!("OUT_DIR"), "/torch_resnet.rs"));
include!(concat!(env!("OUT_DIR"), "/torch_mlp.rs"));

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Numbers of a fixture's JSON array `key` (`"input": [0.1, -2e-3, …]`).
fn numbers(json: &str, key: &str) -> Vec<f64> {
    let start = json.find(&format!("\"{key}\": [")).expect("the key") + key.len() + 5;
    let end = start + json[start..].find(']').expect("the array's end");
    json[start..end]
        .split(',')
        .map(|n| n.trim().parse().expect("a number"))
        .collect()
}

/// Imports `fixtures/onnx/NAME.onnx` and `NAME_dynamo.onnx` as network `net_name`.
fn check<M: Model<f32>>(name: &str, net_name: &str, net: impl Fn() -> M) {
    check_file(name, name, net_name, net());
    check_file(name, &format!("{name}_dynamo"), net_name, net());
}

/// Imports `fixtures/onnx/FILE.onnx` as network `net_name`, checks the source against
/// `tests/models/NAME.nn`, loads the weights into `net` (through a checkpoint file) and
/// compares `predict` with PyTorch's output (`NAME.json`).
fn check_file<M: Model<f32>>(name: &str, file: &str, net_name: &str, mut net: M) {
    let bytes = std::fs::read(workspace().join(format!("fixtures/onnx/{file}.onnx"))).unwrap();
    let imported = axonal_dsl::onnx::import::import(&bytes, net_name)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let committed =
        std::fs::read_to_string(workspace().join(format!("tests/models/{name}.nn"))).unwrap();
    assert_eq!(
        imported.source, committed,
        "{name}: the import changed; if on purpose, write the new source to tests/models/{name}.nn"
    );

    // The checkpoint as `axc import` writes it, loaded as any checkpoint is.
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = imported
        .weights
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, b)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (n.as_str(), view)
        })
        .collect();
    let checkpoint = safetensors::serialize(views, None).unwrap();
    axonal::io::from_bytes(&mut net, &checkpoint).unwrap_or_else(|e| panic!("{name}: {e}"));

    let json =
        std::fs::read_to_string(workspace().join(format!("fixtures/onnx/{name}.json"))).unwrap();
    let x: Vec<f32> = numbers(&json, "input").iter().map(|&v| v as f32).collect();
    let want = numbers(&json, "output");
    let rows = x.len() / net.input_width();
    let x = Array2::from_shape_vec((rows, net.input_width()), x).unwrap();
    let y = net.predict(x.view()).unwrap();
    assert_eq!(y.len(), want.len(), "{name}: output size");
    let worst = y
        .iter()
        .zip(&want)
        .map(|(&a, &b)| (f64::from(a) - b).abs() / (1.0 + b.abs()))
        .fold(0.0, f64::max);
    eprintln!("{file}: imported network agrees with PyTorch to {worst:.2e} (scaled)");
    assert!(worst < 1e-5, "{file}: worst scaled difference {worst:e}");
}

#[test]
fn a_pytorch_cnn_imports_and_predicts_what_pytorch_predicted() {
    check("torch_cnn", "TorchCnn", || TorchCnn::<f32>::seeded(0));
}

#[test]
fn a_pytorch_resnet_imports_and_predicts_what_pytorch_predicted() {
    check("torch_resnet", "TorchResnet", || {
        TorchResnet::<f32>::seeded(0)
    });
}

#[test]
fn a_pytorch_mlp_with_every_activation_form_imports_and_predicts_the_same() {
    check("torch_mlp", "TorchMlp", || TorchMlp::<f32>::seeded(0));
}
