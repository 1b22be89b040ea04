//! `axc import` on models axonal exported: the source comes back (as `axc fmt` writes it) with
//! its weights bit for bit, and every example model comes back as the same ONNX model; and on
//! hand-made broken models: each is an error that says what is wrong, never a panic.

use axonal_dsl::onnx::import::{import, ImportError};
use axonal_onnx::proto::{
    attribute_type, data_type, ModelProto, NodeProto, TensorProto, ValueInfoProto,
};

/// Weights by name.
type Named = Vec<(String, Vec<f32>)>;

/// `source`'s first network exported, its weights filled with distinct values; returns the
/// model's bytes, the network's name and the weights.
fn exported(source: &str) -> (Vec<u8>, String, Named) {
    let program = axonal_dsl::check_source(source).unwrap_or_else(|d| panic!("{d:#?}"));
    let net = &program.networks[0];
    let mut model = axonal_dsl::onnx::export(net);
    let shapes = axonal_onnx::weights(&model);
    let mut seed = 1u32;
    let mut weights = Vec::new();
    for (name, dims) in &shapes {
        let n: i64 = dims.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect();
        weights.push((name.clone(), values));
    }
    axonal_onnx::fill(&mut model, |name| {
        weights
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    (axonal_onnx::encode(&model), net.name.clone(), weights)
}

fn imported(bytes: &[u8], name: &str) -> axonal_dsl::onnx::import::Imported {
    import(bytes, name).unwrap_or_else(|e| panic!("import failed:\n{e}"))
}

/// The weights of an import, by name.
fn by_name(weights: &[(String, Vec<usize>, Vec<f32>)]) -> Named {
    let mut w: Named = weights
        .iter()
        .map(|(n, _, v)| (n.clone(), v.clone()))
        .collect();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

/// Sources in the form `axc import` writes (inferred input sizes, defaults left out, a loss
/// by its name rather than an alias such as `bce`).
const ROUND_TRIPS: &[&str] = &[
    "Mlp {
        input 784;
        fc1: dense 128 relu;
        bn: batchnorm;
        drop: dropout 0.5;
        dense 64 leaky_relu 0.2;
        out: dense 10;
        softmax_ce
    }",
    "Cnn {
        input 1x28x28;
        conv1: conv2d 6 k=5 pad=2 relu;
        pool1: maxpool 2;
        conv2: conv2d 16 k=5x3 stride=2x1 dilation=1x2 tanh;
        avgpool 2 stride=1 pad=1 count_include_pad=false;
        bn: batchnorm momentum=0.2 eps=0.001;
        ln: layernorm;
        flatten;
        fc: dense 10 elu 0.5;
        mse reduction=sum
    }",
    "Signals {
        input 3x20;
        conv1d 6 k=5 stride=2 pad=2 gelu;
        maxpool 3 stride=2 pad=1 dilation=2;
        global_avgpool;
        maxout 4 k=3;
        silu;
        mish;
        gelu_tanh;
        step;
        identity;
        hard_sigmoid;
        selu;
        softplus;
        log_softmax;
        dense 2;
        binary_crossentropy from_logits=true
    }",
    "Res {
        input 3x8x8;
        stem: conv2d 4 k=3 pad=1;
        stage1: repeat 2 {
            residual relu {
                conv1: conv2d 4 k=3 pad=1;
                bn1: batchnorm;
                relu;
                conv2: conv2d 4 k=3 pad=1;
                bn2: batchnorm
            }
        }
        down: residual relu {
            conv1: conv2d 6 k=3 stride=2 pad=1;
            bn1: batchnorm
        } shortcut: {
            conv2d 6 k=1 stride=2;
            batchnorm
        }
        towers: concat wide: {
            conv2d 2 k=1
        } deep: {
            fc: conv2d 3 k=3 pad=1 tanh
        }
        global_avgpool;
        both: add tanh {
            dense 4
        } {
            dense 4 sigmoid;
            dense 4
        }
        dense 3;
        huber delta=0.5
    }",
    "Nested {
        input 5;
        dense 6 tanh;
        split: concat a: {
            repeat 2 {
                residual tanh {
                    dense 6 tanh;
                    dense 6
                }
            }
        } b: {
            dense 3 sigmoid
        }
        layers: repeat 3 {
            fc: dense 9 relu
        }
        out: dense 2
    }",
];

#[test]
fn an_exported_model_imports_as_its_source_with_its_weights() {
    for source in ROUND_TRIPS {
        let (bytes, name, weights) = exported(source);
        let back = imported(&bytes, &name);
        let want = axonal_dsl::format::format(source).unwrap();
        assert_eq!(back.source, want, "the source of {name}");
        let mut weights = weights;
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(by_name(&back.weights), weights, "the weights of {name}");
    }
}

#[test]
fn every_example_model_comes_back_as_the_same_onnx_model() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/models");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let program = axonal_dsl::check_source(&text).unwrap();
        for net in &program.networks {
            // Each network alone, as its own source (its text is the formatted IR's).
            let source = network_source(&text, &net.name);
            let (bytes, name, _) = exported(&source);
            let back = imported(&bytes, &name);
            let again = exported_with(&back);
            assert_eq!(
                again,
                bytes,
                "{}: {name} imports as\n{}",
                path.display(),
                back.source
            );
            count += 1;
        }
    }
    assert!(count >= 15, "{count} networks");
}

/// The imported source exported again with the imported weights.
fn exported_with(back: &axonal_dsl::onnx::import::Imported) -> Vec<u8> {
    let program = axonal_dsl::check_source(&back.source).unwrap();
    let mut model = axonal_dsl::onnx::export(&program.networks[0]);
    axonal_onnx::fill(&mut model, |name| {
        back.weights
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, v)| v.clone())
    })
    .unwrap();
    axonal_onnx::encode(&model)
}

/// The source of network `name` alone out of `text` (networks are top-level `Name { … }`,
/// possibly `pub`, with doc comments before them).
fn network_source(text: &str, name: &str) -> String {
    let start = text
        .match_indices(name)
        .map(|(i, _)| i)
        .find(|&i| {
            let after = text[i + name.len()..].trim_start();
            let before = text[..i].trim_end();
            after.starts_with('{')
                && (before.is_empty()
                    || before.ends_with('}')
                    || before.ends_with("pub")
                    || before.ends_with('\n')
                    || before.ends_with(')'))
        })
        .unwrap_or_else(|| panic!("no network {name}"));
    let mut depth = 0;
    let mut end = start;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    text[start..end].to_string()
}

// ---- broken models ----

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    use axonal_onnx::proto::{
        Dimension, DimensionValue, TensorShapeProto, TypeProto, TypeProtoTensor,
    };
    let dim = std::iter::once(Dimension {
        value: Some(DimensionValue::DimParam("batch".into())),
    })
    .chain(dims.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d)),
    }))
    .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

fn floats(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: data_type::FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// input [batch, 2] → Gemm(w [3, 2], b [3], transB) → Relu → output.
fn small() -> ModelProto {
    let mut gemm = node("Gemm", "fc", &["x", "w", "b"], "h");
    gemm.attribute.push(axonal_onnx::attr::int("transB", 1));
    let graph = axonal_onnx::proto::GraphProto {
        node: vec![gemm, node("Relu", "act", &["h"], "y")],
        initializer: vec![
            floats("w", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            floats("b", &[3], &[0.5, 0.5, 0.5]),
        ],
        input: vec![value("x", &[2])],
        output: vec![value("y", &[3])],
        ..Default::default()
    };
    let mut model = ModelProto {
        ir_version: 8,
        graph: Some(graph),
        producer_name: "hand".into(),
        ..Default::default()
    };
    model
        .opset_import
        .push(axonal_onnx::proto::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        });
    model
}

fn import_err(model: &ModelProto) -> String {
    match import(&axonal_onnx::encode(model), "Broken") {
        Ok(i) => panic!("imported:\n{}", i.source),
        Err(ImportError(problems)) => problems.join("\n"),
    }
}

#[test]
fn a_foreign_model_imports_with_its_weights() {
    let back = imported(&axonal_onnx::encode(&small()), "Small");
    assert_eq!(back.source, "Small { input 2; dense 3 relu }\n");
    assert_eq!(back.weights[0].0, "dense0.weight");
    assert_eq!(back.weights[0].2, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn broken_models_are_errors_that_say_what_is_wrong() {
    let bytes = axonal_onnx::encode(&small());
    // Truncated, and not protobuf at all.
    for cut in [1, bytes.len() / 3, bytes.len() - 1] {
        assert!(import(&bytes[..cut], "T").is_err(), "cut at {cut}");
    }
    assert!(import(b"\xff\xff\xff\xff not onnx", "T").is_err());

    // Every unsupported node, by name and operator.
    let mut m = small();
    let g = m.graph.as_mut().unwrap();
    g.node.push(node("LSTM", "rnn", &["y"], "z"));
    g.node.push(NodeProto {
        domain: "com.microsoft".into(),
        ..node("FusedConv", "fc2", &["z"], "q")
    });
    let err = import_err(&m);
    assert!(err.contains("node `rnn`: operator `LSTM`"), "{err}");
    assert!(
        err.contains("node `fc2`: operator `com.microsoft.FusedConv`"),
        "{err}"
    );

    // A missing initializer, and a cycle.
    let mut m = small();
    m.graph.as_mut().unwrap().initializer.pop();
    let err = import_err(&m);
    assert!(err.contains("reads `b`, which no initializer"), "{err}");
    let mut m = small();
    m.graph.as_mut().unwrap().node[0].input[0] = "y".into();
    let err = import_err(&m);
    assert!(err.contains("reads `y`") && err.contains("cycle"), "{err}");

    // A billion elements claimed by four bytes: refused before anything is allocated.
    let mut m = small();
    m.graph.as_mut().unwrap().initializer[0].dims = vec![1_000_000_000, 2];
    let err = import_err(&m);
    assert!(err.contains("claims 2000000000 elements"), "{err}");
    let mut m = small();
    m.graph.as_mut().unwrap().initializer[0].dims = vec![i64::MAX, i64::MAX];
    assert!(import_err(&m).contains("dimension"), "huge dims");

    // Wrong element types, NaN weights, external data.
    let mut m = small();
    m.graph.as_mut().unwrap().initializer[0].data_type = 3; // int8
    assert!(import_err(&m).contains("element type 3"));
    let mut m = small();
    m.graph.as_mut().unwrap().initializer[1] = floats("b", &[3], &[0.5, f32::NAN, 0.5]);
    assert!(import_err(&m).contains("NaN"));
    let mut m = small();
    m.graph.as_mut().unwrap().initializer[1].data_location = 1;
    assert!(import_err(&m).contains("external file"));

    // Shapes that do not fit, and options the language has no statement for.
    let mut m = small();
    m.graph.as_mut().unwrap().input[0] = value("x", &[5]);
    assert!(import_err(&m).contains("takes 2 inputs, the value before it has 5"));
    let mut m = small();
    m.graph.as_mut().unwrap().node[0]
        .attribute
        .push(axonal_onnx::proto::AttributeProto {
            name: "alpha".into(),
            r#type: attribute_type::FLOAT,
            f: 2.0,
            ..Default::default()
        });
    assert!(import_err(&m).contains("alpha = beta = 1"));
    let mut m = small();
    m.graph.as_mut().unwrap().input.push(value("x2", &[2]));
    assert!(import_err(&m).contains("2 inputs besides its weights"));
    let mut m = small();
    m.opset_import[0].version = 7;
    assert!(import_err(&m).contains("operator set 7"));
    let mut m = small();
    m.graph = None;
    assert!(import_err(&m).contains("no graph"));
    // A name the language cannot give a network.
    let err = import(&axonal_onnx::encode(&small()), "pub")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`pub` cannot name a network"), "{err}");
    assert!(import(&axonal_onnx::encode(&small()), "2fast").is_err());
}
