//! One home per layer kind: each statement that makes a layer (and `input`) is a module here
//! behind the [`Kind`] trait, and the value the checker resolves it to implements
//! [`LayerSpec`]. [`KINDS`] lists them; everything that lists layer kinds (the vocabulary, the
//! help texts, the docs and editor-grammar checks, the random-network generator of
//! `tests/build.rs`) derives from it.
//!
//! A kind owns its keyword(s), attributes and defaults, reference summary line, check
//! (arguments, attributes, width rule, errors), and an example and a random sampler; its
//! resolved value owns its parameter and buffer counts, its text in summaries, graphs and doc
//! comments, and its generated field type and constructor. The shared machinery stays where
//! it was: diagnostics, attribute-name checks, width flow, labels and limits in
//! [`check`](crate::check); the network-level code (struct, impls, forward and backward
//! chains) in [`codegen`](crate::codegen).

use std::any::Any;
use std::fmt::Debug;

use axonal_onnx::Graph;
use proc_macro2::{Ident, TokenStream};

use crate::ast::Statement;
use crate::check::Checker;
use crate::ir::{Activation, Shape};

pub mod activation;
pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod flatten;
pub mod input;
pub mod layernorm;
pub mod maxout;
pub mod pool;
pub mod window;

/// Every layer kind of the language, in the order the reference lists them (activations last).
pub static KINDS: &[&dyn Kind] = &[
    &input::Input,
    &dense::DenseKind,
    &maxout::MaxoutKind,
    &conv::ConvKind,
    &pool::MaxPoolKind,
    &pool::AvgPoolKind,
    &pool::GlobalAvgPoolKind,
    &batchnorm::BatchNormKind,
    &dropout::DropoutKind,
    &flatten::FlattenKind,
    &layernorm::LayerNormKind,
    &activation::ActivationKind,
];

/// The kind whose keywords include `keyword`.
pub fn kind(keyword: &str) -> Option<&'static dyn Kind> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.keywords().contains(&keyword))
}

/// What a statement of a kind is to the rest of the compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `input`: says the width of a sample, makes no layer.
    Input,
    /// A layer statement (`dense`, `batchnorm`, …).
    Layer,
    /// An activation as a statement of its own (`relu`); its keywords are also the names a
    /// `dense` layer's activation takes.
    Activation,
}

/// An attribute a kind takes, with its default as the reference writes it.
#[derive(Clone, Copy, Debug)]
pub struct AttrSpec {
    /// The attribute's name.
    pub name: &'static str,
    /// The value the layer has without the attribute, written as the attribute's value
    /// (`0.1`, `zeros`, `xavier`); `None` when there is none to write (required, or it
    /// depends on other arguments).
    pub default: Option<&'static str>,
}

/// Shorthand for an [`AttrSpec`].
pub const fn attr(name: &'static str, default: Option<&'static str>) -> AttrSpec {
    AttrSpec { name, default }
}

/// A layer kind of the language: everything the compiler knows about one statement.
///
/// Object-safe, so that [`KINDS`] can list every kind; the checker finds a statement's kind by
/// its keyword and hands it the statement.
pub trait Kind: Sync {
    /// The keywords that start a statement of this kind (`dense`; every activation's name).
    fn keywords(&self) -> &'static [&'static str];
    /// What a statement of this kind is.
    fn role(&self) -> Role;
    /// The attributes it takes, with their defaults.
    fn attrs(&self) -> &'static [AttrSpec];
    /// One line for error messages and the reference: an example and what it does.
    fn summary(&self) -> &'static str;
    /// A network body with a statement of this kind on an input of 4 features; for a kind
    /// with attributes, its statement is the last, and appending `name=default` for an
    /// attribute of [`Kind::attrs`] must not change the network.
    fn example(&self) -> &'static str;
    /// Network bodies that between them make every runtime type this kind generates (one per
    /// activation, say); compiled under `deny(warnings)` and run by `tests/tests/kinds.rs`.
    fn examples(&self) -> Vec<String> {
        vec![self.example().to_string()]
    }
    /// Checks a statement of this kind, reporting every mistake through `cx`. For a layer it
    /// returns the resolved layer (the checker gives it its field and counts its size); a kind
    /// that changes the width sets the new one with `Checker::flow`. `input` returns `None`
    /// and sets the width itself.
    fn check(&self, cx: &mut Checker<'_>, s: &Statement) -> Option<Checked>;
    /// How often the random-network generator picks this kind, relative to the others (0:
    /// never, as for `input`, which the generator writes itself).
    fn sample_weight(&self) -> usize;
    /// A random valid statement of this kind after a value of shape `input` (`None` when
    /// nothing before says it, so the statement must say it), or `None` if the kind cannot
    /// follow such a value.
    fn sample(&self, rng: &mut dyn Random, input: Option<&Shape>) -> Option<Sample>;
}

/// A layer as the checker resolved it.
pub struct Checked {
    /// What the layer computes.
    pub spec: Box<dyn LayerSpec>,
    /// Shape of one input sample.
    pub input: Shape,
    /// Shape of one output sample.
    pub output: Shape,
}

/// A layer's input and output shapes, which every [`LayerSpec`] method is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Io<'a> {
    /// Shape of one input sample.
    pub input: &'a Shape,
    /// Shape of one output sample.
    pub output: &'a Shape,
}

/// A layer as PyTorch code, [`LayerSpec::torch`]: Python text that `crate::torch` writes into
/// a module's `__init__` and `forward`, with `torch`, `torch.nn as nn` and
/// `torch.nn.functional as F` imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Torch {
    /// The module, as a constructor expression (`nn.Linear(784, 128)`), held under the layer's
    /// key; `None` for a layer that is a function of its input only (`flatten`, `relu`).
    pub module: Option<String>,
    /// What the layer computes, a Python expression in which `{x}` stands for the module's
    /// output, or for the layer's input without a module (`F.relu({x})`, `{x}.flatten(1)`);
    /// `{x}` alone when the layer is its module. The name `x` itself is `forward`'s argument,
    /// a tensor of the model's dtype (`({x} > 0).to(x.dtype)`).
    pub expr: String,
}

impl Torch {
    /// A module that is the whole layer.
    pub fn module(module: String) -> Torch {
        Torch {
            module: Some(module),
            expr: "{x}".to_string(),
        }
    }

    /// A module followed by `activation` (nothing for the identity).
    pub fn then(module: String, activation: Activation) -> Torch {
        Torch {
            module: Some(module),
            expr: activation::torch(activation, "{x}"),
        }
    }

    /// A function of the layer's input, without a module.
    pub fn function(expr: String) -> Torch {
        Torch { module: None, expr }
    }
}

/// What a layer does with an activation the loss after it wants to fuse (see
/// [`LayerSpec::strip_activation`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strip {
    /// The layer does not end in that activation.
    No,
    /// The layer ended in it and no longer does.
    Stripped,
    /// The layer is that activation and nothing else: it can go.
    Whole,
}

/// The resolved value of a layer statement, held by [`ir::Layer`](crate::ir::Layer): what the
/// layer computes, and all that follows from it.
pub trait LayerSpec: Debug + Send + Sync + Any {
    /// The layer as a statement of the language, for summaries, graphs and doc comments:
    /// `dense 784->128 relu`.
    fn describe(&self, io: Io<'_>) -> String;
    /// Number of trainable scalars, or `None` if it does not fit in a `u64`.
    fn params(&self, io: Io<'_>) -> Option<u64>;
    /// Number of non-trainable state scalars (running statistics), or `None` if it does not
    /// fit in a `u64`.
    fn buffers(&self, io: Io<'_>) -> Option<u64> {
        let _ = io;
        Some(0)
    }
    /// The runtime type of the layer's field, `f` being the float type parameter.
    fn field_type(&self, f: &Ident, io: Io<'_>) -> TokenStream;
    /// The expression that builds the layer in `new`, which has `rng` in scope.
    fn constructor(&self, io: Io<'_>) -> TokenStream;
    /// Whether the layer is a field of the generated struct. `flatten` is not: a batch is a
    /// `[batch, C·H·W]` matrix whatever the shape, so the next layer reads the previous
    /// layer's output as it is. [`LayerSpec::field_type`] and [`LayerSpec::constructor`] are
    /// not asked of such a layer.
    fn has_field(&self) -> bool {
        true
    }
    /// Whether [`LayerSpec::constructor`] uses `rng`.
    fn draws(&self) -> bool;
    /// Writes what `predict` computes into the ONNX graph `g` as nodes reading the value `x`,
    /// with the layer's weights declared under its checkpoint key (`key.weight`); returns the
    /// name of the output value. See `crate::onnx`.
    fn onnx(&self, io: Io<'_>, g: &mut Graph, key: &str, x: &str) -> String;
    /// What the layer is in PyTorch: the module the network holds under the layer's key (its
    /// parameters and buffers then have the checkpoint's names and shapes) and what `forward`
    /// computes with it, as Python text. See `crate::torch`.
    fn torch(&self, io: Io<'_>) -> Torch;
    /// Whether the layer adds a penalty to the loss (its field has `penalty()`).
    fn has_penalty(&self) -> bool {
        false
    }
    /// Removes a final `activation` that the loss after this layer fuses (see
    /// `check`'s fusion of softmax into the loss).
    fn strip_activation(&mut self, activation: Activation) -> Strip {
        let _ = activation;
        Strip::No
    }
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn LayerSpec>;
    /// Whether `other` is the same kind with the same values.
    fn eq_dyn(&self, other: &dyn LayerSpec) -> bool;
    /// The value as [`Any`], to downcast to the kind's own type.
    fn as_any(&self) -> &dyn Any;
}

/// Implements [`LayerSpec::clone_box`], [`LayerSpec::eq_dyn`] and [`LayerSpec::as_any`] for a
/// `Clone + PartialEq` type.
macro_rules! spec_boilerplate {
    () => {
        fn clone_box(&self) -> Box<dyn $crate::layers::LayerSpec> {
            Box::new(self.clone())
        }
        fn eq_dyn(&self, other: &dyn $crate::layers::LayerSpec) -> bool {
            other
                .as_any()
                .downcast_ref::<Self>()
                .is_some_and(|o| o == self)
        }
        fn as_any(&self) -> &dyn ::std::any::Any {
            self
        }
    };
}
pub(crate) use spec_boilerplate;

impl dyn LayerSpec {
    /// The value as the kind's own type, if it is one.
    pub fn downcast_ref<T: LayerSpec>(&self) -> Option<&T> {
        self.as_any().downcast_ref()
    }
}

impl Clone for Box<dyn LayerSpec> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl PartialEq for dyn LayerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.eq_dyn(other)
    }
}

/// A random statement for the random-network generator.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The statement, without label or `;`: `dense 3 relu init=he`.
    pub text: String,
    /// Shape of one output sample.
    pub output: Shape,
    /// Whether the test must freeze the layer's random mask (dropout) to check gradients: the
    /// generator then labels it so the test can reach it.
    pub freeze: bool,
}

/// The randomness the generator hands a [`Kind::sample`].
pub trait Random {
    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize;
}

impl dyn Random + '_ {
    /// A number in `low..=high`.
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }
    /// True `percent` % of the time.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A random weight initializer for a sampled statement: random ones always, never constants
/// (a constant layer puts every unit on a ReLU's kink together).
pub fn sample_init(rng: &mut dyn Random) -> &'static str {
    rng.pick(&[
        "he",
        "xavier",
        "xavier_normal",
        "xavier_uniform",
        "glorot",
        "glorot_uniform",
        "he_normal",
        "he_uniform",
        "kaiming",
        "kaiming_uniform",
        "lecun_normal",
        "lecun_uniform",
        "normal(0, 0.5)",
        "normal(0.1, 0.3)",
        "uniform(-0.7, 0.7)",
    ])
}

/// "s" unless `n` is one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(body: &str) -> crate::ir::Program {
        let src = format!("N {{ {body} }}");
        crate::check_source(&src).unwrap_or_else(|d| panic!("{src}: {d:#?}"))
    }

    #[test]
    fn every_example_compiles_and_uses_its_kind() {
        for kind in KINDS {
            for body in kind.examples() {
                program(&body);
                assert!(kind.keywords().iter().any(|k| body.contains(k)), "{body}");
            }
        }
    }

    #[test]
    fn declared_defaults_are_the_defaults() {
        for kind in KINDS {
            let example = kind.example();
            let plain = program(example);
            for spec in kind.attrs() {
                if let Some(default) = spec.default {
                    let explicit = program(&format!("{example} {}={default}", spec.name));
                    assert_eq!(plain, explicit, "{example} {}={default}", spec.name);
                }
            }
        }
    }

    #[test]
    fn keywords_belong_to_one_kind() {
        let mut all: Vec<&str> = KINDS.iter().flat_map(|k| k.keywords()).copied().collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        for kind in KINDS {
            for k in kind.keywords() {
                assert!(std::ptr::addr_eq(
                    super::kind(k).unwrap() as *const dyn Kind,
                    *kind as *const dyn Kind
                ));
            }
        }
    }

    /// A deterministic source of randomness for the sampler test.
    struct Counter(u64);
    impl Random for Counter {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    #[test]
    fn samples_are_valid_statements_of_their_kind() {
        let mut rng = Counter(7);
        for kind in KINDS {
            for _ in 0..50 {
                for input in [
                    None,
                    Some(Shape::vector(3)),
                    Some(Shape::new(vec![2, 3, 3])),
                ] {
                    let Some(sample) = kind.sample(&mut rng, input.as_ref()) else {
                        continue;
                    };
                    let head = input.map_or(String::new(), |s| format!("input {}; ", s.source()));
                    // An activation after it: a network of a `flatten` alone computes nothing.
                    let p = program(&format!("{head}{}; identity", sample.text));
                    let layers = &p.networks[0].layers();
                    let layer = &layers[layers.len() - 2];
                    assert_eq!(layer.output, sample.output, "{}", sample.text);
                }
            }
        }
    }
}
