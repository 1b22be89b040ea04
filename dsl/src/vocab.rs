//! The words of the language: the losses and initializers, and every statement keyword,
//! those of the layer kinds derived from [`layers::KINDS`](crate::layers::KINDS).
//!
//! The checker resolves names against these tables and draws its did-you-mean
//! suggestions from them.

use crate::ir::LossKind;
use crate::layers::{Role, KINDS};

pub use crate::layers::activation::{ActivationWord, ACTIVATIONS};

/// What output width a loss needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputNeed {
    /// Any width.
    Any,
    /// One class score per class: at least two outputs.
    Classes,
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

/// The keywords of the layer statements other than activations (`input`, `dense`, …), in
/// the order of [`KINDS`].
pub fn layer_words() -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .filter(|k| k.role() != Role::Activation)
        .flat_map(|k| k.keywords().iter().copied())
}

/// The names of the activations.
pub fn activation_words() -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .filter(|k| k.role() == Role::Activation)
        .flat_map(|k| k.keywords().iter().copied())
}

/// Looks up an activation.
pub fn activation(name: &str) -> Option<&'static ActivationWord> {
    crate::layers::activation::word(name)
}

/// Looks up a loss.
pub fn loss_word(name: &str) -> Option<&'static LossWord> {
    LOSSES.iter().find(|w| w.name == name)
}

/// Every statement keyword: layers, activations and losses.
pub fn statement_names() -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .flat_map(|k| k.keywords().iter().copied())
        .chain(block_words())
        .chain(LOSSES.iter().map(|w| w.name))
}

/// The keywords of block statements: `residual`, `add`, `concat`, `repeat`.
pub fn block_words() -> impl Iterator<Item = &'static str> {
    crate::check::BLOCK_WORDS.iter().copied()
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
