//! A checked network as an ONNX graph of what `predict` computes: eval mode, with the loss's
//! link (softmax, sigmoid) as the last node. Each layer kind writes its own nodes
//! ([`LayerSpec::onnx`](crate::layers::LayerSpec::onnx)); this module walks the network and its
//! blocks, giving each layer its checkpoint key (`stage1.0.conv1`), so initializers carry the
//! checkpoint's names. Weights are declared, not filled: the runtime's `save_onnx` and
//! `axc export` fill them (see `axonal_onnx::fill`).
//!
//! The graph's input is `input`, `[batch, …]` with a symbolic batch; its output `output`.
//! Joins: a `residual` block ends in `Add`, an `add` block in `Sum` (so that an import can tell
//! them apart), a `concat` block in `Concat` along axis 1 (channels, or features).

pub mod import;

use axonal_onnx::proto::ModelProto;
use axonal_onnx::{attr, Graph};

use crate::ir::{Block, BlockKind, Network, Node};
use crate::layers::activation;

/// The network's graph at opset [`axonal_onnx::OPSET`], weights declared but not filled.
pub fn export(net: &Network) -> ModelProto {
    let mut g = Graph::new(&net.name);
    let x = g.input(net.input.dims());
    let mut y = nodes(&mut g, &net.nodes, "", x);
    if let Some(link) = net.loss.as_ref().and_then(|l| l.link()) {
        y = activation::onnx(link, &mut g, "link", &y);
    }
    g.output(&y, net.output().dims());
    let mut model = g.model("axonal", env!("CARGO_PKG_VERSION"));
    // ONNX has no losses: the statement rides along for `axc import`.
    if let Some(loss) = &net.loss {
        model
            .metadata_props
            .push(axonal_onnx::proto::StringStringEntryProto {
                key: LOSS_KEY.into(),
                value: loss_source(loss),
            });
    }
    model
}

/// The metadata key under which an exported model keeps its network's loss statement.
pub const LOSS_KEY: &str = "axonal.loss";

/// The loss as a statement (on logits when a softmax or sigmoid was fused into it):
/// `huber delta=0.5 reduction=sum`.
pub fn loss_source(loss: &crate::ir::Loss) -> String {
    use crate::ir::{LossKind, Reduction};
    let mut text = crate::codegen::loss_name(loss.kind).to_string();
    match loss.kind {
        LossKind::MulticlassHinge { margin } if margin != 1.0 => {
            text += &format!(" margin={margin}")
        }
        LossKind::Huber { delta } if delta != 1.0 => text += &format!(" delta={delta}"),
        LossKind::BinaryCrossentropy { from_logits: true }
        | LossKind::CategoricalCrossentropy { from_logits: true }
        | LossKind::SparseCategoricalCrossentropy { from_logits: true } => {
            text += " from_logits=true"
        }
        _ => {}
    }
    match loss.reduction {
        Reduction::Mean => {}
        Reduction::Sum => text += " reduction=sum",
        Reduction::None => text += " reduction=none",
    }
    text
}

/// The graph's bytes, as the generated network carries them.
pub fn export_bytes(net: &Network) -> Vec<u8> {
    axonal_onnx::encode(&export(net))
}

/// The network's ONNX model with its weights from a safetensors checkpoint (`Model::save`'s
/// file, f32 or f64), which must hold exactly the network's tensors with their shapes.
#[cfg(feature = "cli")]
pub fn export_with_weights(net: &Network, checkpoint: &[u8]) -> Result<Vec<u8>, String> {
    use safetensors::{Dtype, SafeTensors};
    let tensors = SafeTensors::deserialize(checkpoint)
        .map_err(|e| format!("not a safetensors checkpoint: {e}"))?;
    let mut model = export(net);
    let wanted = axonal_onnx::weights(&model);
    let mut problems = Vec::new();
    for (name, dims) in &wanted {
        match tensors.tensor(name) {
            Err(_) => problems.push(format!("`{name}` is missing")),
            Ok(t) => {
                let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
                if &shape != dims {
                    problems.push(format!(
                        "`{name}` has shape {shape:?}, the network's is {dims:?}"
                    ));
                }
                if !matches!(t.dtype(), Dtype::F32 | Dtype::F64) {
                    problems.push(format!("`{name}` is {:?}, not F32 or F64", t.dtype()));
                }
            }
        }
    }
    for name in tensors.names() {
        if !wanted.iter().any(|(w, _)| w == name) {
            problems.push(format!(
                "`{name}` is not a tensor of network `{}`",
                net.name
            ));
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(format!(
            "the checkpoint does not fit network `{}`:\n  {}",
            net.name,
            problems.join("\n  ")
        ));
    }
    axonal_onnx::fill(&mut model, |name| {
        let t = tensors.tensor(name).ok()?;
        Some(match t.dtype() {
            Dtype::F64 => t
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            _ => t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect(),
        })
    })
    .map_err(|e| e.to_string())?;
    Ok(axonal_onnx::encode(&model))
}

/// `nodes` in order from the value `x`, their keys under `prefix`.
fn nodes(g: &mut Graph, nodes: &[Node], prefix: &str, x: String) -> String {
    nodes.iter().fold(x, |x, n| node(g, n, prefix, x))
}

fn node(g: &mut Graph, node: &Node, prefix: &str, x: String) -> String {
    match node {
        Node::Layer(l) => l.spec.onnx(l.io(), g, &format!("{prefix}{}", l.field), &x),
        Node::Block(b) => block(g, b, &format!("{prefix}{}.", b.field), x),
    }
}

/// A block under `prefix` (its path and a dot), as its checkpoint keys go (see
/// `codegen::blocks::keys`).
fn block(g: &mut Graph, b: &Block, prefix: &str, x: String) -> String {
    let base = prefix.trim_end_matches('.');
    let y = match b.kind {
        BlockKind::Repeat(n) => {
            let element = &b.parts[0].nodes[0];
            (0..n).fold(x, |x, i| {
                let prefix = format!("{prefix}{i}.");
                match element {
                    Node::Block(inner) => block(g, inner, &prefix, x),
                    Node::Layer(_) => node(g, element, &prefix, x),
                }
            })
        }
        BlockKind::Sequence => b.parts.iter().fold(x, |x, p| {
            nodes(g, &p.nodes, &part_prefix(prefix, &p.name), x)
        }),
        BlockKind::Residual | BlockKind::Sum | BlockKind::Concat => {
            let mut outs: Vec<String> = b
                .parts
                .iter()
                .map(|p| nodes(g, &p.nodes, &part_prefix(prefix, &p.name), x.clone()))
                .collect();
            if b.kind == BlockKind::Residual && b.parts.iter().all(|p| p.name.is_empty()) {
                outs.push(x); // the identity shortcut
            }
            let inputs: Vec<&str> = outs.iter().map(String::as_str).collect();
            match b.kind {
                BlockKind::Residual => g.node("Add", base, &inputs, vec![]),
                BlockKind::Sum => g.node("Sum", base, &inputs, vec![]),
                _ => g.node("Concat", base, &inputs, vec![attr::int("axis", 1)]),
            }
        }
    };
    match b.activation {
        Some(a) => activation::onnx(a, g, base, &y),
        None => y,
    }
}

fn part_prefix(prefix: &str, name: &str) -> String {
    if name.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}{name}.")
    }
}
