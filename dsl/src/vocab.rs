//! The words of the language: every statement, activation, initializer and loss,
//! with what it takes and whether the runtime supports it yet.
//!
//! The checker resolves names against these tables and draws its did-you-mean
//! suggestions from them, so a name added here is known everywhere at once.

use crate::ir::{Activation, LossKind};

/// A layer statement other than an activation or a loss.
pub struct LayerWord {
    /// The keyword.
    pub name: &'static str,
    /// The attributes it takes.
    pub attrs: &'static [&'static str],
    /// One line for error messages and the reference.
    pub summary: &'static str,
}

/// The layer statements.
pub const LAYERS: &[LayerWord] = &[
    LayerWord {
        name: "input",
        attrs: &[],
        summary: "`input 784`: the width of one input sample",
    },
    LayerWord {
        name: "dense",
        attrs: &["init", "bias", "weights", "l2"],
        summary: "`dense 784->128 relu`: an affine layer with an optional activation",
    },
    LayerWord {
        name: "maxout",
        attrs: &["k", "init", "bias"],
        summary: "`maxout 128->64 k=2`: the maximum over k affine pieces",
    },
    LayerWord {
        name: "batchnorm",
        attrs: &["momentum", "eps"],
        summary: "`batchnorm momentum=0.1 eps=1e-5`: batch normalization",
    },
    LayerWord {
        name: "dropout",
        attrs: &[],
        summary: "`dropout 0.5`: inverted dropout, active only in training",
    },
];

/// An activation function's name.
pub struct ActivationWord {
    /// The keyword.
    pub name: &'static str,
    /// The activation, given its parameter (or the default).
    pub make: fn(f64) -> Activation,
    /// The name and default of its one optional parameter (`leaky_relu 0.1`).
    pub param: Option<(&'static str, f64)>,
}

/// The activations.
pub const ACTIVATIONS: &[ActivationWord] = &[
    act("identity", |_| Activation::Identity, None),
    act("linear", |_| Activation::Identity, None),
    act("step", |_| Activation::Step, None),
    act("sigmoid", |_| Activation::Sigmoid, None),
    act("tanh", |_| Activation::Tanh, None),
    act("relu", |_| Activation::Relu, None),
    act("leaky_relu", Activation::LeakyRelu, Some(("slope", 0.01))),
    act("elu", Activation::Elu, Some(("alpha", 1.0))),
    act("selu", |_| Activation::Selu, None),
    act("gelu", |_| Activation::Gelu, None),
    act("gelu_tanh", |_| Activation::GeluTanh, None),
    act("silu", |_| Activation::Silu, None),
    act("swish", |_| Activation::Silu, None),
    act("softplus", |_| Activation::Softplus, None),
    act("mish", |_| Activation::Mish, None),
    act("hard_sigmoid", |_| Activation::HardSigmoid, None),
    act("softmax", |_| Activation::Softmax, None),
    act("log_softmax", |_| Activation::LogSoftmax, None),
];

const fn act(
    name: &'static str,
    make: fn(f64) -> Activation,
    param: Option<(&'static str, f64)>,
) -> ActivationWord {
    ActivationWord { name, make, param }
}

/// What output width a loss needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputNeed {
    /// Any width.
    Any,
    /// One class score per class: at least two outputs.
    Classes,
    /// Exactly one output (binary targets).
    One,
}

/// A loss function's name.
pub struct LossWord {
    /// The keyword.
    pub name: &'static str,
    /// The loss with its default parameters; attributes override them.
    pub kind: LossKind,
    /// The output width it needs.
    pub output: OutputNeed,
}

/// The losses.
pub const LOSSES: &[LossWord] = &[
    loss("softmax_ce", LossKind::SoftmaxCe, OutputNeed::Classes),
    loss(
        "multiclass_hinge",
        LossKind::MulticlassHinge { margin: 1.0 },
        OutputNeed::Classes,
    ),
    loss("mse", LossKind::Mse, OutputNeed::Any),
    loss("mean_squared_error", LossKind::Mse, OutputNeed::Any),
    loss("sse_half", LossKind::SseHalf, OutputNeed::Any),
    loss("cross_entropy", LossKind::CrossEntropy, OutputNeed::Classes),
    loss("binary_crossentropy", BCE, OutputNeed::Any),
    loss("bce", BCE, OutputNeed::Any),
    loss(
        "categorical_crossentropy",
        LossKind::CategoricalCrossentropy { from_logits: false },
        OutputNeed::Classes,
    ),
    loss(
        "sparse_categorical_crossentropy",
        LossKind::SparseCategoricalCrossentropy { from_logits: false },
        OutputNeed::Classes,
    ),
    loss("poisson", LossKind::Poisson, OutputNeed::Any),
    loss("kl_divergence", LossKind::KlDivergence, OutputNeed::Any),
    loss("kld", LossKind::KlDivergence, OutputNeed::Any),
    loss(
        "mean_absolute_error",
        LossKind::MeanAbsoluteError,
        OutputNeed::Any,
    ),
    loss("mae", LossKind::MeanAbsoluteError, OutputNeed::Any),
    loss(
        "mean_absolute_percentage_error",
        LossKind::MeanAbsolutePercentageError,
        OutputNeed::Any,
    ),
    loss(
        "mape",
        LossKind::MeanAbsolutePercentageError,
        OutputNeed::Any,
    ),
    loss(
        "mean_squared_logarithmic_error",
        LossKind::MeanSquaredLogarithmicError,
        OutputNeed::Any,
    ),
    loss(
        "msle",
        LossKind::MeanSquaredLogarithmicError,
        OutputNeed::Any,
    ),
    loss(
        "cosine_similarity",
        LossKind::CosineSimilarity,
        OutputNeed::Any,
    ),
    loss("huber", LossKind::Huber { delta: 1.0 }, OutputNeed::Any),
    loss("log_cosh", LossKind::LogCosh, OutputNeed::Any),
    loss("hinge", LossKind::Hinge, OutputNeed::Any),
    loss("squared_hinge", LossKind::SquaredHinge, OutputNeed::Any),
    loss(
        "categorical_hinge",
        LossKind::CategoricalHinge,
        OutputNeed::Classes,
    ),
];

const BCE: LossKind = LossKind::BinaryCrossentropy { from_logits: false };

const fn loss(name: &'static str, kind: LossKind, output: OutputNeed) -> LossWord {
    LossWord { name, kind, output }
}

/// The attributes a loss takes: `reduction` for all, and its own parameters.
pub fn loss_attrs(kind: LossKind) -> &'static [&'static str] {
    match kind {
        LossKind::MulticlassHinge { .. } => &["reduction", "margin"],
        LossKind::Huber { .. } => &["reduction", "delta"],
        LossKind::BinaryCrossentropy { .. }
        | LossKind::CategoricalCrossentropy { .. }
        | LossKind::SparseCategoricalCrossentropy { .. } => &["reduction", "from_logits"],
        _ => &["reduction"],
    }
}

/// Initializer names that take no arguments, and the calls that do.
pub const INITIALIZERS: &[&str] = &[
    "zeros",
    "ones",
    "xavier",
    "xavier_normal",
    "xavier_uniform",
    "glorot",
    "glorot_normal",
    "glorot_uniform",
    "he",
    "he_normal",
    "he_uniform",
    "kaiming",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "uniform",
    "constant",
];

/// Looks up a layer statement.
pub fn layer(name: &str) -> Option<&'static LayerWord> {
    LAYERS.iter().find(|w| w.name == name)
}

/// Looks up an activation.
pub fn activation(name: &str) -> Option<&'static ActivationWord> {
    ACTIVATIONS.iter().find(|w| w.name == name)
}

/// Looks up a loss.
pub fn loss_word(name: &str) -> Option<&'static LossWord> {
    LOSSES.iter().find(|w| w.name == name)
}

/// Every statement keyword: layers, activations and losses.
pub fn statement_names() -> impl Iterator<Item = &'static str> {
    LAYERS
        .iter()
        .map(|w| w.name)
        .chain(ACTIVATIONS.iter().map(|w| w.name))
        .chain(LOSSES.iter().map(|w| w.name))
}

/// The closest candidate to a misspelt name, if one is close enough to suggest.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3) && d < c.len().max(name.len()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("rleu", ["relu", "tanh"]), Some("relu"));
        assert_eq!(did_you_mean("dens", statement_names()), Some("dense"));
        assert_eq!(
            did_you_mean("softmax_cr", statement_names()),
            Some("softmax_ce")
        );
        assert_eq!(did_you_mean("banana", statement_names()), None);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = statement_names().collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len());
    }
}
