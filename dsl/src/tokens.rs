//! The input of the `network!` macro as source text, with a map from byte ranges back to
//! the tokens they came from.
//!
//! The macro receives tokens, but the parser reads text. [`MacroSource`] renders the tokens
//! to text the grammar accepts and remembers which bytes came from which token, so that a
//! [`Diagnostic`]'s byte span can be turned back into the token's [`Span`] and rustc puts
//! its caret in the user's code.

use std::iter::Peekable;
use std::ops::Range;

use proc_macro2::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::diagnostic::Diagnostic;

/// The macro's tokens rendered as source text, with each token's byte range in that text.
#[derive(Clone, Debug)]
pub struct MacroSource {
    /// The rendered text, ready for [`crate::parse::parse`].
    pub text: String,
    /// `(byte range in text, token span)`, sorted by range and non-overlapping.
    spans: Vec<(Range<usize>, Span)>,
}

impl MacroSource {
    /// Renders `tokens` to text, recording where each token went.
    ///
    /// Tokens are separated by one space, except after a joint punctuation (`->` stays
    /// `->`) and between a lone `-` and a number (`-0.7`). Doc comments, which reach a
    /// macro as `#[doc = "…"]`, become `///…` lines again so the grammar sees them.
    pub fn new(tokens: TokenStream) -> MacroSource {
        let mut writer = Writer::default();
        writer.stream(tokens);
        MacroSource {
            text: writer.text,
            spans: writer.spans,
        }
    }

    /// The span of the token that contains byte `range.start` (or the nearest token after
    /// it; the last token if past the end; [`Span::call_site`] if there are no tokens).
    ///
    /// Only the start matters: rustc cannot join spans on stable, so a diagnostic points at
    /// the first token of what it covers.
    pub fn span_of(&self, range: &Range<usize>) -> Span {
        let index = self
            .spans
            .partition_point(|(bytes, _)| bytes.end <= range.start);
        self.spans
            .get(index)
            .or(self.spans.last())
            .map_or_else(Span::call_site, |(_, span)| *span)
    }

    /// The `compile_error!` for `diagnostic`, placed at the token its primary span starts in.
    ///
    /// This is all the macro needs to report a mistake: parse or check [`Self::text`], then
    /// emit this for each diagnostic.
    pub fn compile_error(&self, diagnostic: &Diagnostic) -> TokenStream {
        diagnostic.to_compile_error(self.span_of(&diagnostic.primary.span), &self.text)
    }
}

/// Accumulates text and spans while walking a token stream.
#[derive(Default)]
struct Writer {
    text: String,
    spans: Vec<(Range<usize>, Span)>,
    /// Whether the next token follows the previous one without a space.
    glued: bool,
}

impl Writer {
    fn stream(&mut self, tokens: TokenStream) {
        let mut tokens = tokens.into_iter().peekable();
        while let Some(token) = tokens.next() {
            match token {
                TokenTree::Punct(punct) => self.punct(&punct, &mut tokens),
                TokenTree::Group(group) => self.group(group),
                TokenTree::Ident(ident) => {
                    // `r#type` is how Rust writes the name `type`; the language needs no `r#`.
                    let text = ident.to_string();
                    self.push(text.strip_prefix("r#").unwrap_or(&text), ident.span());
                }
                TokenTree::Literal(literal) => self.push(&literal.to_string(), literal.span()),
            }
        }
    }

    /// Writes `text` as one token, preceded by a space unless glued to the previous one.
    fn push(&mut self, text: &str, span: Span) {
        if !self.glued && !self.text.is_empty() {
            self.text.push(' ');
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.spans.push((start..self.text.len(), span));
        self.glued = false;
    }

    fn punct(&mut self, punct: &Punct, rest: &mut Peekable<impl Iterator<Item = TokenTree>>) {
        if punct.as_char() == '#' {
            if let Some(TokenTree::Group(attribute)) = rest.peek() {
                if let Some(doc) = doc_value(attribute) {
                    self.doc(&doc, punct.span());
                    rest.next();
                    return;
                }
            }
        }
        self.push(&punct.as_char().to_string(), punct.span());
        let before_number = matches!(
            rest.peek(),
            Some(TokenTree::Literal(l)) if l.to_string().starts_with(|c: char| c.is_ascii_digit())
        );
        self.glued = punct.spacing() == Spacing::Joint || (punct.as_char() == '-' && before_number);
    }

    /// Writes a doc attribute back as `///` lines, all mapped to the `#` token.
    fn doc(&mut self, doc: &str, span: Span) {
        let mut lines = String::new();
        for line in doc.split('\n') {
            lines.push_str("///");
            lines.push_str(line.strip_suffix('\r').unwrap_or(line));
            lines.push('\n');
        }
        self.push(&lines, span);
        self.glued = true;
    }

    fn group(&mut self, group: Group) {
        let (open, close) = match group.delimiter() {
            Delimiter::Parenthesis => ("(", ")"),
            Delimiter::Bracket => ("[", "]"),
            Delimiter::Brace => ("{", "}"),
            Delimiter::None => return self.stream(group.stream()),
        };
        // A diagnostic that starts at the opening delimiter is about the whole
        // list or call (`weights=[…]`): underline all of it.
        self.push(open, group.span());
        self.stream(group.stream());
        self.push(close, group.span_close());
    }
}

/// The text of a `[doc = "…"]` attribute body, unescaped; `None` for any other attribute.
fn doc_value(attribute: &Group) -> Option<String> {
    if attribute.delimiter() != Delimiter::Bracket {
        return None;
    }
    let mut inner = attribute.stream().into_iter();
    let (
        Some(TokenTree::Ident(name)),
        Some(TokenTree::Punct(eq)),
        Some(TokenTree::Literal(lit)),
        None,
    ) = (inner.next(), inner.next(), inner.next(), inner.next())
    else {
        return None;
    };
    if name != "doc" || eq.as_char() != '=' {
        return None;
    }
    match syn::Lit::new(lit) {
        syn::Lit::Str(text) => Some(text.value()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Arg, Value};
    use crate::parse::parse;

    fn source(text: &str) -> MacroSource {
        MacroSource::new(text.parse().expect("valid Rust tokens"))
    }

    #[test]
    fn arrows_stay_arrows() {
        let src = source("N { dense 784->128 relu }");
        let file = parse(&src.text).unwrap_or_else(|d| panic!("{}: {d:?}", src.text));
        let args = &file.networks[0].statements[0].args;
        assert!(
            matches!(&args[0], Arg::Arrow { from, to, .. } if from.value == 784.0 && to.value == 128.0),
            "{args:?}"
        );
    }

    #[test]
    fn negative_numbers_stay_numbers() {
        let src = source("N { dense 2->1 step weights=[0.5, -0.5] bias=-0.7 }");
        let file = parse(&src.text).unwrap_or_else(|d| panic!("{}: {d:?}", src.text));
        let attrs = &file.networks[0].statements[0].attrs;
        assert!(
            matches!(&attrs[1].value, Value::Number(n) if n.value == -0.7 && n.text == "-0.7"),
            "{attrs:?}"
        );
        assert!(matches!(&attrs[0].value, Value::List { items, .. } if items.len() == 2));
    }

    #[test]
    fn doc_comments_come_through() {
        let src = source(
            "/// MLP for \"digits\".\n/// Second line.\npub(crate) Mnist {\n /// The input.\n input 784; softmax_ce }",
        );
        let file = parse(&src.text).unwrap_or_else(|d| panic!("{}: {d:?}", src.text));
        let net = &file.networks[0];
        assert_eq!(net.docs, [" MLP for \"digits\".", " Second line."]);
        assert_eq!(net.vis, crate::ast::Visibility::PubCrate);
        assert_eq!(net.statements[0].docs, [" The input."]);
        let block = source("/** one\ntwo */ N {}");
        let file = parse(&block.text).unwrap_or_else(|d| panic!("{}: {d:?}", block.text));
        assert_eq!(file.networks[0].docs, [" one", "two "]);
    }

    #[test]
    fn span_of_maps_back_to_the_token() {
        let tokens: TokenStream = "N {\n    dense 784->128\n}".parse().expect("tokens");
        let src = MacroSource::new(tokens);
        let at = src.text.find("784").expect("784 rendered");
        let span = src.span_of(&(at..at + 3));
        assert_eq!((span.start().line, span.start().column), (2, 10));
        assert_eq!((span.end().line, span.end().column), (2, 13));
        // The arrow's second number, a byte past the end, and a gap between tokens.
        let at = src.text.find("128").expect("128 rendered");
        assert_eq!(src.span_of(&(at..at)).start().column, 15);
        assert_eq!(src.span_of(&(9999..9999)).start().line, 3);
        let gap = src.text.find(' ').expect("a space");
        assert_eq!(src.span_of(&(gap..gap)).start().column, 2);
    }

    #[test]
    fn diagnostics_point_at_the_offending_token() {
        let tokens: TokenStream = "N {\n    relu\n    fc1: dense 3\n}"
            .parse()
            .expect("tokens");
        let src = MacroSource::new(tokens);
        let diagnostic = parse(&src.text).expect_err("missing `;`");
        let error = src.compile_error(&diagnostic);
        let first = error.into_iter().next().expect("a token");
        assert_eq!(
            (first.span().start().line, first.span().start().column),
            (3, 7)
        );
    }

    #[test]
    fn raw_identifiers_are_their_names() {
        let src = source("r#type { input 2; r#type: dense 1; type: mse }");
        assert_eq!(src.text, "type { input 2 ; type : dense 1 ; type : mse }");
        let file = parse(&src.text).unwrap_or_else(|d| panic!("{}: {d:?}", src.text));
        assert_eq!(file.networks[0].name.name, "type");
        assert!(
            crate::check_source(&src.text).is_err_and(|d| d[0].code == crate::Code::DuplicateLabel)
        );
    }

    #[test]
    fn empty_input_has_no_tokens() {
        let src = MacroSource::new(TokenStream::new());
        assert_eq!(src.text, "");
        let _ = src.span_of(&(0..0));
        assert!(parse(&src.text).is_ok_and(|f| f.networks.is_empty()));
    }

    proptest::proptest! {
        #[test]
        fn any_token_stream_renders_parses_and_maps(
            words in proptest::collection::vec(
                proptest::sample::select(&[
                    "N", "pub", "(crate)", "{", "}", "[", "]", ";", ":", ",", "=", "->", "-",
                    "784", "0.5", "1e-3", "dense", "relu", "/// doc\n", "#[doc = \"x\"]", "#",
                    "'a'", "\"s\"", "=>", "::", "r#x",
                ][..]),
                0..30,
            ),
            at in 0usize..400,
        ) {
            // Unbalanced delimiters are not a token stream; skip those.
            if let Ok(tokens) = words.join(" ").parse::<TokenStream>() {
                let src = MacroSource::new(tokens);
                let _ = src.span_of(&(at..at));
                if let Err(d) = parse(&src.text) {
                    let _ = src.compile_error(&d);
                }
            }
        }
    }
}
