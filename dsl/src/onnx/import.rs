//! ONNX → a `.nn` source and its weights: `axc import`.
//!
//! The graph is read as the language writes networks: a chain of layers, where a value read by
//! several nodes opens a block whose parts meet again at one join (`Add`: a residual, `Sum`:
//! an `add` block, `Concat`: a `concat` block). Each operator (or the few nodes an activation
//! without an operator of its own is written with, as [`super::export`] writes them) becomes a
//! statement; a final `Softmax` becomes the loss `softmax_ce`. A model axonal exported also
//! gives back its labels (from its node names), its `repeat`s (copies `stage.0`, `stage.1`, …
//! of the same block) and its loss (kept in the model's metadata), so importing it gives back
//! the source it came from, in `axc fmt`'s layout, with bit-identical weights.
//!
//! The file is untrusted: every count it claims is checked against the bytes it holds before
//! anything is allocated, every value a node reads must be defined before it (which also
//! refuses cycles), and an operator the language has no statement for is an error that lists
//! every such node, never a partial source.

use std::collections::{HashMap, HashSet};

use axonal_onnx::proto::{data_type, AttributeProto, ModelProto, NodeProto, TensorProto};

use crate::ir::Network;
use crate::layers::window::{text, Window};

/// The largest model file read: protobuf's limit of 2 GiB.
pub const MAX_BYTES: u64 = 2 << 30;

/// The most elements one tensor may claim (2³¹, as ONNX Runtime's own limit).
const MAX_ELEMENTS: usize = 1 << 31;

/// What an import gives: a source with one network, and its weights by checkpoint name.
#[derive(Debug)]
pub struct Imported {
    /// The `.nn` source, formatted as `axc fmt` does.
    pub source: String,
    /// Every parameter and buffer of the network: checkpoint name, shape, values.
    pub weights: Weights,
}

/// Tensors by checkpoint name: name, shape, values (row-major).
pub type Weights = Vec<(String, Vec<usize>, Vec<f32>)>;

/// Why a model could not be imported: every problem found, one per line.
#[derive(Debug)]
pub struct ImportError(pub Vec<String>);

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.join("\n"))
    }
}

impl std::error::Error for ImportError {}

fn fail<T>(problem: impl Into<String>) -> Result<T, ImportError> {
    Err(ImportError(vec![problem.into()]))
}

/// The operators a statement can come from.
const SUPPORTED: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Sum",
    "Concat",
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Flatten",
    "Reshape",
    "BatchNormalization",
    "LayerNormalization",
    "Dropout",
    "Identity",
    "Relu",
    "Sigmoid",
    "Tanh",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Softplus",
    "HardSigmoid",
    "Softmax",
    "LogSoftmax",
    "Mul",
    "Div",
    "Erf",
    "Greater",
    "Cast",
    "ReduceMax",
    "ReduceMean",
    "Where",
    "Mish",
    "Gelu",
    "Constant",
];

/// Imports the ONNX model `bytes` as a network called `name`.
pub fn import(bytes: &[u8], name: &str) -> Result<Imported, ImportError> {
    if bytes.len() as u64 > MAX_BYTES {
        return fail(format!(
            "the file has {} bytes, more than an ONNX model can ({MAX_BYTES})",
            bytes.len()
        ));
    }
    // The name first: a source that cannot hold it would be a confusing error at the end.
    let probe = format!("{name} {{ input 1; relu }}");
    if let Err(d) = crate::check_source(&probe) {
        let why = d.first().map(|d| d.message.clone()).unwrap_or_default();
        return fail(format!(
            "`{name}` cannot name a network ({why}); choose another name"
        ));
    }
    let model = axonal_onnx::decode(bytes).map_err(|e| ImportError(vec![e.to_string()]))?;
    let own = model.producer_name == "axonal";
    let loss = model
        .metadata_props
        .iter()
        .find(|p| p.key == super::LOSS_KEY)
        .map(|p| p.value.clone());
    let Some(graph) = &model.graph else {
        return fail("the model has no graph");
    };
    check_opset(&model)?;

    // Every unsupported node, all at once.
    let unsupported: Vec<String> = graph
        .node
        .iter()
        .filter(|n| {
            !n.domain.is_empty() && n.domain != "ai.onnx"
                || !SUPPORTED.contains(&n.op_type.as_str())
        })
        .map(|n| {
            format!(
                "node `{}`: operator `{}{}` has no statement in the language",
                n.name,
                domain(n),
                n.op_type
            )
        })
        .collect();
    if !unsupported.is_empty() {
        return Err(ImportError(unsupported));
    }

    let mut cx = Reader::new(graph, own)?;
    let input = cx.input.clone();
    let (mut stmts, end, join) = cx.chain(input.clone())?;
    if let Some(j) = join {
        return fail(format!(
            "node `{}` ({}) joins values that do not all come from one fork",
            cx.nodes[j].name, cx.nodes[j].op_type
        ));
    }
    if end != cx.output {
        return fail(format!(
            "the graph's output `{}` is not computed by the chain from its input",
            cx.output
        ));
    }
    let leftover: Vec<String> = cx
        .nodes
        .iter()
        .zip(&cx.done)
        .filter(|(_, done)| !**done)
        .map(|(n, _)| {
            format!(
                "node `{}` ({}) does not lie on the path from input to output",
                n.name, n.op_type
            )
        })
        .collect();
    if !leftover.is_empty() {
        return Err(ImportError(leftover));
    }
    let loss = match loss {
        Some(loss) if own => Some(loss),
        _ => match stmts.last() {
            // A final softmax is what `softmax_ce`'s `predict` applies.
            Some(Stmt::Layer(l)) if l.keyword == "softmax" && !own => {
                stmts.pop();
                Some("softmax_ce".to_string())
            }
            Some(Stmt::Layer(l)) if l.text.ends_with(" softmax") && !own => {
                if let Some(Stmt::Layer(l)) = stmts.last_mut() {
                    l.text.truncate(l.text.len() - " softmax".len());
                }
                Some("softmax_ce".to_string())
            }
            _ => None,
        },
    };
    if own {
        fold_repeats(&mut stmts, "");
    }

    let dims: Vec<String> = cx.input_shape.iter().map(usize::to_string).collect();
    let mut text = format!("{name} {{\n    input {};\n", dims.join("x"));
    render(&stmts, "", 1, &mut text);
    if let Some(loss) = &loss {
        text += &format!("    {loss}\n");
    }
    text += "}\n";
    let source = crate::format::format(&text).map_err(|d| internal(&text, &d))?;
    let program = crate::check_source(&source).map_err(|d| internal(&source, &d))?;
    let weights = weights_by_name(&program.networks[0], &stmts)?;
    Ok(Imported { source, weights })
}

fn domain(n: &NodeProto) -> String {
    if n.domain.is_empty() || n.domain == "ai.onnx" {
        String::new()
    } else {
        format!("{}.", n.domain)
    }
}

/// The default operator set must be one whose operators mean what this module reads: 11 on
/// (`Pad`-less `pads`, `Softmax` over one axis from 13; older softmax over a flat row is the
/// same on the vectors the language softmaxes).
fn check_opset(model: &ModelProto) -> Result<(), ImportError> {
    match model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
    {
        Some(o) if (11..=22).contains(&o.version) => Ok(()),
        Some(o) => fail(format!(
            "the model uses operator set {}; import reads sets 11 to 22",
            o.version
        )),
        None => fail("the model imports no default operator set"),
    }
}

/// A mistake of this module: the source it wrote does not check.
fn internal(source: &str, diags: &[crate::Diagnostic]) -> ImportError {
    ImportError(vec![format!(
        "the imported source does not check (a bug of axc import):\n{source}\n{}",
        crate::diagnostic::render_all(diags, "imported.nn", source, false)
    )])
}

/// A tensor of the file: its dims and its values.
#[derive(Clone, Debug)]
struct Tensor {
    dims: Vec<usize>,
    floats: Vec<f32>,
    ints: Vec<i64>,
}

/// Reads a tensor, checking that the elements its dims claim are the ones its bytes hold.
fn tensor(t: &TensorProto) -> Result<Tensor, String> {
    let name = &t.name;
    if t.data_location == 1 || !t.external_data.is_empty() {
        return Err(format!(
            "tensor `{name}` keeps its data in an external file; import reads self-contained models"
        ));
    }
    let mut count: usize = 1;
    let mut dims = Vec::with_capacity(t.dims.len().min(8));
    for &d in &t.dims {
        let d = usize::try_from(d)
            .ok()
            .filter(|&d| d <= MAX_ELEMENTS)
            .ok_or_else(|| format!("tensor `{name}` has dimension {d}"))?;
        count = count
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| {
                format!(
                    "tensor `{name}` claims more than {MAX_ELEMENTS} elements ({:?})",
                    t.dims
                )
            })?;
        dims.push(d);
    }
    let holds = |n: usize, what: &str| {
        if n == count {
            Ok(())
        } else {
            Err(format!(
                "tensor `{name}` claims {count} elements (shape {:?}) but holds {n} {what}",
                t.dims
            ))
        }
    };
    let raw = &t.raw_data;
    let mut out = Tensor {
        dims,
        floats: Vec::new(),
        ints: Vec::new(),
    };
    match t.data_type {
        data_type::FLOAT if !raw.is_empty() => {
            holds(raw.len() / 4, "")?;
            if !raw.len().is_multiple_of(4) {
                return Err(format!("tensor `{name}` has {} bytes of f32", raw.len()));
            }
            out.floats = raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
        }
        data_type::FLOAT => {
            holds(t.float_data.len(), "")?;
            out.floats = t.float_data.clone();
        }
        data_type::DOUBLE if !raw.is_empty() => {
            holds(raw.len() / 8, "")?;
            if !raw.len().is_multiple_of(8) {
                return Err(format!("tensor `{name}` has {} bytes of f64", raw.len()));
            }
            out.floats = raw
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect();
        }
        data_type::DOUBLE => {
            holds(t.double_data.len(), "")?;
            out.floats = t.double_data.iter().map(|&v| v as f32).collect();
        }
        data_type::INT64 if !raw.is_empty() => {
            holds(raw.len() / 8, "")?;
            out.ints = raw
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
        }
        data_type::INT64 => {
            holds(t.int64_data.len(), "")?;
            out.ints = t.int64_data.clone();
        }
        other => {
            return Err(format!(
                "tensor `{name}` has element type {other}; import reads float, double and int64 tensors"
            ))
        }
    }
    if out.floats.iter().any(|v| !v.is_finite()) {
        return Err(format!("tensor `{name}` holds a NaN or infinite value"));
    }
    Ok(out)
}

/// A statement read from the graph.
#[derive(Clone, Debug)]
enum Stmt {
    Layer(Layer),
    Block(Block),
    Repeat {
        label: Option<String>,
        count: usize,
        /// The first copy's statements, as the repeat's body.
        body: Vec<Stmt>,
        /// Every copy, with its own weights.
        copies: Vec<Stmt>,
    },
}

/// A layer statement: its key (the checkpoint path a model axonal exported gives it), its
/// keyword, its text without a label, and its weights in the order the layer declares them.
#[derive(Clone, Debug)]
struct Layer {
    key: Option<String>,
    keyword: &'static str,
    text: String,
    weights: Vec<Tensor>,
}

/// The joins a block can end in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Join {
    Residual,
    Add,
    Concat,
}

#[derive(Clone, Debug)]
struct Block {
    key: Option<String>,
    join: Join,
    /// Parts in the join's order (a residual's body, then its shortcut if it has one).
    parts: Vec<Vec<Stmt>>,
    activation: Option<String>,
}

/// A part being read: its statements, the value it ends in, the join that reads it.
struct Open {
    stmts: Vec<Stmt>,
    end: String,
    join: usize,
}

/// Where a step starts at a value: a node that reads it, or an activation written as
/// several nodes that all read it.
enum Start {
    Node(usize),
    Pattern(Layer, Vec<usize>, String),
}

/// The graph being read.
struct Reader<'a> {
    nodes: &'a [NodeProto],
    consts: HashMap<String, Tensor>,
    consumers: HashMap<String, Vec<usize>>,
    /// Per-sample shapes of the values computed so far.
    shapes: HashMap<String, Vec<usize>>,
    done: Vec<bool>,
    own: bool,
    input: String,
    input_shape: Vec<usize>,
    output: String,
}

impl<'a> Reader<'a> {
    fn new(graph: &'a axonal_onnx::proto::GraphProto, own: bool) -> Result<Self, ImportError> {
        let mut problems = Vec::new();
        let mut consts = HashMap::new();
        // Tensors that could not be read still count as defined: their problem is said once.
        let mut unreadable = Vec::new();
        for t in &graph.initializer {
            match tensor(t) {
                Ok(v) => {
                    consts.insert(t.name.clone(), v);
                }
                Err(e) => {
                    problems.push(e);
                    unreadable.push(t.name.clone());
                }
            }
        }
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !consts.contains_key(&i.name))
            .collect();
        let [input] = inputs.as_slice() else {
            return fail(format!(
                "the graph has {} inputs besides its weights; a network has one",
                inputs.len()
            ));
        };
        let [output] = graph.output.as_slice() else {
            return fail(format!(
                "the graph has {} outputs; a network has one",
                graph.output.len()
            ));
        };
        let input_shape = sample_shape(input)?;
        // Definitions in order: every value read must be defined before (no cycles).
        let mut defined: HashSet<String> = consts.keys().cloned().chain(unreadable).collect();
        defined.insert(input.name.clone());
        let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
        let mut constant_nodes = Vec::new();
        for (i, n) in graph.node.iter().enumerate() {
            // PyTorch's exporter shares equal weights through an Identity of one of them.
            if n.op_type == "Identity" {
                if let (Some(input), Some(out)) = (n.input.first(), n.output.first()) {
                    if let Some(t) = consts.get(input).cloned() {
                        consts.insert(out.clone(), t);
                        constant_nodes.push(i);
                    }
                }
            }
            if n.op_type == "Constant" {
                constant_nodes.push(i);
                match n
                    .attribute
                    .iter()
                    .find(|a| a.name == "value")
                    .and_then(|a| a.t.as_ref())
                {
                    Some(t) => match (tensor(t), n.output.first()) {
                        (Ok(v), Some(out)) => {
                            consts.insert(out.clone(), v);
                        }
                        (Err(e), _) => problems.push(e),
                        (_, None) => {
                            problems.push(format!("Constant node `{}` has no output", n.name))
                        }
                    },
                    None => {
                        problems.push(format!("Constant node `{}` has no tensor `value`", n.name))
                    }
                }
            }
            for input in n.input.iter().filter(|s| !s.is_empty()) {
                if !defined.contains(input) {
                    problems.push(format!(
                        "node `{}` ({}) reads `{input}`, which no initializer, input or earlier node defines (a missing initializer, or a cycle)",
                        n.name, n.op_type
                    ));
                }
                if !consts.contains_key(input) {
                    consumers.entry(input.clone()).or_default().push(i);
                }
            }
            for out in &n.output {
                if !defined.insert(out.clone()) {
                    problems.push(format!(
                        "node `{}` writes `{out}`, which is already defined",
                        n.name
                    ));
                }
            }
        }
        if !defined.contains(&output.name) {
            problems.push(format!(
                "nothing computes the graph's output `{}`",
                output.name
            ));
        }
        if !problems.is_empty() {
            return Err(ImportError(problems));
        }
        let mut shapes = HashMap::new();
        shapes.insert(input.name.clone(), input_shape.clone());
        let mut done = vec![false; graph.node.len()];
        for i in constant_nodes {
            done[i] = true;
        }
        Ok(Reader {
            nodes: &graph.node,
            consts,
            consumers,
            shapes,
            done,
            own,
            input: input.name.clone(),
            input_shape,
            output: output.name.clone(),
        })
    }

    fn node(&self, i: usize) -> &'a NodeProto {
        &self.nodes[i]
    }

    fn shape(&self, v: &str) -> Vec<usize> {
        self.shapes.get(v).cloned().unwrap_or_default()
    }

    /// The nodes not yet read that read `v`.
    fn readers(&self, v: &str) -> Vec<usize> {
        let mut r: Vec<usize> = self
            .consumers
            .get(v)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| !self.done[i])
            .collect();
        r.dedup();
        r
    }

    /// The one node that reads `v`, if only one does.
    fn only_reader(&self, v: &str) -> Option<usize> {
        match self.readers(v).as_slice() {
            [n] => Some(*n),
            _ => None,
        }
    }

    fn is_join(&self, i: usize) -> bool {
        let n = self.node(i);
        let computed = n
            .input
            .iter()
            .filter(|s| !self.consts.contains_key(*s))
            .count();
        matches!(n.op_type.as_str(), "Add" | "Sum" | "Concat") && computed >= 2
            || n.op_type == "Sum"
    }

    fn out(&self, i: usize) -> Result<String, ImportError> {
        match self.node(i).output.first() {
            Some(o) if !o.is_empty() => Ok(o.clone()),
            _ => fail(format!("node `{}` has no output", self.node(i).name)),
        }
    }

    /// Reads the chain from `v` until the graph's output, or until a join node that `v`'s
    /// chain feeds (returned, unread, for the fork that opened the block).
    fn chain(&mut self, mut v: String) -> Result<(Vec<Stmt>, String, Option<usize>), ImportError> {
        let mut stmts = Vec::new();
        loop {
            let mut starts = self.starts(&v)?;
            if starts.is_empty() {
                return Ok((stmts, v, None));
            }
            if starts.len() > 1 {
                let (block, out) = self.fork(&v, starts)?;
                stmts.push(block);
                v = out;
                continue;
            }
            match starts.pop().expect("one start") {
                Start::Node(n) if self.is_join(n) => return Ok((stmts, v, Some(n))),
                start => {
                    let (stmt, out) = self.step(&v, start)?;
                    stmts.extend(stmt);
                    v = out;
                }
            }
        }
    }

    /// The ways on from `v`: its readers, with the activations written as several nodes
    /// (gelu, silu, mish) taken as one start each.
    fn starts(&mut self, v: &str) -> Result<Vec<Start>, ImportError> {
        let mut readers = self.readers(v);
        let mut starts = Vec::new();
        while let Some((layer, nodes, out)) = self.pattern(v, &readers) {
            readers.retain(|r| !nodes.contains(r));
            starts.push(Start::Pattern(layer, nodes, out));
        }
        starts.extend(readers.into_iter().map(Start::Node));
        Ok(starts)
    }

    /// One step from `v`: a statement (or nothing, for an identity) and the value after it.
    fn step(&mut self, v: &str, start: Start) -> Result<(Option<Stmt>, String), ImportError> {
        match start {
            Start::Pattern(layer, nodes, out) => {
                for n in nodes {
                    self.done[n] = true;
                }
                self.shapes.insert(out.clone(), self.shape(v));
                Ok((Some(Stmt::Layer(layer)), out))
            }
            Start::Node(n) => self.layer(n, v),
        }
    }

    /// A block: the parts that start at `v` and meet again at one join.
    fn fork(&mut self, v: &str, starts: Vec<Start>) -> Result<(Stmt, String), ImportError> {
        // Each start read to the join it reaches; the identity of a residual is a start at
        // its join. Several joins mean nested blocks that open at the same value (a residual
        // first in a branch): the innermost complete one becomes a block, which its part
        // continues after, until one join is left.
        let mut open: Vec<Open> = Vec::new();
        for start in starts {
            if let Start::Node(n) = start {
                if self.is_join(n) {
                    open.push(Open {
                        stmts: Vec::new(),
                        end: v.to_string(),
                        join: n,
                    });
                    continue;
                }
            }
            let (first, out) = self.step(v, start)?;
            let (rest, end, j) = self.chain(out)?;
            let Some(join) = j else {
                return fail(format!(
                    "a part that starts at `{v}` reaches the output without meeting the others"
                ));
            };
            open.push(Open {
                stmts: first.into_iter().chain(rest).collect(),
                end,
                join,
            });
        }
        loop {
            let joins: Vec<usize> = open.iter().map(|o| o.join).collect();
            if joins.iter().all(|&j| j == joins[0]) {
                return self.block(v, open);
            }
            // A join all of whose computed inputs end parts here is complete.
            let complete = joins.iter().copied().find(|&j| {
                self.node(j)
                    .input
                    .iter()
                    .filter(|i| !self.consts.contains_key(*i))
                    .all(|i| open.iter().any(|o| o.join == j && &o.end == i))
            });
            let Some(j) = complete else {
                return fail(format!(
                    "the parts that start at `{v}` meet at joins that do not nest (`{}`, …)",
                    self.node(joins[0]).name
                ));
            };
            let (group, rest): (Vec<Open>, Vec<Open>) = open.into_iter().partition(|o| o.join == j);
            open = rest;
            let (block, out) = self.block(v, group)?;
            let (more, end, next) = self.chain(out)?;
            let Some(join) = next else {
                return fail(format!(
                    "a part that starts at `{v}` reaches the output without meeting the others"
                ));
            };
            open.push(Open {
                stmts: std::iter::once(block).chain(more).collect(),
                end,
                join,
            });
        }
    }

    /// The block of `parts`, which start at `v` and all end at one join.
    fn block(&mut self, v: &str, parts: Vec<Open>) -> Result<(Stmt, String), ImportError> {
        let j = parts[0].join;
        let identity = parts.iter().any(|o| o.stmts.is_empty() && o.end == v);
        let mut parts: Vec<(Vec<Stmt>, String)> = parts
            .into_iter()
            .filter(|o| !(o.stmts.is_empty() && o.end == v))
            .map(|o| (o.stmts, o.end))
            .collect();
        let node = self.node(j);
        // Parts in the join's order.
        let mut ordered = Vec::new();
        for input in &node.input {
            if let Some(i) = parts.iter().position(|(_, end)| end == input) {
                ordered.push(parts.remove(i));
            } else if input != v || !identity {
                return fail(format!(
                    "join `{}` ({}) reads `{input}`, which is not the end of a part that starts at `{v}`",
                    node.name, node.op_type
                ));
            }
        }
        if !parts.is_empty() {
            return fail(format!(
                "join `{}` does not read every part that starts at `{v}`",
                node.name
            ));
        }
        let shapes: Vec<Vec<usize>> = ordered.iter().map(|(_, end)| self.shape(end)).collect();
        let join_kind = match node.op_type.as_str() {
            "Concat" => {
                let axis = int_attr(node, "axis").unwrap_or(1);
                if axis != 1 {
                    return fail(format!(
                        "Concat `{}` joins along axis {axis}; a `concat` block joins along axis 1 (channels, or features)",
                        node.name
                    ));
                }
                Join::Concat
            }
            "Add" if identity && ordered.len() == 1 => Join::Residual,
            "Add" if ordered.len() == 2 => Join::Residual,
            _ => Join::Add,
        };
        if join_kind != Join::Residual && identity {
            return fail(format!(
                "join `{}` reads the block's input `{v}` itself beside other parts; only a residual's shortcut may",
                node.name
            ));
        }
        let mut shape = shapes.first().cloned().unwrap_or_else(|| self.shape(v));
        if join_kind == Join::Concat {
            shape[0] = shapes.iter().map(|s| s[0]).sum();
        }
        self.done[j] = true;
        let mut out = self.out(j)?;
        self.shapes.insert(out.clone(), shape.clone());
        // An activation right after the join is the block's own (`residual relu`).
        let mut activation = None;
        if let Some((word, after)) = self.activation_after(&out, &unreserved(&node.name)) {
            activation = Some(word);
            out = after;
            self.shapes.insert(out.clone(), shape);
        }
        let block = Block {
            key: self.own.then(|| unreserved(&node.name)),
            join: join_kind,
            parts: ordered.into_iter().map(|(stmts, _)| stmts).collect(),
            activation,
        };
        Ok((Stmt::Block(block), out))
    }

    /// The statement that node `n` (reading `v`) starts, with the nodes it takes after it.
    fn layer(&mut self, n: usize, v: &str) -> Result<(Option<Stmt>, String), ImportError> {
        let node = self.node(n);
        self.done[n] = true;
        let mut out = self.out(n)?;
        let shape = self.shape(v);
        let here = |what: String| -> ImportError {
            ImportError(vec![format!(
                "node `{}` ({}): {what}",
                node.name, node.op_type
            )])
        };
        // A model axonal wrote names a layer's nodes after its key, and its weights
        // `key.weight` exactly (a node name can be `input_2` where a label took `input`).
        let key = self.own.then(|| {
            node.input
                .get(1)
                .and_then(|w| w.strip_suffix(".weight"))
                .map_or_else(|| unreserved(&node.name), str::to_string)
        });
        let layer = |keyword: &'static str, text: String, weights: Vec<Tensor>| Layer {
            key: key.clone(),
            keyword,
            text,
            weights,
        };
        let (mut stmt, out_shape) = match node.op_type.as_str() {
            // An `identity` statement of a model axonal wrote; elsewhere, nothing.
            "Identity" if self.own && node.name.ends_with(".identity") => {
                let layer = Layer {
                    key: Some(base_key(&node.name)),
                    keyword: "identity",
                    text: "identity".into(),
                    weights: vec![],
                };
                (layer, shape)
            }
            "Identity" => return self.pass(v, out),
            "Dropout" => {
                let ratio = match node.input.get(1).filter(|s| !s.is_empty()) {
                    Some(r) => self.scalar(r).ok_or_else(|| here("its ratio is not a constant".into()))?,
                    None => float_attr(node, "ratio").unwrap_or(0.5),
                };
                (layer("dropout", format!("dropout {}", num(ratio)), vec![]), shape)
            }
            "Gemm" | "MatMul" => {
                if shape.len() != 1 {
                    return Err(here(format!(
                        "a dense layer takes a vector; this one reads a value of shape {shape:?} (add a Flatten before it)"
                    )));
                }
                let (weight, bias, last) = self.affine(n).map_err(here)?;
                out = last;
                let units = weight.dims[0];
                if weight.dims[1] != shape[0] {
                    return Err(here(format!(
                        "its weight takes {} inputs, the value before it has {}",
                        weight.dims[1], shape[0]
                    )));
                }
                // Maxout: the units' pieces side by side, then the largest of each.
                if let Some((k, max_out)) = self.maxout_tail(&out) {
                    out = max_out;
                    let units = units / k;
                    (layer("maxout", format!("maxout {units} k={k}"), vec![weight, bias]), vec![units])
                } else {
                    (layer("dense", format!("dense {units}"), vec![weight, bias]), vec![units])
                }
            }
            "Conv" => {
                let w = self.const_input(node, 1).map_err(here)?;
                let axes = w.dims.len().saturating_sub(2);
                if !(1..=2).contains(&axes) || shape.len() != axes + 1 {
                    return Err(here(format!(
                        "a {axes}-d convolution of a value of shape {shape:?}; the language has conv1d on [C, L] and conv2d on [C, H, W]"
                    )));
                }
                if int_attr(node, "group").unwrap_or(1) != 1 {
                    return Err(here("grouped convolutions have no statement in the language".into()));
                }
                if w.dims[1] != shape[0] {
                    return Err(here(format!("its weight takes {} channels, the value has {}", w.dims[1], shape[0])));
                }
                let window = window(node, &w.dims[2..], true).map_err(here)?;
                let c_out = w.dims[0];
                let bias = match node.input.get(2).filter(|s| !s.is_empty()) {
                    Some(_) => self.const_input(node, 2).map_err(here)?,
                    None => zeros(c_out),
                };
                let keyword = if axes == 2 { "conv2d" } else { "conv1d" };
                let text = format!(
                    "{keyword} {c_out} k={}{}",
                    text(&window.kernel),
                    window.attrs_text(false)
                );
                let spatial = window.output(&shape[1..]).ok_or_else(|| here("its window does not fit the input".into()))?;
                (layer(keyword, text, vec![w, bias]), [vec![c_out], spatial].concat())
            }
            "MaxPool" | "AveragePool" => {
                let kernel: Vec<usize> = ints_attr(node, "kernel_shape")
                    .ok_or_else(|| here("it has no kernel_shape".into()))?;
                if kernel.is_empty() || kernel.len() + 1 != shape.len() || kernel.len() > 2 {
                    return Err(here(format!("a {}-d window on a value of shape {shape:?}", kernel.len())));
                }
                if int_attr(node, "ceil_mode").unwrap_or(0) != 0 {
                    return Err(here("ceil_mode=1 has no statement in the language (PyTorch's default is 0)".into()));
                }
                let max = node.op_type == "MaxPool";
                let window = window(node, &kernel, max).map_err(here)?;
                let keyword = if max { "maxpool" } else { "avgpool" };
                let mut text = format!(
                    "{keyword} {}{}",
                    text(&window.kernel),
                    window.attrs_text(true)
                );
                // Without padding it changes nothing: said only as a model axonal wrote says it.
                if !max
                    && int_attr(node, "count_include_pad").unwrap_or(0) == 0
                    && (self.own || window.pad.iter().any(|&p| p > 0))
                {
                    text += " count_include_pad=false";
                }
                let spatial = window.output(&shape[1..]).ok_or_else(|| here("its window does not fit the input".into()))?;
                (layer(keyword, text, vec![]), [vec![shape[0]], spatial].concat())
            }
            "GlobalAveragePool" | "ReduceMean" => {
                if shape.len() < 2 {
                    return Err(here(format!("it pools a value of shape {shape:?}, which has no positions")));
                }
                if node.op_type == "ReduceMean" {
                    // The mean over every position (PyTorch's dynamo exporter writes
                    // adaptive_avg_pool2d(x, 1) so): axes 2.. (or −1, −2, …).
                    let rank = shape.len() as i64 + 1;
                    let axes: Vec<i64> = match node.input.get(1).filter(|s| !s.is_empty()) {
                        Some(a) => self.consts.get(a).map(|t| t.ints.clone()).unwrap_or_default(),
                        None => attr(node, "axes").map(|a| a.ints.clone()).unwrap_or_default(),
                    };
                    let mut axes: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
                    axes.sort_unstable();
                    if axes != (2..rank).collect::<Vec<i64>>() {
                        return Err(here(format!(
                            "a mean over axes {axes:?}; only the mean over every position (axes 2..) has a statement (`global_avgpool`)"
                        )));
                    }
                }
                // The language's global_avgpool gives [C]: the Flatten after it is part of it.
                if let Some(f) = self.only_reader(&out).filter(|&f| self.flattens(f)) {
                    self.done[f] = true;
                    out = self.out(f)?;
                }
                (layer("global_avgpool", "global_avgpool".into(), vec![]), vec![shape[0]])
            }
            "Flatten" | "Reshape" => {
                if !self.flattens(n) {
                    return Err(here("only a flattening to [batch, features] has a statement (`flatten`)".into()));
                }
                if shape.len() == 1 && !self.own {
                    return self.pass(v, out);
                }
                (layer("flatten", "flatten".into(), vec![]), vec![shape.iter().product()])
            }
            "BatchNormalization" => {
                let c = shape.first().copied().unwrap_or(0);
                let mut weights = Vec::new();
                for i in 1..=4 {
                    let t = self.const_input(node, i).map_err(here)?;
                    if t.dims != [c] {
                        return Err(here(format!("input {i} has shape {:?}, the value has {c} channels", t.dims)));
                    }
                    weights.push(t);
                }
                if int_attr(node, "training_mode").unwrap_or(0) != 0 {
                    return Err(here("it is in training mode".into()));
                }
                let mut text = "batchnorm".to_string();
                let kept = float_attr(node, "momentum").unwrap_or(0.9) as f32;
                if kept != 0.9 {
                    text += &format!(" momentum={}", complement(kept));
                }
                let eps = float_attr(node, "epsilon").unwrap_or(1e-5);
                if eps as f32 != 1e-5f32 {
                    text += &format!(" eps={}", num(eps));
                }
                (layer("batchnorm", text, weights), shape)
            }
            "LayerNormalization" => {
                let axis = int_attr(node, "axis").unwrap_or(-1);
                let rank = shape.len() as i64;
                if axis != 1 && axis != -rank {
                    return Err(here(format!(
                        "it normalizes from axis {axis}; `layernorm` normalizes over the whole sample (axis 1)"
                    )));
                }
                let scale = self.const_input(node, 1).map_err(here)?;
                let bias = match node.input.get(2).filter(|s| !s.is_empty()) {
                    Some(_) => self.const_input(node, 2).map_err(here)?,
                    None => zeros(shape.iter().product()),
                };
                let size: usize = shape.iter().product();
                if scale.floats.len() != size || bias.floats.len() != size {
                    return Err(here(format!("its scale or bias does not have the sample's {size} values")));
                }
                let (scale, bias) = (reshaped(scale, &shape), reshaped(bias, &shape));
                let mut text = "layernorm".to_string();
                let eps = float_attr(node, "epsilon").unwrap_or(1e-5);
                if eps as f32 != 1e-5f32 {
                    text += &format!(" eps={}", num(eps));
                }
                (layer("layernorm", text, vec![scale, bias]), shape)
            }
            "Greater" => {
                // step: Cast(Greater(x, 0)) to float.
                let zero = node.input.get(1).and_then(|z| self.scalar(z));
                let cast = self.only_reader(&out).filter(|&c| {
                    self.node(c).op_type == "Cast" && int_attr(self.node(c), "to") == Some(1)
                });
                match (zero, cast) {
                    (Some(0.0), Some(c)) => {
                        self.done[c] = true;
                        out = self.out(c)?;
                        let layer = Layer {
                            key: self.own.then(|| base_key(&node.name)),
                            keyword: "step",
                            text: "step".into(),
                            weights: vec![],
                        };
                        (layer, shape)
                    }
                    _ => return Err(here("only Cast(Greater(x, 0)) to float has a statement (`step`)".into())),
                }
            }
            _ => match single_activation(node) {
                Some(word) => {
                    if matches!(node.op_type.as_str(), "Softmax" | "LogSoftmax") && shape.len() != 1 {
                        return Err(here(format!("a softmax over a value of shape {shape:?}; the language softmaxes vectors")));
                    }
                    // The link of a model axonal wrote: the loss in the metadata says it.
                    if self.own && node.name.starts_with("link.") {
                        return self.pass(v, out);
                    }
                    let keyword = activation_keyword(&word);
                    let layer = Layer {
                        key: self.own.then(|| base_key(&node.name)),
                        keyword,
                        text: word,
                        weights: vec![],
                    };
                    (layer, shape)
                }
                None => {
                    return Err(here(
                        "it does not start anything the language has (an activation written with it is not one axonal knows)".into(),
                    ))
                }
            },
        };
        // A dense layer's or a convolution's own activation, written right after it.
        if matches!(stmt.keyword, "dense" | "conv1d" | "conv2d") {
            let owner = stmt.key.clone().unwrap_or_else(|| node.name.clone());
            if let Some((word, after)) = self.activation_after(&out, &owner) {
                stmt.text += &format!(" {word}");
                out = after;
            }
        }
        self.shapes.insert(out.clone(), out_shape);
        Ok((Some(Stmt::Layer(stmt)), out))
    }

    /// The activation that reads `v` and nothing else does (one node, `step`'s two, or one
    /// written as several), taken as the own activation of the layer or join `owner` before
    /// it: in a model axonal wrote, only if its nodes are named after `owner` (a separate
    /// statement has its own name), and never the loss's link. Marks its nodes read; returns
    /// its statement word and the value after it.
    fn activation_after(&mut self, v: &str, owner: &str) -> Option<(String, String)> {
        let readers = self.readers(v);
        let mine = |name: &str| !self.own || name.starts_with(&format!("{owner}."));
        let first = *readers.first()?;
        if !mine(&self.node(first).name) {
            return None;
        }
        if let [a] = readers.as_slice() {
            let an = self.node(*a);
            if let Some(word) = single_activation(an) {
                self.done[*a] = true;
                return Some((word, self.out(*a).ok()?));
            }
            if an.op_type == "Greater" && an.input.get(1).and_then(|z| self.scalar(z)) == Some(0.0)
            {
                let out = self.out(*a).ok()?;
                let c = self.only_reader(&out).filter(|&c| {
                    self.node(c).op_type == "Cast" && int_attr(self.node(c), "to") == Some(1)
                })?;
                self.done[*a] = true;
                self.done[c] = true;
                return Some(("step".into(), self.out(c).ok()?));
            }
        }
        let (layer, nodes, out) = self.pattern(v, &readers)?;
        if readers.iter().any(|r| !nodes.contains(r)) {
            return None;
        }
        for n in nodes {
            self.done[n] = true;
        }
        Some((layer.text, out))
    }

    /// A node that changes nothing: its output is its input's value.
    fn pass(&mut self, v: &str, out: String) -> Result<(Option<Stmt>, String), ImportError> {
        self.shapes.insert(out.clone(), self.shape(v));
        Ok((None, out))
    }

    /// Whether node `f` flattens to `[batch, features]`: `Flatten` at axis 1, or a
    /// `Reshape` to `[0 or batch, -1 or size]`.
    fn flattens(&self, f: usize) -> bool {
        let node = self.node(f);
        match node.op_type.as_str() {
            "Flatten" => int_attr(node, "axis").unwrap_or(1) == 1,
            "Reshape" => node
                .input
                .get(1)
                .and_then(|s| self.consts.get(s))
                .is_some_and(|t| {
                    t.ints.len() == 2 && (t.ints[0] == 0 || t.ints[0] == -1 || t.ints[1] == -1)
                }),
            _ => false,
        }
    }

    /// The weight `[out, in]` and bias of a `Gemm` (or `MatMul` then `Add`) at node `n`, and
    /// the value after it.
    fn affine(&mut self, n: usize) -> Result<(Tensor, Tensor, String), String> {
        let node = self.node(n);
        let mut out = self.out(n).map_err(|e| e.to_string())?;
        let w = self.const_input(node, 1)?;
        if w.dims.len() != 2 {
            return Err(format!("its weight has shape {:?}, not a matrix", w.dims));
        }
        let (transposed, bias_input) = if node.op_type == "Gemm" {
            if float_attr(node, "alpha").unwrap_or(1.0) != 1.0
                || float_attr(node, "beta").unwrap_or(1.0) != 1.0
                || int_attr(node, "transA").unwrap_or(0) != 0
            {
                return Err("only alpha = beta = 1 and transA = 0 is a dense layer".into());
            }
            (
                int_attr(node, "transB").unwrap_or(0) == 1,
                node.input.get(2).filter(|s| !s.is_empty()).cloned(),
            )
        } else {
            // MatMul, then an Add of a constant bias.
            let add = self.only_reader(&out).filter(|&a| {
                let an = self.node(a);
                an.op_type == "Add"
                    && an
                        .input
                        .iter()
                        .filter(|i| self.consts.contains_key(*i))
                        .count()
                        == 1
            });
            let bias = add.map(|a| {
                let an = self.node(a);
                an.input
                    .iter()
                    .find(|i| self.consts.contains_key(*i))
                    .cloned()
                    .expect("counted")
            });
            if let Some(a) = add {
                self.done[a] = true;
                out = self.out(a).map_err(|e| e.to_string())?;
            }
            (false, bias)
        };
        // [out, in] as the language keeps it.
        let weight = if transposed {
            w
        } else {
            let (rows, cols) = (w.dims[0], w.dims[1]);
            let mut t = vec![0.0; rows * cols];
            for r in 0..rows {
                for c in 0..cols {
                    t[c * rows + r] = w.floats[r * cols + c];
                }
            }
            Tensor {
                dims: vec![cols, rows],
                floats: t,
                ints: vec![],
            }
        };
        let units = weight.dims[0];
        let bias = match bias_input {
            Some(b) => {
                let b = self
                    .consts
                    .get(&b)
                    .cloned()
                    .ok_or_else(|| format!("its bias `{b}` is not a constant"))?;
                if b.floats.len() != units {
                    return Err(format!(
                        "its bias has {} values for {units} units",
                        b.floats.len()
                    ));
                }
                Tensor {
                    dims: vec![units],
                    ..b
                }
            }
            None => zeros(units),
        };
        if weight.floats.is_empty() {
            return Err("its weight is not a float tensor".into());
        }
        Ok((weight, bias, out))
    }

    /// After an affine map to `out`: `Reshape` to `[batch, units, k]` then `ReduceMax` over
    /// the last axis is a maxout of `k` pieces; returns `k` and the value after it.
    fn maxout_tail(&mut self, out: &str) -> Option<(usize, String)> {
        let r = self.only_reader(out)?;
        let rn = self.node(r);
        let shape = self.consts.get(rn.input.get(1)?)?;
        if rn.op_type != "Reshape" || shape.ints.len() != 3 {
            return None;
        }
        let k = usize::try_from(shape.ints[2]).ok().filter(|&k| k >= 2)?;
        let reduced = self.out(r).ok()?;
        let m = self.only_reader(&reduced)?;
        let mn = self.node(m);
        let axes = ints_attr(mn, "axes")?;
        if mn.op_type != "ReduceMax" || axes != [2] || int_attr(mn, "keepdims") != Some(0) {
            return None;
        }
        self.done[r] = true;
        self.done[m] = true;
        Some((k, self.out(m).ok()?))
    }

    fn const_input(&self, node: &NodeProto, i: usize) -> Result<Tensor, String> {
        let name = node
            .input
            .get(i)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("input {i} is missing"))?;
        let t = self.consts.get(name).ok_or_else(|| {
            format!("input {i} (`{name}`) is not a weight (an initializer or a constant)")
        })?;
        if t.floats.is_empty() {
            return Err(format!("input {i} (`{name}`) is not a float tensor"));
        }
        Ok(t.clone())
    }

    /// The value of a constant scalar (one element), if `name` is one.
    fn scalar(&self, name: &str) -> Option<f64> {
        let t = self.consts.get(name)?;
        match (t.floats.as_slice(), t.ints.as_slice()) {
            ([v], _) => Some(f64::from(*v)),
            (_, [v]) => Some(*v as f64),
            _ => None,
        }
    }

    /// An activation written as several nodes reading `v` (as `super::export` writes them, and
    /// PyTorch's exporter writes gelu): the layer, the nodes, the value after it.
    fn pattern(&self, v: &str, readers: &[usize]) -> Option<(Layer, Vec<usize>, String)> {
        readers.iter().find_map(|&r| self.pattern_at(v, r, readers))
    }

    /// [`Reader::pattern`] starting at reader `r`.
    fn pattern_at(
        &self,
        v: &str,
        r: usize,
        readers: &[usize],
    ) -> Option<(Layer, Vec<usize>, String)> {
        let node = |i: usize| self.node(i);
        let reads = |i: usize, a: &str, b: &str| {
            let n = node(i);
            n.input.len() == 2
                && (n.input[0] == a && n.input[1] == b || n.input[0] == b && n.input[1] == a)
        };
        let only =
            |value: &str, op: &str| self.only_reader(value).filter(|&i| node(i).op_type == op);
        let out = |i: usize| node(i).output.first().cloned();
        let scalar_input = |i: usize, value: f64| {
            node(i).input.iter().any(|s| {
                self.scalar(s)
                    .is_some_and(|c| (c - value).abs() <= 1e-6 * value.abs().max(1.0))
            })
        };
        let make = |keyword: &'static str, first: usize, nodes: Vec<usize>, last: usize| {
            let key = self.own.then(|| base_key(&node(first).name));
            Some((
                Layer {
                    key,
                    keyword,
                    text: keyword.to_string(),
                    weights: vec![],
                },
                nodes,
                out(last)?,
            ))
        };
        // 0.5 · x · t from t (the value `tv`): (x · t) · 0.5, or x · (t · 0.5) (PyTorch's
        // dynamo exporter); the two Mul nodes, the last one last.
        let half_x = |tv: &str| -> Option<(usize, usize)> {
            if let Some(&m1) = readers
                .iter()
                .find(|&&m| node(m).op_type == "Mul" && reads(m, v, tv))
            {
                let m2 = only(&out(m1)?, "Mul").filter(|&m| scalar_input(m, 0.5))?;
                return Some((m1, m2));
            }
            let h = only(tv, "Mul").filter(|&h| scalar_input(h, 0.5))?;
            let hv = out(h)?;
            let m = *readers
                .iter()
                .find(|&&m| node(m).op_type == "Mul" && reads(m, v, &hv))?;
            Some((h, m))
        };
        {
            let n = node(r);
            match n.op_type.as_str() {
                // silu: x · Sigmoid(x)
                "Sigmoid" => {
                    let s = out(r)?;
                    if let Some(&m) = readers
                        .iter()
                        .find(|&&m| node(m).op_type == "Mul" && reads(m, v, &s))
                    {
                        if self.readers(&s).len() == 1 {
                            return make("silu", r, vec![r, m], m);
                        }
                    }
                }
                // softplus with PyTorch's threshold: Where(x > 20, x, Softplus(x))
                "Softplus"
                    if readers.iter().any(|&g| {
                        node(g).op_type == "Greater"
                            && node(g).input[0] == v
                            && scalar_input(g, 20.0)
                    }) =>
                {
                    let g = *readers.iter().find(|&&g| node(g).op_type == "Greater")?;
                    let (gv, sv) = (out(g)?, out(r)?);
                    let w = only(&sv, "Where")?;
                    let wn = node(w);
                    if wn.input.len() != 3
                        || wn.input[0] != gv
                        || wn.input[1] != v
                        || wn.input[2] != sv
                    {
                        return None;
                    }
                    return make("softplus", r, vec![r, g, w], w);
                }
                // mish: x · Tanh(Softplus(x))
                "Softplus" => {
                    let t = only(&out(r)?, "Tanh")?;
                    let tv = out(t)?;
                    if let Some(&m) = readers
                        .iter()
                        .find(|&&m| node(m).op_type == "Mul" && reads(m, v, &tv))
                    {
                        if self.readers(&tv).len() == 1 {
                            return make("mish", r, vec![r, t, m], m);
                        }
                    }
                }
                // gelu: 0.5 · x · (1 + Erf(x / √2))
                "Div" if scalar_input(r, std::f64::consts::SQRT_2) && n.input[0] == v => {
                    let e = only(&out(r)?, "Erf")?;
                    let a = only(&out(e)?, "Add").filter(|&a| scalar_input(a, 1.0))?;
                    let (m1, m2) = half_x(&out(a)?)?;
                    return make("gelu", r, vec![r, e, a, m1, m2], m2);
                }
                // gelu_tanh, as export writes it: x·x·x·κ + x, ·β, Tanh, +1, ·x, ·0.5
                "Mul" if n.input.len() == 2 && n.input[0] == v && n.input[1] == v => {
                    let x3 = only(&out(r)?, "Mul")?;
                    let k = only(&out(x3)?, "Mul").filter(|&k| scalar_input(k, 0.044715))?;
                    let kv = out(k)?;
                    let inner = *readers
                        .iter()
                        .find(|&&a| node(a).op_type == "Add" && reads(a, v, &kv))?;
                    let b = only(&out(inner)?, "Mul")
                        .filter(|&b| scalar_input(b, (2.0 / std::f64::consts::PI).sqrt()))?;
                    let t = only(&out(b)?, "Tanh")?;
                    let a = only(&out(t)?, "Add").filter(|&a| scalar_input(a, 1.0))?;
                    let (m1, m2) = half_x(&out(a)?)?;
                    if !readers.contains(&x3) && !node(x3).input.iter().any(|s| s == v) {
                        return None;
                    }
                    return make("gelu_tanh", r, vec![r, x3, k, inner, b, t, a, m1, m2], m2);
                }
                _ => {}
            }
        }
        None
    }
}

/// The statement's key from the name of its first node (`act3.silu` → `act3`).
fn base_key(name: &str) -> String {
    match name.rfind('.') {
        Some(i) => unreserved(&name[..i]),
        None => unreserved(name),
    }
}

/// A key as export meant it: `input_2` is a layer labelled `input`, whose node could not
/// take the graph input's name (likewise `output`).
fn unreserved(name: &str) -> String {
    for reserved in [axonal_onnx::INPUT, axonal_onnx::OUTPUT] {
        if let Some(n) = name
            .strip_prefix(reserved)
            .and_then(|r| r.strip_prefix('_'))
        {
            if n.parse::<usize>().is_ok() {
                return reserved.to_string();
            }
        }
    }
    name.to_string()
}

/// The per-sample shape of the graph's input: `[batch, dims…]` with known dims, rank 2 to 4.
fn sample_shape(input: &axonal_onnx::proto::ValueInfoProto) -> Result<Vec<usize>, ImportError> {
    use axonal_onnx::proto::DimensionValue;
    let dims = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .filter(|t| t.elem_type == data_type::FLOAT)
        .and_then(|t| t.shape.as_ref())
        .map(|s| &s.dim);
    let Some(dims) = dims else {
        return fail(format!(
            "the input `{}` is not a float tensor of known rank",
            input.name
        ));
    };
    if !(2..=4).contains(&dims.len()) {
        return fail(format!(
            "the input `{}` has rank {}; a network takes [batch, F], [batch, C, L] or [batch, C, H, W]",
            input.name,
            dims.len()
        ));
    }
    dims[1..]
        .iter()
        .map(|d| match d.value {
            Some(DimensionValue::DimValue(v)) if v > 0 && v <= MAX_ELEMENTS as i64 => {
                Ok(v as usize)
            }
            _ => fail(format!(
                "the input `{}` has a dimension besides the batch that is not a fixed size",
                input.name
            )),
        })
        .collect()
}

/// A node's window (`kernel` from its weight or `kernel_shape`; strides, pads and dilations
/// from its attributes) as the language's [`Window`], which gives the output's size and the
/// statement's attributes (`attrs_text`).
fn window(node: &NodeProto, kernel: &[usize], dilations: bool) -> Result<Window, String> {
    let axes = kernel.len();
    if kernel.contains(&0) {
        return Err(format!("a window of size {kernel:?}"));
    }
    if let Some(a) = node.attribute.iter().find(|a| a.name == "auto_pad") {
        let pad = String::from_utf8_lossy(&a.s);
        if pad != "NOTSET" && pad != "VALID" {
            return Err(format!("auto_pad={pad}; write the padding out (pads)"));
        }
    }
    let per_axis = |name: &str, default: usize| -> Result<Vec<usize>, String> {
        match ints_attr(node, name) {
            None => Ok(vec![default; axes]),
            Some(v) if v.len() == axes && v.iter().all(|&x| x >= 1) => Ok(v),
            Some(v) => Err(format!("{name} {v:?} for a {axes}-d window")),
        }
    };
    let stride = per_axis("strides", 1)?;
    let dilation = per_axis("dilations", 1)?;
    if !dilations && dilation.iter().any(|&d| d != 1) {
        return Err("a dilated average pooling has no statement in the language".into());
    }
    let pad = match ints_attr(node, "pads") {
        None => vec![0; axes],
        Some(p) if p.len() == 2 * axes => {
            if p[..axes] != p[axes..] {
                return Err(format!(
                    "pads {p:?} differ at the two ends; the language pads both ends alike"
                ));
            }
            p[..axes].to_vec()
        }
        Some(p) => return Err(format!("pads {p:?} for a {axes}-d window")),
    };
    Ok(Window {
        kernel: kernel.to_vec(),
        stride,
        pad,
        dilation,
    })
}

fn zeros(n: usize) -> Tensor {
    Tensor {
        dims: vec![n],
        floats: vec![0.0; n],
        ints: vec![],
    }
}

fn reshaped(t: Tensor, dims: &[usize]) -> Tensor {
    Tensor {
        dims: dims.to_vec(),
        ..t
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attr(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

fn float_attr(node: &NodeProto, name: &str) -> Option<f64> {
    attr(node, name).map(|a| f64::from(a.f))
}

fn ints_attr(node: &NodeProto, name: &str) -> Option<Vec<usize>> {
    attr(node, name).and_then(|a| a.ints.iter().map(|&i| usize::try_from(i).ok()).collect())
}

/// A number as the language writes it: the shortest decimal that gives the same f32.
fn num(v: f64) -> String {
    format!("{}", v as f32)
}

/// The shortest decimal `m` whose f32 complement `1 − m` is `kept` (ONNX's momentum is the
/// weight of the old statistic: PyTorch's 0.2 is written 0.8).
fn complement(kept: f32) -> String {
    let exact = 1.0 - f64::from(kept);
    (1..=17)
        .map(|digits| format!("{:.*}", digits, exact))
        .find(|text| text.parse::<f64>().is_ok_and(|m| (1.0 - m) as f32 == kept))
        .map(|text| text.trim_end_matches('0').trim_end_matches('.').to_string())
        .unwrap_or_else(|| format!("{exact}"))
}

/// The statement of a one-node activation (`leaky_relu 0.2`), if `node` is one.
fn single_activation(node: &NodeProto) -> Option<String> {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    Some(match node.op_type.as_str() {
        "Relu" => "relu".into(),
        "Sigmoid" => "sigmoid".into(),
        "Tanh" => "tanh".into(),
        "Softplus" => "softplus".into(),
        "Mish" => "mish".into(),
        "Gelu" => match attr(node, "approximate").map(|a| a.s.as_slice()) {
            None | Some(b"none") => "gelu".into(),
            Some(b"tanh") => "gelu_tanh".into(),
            Some(_) => return None,
        },
        "Softmax" => "softmax".into(),
        "LogSoftmax" => "log_softmax".into(),
        "Selu" => {
            let alpha = float_attr(node, "alpha").unwrap_or(1.673_263_2);
            let gamma = float_attr(node, "gamma").unwrap_or(1.050_701);
            if !close(alpha, 1.673_263_242_354_377_3) || !close(gamma, 1.050_700_987_355_480_5) {
                return None;
            }
            "selu".into()
        }
        "Elu" => match float_attr(node, "alpha").unwrap_or(1.0) {
            a if a as f32 == 1.0 => "elu".into(),
            a => format!("elu {}", num(a)),
        },
        "LeakyRelu" => match float_attr(node, "alpha").unwrap_or(0.01) {
            a if a as f32 == 0.01 => "leaky_relu".into(),
            a => format!("leaky_relu {}", num(a)),
        },
        "HardSigmoid" => {
            let (a, b) = (
                float_attr(node, "alpha").unwrap_or(0.2),
                float_attr(node, "beta").unwrap_or(0.5),
            );
            if !close(a, 1.0 / 6.0) || !close(b, 0.5) {
                return None;
            }
            "hard_sigmoid".into()
        }
        _ => return None,
    })
}

/// The keyword of an activation statement (`leaky_relu 0.2` → `leaky_relu`).
fn activation_keyword(word: &str) -> &'static str {
    crate::layers::activation::ACTIVATIONS
        .iter()
        .map(|a| a.name)
        .find(|&n| word.split(' ').next() == Some(n))
        .unwrap_or("relu")
}

/// Copies `P.0`, `P.1`, … of the same statement, one after the other, written as
/// `P: repeat N { … }` (how export names a repeat's copies). `scope` is the key prefix of
/// `stmts` (`stage1.0.`), as in [`render`].
fn fold_repeats(stmts: &mut Vec<Stmt>, scope: &str) {
    for s in stmts.iter_mut() {
        if let Stmt::Block(b) = s {
            let inner = match &b.key {
                Some(k) => format!("{k}."),
                None => scope.to_string(),
            };
            let join = b.join;
            for (i, part) in b.parts.iter_mut().enumerate() {
                let scope = part_scope(join, i, part, &inner);
                fold_repeats(part, &scope);
            }
        }
    }
    let mut out: Vec<Stmt> = Vec::new();
    let mut i = 0;
    while i < stmts.len() {
        let Some((parent, 0)) = copy_of(&stmts[i], scope) else {
            out.push(stmts[i].clone());
            i += 1;
            continue;
        };
        // Copy k is the run of statements keyed under `parent.k.`; copies must read alike.
        let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            let k = runs.len();
            while j < stmts.len() && copy_of(&stmts[j], scope) == Some((parent.clone(), k)) {
                j += 1;
            }
            if j == start {
                break;
            }
            let alike = runs.first().is_none_or(|first| {
                text_of(&stmts[first.clone()], &format!("{parent}.0."))
                    == text_of(&stmts[start..j], &format!("{parent}.{k}."))
            });
            if !alike {
                j = start;
                break;
            }
            runs.push(start..j);
        }
        let mut body = stmts[runs[0].clone()].to_vec();
        fold_repeats(&mut body, &format!("{parent}.0."));
        out.push(Stmt::Repeat {
            label: Some(parent),
            count: runs.len(),
            body,
            copies: stmts[i..j].to_vec(),
        });
        i = j;
    }
    *stmts = out;
}

/// The key prefix of part `i` of a block whose own prefix is `inner`: the body of a residual
/// is the block's own scope; a shortcut and a branch have their name (`down.shortcut.`).
fn part_scope(join: Join, i: usize, part: &[Stmt], inner: &str) -> String {
    match join {
        Join::Residual if i == 0 => inner.to_string(),
        Join::Residual => format!("{inner}shortcut."),
        _ => {
            let name = part_name(part, inner).unwrap_or_else(|| format!("branch{i}"));
            format!("{inner}{name}.")
        }
    }
}

/// `("stage1", 2)` for what export keys as part of copy 2 of the repeat `stage1` under
/// `scope`: the block `stage1.2` (the copy itself), or a statement `stage1.2.fc` of a copy's
/// body (or deeper in it, `stage1.2.inner.0.fc`); `(scope, 2)` for the block `2`, a copy of an unlabelled repeat that is itself the
/// element of an enclosing repeat.
fn copy_of(s: &Stmt, scope: &str) -> Option<(String, usize)> {
    let (key, block) = match s {
        Stmt::Block(b) => (b.key.as_deref()?, true),
        Stmt::Layer(l) => (l.key.as_deref()?, false),
        Stmt::Repeat { .. } => return None,
    };
    let segments: Vec<&str> = key.strip_prefix(scope)?.split('.').collect();
    let anonymous =
        |index: &str| Some((scope.trim_end_matches('.').to_string(), index.parse().ok()?));
    match segments.as_slice() {
        // A number first: a copy of the unlabelled repeat that is the enclosing copy itself.
        [index] if block => anonymous(index),
        [index, _, ..] if index.starts_with(|c: char| c.is_ascii_digit()) => anonymous(index),
        [parent, index] if block => Some((format!("{scope}{parent}"), index.parse().ok()?)),
        // Deeper: inside copy `index` of `parent` (a copy's body may hold repeats itself).
        [parent, index, _, ..] => Some((format!("{scope}{parent}"), index.parse().ok()?)),
        _ => None,
    }
}

/// Statements as source under `scope`, to compare copies.
fn text_of(stmts: &[Stmt], scope: &str) -> String {
    let mut text = String::new();
    render(stmts, scope, 0, &mut text);
    text
}

/// Writes `stmts` as source lines at `depth`, their labels taken from their keys under the
/// scope `prefix` (`stage1.`); a label the checker would give anyway is left out.
fn render(stmts: &[Stmt], prefix: &str, depth: usize, out: &mut String) {
    let indent = "    ".repeat(depth);
    for (position, s) in stmts.iter().enumerate() {
        match s {
            Stmt::Layer(l) => {
                let label = label(l.key.as_deref(), prefix, l.keyword, position);
                *out += &format!("{indent}{label}{};\n", l.text);
            }
            Stmt::Block(b) => {
                let keyword = match b.join {
                    Join::Residual => "residual",
                    Join::Add => "add",
                    Join::Concat => "concat",
                };
                let label = label(b.key.as_deref(), prefix, keyword, position);
                let inner = match &b.key {
                    Some(k) => format!("{k}."),
                    None => prefix.to_string(),
                };
                render_block(b, keyword, &label, &inner, depth, out);
            }
            Stmt::Repeat {
                label: parent,
                count,
                body,
                ..
            } => {
                let key = parent.as_deref().map(|p| p.to_string());
                let label = label(key.as_deref(), prefix, "repeat", position);
                *out += &format!("{indent}{label}repeat {count} {{\n");
                let inner = format!("{}.0.", parent.clone().unwrap_or_default());
                render(body, &inner, depth + 1, out);
                *out += &format!("{indent}}}\n");
            }
        }
    }
}

fn render_block(
    b: &Block,
    keyword: &str,
    label: &str,
    inner: &str,
    depth: usize,
    out: &mut String,
) {
    let indent = "    ".repeat(depth);
    let act = b
        .activation
        .as_deref()
        .map(|a| format!(" {a}"))
        .unwrap_or_default();
    *out += &format!("{indent}{label}{keyword}{act}");
    for (i, part) in b.parts.iter().enumerate() {
        // The part's name in the source (an unnamed branch is `branchN` to the checker) and
        // in its layers' keys.
        let auto = format!("branch{i}");
        let shown = match b.join {
            Join::Residual if i == 0 => None,
            Join::Residual => Some("shortcut".to_string()),
            _ => part_name(part, inner).filter(|n| *n != auto),
        };
        let scope = part_scope(b.join, i, part, inner);
        match shown {
            Some(n) => *out += &format!(" {n}: {{\n"),
            None => *out += " {\n",
        }
        render(part, &scope, depth + 1, out);
        *out += &format!("{indent}}}");
    }
    *out += "\n";
}

/// A named part's name: the first segment of its first layer's key under the block.
fn part_name(part: &[Stmt], inner: &str) -> Option<String> {
    let key = part.iter().find_map(|s| match s {
        Stmt::Layer(l) => l.key.clone(),
        Stmt::Block(b) => b.key.clone(),
        Stmt::Repeat { label, .. } => label.clone(),
    })?;
    let rest = key.strip_prefix(inner)?;
    Some(rest.split('.').next()?.to_string())
}

/// `label: ` from a key under `prefix`, or nothing when there is no key or the checker
/// would number the statement so anyway (`dense0`).
fn label(key: Option<&str>, prefix: &str, keyword: &str, position: usize) -> String {
    let Some(rest) = key.and_then(|k| k.strip_prefix(prefix)) else {
        return String::new();
    };
    if rest.contains('.') || rest.is_empty() || rest == format!("{keyword}{position}") {
        return String::new();
    }
    format!("{rest}: ")
}

/// The weights of `stmts` under the names the checked network gives them, in the order the
/// network declares them (its ONNX export walks layers as this module read them).
fn weights_by_name(net: &Network, stmts: &[Stmt]) -> Result<Weights, ImportError> {
    let mut ours = Vec::new();
    collect(stmts, &mut ours);
    let names = axonal_onnx::weights(&super::export(net));
    if names.len() != ours.len() {
        return fail(format!(
            "the network declares {} weights, the model has {} (a bug of axc import)",
            names.len(),
            ours.len()
        ));
    }
    names
        .into_iter()
        .zip(ours)
        .map(|((name, dims), t)| {
            let dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
            if dims.iter().product::<usize>() != t.floats.len() {
                return fail(format!(
                    "weight `{name}` has shape {dims:?} in the network, {:?} in the model",
                    t.dims
                ));
            }
            Ok((name, dims, t.floats))
        })
        .collect()
}

fn collect(stmts: &[Stmt], out: &mut Vec<Tensor>) {
    for s in stmts {
        match s {
            Stmt::Layer(l) => out.extend(l.weights.iter().cloned()),
            Stmt::Block(b) => b.parts.iter().for_each(|p| collect(p, out)),
            Stmt::Repeat { copies, .. } => collect(copies, out),
        }
    }
}
