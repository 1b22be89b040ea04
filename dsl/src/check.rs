//! Names, attributes and shape inference: `ast` in, [`ir::Program`](crate::ir::Program) or every mistake out.
//!
//! The checker walks each network once, carrying the width that flows out of the
//! last layer and the span that set it, so that a mismatch can point at the wrong
//! number and at the layer it disagrees with. It never stops at the first mistake:
//! every statement is checked, and all diagnostics of a source are returned together.

mod blocks;

pub use blocks::BLOCK_WORDS;

use std::collections::HashMap;

use crate::ast::{
    self, Arg, Attr, Dims, Ident, NetworkDecl, Number, SourceFile, Span, Statement, Value,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Activation, Init, Layer, Loss, LossKind, Network, Node, Program, Reduction, Shape,
};
use crate::layers::{self, Checked, Role, Strip};
use crate::summary::thousands;
use crate::vocab::{self, did_you_mean, OutputNeed};

/// The widest layer the language accepts; wider is almost surely a typo.
pub const MAX_WIDTH: usize = 1 << 24;

/// The most parameters one network may hold, trainable and not: 2³¹ (2,147,483,648), 8 GiB
/// of `f32` weights (16 GiB in `f64`) before their gradients and an optimizer's state, which
/// take as much again or more. It admits GPT-2 XL's 1.5 billion and refuses what no machine
/// this runs on could allocate: without it, `dense 16777216->16777216` (2⁴⁸ parameters, a
/// pebibyte) passes every check and aborts when the network is built.
pub const MAX_PARAMS: u64 = 1 << 31;

/// The most activations one sample may flow through, the sum of every layer's output width:
/// 2³¹, as for parameters. Every layer keeps its output (and its gradient) for the backward
/// pass, so this is memory per sample of a batch.
pub const MAX_ACTIVATIONS: u64 = 1 << 31;

/// The most layers one network may have. Each layer is a field of the generated struct and
/// a line of its forward, backward and predict functions, and rustc's time grows faster than
/// the layer count: measured on two cores at `opt-level=1`, a network of 1,000 layers
/// compiles in about 4 s, 3,000 in 30 to 70 s, and 7,500 in nearly two minutes and 3 GB.
/// Real networks have tens.
pub const MAX_LAYERS: usize = 1_000;

/// The largest finite `f32`, as `f64`. Generated networks are generic over the float type,
/// `f32` by default: every number that becomes a weight, a bias or a layer's constant must
/// stay finite when rounded to `f32`, as well as in `f64`.
const F32_MAX: f64 = f32::MAX as f64;

/// Checks every network of a parsed source.
pub fn check(file: &SourceFile) -> Result<Program, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut networks = Vec::new();
    let mut names: HashMap<&str, Span> = HashMap::new();
    for decl in &file.networks {
        check_ident(&decl.name, "network", &mut diags);
        if let Some(first) = names.get(decl.name.name.as_str()) {
            diags.push(
                Diagnostic::new(
                    Code::DuplicateNetwork,
                    decl.name.span.clone(),
                    format!("the network `{}` is defined twice", decl.name.name),
                )
                .label("defined again here")
                .secondary(first.clone(), "first defined here")
                .help("rename one of them: each network becomes a struct of that name"),
            );
        } else {
            names.insert(&decl.name.name, decl.name.span.clone());
        }
        if let Some(network) = Checker::new(&mut diags, &decl.name.name).network(decl) {
            networks.push(network);
        }
    }
    if diags.is_empty() {
        Ok(Program { networks })
    } else {
        Err(diags)
    }
}

/// The width flowing between layers, and the span of the text that set it.
#[derive(Clone)]
struct Width {
    shape: Shape,
    span: Span,
}

impl Width {
    /// The values per sample: the width of a vector.
    fn value(&self) -> usize {
        self.shape.size()
    }
}

/// Walks one network's statements: the shared state and helpers that every layer kind's
/// [`check`](crate::layers::Kind::check) reports its mistakes through and reads and sets the
/// width flowing between layers with.
pub struct Checker<'d> {
    diags: &'d mut Vec<Diagnostic>,
    /// The network's name, for messages.
    name: &'d str,
    width: Option<Width>,
    /// The nodes of the scope being checked: the network's body, or a block's.
    nodes: Vec<Node>,
    /// How many blocks the statement being checked is inside.
    depth: usize,
    loss: Option<(Loss, Span)>,
    /// Field names with the span that introduced each (label or keyword).
    fields: Vec<(String, Span)>,
    /// Whether a "loss must be last" error was already given for this network.
    loss_not_last_reported: bool,
    /// Whether an "unknown input width" error was already given (later ones would repeat it),
    /// or another error already explains why the width is unknown.
    width_unknown_reported: bool,
    /// Parameters (trainable and not) of the layers so far, at most [`MAX_PARAMS`].
    params: u64,
    /// Activations per sample of the layers so far, at most [`MAX_ACTIVATIONS`].
    activations: u64,
    /// Layer statements so far.
    layer_count: usize,
    /// Whether a "too large" error was already given for this network.
    too_large_reported: bool,
    failed: bool,
}

impl<'d> Checker<'d> {
    fn new(diags: &'d mut Vec<Diagnostic>, name: &'d str) -> Self {
        Checker {
            diags,
            name,
            width: None,
            nodes: Vec::new(),
            depth: 0,
            loss: None,
            fields: Vec::new(),
            loss_not_last_reported: false,
            width_unknown_reported: false,
            params: 0,
            activations: 0,
            layer_count: 0,
            too_large_reported: false,
            failed: false,
        }
    }

    /// Reports a mistake; the network will not compile.
    pub(crate) fn error(&mut self, diagnostic: Diagnostic) {
        self.failed = true;
        self.diags.push(diagnostic);
    }

    fn network(mut self, decl: &NetworkDecl) -> Option<Network> {
        for statement in &decl.statements {
            self.statement(statement);
        }
        self.check_fields();
        self.fuse_output_activation();
        // `flatten` alone computes nothing: the generated struct needs a field.
        if !self.nodes.iter().any(Node::has_field) && !self.failed {
            self.error(
                Diagnostic::new(
                    Code::EmptyNetwork,
                    decl.name.span.clone(),
                    format!("the network `{}` has no layers", decl.name.name),
                )
                .label("nothing to compute")
                .help("add a layer, e.g. `dense 784->10`"),
            );
        }
        if self.failed {
            return None;
        }
        let input = self.nodes.first().map(|n| n.input().clone())?;
        Some(Network {
            name: decl.name.name.clone(),
            vis: decl.vis,
            docs: decl.docs.clone(),
            input,
            nodes: self.nodes,
            loss: self.loss.map(|(loss, _)| loss),
        })
    }

    /// Folds a final softmax (or sigmoid) into a probability cross-entropy that follows
    /// it, so that training works on logits: the same loss and gradient, computed in the
    /// simpler and stabler fused form. `predict` still applies the activation (the loss's
    /// link), so users see no difference but fewer NaNs.
    fn fuse_output_activation(&mut self) {
        let Some((loss, _)) = &mut self.loss else {
            return;
        };
        let (needs, on_logits) = match loss.kind {
            LossKind::CrossEntropy => (Activation::Softmax, LossKind::SoftmaxCe),
            LossKind::CategoricalCrossentropy { from_logits: false } => (
                Activation::Softmax,
                LossKind::CategoricalCrossentropy { from_logits: true },
            ),
            LossKind::SparseCategoricalCrossentropy { from_logits: false } => (
                Activation::Softmax,
                LossKind::SparseCategoricalCrossentropy { from_logits: true },
            ),
            LossKind::BinaryCrossentropy { from_logits: false } => (
                Activation::Sigmoid,
                LossKind::BinaryCrossentropy { from_logits: true },
            ),
            _ => return,
        };
        let layers = self.nodes.len();
        let Some(Node::Layer(last)) = self.nodes.last_mut() else {
            return;
        };
        match last.spec.strip_activation(needs) {
            Strip::Stripped => {}
            // A stand-alone activation goes away, unless it is all the network has.
            Strip::Whole if layers > 1 => {
                self.nodes.pop();
            }
            Strip::Whole | Strip::No => return,
        }
        loss.kind = on_logits;
        loss.fused = Some(needs);
    }

    fn statement(&mut self, s: &Statement) {
        if let Some(label) = &s.label {
            check_ident(label, "label", self.diags);
        }
        if let Some((_, loss_span)) = &self.loss {
            if !self.loss_not_last_reported && vocab::loss_word(&s.keyword.name).is_none() {
                self.loss_not_last_reported = true;
                let loss_span = loss_span.clone();
                self.error(
                    Diagnostic::new(
                        Code::LossNotLast,
                        loss_span,
                        "the loss must be the last statement",
                    )
                    .label("the loss is here")
                    .secondary(s.keyword.span.clone(), "but this statement comes after it")
                    .help("move the loss to the end of the network"),
                );
            }
        }
        let name = s.keyword.name.as_str();
        if blocks::BLOCK_WORDS.contains(&name) {
            return self.block(s);
        }
        if let Some(body) = s.blocks.first() {
            self.error(
                Diagnostic::new(
                    Code::BlockForm,
                    body.open.clone(),
                    format!("`{name}` takes no body"),
                )
                .label("a body here")
                .secondary(s.keyword.span.clone(), format!("`{name}` is not a block"))
                .help(format!(
                    "only blocks ({}) have bodies; is a `;` missing before the `{{`?",
                    blocks::BLOCK_WORDS
                        .iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
        if self.depth > 0 && vocab::loss_word(name).is_some() {
            self.error(
                Diagnostic::new(
                    Code::BlockForm,
                    s.keyword.span.clone(),
                    format!("the loss `{name}` is inside a block"),
                )
                .label("a loss inside a block")
                .help("the loss is the network's last statement: move it after the block"),
            );
            return;
        }
        if let Some(kind) = layers::kind(name) {
            let attrs: Vec<&str> = kind.attrs().iter().map(|a| a.name).collect();
            self.check_attrs(s, &attrs);
            if kind.role() == Role::Input {
                kind.check(self, s);
            } else {
                let field = self.field(s, name);
                if let Some(checked) = kind.check(self, s) {
                    self.push(field, s, checked);
                }
            }
        } else if let Some(word) = vocab::loss_word(name) {
            self.loss(s, word);
        } else {
            let mut d = Diagnostic::new(
                Code::UnknownStatement,
                s.keyword.span.clone(),
                format!("unknown statement `{name}`"),
            )
            .label("not a layer, activation or loss");
            d = match did_you_mean(name, vocab::statement_names()) {
                Some(best) => d.help(format!("did you mean `{best}`?")),
                None => {
                    let list = |words: &mut dyn Iterator<Item = &str>| {
                        words
                            .map(|w| format!("`{w}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    d.help(format!(
                        "layers are {}; blocks are {}; activations such as `relu`; losses such as `softmax_ce`",
                        list(&mut vocab::layer_words()),
                        list(&mut vocab::block_words()),
                    ))
                }
            };
            self.error(d);
        }
    }

    /// Records the field name of the next layer (its label, or `kind` + index), and refuses
    /// the layer past [`MAX_LAYERS`].
    fn field(&mut self, s: &Statement, kind: &str) -> String {
        self.layer_count += 1;
        if self.layer_count > MAX_LAYERS {
            let name = self.name.to_string();
            self.too_large(
                Diagnostic::new(
                    Code::TooLarge,
                    s.keyword.span.clone(),
                    format!("the network `{name}` has more than {MAX_LAYERS} layers"),
                )
                .label(format!("layer {}", self.layer_count))
                .help(format!(
                    "a network has at most {MAX_LAYERS} layers, as rustc's compile time grows faster than the layer count; use fewer, wider layers"
                )),
            );
        }
        let (name, span) = match &s.label {
            Some(label) => (label.name.clone(), label.span.clone()),
            None => (
                format!("{kind}{}", self.fields.len()),
                s.keyword.span.clone(),
            ),
        };
        self.fields.push((name.clone(), span));
        name
    }

    fn check_fields(&mut self) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let fields = std::mem::take(&mut self.fields);
        for (name, span) in &fields {
            if self.depth > 0 && blocks::INTERNAL_FIELDS.contains(&name.as_str()) {
                self.error(
                    Diagnostic::new(
                        Code::DuplicateLabel,
                        span.clone(),
                        format!("`{name}` is taken by the block itself"),
                    )
                    .label("this label")
                    .help("`_join`, `_fork` and `_act` are the block's own fields: pick another label"),
                );
            } else if let Some(first) = seen.get(name) {
                let d = Diagnostic::new(
                    Code::DuplicateLabel,
                    span.clone(),
                    format!("two layers are named `{name}`"),
                )
                .label("named again here")
                .secondary(first.clone(), "first named here")
                .help("give each layer its own label: labels name the struct fields and checkpoint keys");
                self.error(d);
            } else {
                seen.insert(name.clone(), span.clone());
            }
        }
        self.fields = fields;
    }

    /// Checks the attribute names of a statement: unknown and repeated ones.
    fn check_attrs(&mut self, s: &Statement, allowed: &[&str]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for attr in &s.attrs {
            let name = attr.name.name.as_str();
            if !allowed.contains(&name) {
                let mut d = Diagnostic::new(
                    Code::UnknownAttribute,
                    attr.name.span.clone(),
                    format!("`{}` has no attribute `{name}`", s.keyword.name),
                )
                .label("unknown attribute");
                d = match (did_you_mean(name, allowed.iter().copied()), allowed) {
                    (Some(best), _) => d.help(format!("did you mean `{best}`?")),
                    (None, []) => d.help(format!("`{}` takes no attributes", s.keyword.name)),
                    (None, names) => d.help(format!(
                        "`{}` takes {}",
                        s.keyword.name,
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.error(d);
            } else if let Some(first) = seen.get(name) {
                let first = first.clone();
                self.error(
                    Diagnostic::new(
                        Code::DuplicateAttribute,
                        attr.name.span.clone(),
                        format!("the attribute `{name}` is given twice"),
                    )
                    .label("given again here")
                    .secondary(first, "first given here")
                    .help("keep one of them"),
                );
            } else {
                seen.insert(name, attr.name.span.clone());
            }
        }
    }

    /// A width written as a number: a positive whole number.
    pub(crate) fn width_number(&mut self, n: &Number) -> Option<usize> {
        if !n.is_integer || n.value < 0.0 {
            self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    n.span.clone(),
                    format!("expected a width, found `{}`", n.text),
                )
                .label("a width is a whole number of units")
                .help("write a positive integer, e.g. `128`"),
            );
            return None;
        }
        if n.value == 0.0 {
            self.error(
                Diagnostic::new(
                    Code::ZeroWidth,
                    n.span.clone(),
                    "a layer cannot be 0 units wide",
                )
                .label("zero width")
                .help("every layer needs at least one unit"),
            );
            return None;
        }
        if n.value > MAX_WIDTH as f64 {
            self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    n.span.clone(),
                    format!("the width {} is too large", n.text),
                )
                .label(format!("the widest layer is {MAX_WIDTH} units")),
            );
            return None;
        }
        Some(n.value as usize)
    }

    /// A shape written `CxL` or `CxHxW`: two or three positive whole numbers, the whole at
    /// most [`MAX_WIDTH`] values.
    pub(crate) fn shape(&mut self, d: &Dims) -> Option<Shape> {
        if d.dims.len() > 3 {
            self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    d.span.clone(),
                    format!("a shape has at most 3 dimensions, found {}", d.dims.len()),
                )
                .label("expected `F`, `CxL` or `CxHxW`")
                .help("a sample is a vector `[F]`, a sequence `[C, L]` or an image `[C, H, W]`"),
            );
            return None;
        }
        let dims: Option<Vec<usize>> = d.dims.iter().map(|n| self.width_number(n)).collect();
        let shape = Shape::new(dims?);
        if shape.checked_size().is_none_or(|n| n > MAX_WIDTH as u64) {
            self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    d.span.clone(),
                    format!("the shape {} is too large", d.text),
                )
                .label(format!("a sample holds at most {MAX_WIDTH} values")),
            );
            return None;
        }
        Some(shape)
    }

    /// Whether a layer came before.
    pub(crate) fn has_layers(&self) -> bool {
        !self.nodes.is_empty() || self.depth > 0
    }

    /// The width flowing out of the statements so far, if known.
    pub(crate) fn width(&self) -> Option<Shape> {
        self.width.as_ref().map(|w| w.shape.clone())
    }

    /// Sets the shape flowing on, set by the text at `span` (which a later mismatch points
    /// at).
    pub(crate) fn flow(&mut self, shape: Shape, span: Span) {
        self.width = Some(Width { shape, span });
    }

    /// Whether the value flowing into `at` is a vector (or unknown); otherwise reports that
    /// `at` takes vectors only, with `flatten;` as the fix.
    pub(crate) fn needs_vector(&mut self, at: &Ident) -> bool {
        let Some(width) = self.width.clone() else {
            return true;
        };
        if width.shape.rank() == 1 {
            return true;
        }
        self.error(
            Diagnostic::new(
                Code::RankMismatch,
                at.span.clone(),
                format!(
                    "`{}` takes a vector, found a value of shape {}",
                    at.name,
                    width.shape.batch()
                ),
            )
            .label("this layer needs a [batch, N] input")
            .secondary(
                width.span.clone(),
                format!("the value has shape {} from here", width.shape.batch()),
            )
            .help(format!(
                "add `flatten;` before `{}`: it makes the value {}",
                at.name,
                Shape::vector(width.shape.size()).batch()
            )),
        );
        false
    }

    /// Where the shape flowing on was set (the `input` shape, the width or channels of the
    /// layer that made it), for messages that say where a size came from.
    pub(crate) fn width_span(&self) -> Option<Span> {
        self.width.as_ref().map(|w| w.span.clone())
    }

    /// Whether the value flowing into `at` has rank `rank` (or is unknown); otherwise reports
    /// that `at` takes `what` (`an image [batch, C, H, W]`), and marks the width unknown so
    /// that later layers do not repeat the error.
    pub(crate) fn needs_rank(&mut self, at: &Ident, rank: usize, what: &str) -> bool {
        let Some(width) = self.width.clone() else {
            return true;
        };
        if width.shape.rank() == rank {
            return true;
        }
        let help = match (width.shape.rank(), rank) {
            (1, 3) => "give the input its shape, e.g. `input 1x28x28;` rather than `input 784;`",
            (1, 2) => "give the input its shape, e.g. `input 1x100;` rather than `input 100;`",
            (3, 2) => {
                "`conv1d` and 1-D pooling take sequences; use `conv2d` or 2-D pooling on an image"
            }
            (2, 3) => {
                "`conv2d` and 2-D pooling take images; use `conv1d` or 1-D pooling on a sequence"
            }
            _ => "a shaped value needs a shaped input: declare it, e.g. `input 1x28x28;`",
        };
        self.error(
            Diagnostic::new(
                Code::RankMismatch,
                at.span.clone(),
                format!(
                    "`{}` takes {what}, found a value of shape {}",
                    at.name,
                    width.shape.batch()
                ),
            )
            .label(format!("this layer needs {what}"))
            .secondary(
                width.span.clone(),
                format!("the value has shape {} from here", width.shape.batch()),
            )
            .help(help),
        );
        self.width = None;
        self.width_unknown_reported = true;
        false
    }

    /// Forgets the shape flowing on after an error that explains why it is unknown, so that
    /// later layers are not checked against a stale one nor report it again.
    pub(crate) fn unknown_width(&mut self) {
        self.width = None;
        self.width_unknown_reported = true;
    }

    /// Records that an error already given explains why the width is unknown, so later
    /// layers do not repeat it.
    pub(crate) fn width_unknown_explained(&mut self) {
        self.width_unknown_reported = true;
    }

    /// The width flowing into a layer, or an error at `at` saying it cannot be known.
    pub(crate) fn incoming(&mut self, at: &Ident) -> Option<Shape> {
        if self.width.is_none() && !self.width_unknown_reported {
            self.width_unknown_reported = true;
            self.error(
                Diagnostic::new(
                    Code::UnknownInputWidth,
                    at.span.clone(),
                    format!("cannot tell the input width of `{}`", at.name),
                )
                .label("no earlier statement says how wide the input is")
                .help("start the network with `input N;`, or give the first layer both widths: `dense N->128`"),
            );
        }
        self.width()
    }

    /// Reads `FROM->TO` or `TO` and checks `FROM` against the incoming width.
    /// Returns (input, output, span of the output width).
    pub(crate) fn layer_widths(
        &mut self,
        s: &Statement,
        arg: Option<&Arg>,
    ) -> Option<(usize, usize, Span)> {
        if !self.needs_vector(&s.keyword) {
            // Reported: the layer's own input width is unchecked, its output flows on.
            self.width = None;
            self.width_unknown_reported = true;
        }
        let (from, to) = match arg {
            Some(Arg::Arrow { from, to, .. }) => (Some(from), to),
            Some(Arg::Number(to)) => (None, to),
            _ => {
                let span = arg.map_or(s.keyword.span.clone(), Arg::span);
                self.error(
                    Diagnostic::new(
                        Code::BadArgument,
                        span,
                        format!("`{}` needs an output width", s.keyword.name),
                    )
                    .label("expected a width here")
                    .help(format!(
                        "write `{k} 128` to infer the input width, or `{k} 784->128`",
                        k = s.keyword.name
                    )),
                );
                return None;
            }
        };
        let output = self.width_number(to);
        let input = match from {
            Some(from) => {
                let Some(declared) = self.width_number(from) else {
                    // That error explains an unknown width; the output width flows on if known.
                    if self.width.is_none() {
                        match output {
                            Some(value) => {
                                self.width = Some(Width {
                                    shape: Shape::vector(value),
                                    span: to.span.clone(),
                                })
                            }
                            None => self.width_unknown_reported = true,
                        }
                    }
                    return None;
                };
                if let Some(incoming) = self.width.clone() {
                    if incoming.value() != declared {
                        self.error(
                            Diagnostic::new(
                                Code::WidthMismatch,
                                from.span.clone(),
                                format!(
                                    "expected input width {}, found {declared}",
                                    incoming.value()
                                ),
                            )
                            .label(format!("this layer takes {declared} inputs"))
                            .secondary(
                                incoming.span.clone(),
                                format!("but the previous layer outputs {}", incoming.value()),
                            )
                            .help(format!(
                                "write `{k} {}->{}`, or `{k} {}` to infer the input width",
                                incoming.value(),
                                to.text,
                                to.text,
                                k = s.keyword.name
                            )),
                        );
                    }
                }
                declared
            }
            None => match self.incoming(&s.keyword) {
                Some(incoming) => incoming.size(),
                None => {
                    // The output width is still known: later layers can be checked against it.
                    if let Some(value) = output {
                        self.width = Some(Width {
                            shape: Shape::vector(value),
                            span: to.span.clone(),
                        });
                    }
                    return None;
                }
            },
        };
        Some((input, output?, to.span.clone()))
    }

    /// Reports an argument the statement does not take; `expected` says what it takes there.
    pub(crate) fn unexpected_arg(&mut self, s: &Statement, arg: &Arg, expected: &str) {
        let help = match arg {
            // `input 784 ⏎ dense 784->128` reads as one statement: say what is likely missing.
            Arg::Ident(word) if vocab::statement_names().any(|n| n == word.name) => {
                format!("is a `;` missing before `{}`?", word.name)
            }
            _ => "attributes are written `name=value`".to_string(),
        };
        self.error(
            Diagnostic::new(
                Code::BadArgument,
                arg.span(),
                format!("unexpected argument to `{}`", s.keyword.name),
            )
            .label(format!("expected {expected}"))
            .help(help),
        );
    }

    fn loss(&mut self, s: &Statement, word: &vocab::LossWord) {
        if let Some((_, first)) = &self.loss {
            let first = first.clone();
            self.error(
                Diagnostic::new(
                    Code::DuplicateLoss,
                    s.keyword.span.clone(),
                    "a network has at most one loss",
                )
                .label("second loss")
                .secondary(first, "first loss")
                .help("keep the loss you want to train against"),
            );
            return;
        }
        let field = s
            .label
            .as_ref()
            .map_or_else(|| "loss".to_string(), |l| l.name.clone());
        self.fields.push((
            field.clone(),
            s.label
                .as_ref()
                .map_or(s.keyword.span.clone(), |l| l.span.clone()),
        ));
        self.check_attrs(s, vocab::loss_attrs(word.kind));
        for arg in &s.args {
            self.unexpected_arg(s, arg, "nothing");
        }
        let mut kind = word.kind;
        let mut reduction = Reduction::Mean;
        let allowed = vocab::loss_attrs(word.kind);
        for attr in s
            .attrs
            .iter()
            .filter(|a| allowed.contains(&a.name.name.as_str()))
        {
            match (attr.name.name.as_str(), &attr.value, &mut kind) {
                ("reduction", Value::Ident(i), _) if i.name == "mean" => {
                    reduction = Reduction::Mean
                }
                ("reduction", Value::Ident(i), _) if i.name == "sum" => reduction = Reduction::Sum,
                ("reduction", Value::Ident(i), _) if i.name == "none" => {
                    reduction = Reduction::None
                }
                ("reduction", _, _) => self.bad_value(attr, "`mean`, `sum` or `none`"),
                ("margin", Value::Number(n), LossKind::MulticlassHinge { margin })
                    if n.value >= 0.0 && fits_f32(n.value) =>
                {
                    *margin = n.value
                }
                ("delta", Value::Number(n), LossKind::Huber { delta })
                    if positive_in_f32(n.value) =>
                {
                    *delta = n.value
                }
                (
                    "from_logits",
                    Value::Ident(i),
                    LossKind::BinaryCrossentropy { from_logits }
                    | LossKind::CategoricalCrossentropy { from_logits }
                    | LossKind::SparseCategoricalCrossentropy { from_logits },
                ) if i.name == "true" || i.name == "false" => *from_logits = i.name == "true",
                ("margin", ..) => self.bad_value(attr, "a margin of 0 or more, finite in f32"),
                ("delta", ..) => self.bad_value(attr, "a delta greater than 0 in f32"),
                ("from_logits", ..) => self.bad_value(attr, "`true` or `false`"),
                _ => unreachable!("loss_attrs lists only the attributes matched above"),
            }
        }
        self.loss = Some((
            Loss {
                field,
                kind,
                reduction,
                fused: None,
            },
            s.keyword.span.clone(),
        ));
        self.loss_fits(s, word);
    }

    /// Checks that the output width suits the loss.
    fn loss_fits(&mut self, s: &Statement, word: &vocab::LossWord) {
        let Some(out) = self.width.clone() else {
            return;
        };
        if word.output != OutputNeed::Classes || out.value() >= 2 {
            return;
        }
        let (needs, hint) = (
            "at least 2 outputs, one score per class",
            "for two classes with one output use `binary_crossentropy`; for regression use `mse`",
        );
        self.error(
            Diagnostic::new(
                Code::LossMismatch,
                s.keyword.span.clone(),
                format!(
                    "`{}` does not fit a network with {} output{}",
                    word.name,
                    out.value(),
                    if out.value() == 1 { "" } else { "s" }
                ),
            )
            .label(format!("this loss needs {needs}"))
            .secondary(
                out.span.clone(),
                format!("the output width is set to {} here", out.value()),
            )
            .help(hint),
        );
    }

    fn push(&mut self, field: String, s: &Statement, checked: Checked) {
        let layer = Layer {
            field,
            docs: s.docs.clone(),
            spec: checked.spec,
            input: checked.input,
            output: checked.output,
        };
        self.count_size(s, &layer);
        self.nodes.push(Node::Layer(layer));
    }

    /// Adds a layer's parameters and activations to the network's, refusing the layer that
    /// takes either past its limit. Counts are `u64` with checked arithmetic: a layer has at
    /// most 64 · (2⁴⁸ + 2²⁴) parameters and the totals stop at their limits, so nothing
    /// overflows on any platform.
    fn count_size(&mut self, s: &Statement, layer: &Layer) {
        let size = layer
            .checked_params()
            .zip(layer.checked_buffers())
            .and_then(|(p, b)| p.checked_add(b));
        let params = size.and_then(|n| self.params.checked_add(n));
        let activations = layer
            .output
            .checked_size()
            .and_then(|n| self.activations.checked_add(n));
        let name = self.name.to_string();
        match (params, size) {
            (Some(total), _) if total <= MAX_PARAMS => self.params = total,
            (total, size) => {
                let count = |n: Option<u64>| n.map_or("more than 2⁶⁴".to_string(), thousands);
                self.too_large(
                    Diagnostic::new(
                        Code::TooLarge,
                        s.keyword.span.clone(),
                        format!(
                            "the network `{name}` would have {} parameters, more than the limit of {}",
                            count(total),
                            thousands(MAX_PARAMS)
                        ),
                    )
                    .label(format!("this layer has {} parameters", count(size)))
                    .help("a network holds at most 2³¹ parameters (8 GiB of f32 weights, before gradients and optimizer state): make the layers narrower"),
                );
                return;
            }
        }
        match activations {
            Some(total) if total <= MAX_ACTIVATIONS => self.activations = total,
            total => self.too_large(
                Diagnostic::new(
                    Code::TooLarge,
                    s.keyword.span.clone(),
                    format!(
                        "a sample of the network `{name}` would flow through {} activations, more than the limit of {}",
                        total.map_or("more than 2⁶⁴".to_string(), thousands),
                        thousands(MAX_ACTIVATIONS)
                    ),
                )
                .label("this layer's output brings the total past the limit")
                .help("every layer keeps its output and its gradient for the backward pass; a sample flows through at most 2³¹ activations (the sum of the layers' widths): make the layers narrower or fewer"),
            ),
        }
    }

    /// Reports a network too large, once per network.
    fn too_large(&mut self, diagnostic: Diagnostic) {
        self.failed = true;
        if !self.too_large_reported {
            self.too_large_reported = true;
            self.diags.push(diagnostic);
        }
    }

    /// Reports a bad attribute value; `expected` says what it takes.
    pub(crate) fn bad_value(&mut self, attr: &Attr, expected: &str) {
        self.error(
            Diagnostic::new(
                Code::BadAttributeValue,
                attr.value.span(),
                format!("bad value for `{}`", attr.name.name),
            )
            .label(format!("expected {expected}")),
        );
    }

    /// A list attribute of exactly `len` numbers.
    pub(crate) fn number_list(
        &mut self,
        attr: &Attr,
        len: usize,
        shape: impl FnOnce() -> String,
    ) -> Option<Vec<f64>> {
        let Value::List { items, span } = &attr.value else {
            self.bad_value(attr, "a list of numbers, e.g. `[0.5, 0.5]`");
            return None;
        };
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::Number(n) if !fits_f32(n.value) => {
                    self.error(
                        Diagnostic::new(
                            Code::BadAttributeValue,
                            n.span.clone(),
                            format!("`{}` holds {}, beyond f32's range", attr.name.name, n.text),
                        )
                        .label("not a finite f32")
                        .help(F32_HELP),
                    );
                    return None;
                }
                Value::Number(n) => values.push(n.value),
                other => {
                    self.error(
                        Diagnostic::new(
                            Code::BadAttributeValue,
                            other.span(),
                            format!("`{}` lists numbers only", attr.name.name),
                        )
                        .label("not a number"),
                    );
                    return None;
                }
            }
        }
        if values.len() != len {
            self.error(
                Diagnostic::new(
                    Code::WeightCount,
                    span.clone(),
                    format!(
                        "expected {len} value{} in `{}`, found {}",
                        if len == 1 { "" } else { "s" },
                        attr.name.name,
                        values.len()
                    ),
                )
                .label(format!(
                    "{} value{}",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" }
                ))
                .help(format!("the layer needs {len}: {}", shape())),
            );
            return None;
        }
        Some(values)
    }

    /// `Init::Constant(v)`, if `v` fits in `f32`.
    pub(crate) fn constant(&mut self, attr: &Attr, v: f64) -> Option<Init> {
        if fits_f32(v) {
            return Some(Init::Constant(v));
        }
        self.error(
            Diagnostic::new(
                Code::BadAttributeValue,
                attr.value.span(),
                format!(
                    "the constant for `{}` is beyond f32's range",
                    attr.name.name
                ),
            )
            .label("not a finite f32")
            .help(F32_HELP),
        );
        None
    }

    /// An initializer: `he`, `normal(0, 0.01)`, `0.1`.
    pub(crate) fn init(&mut self, attr: &Attr) -> Option<Init> {
        let (name, args, span) = match &attr.value {
            Value::Number(n) => return self.constant(attr, n.value),
            Value::Ident(i) => (i, &[][..], i.span.clone()),
            Value::Call { name, args, span } => (name, args.as_slice(), span.clone()),
            Value::List { .. } | Value::Dims(_) => {
                self.bad_value(attr, "an initializer such as `he` or `normal(0, 0.01)`");
                return None;
            }
        };
        let numbers: Option<Vec<f64>> = args
            .iter()
            .map(|v| match v {
                Value::Number(n) => Some(n.value),
                _ => None,
            })
            .collect();
        let Some(numbers) = numbers else {
            self.bad_value(attr, "numbers as the initializer's arguments");
            return None;
        };
        let init = match (name.name.as_str(), numbers.as_slice()) {
            ("zeros", []) => Init::Zeros,
            ("ones", []) => Init::Ones,
            ("constant", [v]) => return self.constant(attr, *v),
            ("normal", [mean, std]) => {
                if *std < 0.0 {
                    self.bad_value(attr, "a standard deviation of 0 or more");
                    return None;
                }
                // A draw lies within mean ± 8 std but for a chance of 1e-15.
                if !fits_f32(mean.abs() + 8.0 * std) {
                    self.error(
                        Diagnostic::new(
                            Code::BadAttributeValue,
                            span,
                            "`normal(mean, std)` would draw values beyond f32's range",
                        )
                        .label("mean ± 8 std must be a finite f32")
                        .help(F32_HELP),
                    );
                    return None;
                }
                Init::Normal {
                    mean: *mean,
                    std: *std,
                }
            }
            ("uniform", [low, high]) => {
                if low > high {
                    self.bad_value(attr, "`uniform(low, high)` with low ≤ high");
                    return None;
                }
                if !fits_f32(*low) || !fits_f32(*high) {
                    self.error(
                        Diagnostic::new(
                            Code::BadAttributeValue,
                            span,
                            "`uniform(low, high)` would draw values beyond f32's range",
                        )
                        .label("both bounds must be finite f32s")
                        .help(F32_HELP),
                    );
                    return None;
                }
                Init::Uniform {
                    low: *low,
                    high: *high,
                }
            }
            ("xavier" | "xavier_normal" | "glorot" | "glorot_normal", []) => Init::XavierNormal,
            ("xavier_uniform" | "glorot_uniform", []) => Init::XavierUniform,
            ("he" | "he_normal" | "kaiming" | "kaiming_normal", []) => Init::HeNormal,
            ("he_uniform" | "kaiming_uniform", []) => Init::HeUniform,
            ("lecun_normal", []) => Init::LecunNormal,
            ("lecun_uniform", []) => Init::LecunUniform,
            (known, _) if vocab::INITIALIZERS.contains(&known) => {
                let expected = match known {
                    "normal" => "`normal(mean, std)`",
                    "uniform" => "`uniform(low, high)`",
                    "constant" => "`constant(value)`",
                    _ => "no arguments",
                };
                self.error(
                    Diagnostic::new(
                        Code::BadAttributeValue,
                        span,
                        format!("wrong arguments for the initializer `{known}`"),
                    )
                    .label(format!("expected {expected}")),
                );
                return None;
            }
            (unknown, _) => {
                let mut d = Diagnostic::new(
                    Code::UnknownInitializer,
                    name.span.clone(),
                    format!("unknown initializer `{unknown}`"),
                )
                .label("not an initializer");
                d = match did_you_mean(unknown, vocab::INITIALIZERS.iter().copied()) {
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None => d.help("initializers include `he`, `xavier`, `zeros`, `normal(mean, std)`, `uniform(low, high)`"),
                };
                self.error(d);
                return None;
            }
        };
        Some(init)
    }
}

/// The weight initializer a layer gets when the source names none: He (Kaiming) for
/// the ReLU family, LeCun normal for SELU (its self-normalizing condition), Xavier
/// (Glorot) normal otherwise.
pub fn default_init(activation: Activation) -> Init {
    match activation {
        Activation::Relu
        | Activation::Elu(_)
        | Activation::Gelu
        | Activation::GeluTanh
        | Activation::Silu
        | Activation::Mish => Init::HeNormal,
        Activation::LeakyRelu(a) => Init::KaimingNormal { a },
        Activation::Selu => Init::LecunNormal,
        _ => Init::XavierNormal,
    }
}

/// The help of every "beyond f32's range" error.
const F32_HELP: &str = "networks are generic over the float type, f32 by default, whose largest finite value is about 3.4e38; use values that fit";

/// Whether `v` stays finite when rounded to `f32` (see [`F32_MAX`]).
pub(crate) fn fits_f32(v: f64) -> bool {
    v.abs() <= F32_MAX
}

/// Whether `v` is greater than 0 and stays so, and finite, when rounded to `f32`: an
/// epsilon of `1e-50` would be 0 in `f32`. Messages call this "greater than 0 in f32".
pub(crate) fn positive_in_f32(v: f64) -> bool {
    v > 0.0 && fits_f32(v) && (v as f32) > 0.0
}

/// A number as written, and what it rounded to when the text holds more digits than an
/// `f64` keeps: `0.99999999999999999, which rounds to 1`.
pub(crate) fn written(n: &Number) -> String {
    /// The significant digits of a decimal's mantissa: no sign, point, or leading and
    /// trailing zeros.
    fn significant(text: &str) -> String {
        let mantissa = text.split(['e', 'E']).next().unwrap_or("");
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        digits.trim_matches('0').to_string()
    }
    let shortest = format!("{}", n.value);
    if significant(&n.text) != significant(&format!("{:e}", n.value)) {
        format!("{}, which rounds to {shortest}", n.text)
    } else {
        n.text.clone()
    }
}

/// The names that cannot be a Rust identifier even written raw (`r#…`): path keywords and
/// the placeholder `_`. Every other name works: codegen writes keywords raw (`r#type`), names
/// every item of its own by absolute path, and binds no local variable to a user's name.
pub const RESERVED: &[&str] = &["self", "Self", "super", "crate", "_"];

fn check_ident(ident: &ast::Ident, what: &str, diags: &mut Vec<Diagnostic>) {
    if RESERVED.contains(&ident.name.as_str()) {
        let (item, example) = match (what, ident.name.as_str()) {
            ("network", "_") => ("struct", "Net".to_string()),
            (_, "_") => ("field", "layer".to_string()),
            ("network", name) => ("struct", format!("{name}_")),
            (_, name) => ("field", format!("{}_", name.to_lowercase())),
        };
        diags.push(
            Diagnostic::new(
                Code::ReservedName,
                ident.span.clone(),
                format!("`{}` cannot be a {what} name", ident.name),
            )
            .label(format!(
                "not usable as a Rust {item} name, even as a raw identifier"
            ))
            .help(format!(
                "the {what} becomes a Rust {item} of that name; pick another, e.g. `{example}`"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::activation::ActivationLayer;
    use crate::layers::dense::Dense;

    fn check_ok(src: &str) -> Program {
        crate::check_source(src).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    fn codes(src: &str) -> Vec<&'static str> {
        crate::check_source(src)
            .expect_err("should not compile")
            .iter()
            .map(|d| d.code.as_str())
            .collect()
    }

    #[test]
    fn widths_flow_through_every_layer() {
        let p = check_ok(
            "N { input 6; dense 5 relu; batchnorm; dropout 0.5; maxout 3 k=2; tanh; mse }",
        );
        let widths: Vec<_> = p.networks[0]
            .layers()
            .iter()
            .map(|l| (l.input.size(), l.output.size()))
            .collect();
        assert_eq!(widths, [(6, 5), (5, 5), (5, 5), (5, 3), (3, 3)]);
        assert_eq!(p.networks[0].params(), 6 * 5 + 5 + 2 * 5 + 2 * (5 * 3 + 3));
    }

    #[test]
    fn shapes_flow_through_elementwise_layers_and_flatten() {
        let p = check_ok(
            "N { input 2x3x4; relu; dropout 0.5; flatten; dense 5; softmax_ce } \
             M { input 3x7; tanh; flatten; batchnorm } \
             B { input 3x4x5; batchnorm; flatten }",
        );
        let shapes = |n: usize| -> Vec<String> {
            p.networks[n]
                .layers()
                .iter()
                .map(|l| format!("{} -> {}", l.input, l.output))
                .collect()
        };
        assert_eq!(
            shapes(0),
            [
                "[2, 3, 4] -> [2, 3, 4]",
                "[2, 3, 4] -> [2, 3, 4]",
                "[2, 3, 4] -> [24]",
                "[24] -> [5]"
            ]
        );
        assert_eq!(p.networks[0].input.batch(), "[batch, 2, 3, 4]");
        assert_eq!(p.networks[0].params(), 24 * 5 + 5);
        assert_eq!(
            shapes(1),
            ["[3, 7] -> [3, 7]", "[3, 7] -> [21]", "[21] -> [21]"]
        );
        // Batch norm of a `[C, H, W]` value is per channel: γ, β, mean and variance per C.
        assert_eq!(shapes(2), ["[3, 4, 5] -> [3, 4, 5]", "[3, 4, 5] -> [60]"]);
        assert_eq!(p.networks[2].params(), 2 * 3);
        assert_eq!(p.networks[2].buffers(), 2 * 3);
        // `input 784` is still a vector, and flattening a vector changes nothing.
        let p = check_ok("N { input 784; flatten; dense 10 }");
        assert_eq!(p.networks[0].layers()[1].input, Shape::vector(784));
    }

    #[test]
    fn layers_that_take_vectors_say_flatten() {
        let src = "N { input 1x28x28; relu; dense 10 }";
        let d = only(src);
        assert_eq!(d.code, Code::RankMismatch);
        assert_eq!(&src[d.primary.span.clone()], "dense");
        assert_eq!(
            d.message,
            "`dense` takes a vector, found a value of shape [batch, 1, 28, 28]"
        );
        assert_eq!(&src[d.secondary[0].span.clone()], "1x28x28");
        assert_eq!(
            d.help.as_deref(),
            Some("add `flatten;` before `dense`: it makes the value [batch, 784]")
        );
        // Every such layer, once each; the output width of a dense still flows on.
        assert_eq!(
            codes("N { input 2x2; maxout 3 k=2; dense 2->4; softmax }"),
            ["E0023", "E0008"]
        );
        assert_eq!(
            codes("N { input 2x2; softmax } M { input 2x2x2; log_softmax }"),
            ["E0023", "E0023"]
        );
    }

    #[test]
    fn bad_shapes_are_refused_at_the_dimension() {
        let src = "N { input 1x0x28; relu }";
        let d = only(src);
        assert_eq!(d.code, Code::ZeroWidth);
        assert_eq!(&src[d.primary.span.clone()], "0");
        assert_eq!(codes("N { input 1x2x3x4; relu }"), ["E0006"]);
        assert_eq!(codes("N { input 4096x4096x2; relu }"), ["E0006"]);
        // A network of nothing but a flatten computes nothing.
        assert_eq!(codes("N { input 2x2; flatten }"), ["E0019"]);
    }

    #[test]
    fn activations_take_their_parameter_or_default() {
        let p = check_ok("N { input 2; dense 2 leaky_relu 0.2; leaky_relu; elu 0.5; elu }");
        let acts: Vec<_> = p.networks[0]
            .layers()
            .iter()
            .map(|l| {
                if let Some(dense) = l.spec.downcast_ref::<Dense>() {
                    dense.activation
                } else if let Some(ActivationLayer(a)) = l.spec.downcast_ref() {
                    *a
                } else {
                    panic!("{:?}", l.spec)
                }
            })
            .collect();
        assert_eq!(
            acts,
            [
                Activation::LeakyRelu(0.2),
                Activation::LeakyRelu(0.01),
                Activation::Elu(0.5),
                Activation::Elu(1.0)
            ]
        );
    }

    #[test]
    fn default_and_written_initializers() {
        let p = check_ok(
            "N { input 2; dense 2 relu; dense 2 leaky_relu 0.1; dense 2 leaky_relu 0.1 init=he_uniform; dense 2 selu; dense 2 }",
        );
        let inits: Vec<_> = p.networks[0]
            .layers()
            .iter()
            .map(|l| match l.spec.downcast_ref::<Dense>() {
                Some(dense) => dense.weight_init.clone(),
                None => panic!("{:?}", l.spec),
            })
            .collect();
        assert_eq!(
            inits,
            [
                Init::HeNormal,
                Init::KaimingNormal { a: 0.1 },
                Init::KaimingUniform { a: 0.1 },
                Init::LecunNormal,
                Init::XavierNormal
            ]
        );
    }

    #[test]
    fn softmax_and_sigmoid_fuse_into_cross_entropies() {
        let p = check_ok(
            "A { input 4; dense 3 softmax; categorical_crossentropy }
             B { input 4; dense 2; sigmoid; dense 1; sigmoid; bce }
             C { input 4; dense 3; softmax; cross_entropy }
             D { input 3; softmax; cross_entropy }
             E { input 4; dense 3 softmax; mse }",
        );
        let summary: Vec<_> = p
            .networks
            .iter()
            .map(|n| {
                let loss = n.loss.as_ref().unwrap();
                (n.layers().len(), loss.kind, loss.fused)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    1,
                    LossKind::CategoricalCrossentropy { from_logits: true },
                    Some(Activation::Softmax)
                ),
                (
                    3,
                    LossKind::BinaryCrossentropy { from_logits: true },
                    Some(Activation::Sigmoid)
                ),
                (1, LossKind::SoftmaxCe, Some(Activation::Softmax)),
                // the softmax is all the network has: kept, nothing fused
                (1, LossKind::CrossEntropy, None),
                // mse on probabilities is what was asked for
                (1, LossKind::Mse, None),
            ]
        );
    }

    #[test]
    fn loss_attributes() {
        let p = check_ok("N { input 2; dense 3; multiclass_hinge margin=2 reduction=sum }");
        let loss = p.networks[0].loss.as_ref().unwrap();
        assert_eq!(loss.kind, LossKind::MulticlassHinge { margin: 2.0 });
        assert_eq!(loss.reduction, Reduction::Sum);
        assert_eq!(codes("N { input 2; dense 1; huber delta=0 }"), ["E0007"]);
        assert_eq!(
            codes("N { input 2; dense 1; mse reduction=avg }"),
            ["E0007"]
        );
        assert_eq!(
            codes("N { input 2; dense 1; mse from_logits=true }"),
            ["E0005"]
        );
    }

    #[test]
    fn every_mistake_of_a_source_is_reported() {
        assert_eq!(
            codes(
                "A { input 4; dense 5->2 rleu; dropout 1; dense 0 }
                 A { input 2; fc: dense 2; fc: dense 2; mse; mse }"
            ),
            ["E0008", "E0003", "E0010", "E0009", "E0016", "E0013", "E0015"]
        );
    }

    #[test]
    fn a_missing_semicolon_is_suggested() {
        let diags = crate::check_source("N { input 784 dense 784->10 }").unwrap_err();
        assert_eq!(
            diags[0].help.as_deref(),
            Some("is a `;` missing before `dense`?")
        );
    }

    #[test]
    fn bad_parameters_of_new_statements() {
        assert_eq!(codes("N { input 2; leaky_relu 1.5 }"), ["E0006"]);
        assert_eq!(codes("N { input 2; elu 0 }"), ["E0006"]);
        assert_eq!(codes("N { input 2; maxout 2->2 k=1 }"), ["E0007"]);
        assert_eq!(codes("N { input 2; maxout 2->2 }"), ["E0006"]);
        assert_eq!(codes("N { batchnorm; dense 2->2 }"), ["E0017"]);
        assert_eq!(codes("N { input 2; batchnorm eps=0 }"), ["E0007"]);
        assert_eq!(
            codes("N { input 2; dense 2 init=normal(0, -1) }"),
            ["E0007"]
        );
        assert_eq!(codes("N { input 2; dense 2 init=normal(0) }"), ["E0007"]);
    }

    /// The one diagnostic of `src`, which must have exactly one.
    fn only(src: &str) -> Diagnostic {
        let mut diags = crate::check_source(src).expect_err("should not compile");
        assert_eq!(diags.len(), 1, "{diags:#?}");
        diags.remove(0)
    }

    #[test]
    fn only_names_no_raw_identifier_can_stand_for_are_refused() {
        for name in RESERVED {
            for src in [
                format!("pub {name} {{ input 2; dense 1 }}"),
                format!("N {{ input 2; {name}: dense 1 }}"),
            ] {
                let d = only(&src);
                assert_eq!(d.code, Code::ReservedName, "{src}");
                assert_eq!(&src[d.primary.span.clone()], *name, "{src}");
            }
        }
        let d = only("_ { input 2; dense 1 }");
        assert_eq!(
            d.help.as_deref(),
            Some("the network becomes a Rust struct of that name; pick another, e.g. `Net`")
        );
        let d = only("N { input 2; self: dense 1 }");
        assert_eq!(
            d.help.as_deref(),
            Some("the label becomes a Rust field of that name; pick another, e.g. `self_`")
        );
        // Keywords, primitives and prelude names work (codegen writes keywords raw).
        for name in [
            "type", "fn", "gen", "async", "Option", "None", "Ok", "f32", "F", "x",
        ] {
            check_ok(&format!("pub {name} {{ input 2; {name}: dense 1 }}"));
        }
    }

    #[test]
    fn parameter_counts_are_checked_and_limited() {
        // 2^48 + 2^24 parameters: refused at the layer, with the count.
        let src = "Big { dense 16777216->16777216 }";
        let d = only(src);
        assert_eq!(d.code, Code::TooLarge);
        assert_eq!(&src[d.primary.span.clone()], "dense");
        assert_eq!(
            d.message,
            "the network `Big` would have 281,474,993,487,872 parameters, more than the limit of 2,147,483,648"
        );
        // Hundreds of the largest maxout layers once overflowed `usize` while adding up: the
        // first is refused with its count (64 · (2⁴⁸ + 2²⁴)), and only once.
        let huge = format!(
            "M {{ input 16777216; {} }}",
            "maxout 16777216 k=64; ".repeat(400)
        );
        let d = only(&huge);
        assert_eq!(
            d.message,
            "the network `M` would have 18,014,399,583,223,808 parameters, more than the limit of 2,147,483,648"
        );
        assert_eq!(
            d.primary.message,
            "this layer has 18,014,399,583,223,808 parameters"
        );
        // Exactly the limit passes; a batchnorm's running statistics count too.
        let p = check_ok("N { dense 32767->65536 }");
        assert_eq!(p.networks[0].params() as u64, MAX_PARAMS);
        let src = "N { dense 32767->65536; batchnorm }";
        let d = only(src);
        assert_eq!(&src[d.primary.span.clone()], "batchnorm");
        assert!(
            d.message.contains("would have 2,147,745,792 parameters"),
            "{}",
            d.message
        );
        assert_eq!(d.primary.message, "this layer has 262,144 parameters");
    }

    #[test]
    fn activations_per_sample_are_limited() {
        let relus = "relu; ".repeat(129);
        let d = only(&format!("Wide {{ input 16777216; {relus}}}"));
        assert_eq!(d.code, Code::TooLarge);
        assert!(
            d.message.starts_with(
                "a sample of the network `Wide` would flow through 2,164,260,864 activations"
            ),
            "{}",
            d.message
        );
        check_ok(&format!(
            "Wide {{ input 16777216; {} }}",
            "relu; ".repeat(128)
        ));
    }

    #[test]
    fn layers_are_limited_and_reported_once() {
        let at = |n: usize| format!("N {{ input 2; {}}}", "relu; ".repeat(n));
        check_ok(&at(MAX_LAYERS));
        let src = at(200_000);
        let d = only(&src);
        assert_eq!(d.code, Code::TooLarge);
        assert_eq!(d.message, "the network `N` has more than 1000 layers");
        assert_eq!(d.primary.message, "layer 1001");
        assert_eq!(
            d.primary.span.start,
            "N { input 2; ".len() + 1000 * "relu; ".len()
        );
    }

    #[test]
    fn initializers_draw_what_f32_can_hold() {
        for (attr, expect) in [
            (
                "init=uniform(-1e308, 1e308)",
                "`uniform(low, high)` would draw values beyond f32's range",
            ),
            (
                "init=uniform(0, 1e39)",
                "`uniform(low, high)` would draw values beyond f32's range",
            ),
            (
                "init=normal(0, 1e300)",
                "`normal(mean, std)` would draw values beyond f32's range",
            ),
            (
                "init=normal(3e38, 1e37)",
                "`normal(mean, std)` would draw values beyond f32's range",
            ),
            ("init=1e39", "the constant for `init` is beyond f32's range"),
            (
                "init=constant(-1e300)",
                "the constant for `init` is beyond f32's range",
            ),
            ("bias=1e39", "the constant for `bias` is beyond f32's range"),
            (
                "weights=[1, 1e39]",
                "`weights` holds 1e39, beyond f32's range",
            ),
            ("bias=[1e39]", "`bias` holds 1e39, beyond f32's range"),
        ] {
            let src = format!("N {{ dense 2->1 {attr} }}");
            let d = only(&src);
            assert_eq!(d.code, Code::BadAttributeValue, "{src}");
            assert_eq!(d.message, expect, "{src}");
        }
        // The edges that f32 still holds are fine.
        check_ok("N { dense 2->1 init=uniform(-3.4e38, 3.4e38) bias=-3.4e38 }");
        check_ok(
            "N { dense 2->1 init=normal(0, 4e37) weights=[3.4e38, 1e-50] }"
                .replace(" init=normal(0, 4e37)", "")
                .as_str(),
        );
        check_ok("N { dense 2->1 init=normal(1, 4e37) }");
    }

    #[test]
    fn other_numbers_must_hold_in_f32_too() {
        for (src, code) in [
            ("N { input 2; elu 1e300 }", Code::BadArgument),
            ("N { input 2; elu 1e-50 }", Code::BadArgument),
            (
                "N { input 2; batchnorm eps=1e-50 }",
                Code::BadAttributeValue,
            ),
            ("N { input 2; batchnorm eps=1e39 }", Code::BadAttributeValue),
            ("N { input 2; dense 1 l2=1e39 }", Code::BadAttributeValue),
            (
                "N { input 2; dense 1; huber delta=1e-46 }",
                Code::BadAttributeValue,
            ),
            (
                "N { input 2; dense 2; multiclass_hinge margin=1e39 }",
                Code::BadAttributeValue,
            ),
        ] {
            assert_eq!(only(src).code, code, "{src}");
        }
        check_ok(
            "N { input 2; elu 1e-45; batchnorm eps=1e-45; dense 2 l2=3e38; huber delta=3e38 }",
        );
    }

    #[test]
    fn a_bad_input_width_is_one_error_not_two() {
        for src in [
            "N { input 0; dense 3 }",
            "N { input 2.5; dense 3; relu }",
            "N { input; dense 3 }",
            "N { dense 0->3; dense 2 }",
        ] {
            let d = only(src);
            assert_ne!(d.code, Code::UnknownInputWidth, "{src}");
        }
        // With nothing at all said about the input, the layer is the one to blame.
        assert_eq!(codes("N { dense 3; relu }"), ["E0017"]);
    }

    #[test]
    fn maxout_says_what_is_wrong_with_k() {
        let message = |k: &str| only(&format!("N {{ input 2; maxout 2 k={k} }}")).message;
        assert_eq!(
            message("1"),
            "maxout needs at least 2 pieces per unit, found 1"
        );
        assert_eq!(
            message("65"),
            "maxout takes at most 64 pieces per unit, found 65"
        );
        assert_eq!(
            message("2.5"),
            "the number of pieces must be a whole number, found 2.5"
        );
        assert_eq!(message("he"), "`k` is the number of pieces per unit");
    }

    #[test]
    fn a_loss_after_a_layer_asks_for_a_semicolon() {
        for (src, word) in [
            ("N { input 2; dense 3 mse }", "mse"),
            ("N { input 2; dense 3 dropout }", "dropout"),
        ] {
            let d = only(src);
            assert_eq!(d.code, Code::BadArgument, "{src}");
            assert_eq!(
                d.help,
                Some(format!("is a `;` missing before `{word}`?")),
                "{src}"
            );
        }
        // A misspelt activation still gets its did-you-mean.
        assert_eq!(
            only("N { input 2; dense 3 rleu }").help.as_deref(),
            Some("did you mean `relu`?")
        );
    }

    #[test]
    fn a_number_that_rounds_says_so() {
        let d = only("N { input 2; dropout 0.99999999999999999 }");
        assert_eq!(
            d.message,
            "a dropout rate must be in [0, 1), found 0.99999999999999999, which rounds to 1"
        );
        assert_eq!(
            only("N { input 2; dropout 1.0 }").message,
            "a dropout rate must be in [0, 1), found 1.0"
        );
        assert_eq!(
            only("N { input 2; dropout 1e0 }").message,
            "a dropout rate must be in [0, 1), found 1e0"
        );
        assert_eq!(
            only("N { input 2; dropout 100 }").message,
            "a dropout rate must be in [0, 1), found 100"
        );
    }

    #[test]
    fn batchnorm_momentum_is_in_zero_one_inclusive() {
        // 0 keeps the running statistics where they start (PyTorch allows it too); 1 keeps
        // only the last batch's.
        check_ok("N { input 2; batchnorm momentum=0; batchnorm momentum=1 }");
        for bad in ["-0.1", "1.5"] {
            let d = only(&format!("N {{ input 2; batchnorm momentum={bad} }}"));
            assert_eq!(d.primary.message, "expected a momentum in [0, 1]");
        }
    }
}
