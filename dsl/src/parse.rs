//! Source text to syntax tree: runs the pest grammar (`grammar.pest`) and turns its pairs
//! into [`ast`](crate::ast) nodes that keep their byte spans.
//!
//! A syntax error becomes one [`Diagnostic`] with [`Code::Syntax`] that says, in words, what
//! was expected and what was found, with a hint for the common slips. Whatever the input,
//! [`parse`] returns; it never panics.

use pest::error::{Error, ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{
    Arg, Attr, Block, Dims, Ident, NetworkDecl, Number, SourceFile, Span, Statement, Value,
    Visibility,
};
use crate::diagnostic::{escape_invisible, is_invisible, Code, Diagnostic};

mod grammar {
    //! The pest parser derived from `grammar.pest`; private so that `Rule` stays an
    //! implementation detail.
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub(super) struct AxonalParser;
}

use grammar::{AxonalParser, Rule};

/// Parses a whole source (a `.nn` file or a `network!` body) into its syntax tree.
///
/// Only the grammar is checked here; names, attributes and widths are the checker's job.
/// Returns the first syntax error as a [`Code::Syntax`] diagnostic whose span points at the
/// offending token.
pub fn parse(source: &str) -> Result<SourceFile, Diagnostic> {
    too_deep(source)?;
    let mut pairs =
        AxonalParser::parse(Rule::source, source).map_err(|error| syntax_error(source, &error))?;
    let root = pairs.next().ok_or_else(|| internal_error(0..0))?;
    let networks = root
        .into_inner()
        .filter(|pair| pair.as_rule() == Rule::network)
        .map(network)
        .collect::<Result<_, _>>()?;
    Ok(SourceFile { networks })
}

/// How deep blocks may nest inside a network (a ResNet needs 2: a residual block inside a
/// repetition). The parser and the checker recurse once per level, so the limit is what
/// keeps a hostile source (a thousand nested blocks) from overflowing the stack.
pub const MAX_DEPTH: usize = 16;

/// Refuses braces nested deeper than a network's body and [`MAX_DEPTH`] blocks, before the
/// parser recurses into them. Comments are skipped; anything else that is not a brace is the
/// grammar's to judge.
fn too_deep(source: &str) -> Result<(), Diagnostic> {
    let bytes = source.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = source[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |end| i + 2 + end + 2);
                continue;
            }
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH + 1 {
                    return Err(Diagnostic::new(
                        Code::TooLarge,
                        i..i + 1,
                        format!("blocks nested more than {MAX_DEPTH} deep"),
                    )
                    .label(format!("block {} levels deep", depth - 1))
                    .help(format!(
                        "blocks nest at most {MAX_DEPTH} levels inside a network; use `repeat` instead of writing a block inside itself"
                    )));
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pairs to AST. The grammar guarantees the shape of each pair; where it would not, we
// return an internal-error diagnostic instead of panicking.

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    span.start()..span.end()
}

fn internal_error(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        span,
        "internal error: the parser produced an unexpected tree",
    )
    .help("this is a bug in axonal; please report it with the source that caused it")
}

fn network(pair: Pair<'_, Rule>) -> Result<NetworkDecl, Diagnostic> {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut vis = Visibility::Private;
    let mut name = None;
    let mut statements = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc_comment => docs.push(doc_text(part)),
            Rule::visibility => vis = visibility(part),
            Rule::net_name => name = Some(ident(&part)),
            Rule::statements => statements = body(part)?,
            _ => {}
        }
    }
    let name = name.ok_or_else(|| internal_error(span.clone()))?;
    Ok(NetworkDecl {
        docs,
        vis,
        name,
        statements,
        span,
    })
}

/// The text after `///`, leading space kept (as rustdoc does), trailing `\r` dropped.
fn doc_text(pair: Pair<'_, Rule>) -> String {
    let text = pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::doc_text)
        .map_or("", |p| p.as_str());
    text.strip_suffix('\r').unwrap_or(text).to_string()
}

fn visibility(pair: Pair<'_, Rule>) -> Visibility {
    if pair.into_inner().any(|p| p.as_rule() == Rule::crate_kw) {
        Visibility::PubCrate
    } else {
        Visibility::Pub
    }
}

/// An identifier from a pair whose whole text is a name (`ident`, `keyword`, `net_name`, …).
fn ident(pair: &Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

/// The first `ident` pair inside `pair` (a label, an attribute, a call).
fn inner_ident(pair: &Pair<'_, Rule>) -> Result<Ident, Diagnostic> {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::ident)
        .map(|p| ident(&p))
        .ok_or_else(|| internal_error(span_of(pair)))
}

fn statement(pair: Pair<'_, Rule>) -> Result<Statement, Diagnostic> {
    let whole = span_of(&pair);
    let mut docs = Vec::new();
    let mut label = None;
    let mut keyword = None;
    let mut args = Vec::new();
    let mut attrs = Vec::new();
    let mut blocks = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc_comment => docs.push(doc_text(part)),
            Rule::label => label = Some(inner_ident(&part)?),
            Rule::keyword => keyword = Some(ident(&part)),
            Rule::arg => args.push(arg(part)?),
            Rule::attr => attrs.push(attr(part)?),
            Rule::block => blocks.push(block(part)?),
            _ => {}
        }
    }
    let keyword = keyword.ok_or_else(|| internal_error(whole))?;
    let start = label.as_ref().unwrap_or(&keyword).span.start;
    let end = args
        .iter()
        .map(|a| a.span().end)
        .chain(attrs.iter().map(|a| a.span.end))
        .fold(keyword.span.end, usize::max);
    Ok(Statement {
        docs,
        label,
        keyword,
        args,
        attrs,
        blocks,
        span: start..end,
    })
}

/// The statements of a network's or a block's body, blocks included.
fn body(pair: Pair<'_, Rule>) -> Result<Vec<Statement>, Diagnostic> {
    pair.into_inner()
        .filter(|p| matches!(p.as_rule(), Rule::statement | Rule::block_statement))
        .map(statement)
        .collect()
}

fn block(pair: Pair<'_, Rule>) -> Result<Block, Diagnostic> {
    let span = span_of(&pair);
    let (mut name, mut open, mut statements) = (None, None, Vec::new());
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::block_name => name = Some(ident(&part)),
            Rule::lbrace => open = Some(span_of(&part)),
            Rule::statements => statements = body(part)?,
            _ => {}
        }
    }
    let open = open.ok_or_else(|| internal_error(span.clone()))?;
    Ok(Block {
        name,
        statements,
        open,
        span,
    })
}

fn arg(pair: Pair<'_, Rule>) -> Result<Arg, Diagnostic> {
    let span = span_of(&pair);
    let inner = pair
        .into_inner()
        .next()
        .ok_or_else(|| internal_error(span.clone()))?;
    match inner.as_rule() {
        Rule::arrow => {
            let arrow_span = span_of(&inner);
            let mut numbers = inner.into_inner().filter(|p| p.as_rule() == Rule::number);
            let (Some(from), Some(to)) = (numbers.next(), numbers.next()) else {
                return Err(internal_error(arrow_span));
            };
            Ok(Arg::Arrow {
                from: number(&from)?,
                to: number(&to)?,
                span: arrow_span,
            })
        }
        Rule::number => Ok(Arg::Number(number(&inner)?)),
        Rule::dims => Ok(Arg::Dims(dims(&inner)?)),
        Rule::ident => Ok(Arg::Ident(ident(&inner))),
        _ => Err(internal_error(span)),
    }
}

fn attr(pair: Pair<'_, Rule>) -> Result<Attr, Diagnostic> {
    let span = span_of(&pair);
    let name = pair
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::attr_name)
        .map(|p| ident(&p))
        .ok_or_else(|| internal_error(span.clone()))?;
    let value_pair = pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::value)
        .ok_or_else(|| internal_error(span.clone()))?;
    Ok(Attr {
        name,
        value: value(value_pair, 0)?,
        span,
    })
}

/// How deeply lists and calls may nest; keeps the conversion's recursion bounded.
const MAX_NESTING: usize = 32;

fn value(pair: Pair<'_, Rule>, depth: usize) -> Result<Value, Diagnostic> {
    let span = span_of(&pair);
    if depth > MAX_NESTING {
        return Err(Diagnostic::new(
            Code::Syntax,
            span.start..span.start + 1,
            format!("lists and calls are nested more than {MAX_NESTING} levels deep"),
        )
        .label("too deep")
        .help("flatten the value; no attribute needs this much nesting"));
    }
    let inner = pair
        .into_inner()
        .next()
        .ok_or_else(|| internal_error(span.clone()))?;
    match inner.as_rule() {
        Rule::number => Ok(Value::Number(number(&inner)?)),
        Rule::dims => Ok(Value::Dims(dims(&inner)?)),
        Rule::ident => Ok(Value::Ident(ident(&inner))),
        Rule::list => Ok(Value::List {
            span: span_of(&inner),
            items: values_in(inner, depth + 1)?,
        }),
        Rule::call => Ok(Value::Call {
            name: inner_ident(&inner)?,
            span: span_of(&inner),
            args: values_in(inner, depth + 1)?,
        }),
        _ => Err(internal_error(span)),
    }
}

/// The `value` children of a list or call, in order.
fn values_in(pair: Pair<'_, Rule>, depth: usize) -> Result<Vec<Value>, Diagnostic> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::value)
        .map(|p| value(p, depth))
        .collect()
}

/// `1x28x28`: each dimension a whole number with its own span.
fn dims(pair: &Pair<'_, Rule>) -> Result<Dims, Diagnostic> {
    let span = span_of(pair);
    let text = pair.as_str().to_string();
    let mut dims = Vec::new();
    let mut start = span.start;
    for part in text.split('x') {
        let end = start + part.len();
        let value: f64 = part.parse().map_err(|_| internal_error(start..end))?;
        if !value.is_finite() {
            return Err(Diagnostic::new(
                Code::Syntax,
                start..end,
                format!("number `{part}` is too large"),
            )
            .label("does not fit in a 64-bit float"));
        }
        dims.push(Number {
            text: part.to_string(),
            value,
            is_integer: true,
            span: start..end,
        });
        start = end + 1;
    }
    Ok(Dims { dims, text, span })
}

fn number(pair: &Pair<'_, Rule>) -> Result<Number, Diagnostic> {
    let span = span_of(pair);
    let text: String = pair
        .as_str()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let too_large = || {
        Diagnostic::new(
            Code::Syntax,
            span.clone(),
            format!("number `{text}` is too large"),
        )
        .label("does not fit in a 64-bit float")
        .help("the largest finite value is about 1.8e308")
    };
    let value: f64 = text.parse().map_err(|_| too_large())?;
    if !value.is_finite() {
        return Err(too_large());
    }
    let is_integer = !text.contains(['.', 'e', 'E']);
    Ok(Number {
        text,
        value,
        is_integer,
        span,
    })
}

// ---------------------------------------------------------------------------------------
// Syntax errors in words.

/// What the parser found at the error position.
enum Found<'s> {
    /// Nothing: the source ended.
    End,
    /// A token, as written.
    Token(&'s str),
}

impl Found<'_> {
    fn describe(&self) -> String {
        match self {
            Found::End => "end of input".to_string(),
            Found::Token(t) => match single_char(t) {
                Some(c) if c.is_whitespace() || is_invisible(c) => {
                    format!(
                        "the character `{}` (U+{:04X})",
                        escape_invisible(t),
                        c as u32
                    )
                }
                _ => format!("`{}`", escape_invisible(t)),
            },
        }
    }

    fn is(&self, token: &str) -> bool {
        matches!(self, Found::Token(t) if *t == token)
    }
}

fn single_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// The largest char boundary at or before `pos`, within the source.
fn floor_boundary(source: &str, pos: usize) -> usize {
    let mut pos = pos.min(source.len());
    while !source.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// The token starting at `pos`, lexed roughly the way a reader would split it.
fn token_at(source: &str, pos: usize) -> Found<'_> {
    let rest = &source[floor_boundary(source, pos)..];
    let Some(first) = rest.chars().next() else {
        return Found::End;
    };
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let len = if first.is_ascii_digit() {
        rest.find(|c: char| !(is_word(c) || c == '.'))
            .unwrap_or(rest.len())
    } else if is_word(first) {
        rest.find(|c: char| !is_word(c)).unwrap_or(rest.len())
    } else if let Some(op) = ["///", "->", "//", "/*", "::", "=>"]
        .into_iter()
        .find(|op| rest.starts_with(op))
    {
        op.len()
    } else {
        first.len_utf8()
    };
    Found::Token(&rest[..len])
}

/// What a grammar rule is, in the words of an error message.
fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of input",
        Rule::network | Rule::source => "a network (`Name { … }`)",
        Rule::visibility | Rule::pub_kw => "`pub`",
        Rule::crate_kw => "`crate`",
        Rule::net_name => "a network name",
        Rule::statements | Rule::statement | Rule::block_statement => "a statement",
        Rule::keyword | Rule::label => "a statement keyword (`dense`, `relu`, …)",
        Rule::block => "a block (`{ … }`)",
        Rule::block_name => "a block's name",
        Rule::arg | Rule::arrow => "an argument",
        Rule::attr | Rule::attr_name => "an attribute (`name=value`)",
        Rule::value | Rule::call | Rule::list => "a value",
        Rule::number => "a number",
        Rule::ident => "a name",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::semi => "`;`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::eq => "`=`",
        Rule::arrow_op => "`->`",
        _ => return None,
    })
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(words: &[&str]) -> String {
    match words {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn syntax_error(source: &str, error: &Error<Rule>) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let pos = floor_boundary(source, pos);
    // `relu fc1: dense 3`: after `fc1:` the parser tried a block's body last, so it wants a
    // `{`; the slip is far likelier the `;` missing before the label `fc1:`.
    let mut expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let before = source[..pos].trim_end();
    let colon = before.strip_suffix(':').map(str::len);
    let pos = match colon {
        Some(colon)
            if expected == [Rule::lbrace]
                && source[..colon]
                    .trim_end()
                    .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') =>
        {
            expected = vec![Rule::semi];
            colon
        }
        _ => pos,
    };
    let found = token_at(source, pos);
    let width = match found {
        Found::End => 0,
        Found::Token(t) => t.len(),
    };
    let span = pos..(pos + width).min(source.len());
    match &error.variant {
        ErrorVariant::ParsingError { .. } => {}
        ErrorVariant::CustomError { message } => {
            return Diagnostic::new(
                Code::Syntax,
                span,
                format!("the source is nested too deeply to parse ({message})"),
            )
            .label("gave up here")
            .help("flatten the nested lists or calls");
        }
    }
    let words = expected_words(&expected);
    let message = format!("expected {}, found {}", one_of(&words), found.describe());
    let label = match found {
        Found::End => "the source ends here".to_string(),
        Found::Token(_) => format!("expected {}", one_of(&words)),
    };
    let diagnostic = Diagnostic::new(Code::Syntax, span, message).label(label);
    match hint(source, pos, &expected, &found) {
        Some(help) => diagnostic.help(help),
        None => diagnostic,
    }
}

/// The expected rules in words: deduplicated, `;` then other punctuation first, "end of input" last.
///
/// `:`, `=` and `->` can only extend the token before them (`dropout` might have been the
/// label `dropout:`); they are left out when enough else was expected, to keep the
/// message short.
fn expected_words(expected: &[Rule]) -> Vec<&'static str> {
    let extends_previous = |r: &Rule| matches!(r, Rule::colon | Rule::eq | Rule::arrow_op);
    let others = expected.iter().filter(|r| !extends_previous(r)).count();
    // A label is a name too; "a statement keyword" says it better.
    let redundant = |r: &Rule| *r == Rule::ident && expected.contains(&Rule::keyword);
    let mut words: Vec<&str> = Vec::new();
    for rule in expected {
        if others >= 3 && extends_previous(rule) || redundant(rule) {
            continue;
        }
        if let Some(word) = rule_words(*rule) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words.sort_by_key(|w| match *w {
        "`;`" => 0,
        w if w.starts_with('`') => 1,
        "end of input" => 3,
        _ => 2,
    });
    words
}

/// Whether the last non-blank line before `pos` ends in a `///` doc comment.
fn after_doc_comment(source: &str, pos: usize) -> bool {
    let before = source.get(..pos).unwrap_or("").trim_end();
    let line = before.rsplit('\n').next().unwrap_or("");
    line.match_indices("///")
        .any(|(i, _)| !line[..i].ends_with('/') && !line[i + 3..].starts_with('/'))
}

/// A help line for the slips people make most often, if this looks like one.
fn hint(source: &str, pos: usize, expected: &[Rule], found: &Found<'_>) -> Option<&'static str> {
    let wants = |rule: Rule| expected.contains(&rule);
    let wants_name = wants(Rule::keyword) || wants(Rule::net_name) || wants(Rule::statement);
    if wants_name && after_doc_comment(source, pos) {
        return Some(
            "a doc comment (`///`) documents the statement or network right after it; use `//` for a plain comment",
        );
    }
    let token = match found {
        Found::End if wants(Rule::rbrace) => {
            return Some("the network's body is not closed: add a `}` at its end")
        }
        Found::End if wants(Rule::rbracket) => return Some("the list is not closed: add a `]`"),
        Found::End if wants(Rule::rparen) => return Some("the call is not closed: add a `)`"),
        Found::End => return None,
        Found::Token(t) => *t,
    };
    let first = token.chars().next().unwrap_or(' ');
    let digit_follows = source
        .get(pos + 1..)
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if token == "." && digit_follows {
        return Some("numbers start with a digit: write `0.5`, not `.5`");
    }
    if first.is_ascii_digit() && token.contains(|c: char| c.is_alphabetic()) {
        return Some(
            "a number cannot run into a name: put a space between them, and drop type suffixes like `f32`",
        );
    }
    if !first.is_ascii() && first.is_alphanumeric() {
        return Some("names are made of ASCII letters, digits and `_`");
    }
    if found.is("}") && wants(Rule::EOI) {
        return Some("this `}` has no matching `{`");
    }
    if found.is("{") && (wants(Rule::net_name) || wants(Rule::network)) {
        return Some("a network needs a name before its body: `Mlp { … }`");
    }
    if wants(Rule::semi) {
        return Some(match token {
            "->" => "`->` joins two widths, with a number on each side: `784->128`",
            ":" => "a label goes at the start of a statement (`fc1: dense 784->128`); is a `;` missing before it? (A block's name is followed by its body: `shortcut: { … }`.)",
            "," => "arguments are separated by spaces; commas separate the items of a list `[…]` or a call `f(…)`",
            "=" => "an attribute is written `name=value`, with its name before the `=`",
            _ => "statements are separated by `;`",
        });
    }
    if found.is(";") && (wants(Rule::statement) || wants(Rule::keyword)) {
        return Some("remove the extra `;`: statements are separated by a single `;`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(source: &str) -> NetworkDecl {
        let mut file = parse(source).unwrap_or_else(|d| panic!("{source:?}: {d:?}"));
        assert_eq!(file.networks.len(), 1);
        file.networks.remove(0)
    }

    fn stmt(text: &str) -> Statement {
        let source = format!("N {{ {text} }}");
        let mut n = net(&source);
        assert_eq!(n.statements.len(), 1, "{text}");
        n.statements.remove(0)
    }

    fn err(source: &str) -> Diagnostic {
        match parse(source) {
            Ok(file) => panic!("{source:?} parsed: {file:?}"),
            Err(d) => {
                assert_eq!(d.code, Code::Syntax);
                d
            }
        }
    }

    fn num(arg: &Arg) -> &Number {
        match arg {
            Arg::Number(n) => n,
            other => panic!("not a number: {other:?}"),
        }
    }

    #[test]
    fn the_design_example_parses() {
        let src = "/// MLP for 28x28 digits.\npub Mnist {\n    input 784;\n    dense 784->128 relu init=he;\n    dropout 0.5;\n    dense 128->10 init=xavier;\n    softmax_ce\n}\n";
        let n = net(src);
        assert_eq!(n.docs, vec![" MLP for 28x28 digits.".to_string()]);
        assert_eq!(n.vis, Visibility::Pub);
        assert_eq!(n.name.name, "Mnist");
        assert_eq!(&src[n.name.span.clone()], "Mnist");
        assert_eq!(n.span, 0..src.trim_end().len());
        let keywords: Vec<_> = n
            .statements
            .iter()
            .map(|s| s.keyword.name.as_str())
            .collect();
        assert_eq!(
            keywords,
            ["input", "dense", "dropout", "dense", "softmax_ce"]
        );
        let dense = &n.statements[1];
        assert_eq!(&src[dense.span.clone()], "dense 784->128 relu init=he");
    }

    #[test]
    fn every_statement_form_parses() {
        for text in [
            "input 784",
            "dense 784->128 relu init=he bias=0.01",
            "dense 128",
            "fc1: dense 784->128",
            "relu",
            "leaky_relu 0.1",
            "elu 1.0",
            "maxout 128->64 k=2",
            "batchnorm momentum=0.1 eps=1e-5",
            "dropout 0.5",
            "dense 2->1 step weights=[0.5, 0.5] bias=-0.7",
            "dense 10 init=normal(0, 0.01)",
            "softmax_ce",
            "huber delta=1.0",
        ] {
            let s = stmt(text);
            assert_eq!(s.span.len(), text.len(), "{text}");
        }
    }

    #[test]
    fn arrow_and_attributes_keep_values_and_spans() {
        let src = "N { fc1: dense 784->128 relu init=he bias=0.01 }";
        let s = &net(src).statements[0];
        assert_eq!(s.label.as_ref().map(|l| l.name.as_str()), Some("fc1"));
        assert_eq!(
            &src[s.span.clone()],
            "fc1: dense 784->128 relu init=he bias=0.01"
        );
        let Arg::Arrow { from, to, span } = &s.args[0] else {
            panic!("{:?}", s.args[0]);
        };
        assert_eq!((from.value, to.value), (784.0, 128.0));
        assert!(from.is_integer && to.is_integer);
        assert_eq!(&src[span.clone()], "784->128");
        assert_eq!(&src[from.span.clone()], "784");
        assert_eq!(&src[to.span.clone()], "128");
        assert!(matches!(&s.args[1], Arg::Ident(i) if i.name == "relu"));
        assert_eq!(s.attrs.len(), 2);
        assert_eq!(s.attrs[0].name.name, "init");
        assert!(matches!(&s.attrs[0].value, Value::Ident(i) if i.name == "he"));
        assert_eq!(&src[s.attrs[1].span.clone()], "bias=0.01");
    }

    #[test]
    fn lists_and_calls_parse_with_trailing_commas() {
        let s = stmt("dense 2->1 step weights=[0.5, -0.5,] init=normal(0, 0.01,)");
        let Value::List { items, .. } = &s.attrs[0].value else {
            panic!("{:?}", s.attrs[0].value);
        };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[1], Value::Number(n) if n.value == -0.5));
        let Value::Call { name, args, .. } = &s.attrs[1].value else {
            panic!("{:?}", s.attrs[1].value);
        };
        assert_eq!(name.name, "normal");
        assert_eq!(args.len(), 2);
        let s = stmt("dense 3 weights=[] init=zeros() nested=[[1, 2], f([3])]");
        assert!(matches!(&s.attrs[0].value, Value::List { items, .. } if items.is_empty()));
        assert!(matches!(&s.attrs[1].value, Value::Call { args, .. } if args.is_empty()));
    }

    #[test]
    fn numbers_keep_text_value_and_kind() {
        let s = stmt("x 784 0.5 1e-3 1E+5 2.5e-4 -0.7 - 0.7 -\n 3");
        let got: Vec<(&str, f64, bool)> = s
            .args
            .iter()
            .map(|a| {
                let n = num(a);
                (n.text.as_str(), n.value, n.is_integer)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("784", 784.0, true),
                ("0.5", 0.5, false),
                ("1e-3", 1e-3, false),
                ("1E+5", 1e5, false),
                ("2.5e-4", 2.5e-4, false),
                ("-0.7", -0.7, false),
                ("-0.7", -0.7, false),
                ("-3", -3.0, true),
            ]
        );
        let s = stmt("dense 1 bias=- 0.7");
        assert!(matches!(&s.attrs[0].value, Value::Number(n) if n.text == "-0.7"));
    }

    #[test]
    fn a_number_too_large_is_a_syntax_error_at_it() {
        let src = "N { dense 1e999 }";
        let d = err(src);
        assert_eq!(&src[d.primary.span.clone()], "1e999");
        assert!(d.message.contains("too large"), "{}", d.message);
    }

    #[test]
    fn visibility_docs_and_several_networks() {
        let src = "/// A\n/// B\npub(crate) A { relu }\n\nB {}\n/// C\npub C { /// first\n/// more\nrelu; //// not a doc\n sigmoid; }\npublish { }";
        let file = parse(src).unwrap_or_else(|d| panic!("{d:?}"));
        let n = &file.networks;
        assert_eq!(n.len(), 4);
        assert_eq!(n[0].vis, Visibility::PubCrate);
        assert_eq!(n[0].docs, [" A", " B"]);
        assert_eq!(n[1].vis, Visibility::Private);
        assert!(n[1].statements.is_empty() && n[1].docs.is_empty());
        assert_eq!(n[2].vis, Visibility::Pub);
        assert_eq!(n[2].statements[0].docs, [" first", " more"]);
        assert!(n[2].statements[1].docs.is_empty());
        assert_eq!(n[3].name.name, "publish");
        assert_eq!(n[3].vis, Visibility::Private);
    }

    #[test]
    fn comments_are_ignored_and_crlf_is_trimmed_from_docs() {
        let src =
            "// head\n/* block\n spanning */ ///doc\r\nN { relu /* in */ ; // tail\n sigmoid }";
        let n = net(src);
        assert_eq!(n.docs, ["doc"]);
        assert_eq!(n.statements.len(), 2);
        assert_eq!(parse("").map(|f| f.networks.len()), Ok(0));
        assert_eq!(
            parse("  // only a comment").map(|f| f.networks.len()),
            Ok(0)
        );
    }

    #[test]
    fn missing_semicolon_before_a_label_points_at_it() {
        let src = "N { relu fc1: dense 3 }";
        let d = err(src);
        assert_eq!(&src[d.primary.span.clone()], ":");
        assert!(d.message.contains("`;`"), "{}", d.message);
        assert!(d.message.contains("found `:`"), "{}", d.message);
        assert!(d.help.as_deref().is_some_and(|h| h.contains("`;`")));
    }

    #[test]
    fn unclosed_body_says_end_of_input() {
        let src = "N { dense 3";
        let d = err(src);
        assert_eq!(d.primary.span, src.len()..src.len());
        assert!(d.message.ends_with("found end of input"), "{}", d.message);
        assert!(d.message.contains("`}`"), "{}", d.message);
        assert!(d.help.as_deref().is_some_and(|h| h.contains('}')));
    }

    #[test]
    fn errors_name_what_was_expected() {
        let cases = [
            ("{ relu }", "{", "a network"),
            ("N { dense 784->; }", ";", "a number"),
            ("N { dense 784 -> 128 -> 10 }", "->", "`;`"),
            ("N { dropout .5 }", ".", "`;`"),
            ("N { x init= }", "}", "a value"),
            ("N { relu;; }", ";", "a statement"),
            ("N { dense 128relu }", "128relu", "`;`"),
            ("N { x w=[1, 2 }", "}", "`]`"),
            ("pub(self) N {}", "self", "`crate`"),
            ("N { relu } }", "}", "end of input"),
            ("N { fc1: ; }", ";", "statement keyword"),
        ];
        for (src, at, expected) in cases {
            let d = err(src);
            assert_eq!(&src[d.primary.span.clone()], at, "{src}: {d:?}");
            assert!(d.message.contains(expected), "{src}: {}", d.message);
            assert!(
                d.message.contains(&format!("found `{at}`")),
                "{src}: {}",
                d.message
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let nest = |depth: usize| format!("N {{ x w={}{} }}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse(&nest(MAX_NESTING)).is_ok());
        for depth in [MAX_NESTING + 2, 1_000, 100_000] {
            let d = err(&nest(depth));
            assert!(d.message.contains("nested"), "{depth}: {}", d.message);
        }
    }

    #[test]
    fn non_ascii_is_reported_on_a_char_boundary() {
        let src = "N { dénse }";
        let d = err(src);
        assert_eq!(&src[d.primary.span.clone()], "énse");
        let d = err("N { relu }\u{a0}");
        assert!(d.message.contains("the character"), "{}", d.message);
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        let src = "\u{feff}N { input 2; dense 3 }";
        let n = net(src);
        assert_eq!(&src[n.name.span.clone()], "N");
        assert_eq!(&src[n.statements[1].span.clone()], "dense 3");
        assert!(crate::check_source(src).is_ok());
        // Anywhere else it is a stray character, named visibly.
        let d = err("N { input 2;\u{feff} dense 3 }");
        assert_eq!(
            d.message,
            "expected `}` or a statement, found the character `\\u{feff}` (U+FEFF)"
        );
    }

    #[test]
    fn invisible_characters_are_named_visibly() {
        for (bad, shown) in [
            ("\0", "`\\0` (U+0000)"),
            ("\u{202e}", "`\\u{202e}` (U+202E)"),
            ("\u{a0}", "`\\u{a0}` (U+00A0)"),
        ] {
            let src = format!("N {{ input 2;{bad} dense 3 }}");
            let d = err(&src);
            assert!(
                d.message.ends_with(&format!("found the character {shown}")),
                "{}",
                d.message
            );
            assert_eq!(&src[d.primary.span.clone()], bad);
        }
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        /// The language's tokens, plus a few near misses.
        const TOKENS: &[&str] = &[
            "N",
            "pub",
            "pub(crate)",
            "crate",
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            ";",
            ":",
            ",",
            "=",
            "->",
            "-",
            "784",
            "0.5",
            "1e-3",
            "1E+5",
            "-0.7",
            "1e999",
            ".5",
            "dense",
            "relu",
            "init",
            "he",
            "///",
            "/// doc\n",
            "//",
            "////",
            "/*",
            "*/",
            "\n",
            " ",
            "é",
            "\u{a0}",
            "\r\n",
            "128relu",
            "_",
        ];

        fn soup() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(TOKENS), 0..40)
                .prop_map(|tokens| tokens.join(" "))
        }

        fn check(source: &str) {
            match parse(source) {
                Ok(file) => {
                    for net in &file.networks {
                        assert!(source.get(net.span.clone()).is_some());
                    }
                }
                Err(d) => {
                    assert!(d.primary.span.start <= d.primary.span.end);
                    assert!(source.get(d.primary.span.clone()).is_some(), "{d:?}");
                    assert!(d.message.starts_with("expected") || d.message.contains("number"));
                }
            }
        }

        proptest! {
            #[test]
            fn on_arbitrary_text(source in any::<String>()) {
                check(&source);
            }

            #[test]
            fn on_token_soup(source in soup()) {
                check(&source);
            }

            #[test]
            fn on_a_valid_source_with_a_cut(cut in 0usize..200) {
                let src = "/// d\npub(crate) N { fc1: dense 784->128 relu init=normal(0, 0.01); w=[1, -2,]; x }";
                let end = cut.min(src.len());
                check(&src[..end]);
            }
        }
    }
}
