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
    /// Whether the runtime has it yet; if not, the issue that brings it.
    pub support: Support,
    /// One line for error messages and the reference.
    pub summary: &'static str,
}

/// Whether the runtime implements a word yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Compiles to working code.
    Yes,
    /// Parses and is checked, but codegen has no runtime to call yet.
    NotYet,
}

/// The layer statements.
pub const LAYERS: &[LayerWord] = &[
    LayerWord {
        name: "input",
        attrs: &[],
        support: Support::Yes,
        summary: "`input 784`: the width of one input sample",
    },
    LayerWord {
        name: "dense",
        attrs: &["init", "bias", "weights"],
        support: Support::Yes,
        summary: "`dense 784->128 relu`: an affine layer with an optional activation",
    },
    LayerWord {
        name: "maxout",
        attrs: &["k", "init", "bias"],
        support: Support::NotYet,
        summary: "`maxout 128->64 k=2`: the maximum over k affine pieces",
    },
    LayerWord {
        name: "batchnorm",
        attrs: &["momentum", "eps"],
        support: Support::NotYet,
        summary: "`batchnorm momentum=0.1 eps=1e-5`: batch normalization",
    },
    LayerWord {
        name: "dropout",
        attrs: &[],
        support: Support::NotYet,
        summary: "`dropout 0.5`: inverted dropout, active only in training",
    },
];

/// An activation function's name.
pub struct ActivationWord {
    /// The keyword.
    pub name: &'static str,
    /// The runtime activation, if it exists yet.
    pub activation: Option<Activation>,
    /// The name and default of its one optional parameter (`leaky_relu 0.1`).
    pub param: Option<(&'static str, f64)>,
}

/// The activations.
pub const ACTIVATIONS: &[ActivationWord] = &[
    act("identity", Some(Activation::Identity), None),
    act("linear", Some(Activation::Identity), None),
    act("step", Some(Activation::Step), None),
    act("sigmoid", Some(Activation::Sigmoid), None),
    act("tanh", Some(Activation::Tanh), None),
    act("relu", Some(Activation::Relu), None),
    act("softmax", Some(Activation::Softmax), None),
    act("leaky_relu", None, Some(("slope", 0.01))),
    act("elu", None, Some(("alpha", 1.0))),
    act("selu", None, None),
    act("gelu", None, None),
    act("gelu_tanh", None, None),
    act("silu", None, None),
    act("swish", None, None),
    act("softplus", None, None),
    act("mish", None, None),
    act("hard_sigmoid", None, None),
    act("log_softmax", None, None),
];

const fn act(
    name: &'static str,
    activation: Option<Activation>,
    param: Option<(&'static str, f64)>,
) -> ActivationWord {
    ActivationWord {
        name,
        activation,
        param,
    }
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
    /// The runtime loss, if it exists yet.
    pub kind: Option<LossKind>,
    /// The output width it needs.
    pub output: OutputNeed,
}

/// The losses.
pub const LOSSES: &[LossWord] = &[
    loss("softmax_ce", Some(LossKind::SoftmaxCe), OutputNeed::Classes),
    loss("mse", Some(LossKind::Mse), OutputNeed::Any),
    loss("mean_squared_error", Some(LossKind::Mse), OutputNeed::Any),
    loss("sse_half", None, OutputNeed::Any),
    loss("multiclass_hinge", None, OutputNeed::Classes),
    loss("cross_entropy", None, OutputNeed::Classes),
    loss("binary_crossentropy", None, OutputNeed::One),
    loss("bce", None, OutputNeed::One),
    loss("categorical_crossentropy", None, OutputNeed::Classes),
    loss("sparse_categorical_crossentropy", None, OutputNeed::Classes),
    loss("poisson", None, OutputNeed::Any),
    loss("kl_divergence", None, OutputNeed::Any),
    loss("mean_absolute_error", None, OutputNeed::Any),
    loss("mae", None, OutputNeed::Any),
    loss("mean_absolute_percentage_error", None, OutputNeed::Any),
    loss("mean_squared_logarithmic_error", None, OutputNeed::Any),
    loss("cosine_similarity", None, OutputNeed::Any),
    loss("huber", None, OutputNeed::Any),
    loss("log_cosh", None, OutputNeed::Any),
    loss("hinge", None, OutputNeed::One),
    loss("squared_hinge", None, OutputNeed::One),
    loss("categorical_hinge", None, OutputNeed::Classes),
];

const fn loss(name: &'static str, kind: Option<LossKind>, output: OutputNeed) -> LossWord {
    LossWord { name, kind, output }
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
