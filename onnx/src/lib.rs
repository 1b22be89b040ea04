//! The ONNX format as axonal writes and reads it: the messages of `onnx.proto` as prost types
//! ([`proto`]), a [`Graph`] builder that the compiler uses to write a network's graph, and
//! [`fill`], which puts a network's weights into a graph's initializers.
//!
//! A network's graph is built once, by the compiler, without weights: each weight is an
//! initializer with its name (`fc1.weight`), shape and type but no data. The generated network
//! carries those bytes; `save_onnx` (and `axc export`) decode them, [`fill`] each weight from
//! the parameters (or a checkpoint), and encode the model. So the compiler is the one place
//! that knows what ONNX operators a layer becomes, and the runtime the one place that knows
//! the weights.

use std::collections::HashSet;

use prost::Message;

pub mod proto;

use proto::{
    attribute_type, data_type, AttributeProto, Dimension, DimensionValue, GraphProto, ModelProto,
    NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor,
    ValueInfoProto,
};

/// The operator set axonal writes: 17, which ONNX Runtime and tract both run, and the first
/// with `LayerNormalization`.
pub const OPSET: i64 = 17;

/// The IR version that goes with [`OPSET`] (ONNX 1.12).
pub const IR_VERSION: i64 = 8;

/// The name of a graph's batch dimension.
pub const BATCH: &str = "batch";

/// The name of a graph's input.
pub const INPUT: &str = "input";

/// The name of a graph's output.
pub const OUTPUT: &str = "output";

/// What can go wrong with an ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a protobuf `ModelProto`.
    #[error("not an ONNX model: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A weight the graph needs has no value, or the wrong number of elements.
    #[error("weight `{name}`: {problem}")]
    Weight {
        /// The initializer's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

/// An attribute of a node.
pub mod attr {
    use super::*;

    /// An integer attribute.
    pub fn int(name: &str, value: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: attribute_type::INT,
            i: value,
            ..Default::default()
        }
    }

    /// A list of integers.
    pub fn ints(name: &str, values: &[usize]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: attribute_type::INTS,
            ints: values.iter().map(|&v| v as i64).collect(),
            ..Default::default()
        }
    }

    /// A float attribute (ONNX attributes are f32).
    pub fn float(name: &str, value: f64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: attribute_type::FLOAT,
            f: value as f32,
            ..Default::default()
        }
    }
}

/// A graph being written: nodes in order, initializers, one input and one output, every value
/// named once.
#[derive(Debug)]
pub struct Graph {
    name: String,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    names: HashSet<String>,
}

impl Graph {
    /// An empty graph called `name` (the network's name). The names [`INPUT`] and
    /// [`OUTPUT`] are kept for the graph's input and output: a node that asks for one gets
    /// `input_2`, `output_2`.
    pub fn new(name: &str) -> Self {
        Graph {
            name: name.into(),
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            names: [INPUT, OUTPUT].map(String::from).into_iter().collect(),
        }
    }

    /// A name not used yet: `base`, or `base_2`, `base_3`, ….
    pub fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.names.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.names.insert(name.clone());
        name
    }

    /// Declares the graph's input, [`INPUT`]: f32, `[batch, dims…]` with a symbolic batch.
    pub fn input(&mut self, dims: &[usize]) -> String {
        self.inputs.push(value_info(INPUT, dims));
        INPUT.to_string()
    }

    /// Makes `value` the graph's output, [`OUTPUT`], of per-sample shape `dims`. The node
    /// that computes `value` is renamed to write it directly; an input passed straight through
    /// (or a value also read elsewhere) gets an `Identity`.
    pub fn output(&mut self, value: &str, dims: &[usize]) {
        let name = OUTPUT.to_string();
        let produced = self
            .nodes
            .iter()
            .any(|n| n.output.iter().any(|o| o == value));
        let read = self
            .nodes
            .iter()
            .any(|n| n.input.iter().any(|i| i == value));
        if produced && !read {
            let node = self
                .nodes
                .iter_mut()
                .rev()
                .find(|n| n.output.iter().any(|o| o == value));
            for o in node.into_iter().flat_map(|n| &mut n.output) {
                if o == value {
                    *o = name.clone();
                }
            }
        } else {
            self.nodes.push(NodeProto {
                input: vec![value.into()],
                output: vec![name.clone()],
                name: name.clone(),
                op_type: "Identity".into(),
                ..Default::default()
            });
        }
        self.outputs.push(value_info(&name, dims));
    }

    /// Adds a node `op` reading `inputs`, named after `base`; returns its output's name.
    pub fn node(
        &mut self,
        op: &str,
        base: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(base);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute: attributes,
            ..Default::default()
        });
        out
    }

    /// Declares the f32 weight `name` (`fc1.weight`) of shape `dims`, to be filled by [`fill`].
    pub fn weight(&mut self, name: &str, dims: &[usize]) -> String {
        let name = self.fresh(name);
        self.initializers.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            ..Default::default()
        });
        name
    }

    /// A constant f32 scalar, named after `base`.
    pub fn scalar(&mut self, base: &str, value: f64) -> String {
        let name = self.fresh(base);
        self.initializers.push(TensorProto {
            name: name.clone(),
            data_type: data_type::FLOAT,
            raw_data: (value as f32).to_le_bytes().to_vec(),
            ..Default::default()
        });
        name
    }

    /// A constant vector of i64 (a `Reshape`'s target shape), named after `base`.
    pub fn ints(&mut self, base: &str, values: &[i64]) -> String {
        let name = self.fresh(base);
        self.initializers.push(TensorProto {
            name: name.clone(),
            dims: vec![values.len() as i64],
            data_type: data_type::INT64,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// The model: this graph at [`OPSET`], written by `producer`.
    pub fn model(self, producer: &str, version: &str) -> ModelProto {
        ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: producer.into(),
            producer_version: version.into(),
            graph: Some(GraphProto {
                node: self.nodes,
                name: self.name,
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// An f32 tensor value of shape `[batch, dims…]`.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(DimensionValue::DimParam(BATCH.into())),
    };
    let dims = dims.iter().map(|&d| Dimension {
        value: Some(DimensionValue::DimValue(d as i64)),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(dims).collect(),
                }),
            }),
        }),
        ..Default::default()
    }
}

/// The weights a graph declares and still needs: the f32 initializers without data, as
/// (name, shape).
pub fn weights(model: &ModelProto) -> Vec<(String, Vec<i64>)> {
    model
        .graph
        .iter()
        .flat_map(|g| &g.initializer)
        .filter(|t| is_unfilled(t))
        .map(|t| (t.name.clone(), t.dims.clone()))
        .collect()
}

fn is_unfilled(t: &TensorProto) -> bool {
    t.data_type == data_type::FLOAT && t.raw_data.is_empty() && t.float_data.is_empty()
}

/// Fills every weight the graph declares (see [`Graph::weight`]) with `value(name)`, which must
/// give as many elements as the weight's shape holds, row-major.
pub fn fill(
    model: &mut ModelProto,
    mut value: impl FnMut(&str) -> Option<Vec<f32>>,
) -> Result<(), Error> {
    for t in model.graph.iter_mut().flat_map(|g| &mut g.initializer) {
        if !is_unfilled(t) {
            continue;
        }
        let want: i64 = t.dims.iter().product();
        let data = value(&t.name).ok_or_else(|| Error::Weight {
            name: t.name.clone(),
            problem: "no such parameter or buffer".into(),
        })?;
        if data.len() as i64 != want {
            return Err(Error::Weight {
                name: t.name.clone(),
                problem: format!("{} values for shape {:?} ({want})", data.len(), t.dims),
            });
        }
        t.raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    }
    Ok(())
}

/// Decodes a model from its bytes.
pub fn decode(bytes: &[u8]) -> Result<ModelProto, Error> {
    Ok(ModelProto::decode(bytes)?)
}

/// Encodes a model to bytes.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}
