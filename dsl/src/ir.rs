//! The resolved network: every layer with its input and output width, its
//! parameters and how they start. The checker produces it; codegen reads it.
//!
//! Nothing here refers to source text except through doc comments: by the time a
//! network is an [`ir::Network`](Network), every name is known and every width agrees.

pub use crate::ast::Visibility;

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
    /// Width of one input sample.
    pub input: usize,
    /// The layers, in forward order (at least one).
    pub layers: Vec<Layer>,
    /// The loss, if the network has one.
    pub loss: Option<Loss>,
}

impl Network {
    /// Width of one output sample: the last layer's output.
    pub fn output(&self) -> usize {
        self.layers.last().map_or(self.input, |l| l.output)
    }

    /// Number of trainable scalars.
    pub fn params(&self) -> usize {
        self.layers.iter().map(Layer::params).sum()
    }
}

/// One layer of a network.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The struct field and checkpoint prefix: the label, or `dense0`, `relu1`, ….
    pub field: String,
    /// Doc comment lines carried over from the source.
    pub docs: Vec<String>,
    /// What the layer computes.
    pub kind: LayerKind,
    /// Width of one input sample.
    pub input: usize,
    /// Width of one output sample.
    pub output: usize,
}

impl Layer {
    /// Number of trainable scalars.
    pub fn params(&self) -> usize {
        match &self.kind {
            LayerKind::Dense { .. } => self.input * self.output + self.output,
            LayerKind::Activation(_) => 0,
        }
    }
}

/// What a layer computes.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    /// `y = f(x·Wᵀ + b)`: an affine map followed by an activation.
    Dense {
        /// The activation applied to the affine output (`Identity` when none).
        activation: Activation,
        /// How the weights start.
        weight_init: Init,
        /// How the biases start.
        bias_init: Init,
    },
    /// An activation as a statement of its own.
    Activation(Activation),
}

/// An activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Row-wise `e^x / Σ e^x`.
    Softmax,
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
    /// Which loss.
    pub kind: LossKind,
}

/// A loss function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// Softmax cross-entropy on logits with integer labels (PyTorch `CrossEntropyLoss`).
    SoftmaxCe,
    /// Mean squared error over all elements (PyTorch `MSELoss`).
    Mse,
}
