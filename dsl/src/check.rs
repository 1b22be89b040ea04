//! Names, attributes and shape inference: `ast` in, [`ir::Program`] or every mistake out.
//!
//! The checker walks each network once, carrying the width that flows out of the
//! last layer and the span that set it, so that a mismatch can point at the wrong
//! number and at the layer it disagrees with. It never stops at the first mistake:
//! every statement is checked, and all diagnostics of a source are returned together.

use std::collections::HashMap;

use crate::ast::{self, Arg, Attr, Ident, NetworkDecl, Number, SourceFile, Span, Statement, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, Activation, Init, Layer, LayerKind, Loss, Network, Program};
use crate::vocab::{self, did_you_mean, OutputNeed, Support};

/// The widest layer the language accepts; wider is almost surely a typo.
pub const MAX_WIDTH: usize = 1 << 24;

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
        if let Some(network) = NetworkChecker::new(&mut diags).network(decl) {
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
    value: usize,
    span: Span,
}

/// Walks one network's statements.
struct NetworkChecker<'d> {
    diags: &'d mut Vec<Diagnostic>,
    width: Option<Width>,
    layers: Vec<Layer>,
    loss: Option<(Loss, Span)>,
    /// Field names with the span that introduced each (label or keyword).
    fields: Vec<(String, Span)>,
    /// Whether a "loss must be last" error was already given for this network.
    loss_not_last_reported: bool,
    /// Whether an "unknown input width" error was already given (later ones would repeat it).
    width_unknown_reported: bool,
    failed: bool,
}

impl<'d> NetworkChecker<'d> {
    fn new(diags: &'d mut Vec<Diagnostic>) -> Self {
        NetworkChecker {
            diags,
            width: None,
            layers: Vec::new(),
            loss: None,
            fields: Vec::new(),
            loss_not_last_reported: false,
            width_unknown_reported: false,
            failed: false,
        }
    }

    fn error(&mut self, diagnostic: Diagnostic) {
        self.failed = true;
        self.diags.push(diagnostic);
    }

    fn network(mut self, decl: &NetworkDecl) -> Option<Network> {
        for statement in &decl.statements {
            self.statement(statement);
        }
        self.check_fields();
        if self.layers.is_empty() && !self.failed {
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
        let input = self.layers.first().map(|l| l.input)?;
        Some(Network {
            name: decl.name.name.clone(),
            vis: decl.vis,
            docs: decl.docs.clone(),
            input,
            layers: self.layers,
            loss: self.loss.map(|(loss, _)| loss),
        })
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
        if let Some(word) = vocab::layer(name) {
            if word.name == "input" {
                self.input(s);
            } else {
                self.check_attrs(s, word.attrs);
                match word.name {
                    "dense" => self.dense(s),
                    "dropout" => self.dropout(s),
                    "batchnorm" => self.batchnorm(s),
                    "maxout" => self.maxout(s),
                    _ => unreachable!("every layer word has a checker"),
                }
            }
            if word.support == Support::NotYet {
                self.not_supported(&s.keyword);
            }
        } else if let Some(word) = vocab::activation(name) {
            self.check_attrs(s, &[]);
            self.activation_statement(s, word);
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
                None => d.help("layers are `input`, `dense`, `maxout`, `batchnorm`, `dropout`; activations such as `relu`; losses such as `softmax_ce`"),
            };
            self.error(d);
        }
    }

    fn not_supported(&mut self, keyword: &Ident) {
        self.error(
            Diagnostic::new(
                Code::NotSupported,
                keyword.span.clone(),
                format!("`{}` is not supported yet", keyword.name),
            )
            .label("the language has it, but this version cannot generate code for it")
            .help("remove it for now; it arrives in a coming release of axonal"),
        );
    }

    /// Records the field name of the next layer (its label, or `kind` + index).
    fn field(&mut self, s: &Statement, kind: &str) -> String {
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
            if let Some(first) = seen.get(name) {
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
    fn width_number(&mut self, n: &Number) -> Option<usize> {
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

    /// The width flowing into a layer, or an error at `at` saying it cannot be known.
    fn incoming(&mut self, at: &Ident) -> Option<Width> {
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
        self.width.clone()
    }

    /// Reads `FROM->TO` or `TO` and checks `FROM` against the incoming width.
    /// Returns (input, output, span of the output width).
    fn layer_widths(&mut self, s: &Statement, arg: Option<&Arg>) -> Option<(usize, usize, Span)> {
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
                let declared = self.width_number(from)?;
                if let Some(incoming) = self.width.clone() {
                    if incoming.value != declared {
                        self.error(
                            Diagnostic::new(
                                Code::WidthMismatch,
                                from.span.clone(),
                                format!(
                                    "expected input width {}, found {declared}",
                                    incoming.value
                                ),
                            )
                            .label(format!("this layer takes {declared} inputs"))
                            .secondary(
                                incoming.span.clone(),
                                format!("but the previous layer outputs {}", incoming.value),
                            )
                            .help(format!(
                                "write `{k} {}->{}`, or `{k} {}` to infer the input width",
                                incoming.value,
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
                Some(incoming) => incoming.value,
                None => {
                    // The output width is still known: later layers can be checked against it.
                    if let Some(value) = output {
                        self.width = Some(Width {
                            value,
                            span: to.span.clone(),
                        });
                    }
                    return None;
                }
            },
        };
        Some((input, output?, to.span.clone()))
    }

    fn input(&mut self, s: &Statement) {
        self.check_attrs(s, &[]);
        if !self.layers.is_empty() || self.width.is_some() {
            self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    s.keyword.span.clone(),
                    "`input` must be the first statement",
                )
                .label("the input width is already known here")
                .help("move `input` to the top of the network, or remove it"),
            );
            return;
        }
        match s.args.as_slice() {
            [Arg::Number(n)] => {
                if let Some(value) = self.width_number(n) {
                    self.width = Some(Width {
                        value,
                        span: n.span.clone(),
                    });
                }
            }
            _ => self.error(
                Diagnostic::new(Code::BadArgument, s.span.clone(), "`input` takes one width")
                    .label("expected `input N`")
                    .help("for 28×28 images write `input 784`"),
            ),
        }
    }

    fn dense(&mut self, s: &Statement) {
        let field = self.field(s, "dense");
        let widths = self.layer_widths(s, s.args.first());
        let activation = self.dense_activation(s);
        let Some((input, output, out_span)) = widths else {
            return;
        };
        self.width = Some(Width {
            value: output,
            span: out_span,
        });
        let attr = |name: &str| s.attrs.iter().find(|a| a.name.name == name);
        let activation = activation.unwrap_or(Activation::Identity);
        let mut weight_init = default_init(activation);
        if let Some(a) = attr("init") {
            if let Some(init) = self.init(a) {
                weight_init = init;
            }
        }
        if let Some(a) = attr("weights") {
            if attr("init").is_some() {
                self.error(
                    Diagnostic::new(
                        Code::BadAttributeValue,
                        a.name.span.clone(),
                        "`weights` and `init` both set the weights",
                    )
                    .label("exact weights here")
                    .help("keep `weights=[…]` for fixed values or `init=…` for random ones"),
                );
            }
            if let Some(values) = self.number_list(a, input * output, || {
                format!(
                    "{output} output{} × {input} input{}, one row per output",
                    plural(output),
                    plural(input)
                )
            }) {
                weight_init = Init::Values(values);
            }
        }
        let mut bias_init = Init::Zeros;
        if let Some(a) = attr("bias") {
            let init = match &a.value {
                Value::Number(n) => Some(Init::Constant(n.value)),
                Value::List { .. } => self
                    .number_list(a, output, || "one per output".to_string())
                    .map(Init::Values),
                _ => self.init(a),
            };
            if let Some(init) = init {
                bias_init = init;
            }
        }
        self.push(
            field,
            s,
            LayerKind::Dense {
                activation,
                weight_init,
                bias_init,
            },
            input,
            output,
        );
    }

    /// The optional activation after a dense layer's width.
    fn dense_activation(&mut self, s: &Statement) -> Option<Activation> {
        let mut rest = s.args.iter().skip(1);
        let first = rest.next()?;
        let Arg::Ident(name) = first else {
            self.unexpected_arg(s, first, "an activation such as `relu`");
            return None;
        };
        let activation = self.activation_name(name);
        if let Some(extra) = rest.next() {
            let takes_param = vocab::activation(&name.name).is_some_and(|w| w.param.is_some());
            if !(takes_param && matches!(extra, Arg::Number(_))) {
                self.unexpected_arg(s, extra, "nothing more");
            }
            if let Some(extra) = rest.next() {
                self.unexpected_arg(s, extra, "nothing more");
            }
        }
        activation
    }

    fn unexpected_arg(&mut self, s: &Statement, arg: &Arg, expected: &str) {
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

    /// Resolves an activation name (unknown and unsupported ones are errors).
    fn activation_name(&mut self, name: &Ident) -> Option<Activation> {
        match vocab::activation(&name.name) {
            Some(word) => {
                if word.activation.is_none() {
                    self.not_supported(name);
                }
                word.activation
            }
            None => {
                let mut d = Diagnostic::new(
                    Code::UnknownActivation,
                    name.span.clone(),
                    format!("unknown activation `{}`", name.name),
                )
                .label("not an activation");
                let names = vocab::ACTIVATIONS.iter().map(|w| w.name);
                d = match did_you_mean(&name.name, names) {
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None => {
                        d.help("activations include `relu`, `sigmoid`, `tanh`, `softmax`, `step`")
                    }
                };
                self.error(d);
                None
            }
        }
    }

    fn activation_statement(&mut self, s: &Statement, word: &vocab::ActivationWord) {
        let field = self.field(s, word.name);
        let incoming = self.incoming(&s.keyword);
        let mut args = s.args.iter();
        if word.param.is_some() {
            if let Some(arg) = args.next() {
                if !matches!(arg, Arg::Number(_)) {
                    self.unexpected_arg(s, arg, "a number");
                }
            }
        }
        for arg in args {
            self.unexpected_arg(s, arg, "nothing");
        }
        let activation = self.activation_name(&s.keyword);
        if let (Some(incoming), Some(activation)) = (incoming, activation) {
            let width = incoming.value;
            self.push(field, s, LayerKind::Activation(activation), width, width);
        }
    }

    fn dropout(&mut self, s: &Statement) {
        self.field(s, "dropout");
        self.incoming(&s.keyword);
        match s.args.as_slice() {
            [Arg::Number(p)] if (0.0..1.0).contains(&p.value) => {}
            [Arg::Number(p)] => self.error(
                Diagnostic::new(
                    Code::DropoutRate,
                    p.span.clone(),
                    format!("a dropout rate must be in [0, 1), found {}", p.text),
                )
                .label("the fraction of units dropped in training")
                .help("`dropout 0.5` drops half the units; 1 would drop them all"),
            ),
            _ => self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    s.span.clone(),
                    "`dropout` takes one rate",
                )
                .label("expected `dropout P`")
                .help("write e.g. `dropout 0.5`"),
            ),
        }
    }

    fn batchnorm(&mut self, s: &Statement) {
        self.field(s, "batchnorm");
        self.incoming(&s.keyword);
        for arg in &s.args {
            self.unexpected_arg(s, arg, "only `momentum=` and `eps=`");
        }
        for attr in &s.attrs {
            let ok = match (&attr.value, attr.name.name.as_str()) {
                (Value::Number(n), "momentum") => (0.0..=1.0).contains(&n.value),
                (Value::Number(n), "eps") => n.value > 0.0,
                _ => true,
            };
            if !ok {
                self.bad_value(attr, "momentum in [0, 1] and eps > 0");
            }
        }
    }

    fn maxout(&mut self, s: &Statement) {
        self.field(s, "maxout");
        if let Some((_, output, span)) = self.layer_widths(s, s.args.first()) {
            self.width = Some(Width {
                value: output,
                span,
            });
        }
        for arg in s.args.iter().skip(1) {
            self.unexpected_arg(s, arg, "only `k=`");
        }
        match s.attrs.iter().find(|a| a.name.name == "k") {
            Some(a) => match &a.value {
                Value::Number(n) if n.is_integer && n.value >= 2.0 => {}
                _ => self.bad_value(a, "a whole number of pieces, at least 2"),
            },
            None => self.error(
                Diagnostic::new(
                    Code::BadArgument,
                    s.keyword.span.clone(),
                    "`maxout` needs the number of pieces",
                )
                .label("missing `k=`")
                .help("write e.g. `maxout 128->64 k=2`"),
            ),
        }
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
        self.loss = Some((
            Loss {
                field,
                kind: word.kind.unwrap_or(ir::LossKind::Mse),
            },
            s.keyword.span.clone(),
        ));
        let fits = self.loss_fits(s, word);
        match word.kind {
            // A loss that does not fit says so first: that is the mistake to fix.
            None if fits => self.not_supported(&s.keyword),
            None => {}
            Some(_) => {
                self.check_attrs(s, &[]);
                for arg in &s.args {
                    self.unexpected_arg(s, arg, "nothing");
                }
            }
        }
    }

    /// Checks that the output width suits the loss; false (with an error) if not.
    fn loss_fits(&mut self, s: &Statement, word: &vocab::LossWord) -> bool {
        let Some(out) = self.width.clone() else {
            return true;
        };
        let problem = match word.output {
            OutputNeed::Classes if out.value < 2 => Some((
                "at least 2 outputs, one score per class",
                "for two classes with one output use `binary_crossentropy`; for regression use `mse`",
            )),
            OutputNeed::One if out.value != 1 => Some((
                "exactly 1 output",
                "for one score per class use `softmax_ce`",
            )),
            _ => None,
        };
        let Some((needs, hint)) = problem else {
            return true;
        };
        self.error(
            Diagnostic::new(
                Code::LossMismatch,
                s.keyword.span.clone(),
                format!(
                    "`{}` does not fit a network with {} output{}",
                    word.name,
                    out.value,
                    if out.value == 1 { "" } else { "s" }
                ),
            )
            .label(format!("this loss needs {needs}"))
            .secondary(
                out.span,
                format!("the output width is set to {} here", out.value),
            )
            .help(hint),
        );
        false
    }

    fn push(&mut self, field: String, s: &Statement, kind: LayerKind, input: usize, output: usize) {
        self.layers.push(Layer {
            field,
            docs: s.docs.clone(),
            kind,
            input,
            output,
        });
    }

    fn bad_value(&mut self, attr: &Attr, expected: &str) {
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
    fn number_list(
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

    /// An initializer: `he`, `normal(0, 0.01)`, `0.1`.
    fn init(&mut self, attr: &Attr) -> Option<Init> {
        let (name, args, span) = match &attr.value {
            Value::Number(n) => return Some(Init::Constant(n.value)),
            Value::Ident(i) => (i, &[][..], i.span.clone()),
            Value::Call { name, args, span } => (name, args.as_slice(), span.clone()),
            Value::List { .. } => {
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
            ("constant", [v]) => Init::Constant(*v),
            ("normal", [mean, std]) => {
                if *std < 0.0 {
                    self.bad_value(attr, "a standard deviation of 0 or more");
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

/// The weight initializer a layer gets when the source names none:
/// He for the ReLU family, Xavier (Glorot) otherwise.
pub fn default_init(activation: Activation) -> Init {
    match activation {
        Activation::Relu => Init::HeNormal,
        _ => Init::XavierNormal,
    }
}

/// "s" unless `n` is one.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Words that cannot name a struct or a field.
const RESERVED: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "_",
];

fn check_ident(ident: &ast::Ident, what: &str, diags: &mut Vec<Diagnostic>) {
    if RESERVED.contains(&ident.name.as_str()) {
        diags.push(
            Diagnostic::new(
                Code::BadArgument,
                ident.span.clone(),
                format!("`{}` cannot be a {what} name", ident.name),
            )
            .label("a Rust keyword")
            .help(format!(
                "the {what} becomes Rust code; pick another name, e.g. `{}1`",
                ident.name.trim_start_matches('_')
            )),
        );
    }
}
