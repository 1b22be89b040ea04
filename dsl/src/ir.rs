//! The resolved network: every layer with its input and output width and its kind's
//! resolved value (parameters, how they start). The checker produces it; codegen reads it.
//!
//! Nothing here refers to source text except through doc comments: by the time a
//! network is an [`ir::Network`](Network), every name is known and every width agrees.

pub use crate::ast::Visibility;
use crate::layers::{Io, LayerSpec};

/// Every network of one source, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The networks.
    pub networks: Vec<Network>,
}

/// One network: the struct that codegen emits.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The struct's name.
    pub name: String,
    /// The struct's visibility.
    pub vis: Visibility,
    /// Doc comment lines carried over from the source.
    pub docs: Vec<String>,
    /// Shape of one input sample.
    pub input: Shape,
    /// The layers and blocks, in forward order (at least one with a field).
    pub nodes: Vec<Node>,
    /// The loss, if the network has one.
    pub loss: Option<Loss>,
}

impl Network {
    /// Shape of one output sample: the last node's output.
    pub fn output(&self) -> &Shape {
        self.nodes.last().map_or(&self.input, Node::output)
    }

    /// Number of trainable scalars.
    ///
    /// Saturates at `usize::MAX` rather than overflow; a network the checker accepts holds
    /// at most [`MAX_PARAMS`](crate::check::MAX_PARAMS), so its count is exact.
    pub fn params(&self) -> usize {
        self.nodes
            .iter()
            .map(Node::params)
            .fold(0, usize::saturating_add)
    }

    /// Number of non-trainable state scalars (batchnorm's running statistics), saturating
    /// like [`Network::params`].
    pub fn buffers(&self) -> usize {
        self.nodes
            .iter()
            .map(Node::buffers)
            .fold(0, usize::saturating_add)
    }

    /// Every layer of the network, blocks opened (a repeated block's layers once).
    pub fn layers(&self) -> Vec<&Layer> {
        let mut out = Vec::new();
        collect_layers(&self.nodes, &mut out);
        out
    }
}

fn collect_layers<'a>(nodes: &'a [Node], out: &mut Vec<&'a Layer>) {
    for node in nodes {
        match node {
            Node::Layer(layer) => out.push(layer),
            Node::Block(block) => {
                for part in &block.parts {
                    collect_layers(&part.nodes, out);
                }
            }
        }
    }
}

/// One step of a network or of a block's part: a layer, or a block of them.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A layer statement.
    Layer(Layer),
    /// A block statement (`residual`, `add`, `concat`, `repeat`) or a part of one.
    Block(Block),
}

impl Node {
    /// The struct field and checkpoint prefix of the node.
    pub fn field(&self) -> &str {
        match self {
            Node::Layer(l) => &l.field,
            Node::Block(b) => &b.field,
        }
    }

    /// Whether the node is a field of the generated struct (every block is; `flatten` is not).
    pub fn has_field(&self) -> bool {
        match self {
            Node::Layer(l) => l.spec.has_field(),
            Node::Block(_) => true,
        }
    }

    /// Shape of one input sample.
    pub fn input(&self) -> &Shape {
        match self {
            Node::Layer(l) => &l.input,
            Node::Block(b) => &b.input,
        }
    }

    /// Shape of one output sample.
    pub fn output(&self) -> &Shape {
        match self {
            Node::Layer(l) => &l.output,
            Node::Block(b) => &b.output,
        }
    }

    /// Trainable scalars, saturating.
    pub fn params(&self) -> usize {
        match self {
            Node::Layer(l) => l.params(),
            Node::Block(b) => b.params(),
        }
    }

    /// Non-trainable state scalars, saturating.
    pub fn buffers(&self) -> usize {
        match self {
            Node::Layer(l) => l.buffers(),
            Node::Block(b) => b.buffers(),
        }
    }
}

/// A block: parts of layers that read the same input, joined (`residual`, `add`,
/// `concat`), or one part repeated (`repeat`).
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The struct field and checkpoint prefix: the label, or `residual0`, `concat3`, ….
    pub field: String,
    /// Doc comment lines carried over from the source.
    pub docs: Vec<String>,
    /// How the parts combine.
    pub kind: BlockKind,
    /// `residual`: the body, then the shortcut if written; `add` and `concat`: the branches;
    /// `repeat`: the repeated element (one part holding one block).
    pub parts: Vec<Part>,
    /// The activation applied after the join (`residual relu { … }`), if written.
    pub activation: Option<Activation>,
    /// Shape of one input sample.
    pub input: Shape,
    /// Shape of one output sample.
    pub output: Shape,
}

impl Block {
    /// Trainable scalars of the whole block (a repeated element's times its count),
    /// saturating.
    pub fn params(&self) -> usize {
        self.times(|n| n.params())
    }

    /// Non-trainable state scalars of the whole block, saturating.
    pub fn buffers(&self) -> usize {
        self.times(|n| n.buffers())
    }

    fn times(&self, count: impl Fn(&Node) -> usize) -> usize {
        let once = self
            .parts
            .iter()
            .flat_map(|p| &p.nodes)
            .map(count)
            .fold(0, usize::saturating_add);
        match self.kind {
            BlockKind::Repeat(n) => once.saturating_mul(n),
            _ => once,
        }
    }
}

/// How the parts of a block combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `y = body(x) + x`, or `body(x) + shortcut(x)` with a second part.
    Residual,
    /// `add`: `y = Σ branch(x)`, the branches' outputs of one shape.
    Sum,
    /// The branches' outputs one after the other: along channels for `[C, …]` values, along
    /// features for vectors.
    Concat,
    /// The element applied this many times in a row (its output shape is its input's).
    Repeat(usize),
    /// A plain sequence: a branch, a shortcut, or the element of a `repeat`.
    Sequence,
}

impl BlockKind {
    /// The keyword of the kind (`residual`), or `sequence` for a plain part.
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::Residual => "residual",
            BlockKind::Sum => "add",
            BlockKind::Concat => "concat",
            BlockKind::Repeat(_) => "repeat",
            BlockKind::Sequence => "sequence",
        }
    }
}

/// One part of a block: a named sequence of nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The part's name: a branch's name (`deep`, or `branch0`…), `shortcut`, or empty for a
    /// residual body and a repeated element, whose fields belong to the block itself.
    pub name: String,
    /// The nodes, in forward order.
    pub nodes: Vec<Node>,
}

/// One layer of a network.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The struct field and checkpoint prefix: the label, or `dense0`, `relu1`, ….
    pub field: String,
    /// Doc comment lines carried over from the source.
    pub docs: Vec<String>,
    /// What the layer computes: its kind's resolved value (see [`crate::layers`]); downcast
    /// it to the kind's type with [`downcast_ref`](crate::layers::LayerSpec).
    pub spec: Box<dyn LayerSpec>,
    /// Shape of one input sample.
    pub input: Shape,
    /// Shape of one output sample.
    pub output: Shape,
}

// Written out: `derive(PartialEq)` cannot compare a `Box<dyn …>` field (rust-lang/rust#31740).
impl PartialEq for Layer {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field
            && self.docs == other.docs
            && *self.spec == *other.spec
            && self.input == other.input
            && self.output == other.output
    }
}

impl Layer {
    /// The layer's input and output shapes.
    pub fn io(&self) -> Io<'_> {
        Io {
            input: &self.input,
            output: &self.output,
        }
    }

    /// The layer as a statement of the language: `dense 784->128 relu`.
    pub fn describe(&self) -> String {
        self.spec.describe(self.io())
    }

    /// Number of trainable scalars, or `None` if it does not fit in a `u64` (it always does
    /// for widths the checker accepts, on any platform).
    pub fn checked_params(&self) -> Option<u64> {
        self.spec.params(self.io())
    }

    /// Number of non-trainable state scalars (batchnorm's running statistics), or `None` if
    /// it does not fit in a `u64`.
    pub fn checked_buffers(&self) -> Option<u64> {
        self.spec.buffers(self.io())
    }

    /// Number of trainable scalars, saturating at `usize::MAX` rather than overflow (see
    /// [`Network::params`]).
    pub fn params(&self) -> usize {
        saturate(self.checked_params())
    }

    /// Number of non-trainable state scalars, saturating like [`Layer::params`].
    pub fn buffers(&self) -> usize {
        saturate(self.checked_buffers())
    }
}

/// The static shape of one sample of a value: `[F]`, `[C, L]` or `[C, H, W]` (PyTorch's
/// order), every dimension at least 1 in a checked network. A batch of such values is a
/// `[batch, C·H·W]` matrix in memory, each row the sample in that (NCHW) order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape(Vec<usize>);

impl Shape {
    /// A shape of these dimensions, outermost first.
    pub fn new(dims: Vec<usize>) -> Shape {
        Shape(dims)
    }

    /// A vector of `n` features: `[n]`.
    pub fn vector(n: usize) -> Shape {
        Shape(vec![n])
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// The number of dimensions: 1 for a vector, 2 for `[C, L]`, 3 for `[C, H, W]`.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The number of values in one sample (the product of the dimensions), or `None` if it
    /// does not fit in a `u64`.
    pub fn checked_size(&self) -> Option<u64> {
        self.0
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(u64::try_from(d).ok()?))
    }

    /// The number of values in one sample: the width of a row of the batch matrix,
    /// saturating at `usize::MAX`.
    pub fn size(&self) -> usize {
        saturate(self.checked_size())
    }

    /// The shape of a batch, as people read it: `[batch, 32, 14, 14]`.
    pub fn batch(&self) -> String {
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        format!("[batch, {}]", dims.join(", "))
    }

    /// The shape as the language writes it: `1x28x28`, `784`.
    pub fn source(&self) -> String {
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        dims.join("x")
    }
}

impl std::fmt::Display for Shape {
    /// `[32, 14, 14]`: the shape of one sample.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        write!(f, "[{}]", dims.join(", "))
    }
}

/// A count as a `usize`, or `usize::MAX` if it does not fit.
fn saturate(n: Option<u64>) -> usize {
    n.and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX)
}

/// An activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `f(x) = x`
    Identity,
    /// Heaviside: 1 for x > 0, else 0.
    Step,
    /// `1 / (1 + e^-x)`
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `max(0, x)`
    Relu,
    /// `x` for x > 0, else `slope · x`.
    LeakyRelu(f64),
    /// `x` for x > 0, else `alpha · (e^x − 1)`.
    Elu(f64),
    /// Scaled ELU with the self-normalizing constants.
    Selu,
    /// `x · Φ(x)`, exact.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    /// `x · sigmoid(x)` (swish).
    Silu,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
    /// Row-wise `e^x / Σ e^x`.
    Softmax,
    /// Row-wise `x − log Σ e^x`.
    LogSoftmax,
}

/// How a parameter tensor starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every element the same value.
    Constant(f64),
    /// Normal distribution.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform distribution on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Glorot normal: std `√(2 / (fan_in + fan_out))`.
    XavierNormal,
    /// Glorot uniform: bound `√(6 / (fan_in + fan_out))`.
    XavierUniform,
    /// Kaiming normal for ReLU: std `√(2 / fan_in)`.
    HeNormal,
    /// Kaiming uniform for ReLU: bound `√(6 / fan_in)`.
    HeUniform,
    /// Kaiming normal for leaky ReLU of slope `a`: std `√(2 / ((1 + a²) fan_in))`.
    KaimingNormal {
        /// The negative slope.
        a: f64,
    },
    /// Kaiming uniform for leaky ReLU of slope `a`: bound `√(6 / ((1 + a²) fan_in))`.
    KaimingUniform {
        /// The negative slope.
        a: f64,
    },
    /// LeCun normal: std `√(1 / fan_in)`.
    LecunNormal,
    /// LeCun uniform: bound `√(3 / fan_in)`.
    LecunUniform,
    /// Exact values, row-major in the parameter's shape.
    Values(Vec<f64>),
}

/// The loss a network trains against.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    /// The struct field: the label, or `loss`.
    pub field: String,
    /// Which loss, with its parameters.
    pub kind: LossKind,
    /// How per-sample losses become one number.
    pub reduction: Reduction,
    /// The activation that was folded into the loss (`softmax` before a cross-entropy):
    /// training then works on logits, which is simpler and more stable; `predict`
    /// still applies the activation.
    pub fused: Option<Activation>,
}

impl Loss {
    /// What `predict` applies to the network's output (the runtime's `LossFn::link`): softmax
    /// for the cross-entropies on logits over classes, sigmoid for `binary_crossentropy` on
    /// logits, nothing for the others.
    pub fn link(&self) -> Option<Activation> {
        match self.kind {
            LossKind::SoftmaxCe
            | LossKind::CategoricalCrossentropy { from_logits: true }
            | LossKind::SparseCategoricalCrossentropy { from_logits: true } => {
                Some(Activation::Softmax)
            }
            LossKind::BinaryCrossentropy { from_logits: true } => Some(Activation::Sigmoid),
            _ => None,
        }
    }
}

/// How per-sample losses become the training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Mean over the batch (the default).
    Mean,
    /// Sum over the batch.
    Sum,
    /// Keep the per-sample losses; training follows their sum.
    None,
}

/// A loss function with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossKind {
    /// Softmax cross-entropy on logits (PyTorch `CrossEntropyLoss`).
    SoftmaxCe,
    /// The multiclass SVM loss `Σ_{j≠y} max(0, s_j − s_y + margin)`.
    MulticlassHinge {
        /// The margin (default 1).
        margin: f64,
    },
    /// Mean squared error.
    Mse,
    /// The course's `½ Σ (y − t)²` per sample.
    SseHalf,
    /// Cross-entropy on probabilities, `−Σ t log p`.
    CrossEntropy,
    /// Keras `binary_crossentropy`.
    BinaryCrossentropy {
        /// Whether the outputs are logits rather than probabilities.
        from_logits: bool,
    },
    /// Keras `categorical_crossentropy` (one-hot targets).
    CategoricalCrossentropy {
        /// Whether the outputs are logits rather than probabilities.
        from_logits: bool,
    },
    /// Keras `sparse_categorical_crossentropy` (integer labels).
    SparseCategoricalCrossentropy {
        /// Whether the outputs are logits rather than probabilities.
        from_logits: bool,
    },
    /// Keras `poisson`.
    Poisson,
    /// Keras `kl_divergence`.
    KlDivergence,
    /// Keras `mean_absolute_error`.
    MeanAbsoluteError,
    /// Keras `mean_absolute_percentage_error`.
    MeanAbsolutePercentageError,
    /// Keras `mean_squared_logarithmic_error`.
    MeanSquaredLogarithmicError,
    /// Keras `cosine_similarity` (minimizes −cos).
    CosineSimilarity,
    /// Keras `huber`.
    Huber {
        /// Where the loss turns from quadratic to linear (default 1).
        delta: f64,
    },
    /// Keras `log_cosh`.
    LogCosh,
    /// Keras `hinge`.
    Hinge,
    /// Keras `squared_hinge`.
    SquaredHinge,
    /// Keras `categorical_hinge`.
    CategoricalHinge,
}
