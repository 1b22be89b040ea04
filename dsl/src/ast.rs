//! The syntax tree of an axonal source, exactly as written.
//!
//! The parser builds it; the checker resolves it into [`crate::ir`]. Nothing here
//! knows what a `dense` layer is: every statement is a keyword with positional
//! arguments and `name=value` attributes, so that an unknown keyword or attribute
//! becomes a checker error with a did-you-mean, not a parse error. Every node keeps
//! the byte span of its text in the source.

use std::ops::Range;

/// A byte range in the source text.
pub type Span = Range<usize>;

/// One source: a `.nn` file or the body of a `network!` macro.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceFile {
    /// The networks, in source order.
    pub networks: Vec<NetworkDecl>,
}

/// `/// docs  pub Name { statement; statement; … }`
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkDecl {
    /// The `///` lines before the network, without the slashes.
    pub docs: Vec<String>,
    /// `pub`, `pub(crate)` or nothing.
    pub vis: Visibility,
    /// The network's name, which becomes the struct's name.
    pub name: Ident,
    /// The statements of the body, in order.
    pub statements: Vec<Statement>,
    /// From the first doc line (or visibility, or name) to the closing brace.
    pub span: Span,
}

/// The visibility written before a network's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Nothing written: private to the enclosing module.
    Private,
    /// `pub`
    Pub,
    /// `pub(crate)`
    PubCrate,
}

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The identifier's text.
    pub name: String,
    /// Where it stands in the source.
    pub span: Span,
}

/// `/// docs  label: keyword arg arg name=value …`
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The `///` lines before the statement, without the slashes.
    pub docs: Vec<String>,
    /// The optional `label:` that names the layer's field and checkpoint keys.
    pub label: Option<Ident>,
    /// What the statement is: `dense`, `relu`, `dropout`, `softmax_ce`, …
    pub keyword: Ident,
    /// Positional arguments, in order (`784->128`, `0.5`, `relu`).
    pub args: Vec<Arg>,
    /// `name=value` attributes, in order.
    pub attrs: Vec<Attr>,
    /// The braced bodies of a block statement (`residual { … } shortcut: { … }`), in order;
    /// empty for a layer.
    pub blocks: Vec<Block>,
    /// From the label (or keyword) to the end of the last argument (a block's bodies have
    /// spans of their own).
    pub span: Span,
}

/// `name: { statement; … }` or `{ statement; … }`: one body of a block statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The name before the `:`, if written (`shortcut`, a branch's name).
    pub name: Option<Ident>,
    /// The statements of the body, in order.
    pub statements: Vec<Statement>,
    /// The `{` (the name, if any, has its own span).
    pub open: Span,
    /// From the name (or `{`) to the `}`.
    pub span: Span,
}

/// A positional argument of a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// `784->128`: input and output width.
    Arrow {
        /// The width before the arrow.
        from: Number,
        /// The width after the arrow.
        to: Number,
        /// Both numbers and the arrow.
        span: Span,
    },
    /// A bare number: `128`, `0.5`, `-1e-3`.
    Number(Number),
    /// A shape or size of several dimensions: `1x28x28`, `5x3`.
    Dims(Dims),
    /// A bare identifier: `relu`.
    Ident(Ident),
}

impl Arg {
    /// The span of the whole argument.
    pub fn span(&self) -> Span {
        match self {
            Arg::Arrow { span, .. } => span.clone(),
            Arg::Number(n) => n.span.clone(),
            Arg::Dims(d) => d.span.clone(),
            Arg::Ident(i) => i.span.clone(),
        }
    }
}

/// A numeric literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    /// The literal as written (sign included), for messages.
    pub text: String,
    /// Its value.
    pub value: f64,
    /// Whether it was written as an integer (no `.`, no exponent).
    pub is_integer: bool,
    /// Where it stands in the source (sign included).
    pub span: Span,
}

/// Whole numbers written with `x` between them, outermost first: `1x28x28` (a shape of one
/// sample), `5x3` (a kernel's height and width).
#[derive(Clone, Debug, PartialEq)]
pub struct Dims {
    /// Each dimension, with its own span.
    pub dims: Vec<Number>,
    /// The text as written.
    pub text: String,
    /// From the first digit to the last.
    pub span: Span,
}

/// `name=value`
#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    /// The attribute's name.
    pub name: Ident,
    /// Its value.
    pub value: Value,
    /// From the name to the end of the value.
    pub span: Span,
}

/// The value of an attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `0.01`
    Number(Number),
    /// `5x3`
    Dims(Dims),
    /// `he`
    Ident(Ident),
    /// `[0.5, 0.5]`
    List {
        /// The items, in order.
        items: Vec<Value>,
        /// From `[` to `]`.
        span: Span,
    },
    /// `normal(0, 0.01)`
    Call {
        /// The function's name.
        name: Ident,
        /// Its arguments, in order.
        args: Vec<Value>,
        /// From the name to `)`.
        span: Span,
    },
}

impl Value {
    /// The span of the whole value.
    pub fn span(&self) -> Span {
        match self {
            Value::Number(n) => n.span.clone(),
            Value::Dims(d) => d.span.clone(),
            Value::Ident(i) => i.span.clone(),
            Value::List { span, .. } | Value::Call { span, .. } => span.clone(),
        }
    }
}
