//! ONNX export: a network as an ONNX model that computes what its `predict` computes, for ONNX
//! Runtime, tract, Triton and the other engines that serve ONNX.
//!
//! The compiler writes each network's graph (opset 17, eval mode, the loss's link as the last
//! node, a symbolic batch; `Net::ONNX`); its weights are declared by their checkpoint names
//! (`fc1.weight`, `bn1.running_mean`) but hold no values. [`save`] fills them with the
//! network's current parameters and buffers, as f32.
//!
//! ```no_run
//! # axonal::network! { Net { input 4; fc: dense 3; softmax_ce } }
//! use axonal::Model;
//!
//! let mut net = Net::<f32>::seeded(0);
//! net.save_onnx("net.onnx")?; // input `input` [batch, 4], output `output` [batch, 3]
//! # Ok::<(), axonal::Error>(())
//! ```

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::Model;

/// The ONNX model of `model` with its current weights, as bytes.
///
/// Errors: `model` has no graph (a hand-written [`Model`]), or a weight the graph declares is
/// not among the model's parameters and buffers, or has another number of values.
pub fn to_bytes<F: Float, M: Model<F> + ?Sized>(model: &mut M) -> Result<Vec<u8>> {
    let network = model.name();
    let fail = |message: String| Error::Onnx { network, message };
    let graph = model.onnx_graph().ok_or_else(|| {
        fail("it has no ONNX graph (only networks written in the language have one)".into())
    })?;
    let mut proto = axonal_onnx::decode(graph).map_err(|e| fail(e.to_string()))?;
    let mut weights: HashMap<String, Vec<f32>> = HashMap::new();
    let as_f32 = |v: &[F]| v.iter().map(|x| x.as_f64() as f32).collect::<Vec<f32>>();
    model.visit_params(&mut |p| {
        weights.insert(format!("{}.{}", p.layer, p.name), as_f32(p.value));
    });
    model.visit_buffers(&mut |b| {
        weights.insert(format!("{}.{}", b.layer, b.name), as_f32(b.value));
    });
    axonal_onnx::fill(&mut proto, |name| weights.remove(name)).map_err(|e| fail(e.to_string()))?;
    Ok(axonal_onnx::encode(&proto))
}

/// Writes the ONNX model of `model` (see [`to_bytes`]) to `path`, atomically as checkpoints
/// are: `path` holds the old file or the new one, never a mix.
pub fn save<F: Float, M: Model<F> + ?Sized>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let bytes = to_bytes(model)?;
    crate::io::write_atomically(path.as_ref(), &bytes)
}
