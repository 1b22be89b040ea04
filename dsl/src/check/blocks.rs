//! Block statements: `residual`, `add`, `concat` and `repeat`.
//!
//! A block's bodies are checked like a network's body, each in a scope of its own (labels
//! are unique per scope, unlabeled layers are numbered per scope) and each starting from the
//! block's input shape. The block then joins the shapes its bodies produce, or says at the
//! token why it cannot, naming both shapes and where each came from.

use std::mem;

use super::{Checker, Width, MAX_LAYERS};
use crate::ast::{self, Arg, Statement};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Activation, Block, BlockKind, Node, Part, Shape};
use crate::layers::activation;

/// The keywords of block statements, for the vocabulary and the help lists.
pub const BLOCK_WORDS: &[&str] = &["residual", "add", "concat", "repeat"];

/// Field names of a block's own runtime pieces (the join, the gradient fork and the
/// activation after the join): a label or branch name may not take them.
pub const INTERNAL_FIELDS: &[&str] = &["_join", "_fork", "_act"];

/// A body after checking: its nodes and the shape (with its origin) it ends in, if known.
struct Checked {
    name: Option<ast::Ident>,
    open: ast::Span,
    nodes: Vec<Node>,
    output: Option<Width>,
}

impl Checker<'_> {
    /// Checks a block statement and pushes its node.
    pub(super) fn block(&mut self, s: &Statement) {
        let word = s.keyword.name.as_str();
        self.check_attrs(s, &[]);
        let field = self.field(s, word);
        let input = self.incoming(&s.keyword).map(|shape| Width {
            shape,
            span: self.width_span().unwrap_or(s.keyword.span.clone()),
        });
        let (kind, activation) = match word {
            "repeat" => match self.repeat_count(s) {
                Some(n) => (BlockKind::Repeat(n), None),
                None => (BlockKind::Repeat(1), None),
            },
            "residual" => (BlockKind::Residual, self.block_activation(s)),
            "add" => (BlockKind::Sum, self.block_activation(s)),
            _ => (BlockKind::Concat, self.block_activation(s)),
        };
        let span = s
            .label
            .as_ref()
            .map_or(s.keyword.span.clone(), |l| l.span.clone());
        if s.blocks.is_empty() {
            let example = match kind {
                BlockKind::Repeat(_) => "repeat 3 { dense 64 relu }",
                BlockKind::Residual => "residual { dense 64 relu; dense 64 }",
                _ => "concat a: { dense 32 } b: { dense 32 }",
            };
            self.error(
                Diagnostic::new(
                    Code::BlockForm,
                    s.keyword.span.clone(),
                    format!("`{word}` needs a body in braces"),
                )
                .label("no body")
                .help(format!("for example `{example}`")),
            );
            // A residual or repeated block keeps its shape: later statements are still checked.
            match (kind, input) {
                (BlockKind::Residual | BlockKind::Repeat(_), Some(input)) => {
                    self.flow(input.shape, span)
                }
                _ => self.lose_width(),
            }
            return;
        }
        let failed = self.failed;
        let (layers, params, activations) = (self.layer_count, self.params, self.activations);
        self.failed = false;
        let bodies: Vec<Checked> = s
            .blocks
            .iter()
            .map(|b| self.body(b, input.as_ref()))
            .collect();
        let body_failed = self.failed;
        self.failed |= failed;
        if let BlockKind::Repeat(n) = kind {
            self.repeat_sizes(s, n, layers, params, activations);
        }
        let Some(input) = input else {
            return self.lose_width();
        };
        let (parts, output) = match self.parts(s, kind, bodies, &input) {
            Ok(joined) => joined,
            // The block is refused; the shape it most likely meant flows on, so that the
            // statements after it are checked too.
            Err(Some(fallback)) => return self.flow(fallback, span),
            Err(None) => return self.lose_width(),
        };
        if body_failed {
            return self.flow(output, span);
        }
        let block = Block {
            field,
            docs: s.docs.clone(),
            kind,
            parts,
            activation,
            input: input.shape,
            output: output.clone(),
        };
        self.nodes.push(Node::Block(block));
        self.flow(output, span);
    }

    /// After a block whose output shape cannot be told: later layers say nothing more about it.
    fn lose_width(&mut self) {
        self.width = None;
        self.width_unknown_reported = true;
    }

    /// `repeat N`: the count, a whole number from 1 to [`MAX_LAYERS`].
    fn repeat_count(&mut self, s: &Statement) -> Option<usize> {
        let mut args = s.args.iter();
        let count = match args.next() {
            Some(Arg::Number(n)) if n.is_integer && n.value >= 1.0 => {
                if n.value > MAX_LAYERS as f64 {
                    self.error(
                        Diagnostic::new(
                            Code::TooLarge,
                            n.span.clone(),
                            format!("`repeat {}` makes more than {MAX_LAYERS} copies", n.text),
                        )
                        .label("the count")
                        .help(format!(
                            "a network has at most {MAX_LAYERS} layers, as rustc's compile time grows faster than the layer count"
                        )),
                    );
                    None
                } else {
                    Some(n.value as usize)
                }
            }
            Some(Arg::Number(n)) => {
                self.error(
                    Diagnostic::new(
                        Code::BlockForm,
                        n.span.clone(),
                        format!(
                            "a repeat count must be a whole number of at least 1, found {}",
                            n.text
                        ),
                    )
                    .label("the count")
                    .help("write how many copies follow each other: `repeat 3 { … }`"),
                );
                None
            }
            Some(other) => {
                self.unexpected_arg(s, other, "the number of copies, e.g. `repeat 3`");
                None
            }
            None => {
                self.error(
                    Diagnostic::new(
                        Code::BlockForm,
                        s.keyword.span.clone(),
                        "`repeat` needs a count",
                    )
                    .label("how many copies?")
                    .help("write the count after the keyword: `repeat 3 { … }`"),
                );
                None
            }
        };
        for extra in args {
            self.unexpected_arg(s, extra, "nothing more");
        }
        count
    }

    /// The optional activation after a join: `residual relu { … }`, `add leaky_relu 0.1 …`.
    fn block_activation(&mut self, s: &Statement) -> Option<Activation> {
        let mut args = s.args.iter();
        let first = args.next()?;
        let Arg::Ident(name) = first else {
            self.unexpected_arg(s, first, "an activation such as `relu`");
            return None;
        };
        let param = match args.next() {
            Some(Arg::Number(n))
                if activation::word(&name.name).is_some_and(|w| w.param.is_some()) =>
            {
                Some(n)
            }
            Some(extra) => {
                self.unexpected_arg(s, extra, "nothing more");
                None
            }
            None => None,
        };
        for extra in args {
            self.unexpected_arg(s, extra, "nothing more");
        }
        activation::resolve(self, name, param)
    }

    /// Checks one body in a scope of its own, starting from the block's input.
    fn body(&mut self, block: &ast::Block, input: Option<&Width>) -> Checked {
        let outer_nodes = mem::take(&mut self.nodes);
        let outer_fields = mem::take(&mut self.fields);
        // An unknown input was reported once already; the body is still checked for the rest.
        let outer_unknown = mem::replace(&mut self.width_unknown_reported, input.is_none());
        self.width = input.cloned();
        self.depth += 1;
        for statement in &block.statements {
            self.statement(statement);
        }
        self.check_fields();
        self.depth -= 1;
        self.fields = outer_fields;
        self.width_unknown_reported = outer_unknown;
        let nodes = mem::replace(&mut self.nodes, outer_nodes);
        if input.is_some() && !self.failed && !nodes.iter().any(Node::has_field) {
            self.error(
                Diagnostic::new(
                    Code::BlockForm,
                    block.open.clone(),
                    "this body computes nothing",
                )
                .label("no layer in this body")
                .help(
                    "put at least one layer in the body (`flatten` alone only renames the shape)",
                ),
            );
        }
        Checked {
            name: block.name.clone(),
            open: block.open.clone(),
            nodes,
            output: self.width.take(),
        }
    }

    /// Names the bodies as the kind wants them and joins their shapes.
    fn parts(
        &mut self,
        s: &Statement,
        kind: BlockKind,
        bodies: Vec<Checked>,
        input: &Width,
    ) -> Result<(Vec<Part>, Shape), Option<Shape>> {
        let word = kind.keyword();
        let (min, max) = match kind {
            BlockKind::Residual => (1, 2),
            BlockKind::Repeat(_) => (1, 1),
            _ => (2, usize::MAX),
        };
        if bodies.len() < min || bodies.len() > max {
            let (at, found) = match bodies.get(max) {
                Some(extra) => (extra.open.clone(), "one body too many"),
                None => (s.keyword.span.clone(), "only one body"),
            };
            let help = match kind {
                BlockKind::Residual => "a residual block has a body and, if it changes the shape, a `shortcut: { … }`",
                BlockKind::Repeat(_) => "`repeat` has one body; put several blocks inside it",
                _ => "branches are written one after the other: `concat a: { … } b: { … }`; one branch needs no block",
            };
            self.error(
                Diagnostic::new(
                    Code::BlockForm,
                    at,
                    format!(
                        "`{word}` takes {}",
                        match kind {
                            BlockKind::Residual => "a body and an optional shortcut",
                            BlockKind::Repeat(_) => "one body",
                            _ => "two or more branches",
                        }
                    ),
                )
                .label(found)
                .help(help),
            );
            return Err(None);
        }
        let mut ok = true;
        let mut names: Vec<(String, ast::Span)> = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            let wanted = match kind {
                BlockKind::Residual if i == 1 => Some("shortcut"),
                BlockKind::Residual | BlockKind::Repeat(_) => None,
                _ => continue,
            };
            let written = body.name.as_ref().map(|n| n.name.as_str());
            if written != wanted {
                let at = body
                    .name
                    .as_ref()
                    .map_or(body.open.clone(), |n| n.span.clone());
                let (message, help) = match wanted {
                    Some(w) => (
                        format!("the second body of `{word}` is its `{w}`"),
                        format!("write `{w}: {{ … }}`"),
                    ),
                    None => (
                        format!("this body of `{word}` takes no name"),
                        "remove the name and its `:`".to_string(),
                    ),
                };
                self.error(
                    Diagnostic::new(Code::BlockForm, at, message)
                        .label(format!(
                            "found {}",
                            written.map_or("no name".to_string(), |w| format!("`{w}`"))
                        ))
                        .help(help),
                );
                ok = false;
            }
        }
        if matches!(kind, BlockKind::Sum | BlockKind::Concat) {
            for (i, body) in bodies.iter().enumerate() {
                let (name, span) = match &body.name {
                    Some(n) => (n.name.clone(), n.span.clone()),
                    None => (format!("branch{i}"), body.open.clone()),
                };
                let ident = ast::Ident {
                    name: name.clone(),
                    span: span.clone(),
                };
                super::check_ident(&ident, "branch name", self.diags);
                if INTERNAL_FIELDS.contains(&name.as_str()) {
                    self.error(
                        Diagnostic::new(
                            Code::DuplicateLabel,
                            span.clone(),
                            format!("`{name}` is taken by the block itself"),
                        )
                        .label("this branch name")
                        .help("names starting with `_` are the block's own fields: pick another"),
                    );
                    ok = false;
                } else if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
                    let first = first.clone();
                    self.error(
                        Diagnostic::new(Code::DuplicateLabel, span.clone(), format!("two branches are named `{name}`"))
                            .label("named again here")
                            .secondary(first, "first named here")
                            .help("give each branch its own name: names become fields and checkpoint keys"),
                    );
                    ok = false;
                }
                names.push((name, span));
            }
        }
        let outputs: Option<Vec<Width>> = bodies.iter().map(|b| b.output.clone()).collect();
        let outputs = outputs.ok_or(None)?;
        let output = self.join(s, kind, &bodies, &outputs, input)?;
        if !ok {
            return Err(Some(output));
        }
        let parts = match kind {
            BlockKind::Repeat(_) => {
                let body = bodies.into_iter().next().ok_or(None)?;
                let single = body.nodes.len() == 1
                    && s.blocks[0].statements[0].label.is_none()
                    && matches!(body.nodes[0], Node::Block(_));
                let element = if single {
                    body.nodes.into_iter().next().ok_or(None)?
                } else {
                    Node::Block(Block {
                        field: String::new(),
                        docs: Vec::new(),
                        kind: BlockKind::Sequence,
                        parts: vec![Part {
                            name: String::new(),
                            nodes: body.nodes,
                        }],
                        activation: None,
                        input: input.shape.clone(),
                        output: output.clone(),
                    })
                };
                vec![Part {
                    name: String::new(),
                    nodes: vec![element],
                }]
            }
            BlockKind::Residual => bodies
                .into_iter()
                .enumerate()
                .map(|(i, b)| Part {
                    name: if i == 0 {
                        String::new()
                    } else {
                        "shortcut".to_string()
                    },
                    nodes: b.nodes,
                })
                .collect(),
            _ => bodies
                .into_iter()
                .zip(names)
                .map(|(b, (name, _))| Part {
                    name,
                    nodes: b.nodes,
                })
                .collect(),
        };
        Ok((parts, output))
    }

    /// The shape a block's parts join into, or the error that says why they cannot.
    fn join(
        &mut self,
        s: &Statement,
        kind: BlockKind,
        bodies: &[Checked],
        outputs: &[Width],
        input: &Width,
    ) -> Result<Shape, Option<Shape>> {
        let name = |i: usize| match &bodies[i].name {
            Some(n) => format!("`{}`", n.name),
            None => format!("branch {i}"),
        };
        let at = |i: usize| {
            bodies[i]
                .name
                .as_ref()
                .map_or(bodies[i].open.clone(), |n| n.span.clone())
        };
        match kind {
            BlockKind::Residual | BlockKind::Repeat(_) if outputs.len() == 1 => {
                let out = &outputs[0];
                if out.shape == input.shape {
                    return Ok(out.shape.clone());
                }
                let (message, help) = if let BlockKind::Repeat(_) = kind {
                    (
                        format!(
                            "the repeated body maps {} to {}, so it cannot follow itself",
                            input.shape, out.shape
                        ),
                        "a repeated body must keep its input's shape: put the statement that changes it before the `repeat`".to_string(),
                    )
                } else {
                    (
                        format!(
                            "the residual body maps {} to {}, so its input cannot be added to its output",
                            input.shape, out.shape
                        ),
                        format!(
                            "add a projection of the input to {}: `residual {{ … }} shortcut: {{ {} }}`",
                            out.shape,
                            projection(&input.shape, &out.shape)
                        ),
                    )
                };
                self.error(
                    Diagnostic::new(Code::BlockShape, s.keyword.span.clone(), message)
                        .label(format!("output {}", out.shape))
                        .secondary(
                            out.span.clone(),
                            format!("the body's output {} comes from here", out.shape),
                        )
                        .secondary(
                            input.span.clone(),
                            format!("the input {} comes from here", input.shape),
                        )
                        .help(help),
                );
                // A residual body that changes the shape most likely meant its output.
                Err(matches!(kind, BlockKind::Residual).then(|| out.shape.clone()))
            }
            BlockKind::Residual => {
                let (body, shortcut) = (&outputs[0], &outputs[1]);
                if body.shape == shortcut.shape {
                    return Ok(body.shape.clone());
                }
                self.error(
                    Diagnostic::new(
                        Code::BlockShape,
                        at(1),
                        format!(
                            "the shortcut gives {} but the body gives {}, so they cannot be added",
                            shortcut.shape, body.shape
                        ),
                    )
                    .label(format!("output {}", shortcut.shape))
                    .secondary(
                        shortcut.span.clone(),
                        format!("the shortcut's {} comes from here", shortcut.shape),
                    )
                    .secondary(
                        body.span.clone(),
                        format!("the body's {} comes from here", body.shape),
                    )
                    .help(format!(
                        "make the shortcut map {} to {}: `shortcut: {{ {} }}`",
                        input.shape,
                        body.shape,
                        projection(&input.shape, &body.shape)
                    )),
                );
                Err(Some(body.shape.clone()))
            }
            BlockKind::Sum => {
                let first = &outputs[0];
                let Some(bad) = outputs.iter().position(|o| o.shape != first.shape) else {
                    return Ok(first.shape.clone());
                };
                self.error(
                    Diagnostic::new(
                        Code::BlockShape,
                        at(bad),
                        format!(
                            "`add` adds branches of one shape, but {} gives {} and {} gives {}",
                            name(0),
                            first.shape,
                            name(bad),
                            outputs[bad].shape
                        ),
                    )
                    .label(format!("output {}", outputs[bad].shape))
                    .secondary(
                        outputs[bad].span.clone(),
                        format!("{} comes from here", outputs[bad].shape),
                    )
                    .secondary(
                        first.span.clone(),
                        format!("{} comes from here", first.shape),
                    )
                    .help(format!(
                        "make every branch end in {}, or join them with `concat`",
                        first.shape
                    )),
                );
                Err(Some(first.shape.clone()))
            }
            BlockKind::Concat => {
                let first = &outputs[0];
                let rest = |s: &Shape| s.dims()[1..].to_vec();
                let bad = outputs.iter().position(|o| {
                    o.shape.rank() != first.shape.rank() || rest(&o.shape) != rest(&first.shape)
                });
                let Some(bad) = bad else {
                    let mut dims = first.shape.dims().to_vec();
                    dims[0] = outputs.iter().map(|o| o.shape.dims()[0]).sum();
                    return Ok(Shape::new(dims));
                };
                let along = if first.shape.rank() == 1 {
                    "features"
                } else {
                    "channels"
                };
                self.error(
                    Diagnostic::new(
                        Code::BlockShape,
                        at(bad),
                        format!(
                            "`concat` joins branches along {along}, but {} gives {} and {} gives {}",
                            name(0),
                            first.shape,
                            name(bad),
                            outputs[bad].shape
                        ),
                    )
                    .label(format!("output {}", outputs[bad].shape))
                    .secondary(outputs[bad].span.clone(), format!("{} comes from here", outputs[bad].shape))
                    .secondary(first.span.clone(), format!("{} comes from here", first.shape))
                    .help(if first.shape.rank() == 1 {
                        "flatten every branch, or none".to_string()
                    } else {
                        "branches must agree in everything but channels: give them the same strides, padding and pooling".to_string()
                    }),
                );
                Err(None)
            }
            BlockKind::Repeat(_) | BlockKind::Sequence => Err(None),
        }
    }

    /// A repeated body's layers, parameters and activations count `n` times: adds the
    /// other `n − 1` copies to the totals, refusing the block that crosses a limit.
    fn repeat_sizes(
        &mut self,
        s: &Statement,
        n: usize,
        layers: usize,
        params: u64,
        activations: u64,
    ) {
        let copies = (n as u64).saturating_sub(1);
        let more_layers = (self.layer_count - layers).saturating_mul(n - 1);
        let more_params = (self.params - params).saturating_mul(copies);
        let more_activations = (self.activations - activations).saturating_mul(copies);
        self.layer_count = self.layer_count.saturating_add(more_layers);
        let name = self.name.to_string();
        if self.layer_count > MAX_LAYERS {
            self.too_large(
                Diagnostic::new(
                    Code::TooLarge,
                    s.keyword.span.clone(),
                    format!("the network `{name}` has more than {MAX_LAYERS} layers"),
                )
                .label(format!("{n} copies bring it to {}", self.layer_count))
                .help(format!(
                    "a network has at most {MAX_LAYERS} layers, as rustc's compile time grows faster than the layer count; use fewer copies"
                )),
            );
            return;
        }
        let params = self.params.saturating_add(more_params);
        let activations = self.activations.saturating_add(more_activations);
        if params > super::MAX_PARAMS || activations > super::MAX_ACTIVATIONS {
            self.too_large(
                Diagnostic::new(
                    Code::TooLarge,
                    s.keyword.span.clone(),
                    format!("the {n} copies make the network `{name}` larger than the limits"),
                )
                .label("the copies")
                .help("a network holds at most 2³¹ parameters and 2³¹ activations per sample: use fewer copies or narrower layers"),
            );
            return;
        }
        self.params = params;
        self.activations = activations;
    }
}

/// The statement that maps `from` to `to` as a projection shortcut, for a help text: a 1×1
/// convolution with the stride that shrinks the planes, or a dense layer for vectors.
fn projection(from: &Shape, to: &Shape) -> String {
    match (from.dims(), to.dims()) {
        ([_, h, w], [c, oh, ow]) if *oh > 0 && *ow > 0 && h % oh == 0 && w % ow == 0 => {
            let (sh, sw) = (h / oh, w / ow);
            match (sh, sw) {
                (1, 1) => format!("conv2d {c} k=1"),
                (s, t) if s == t => format!("conv2d {c} k=1 stride={s}"),
                (s, t) => format!("conv2d {c} k=1 stride={s}x{t}"),
            }
        }
        ([_, l], [c, ol]) if *ol > 0 && l % ol == 0 => match l / ol {
            1 => format!("conv1d {c} k=1"),
            s => format!("conv1d {c} k=1 stride={s}"),
        },
        ([_], [n]) => format!("dense {n}"),
        _ => format!("layers that map {from} to {to}"),
    }
}
