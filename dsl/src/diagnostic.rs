//! One diagnostic type for every mistake in a source, and its two renderings:
//! rustc-style text for terminals (build.rs, `axc`) and `compile_error!` for the macro.

use std::io::Write as _;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label as ReportLabel};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::{Buffer, Color, ColorSpec, WriteColor};
use codespan_reporting::term::{self, Chars, Config};

use crate::ast::Span;

/// A stable error code, like rustc's `E0308`; each has an entry in the error index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text does not follow the grammar.
    Syntax,
    /// A statement keyword that is not a layer, activation or loss.
    UnknownStatement,
    /// An activation name that does not exist.
    UnknownActivation,
    /// An initializer name that does not exist.
    UnknownInitializer,
    /// An attribute the statement does not take.
    UnknownAttribute,
    /// A statement got the wrong number or kind of positional arguments.
    BadArgument,
    /// An attribute's value has the wrong type or is out of range.
    BadAttributeValue,
    /// A layer's input width differs from the width flowing into it.
    WidthMismatch,
    /// A width of zero (or not a positive integer).
    ZeroWidth,
    /// A dropout rate outside [0, 1).
    DropoutRate,
    /// A `weights=` or `bias=` list whose length does not match the layer.
    WeightCount,
    /// A loss that is not the last statement.
    LossNotLast,
    /// More than one loss in a network.
    DuplicateLoss,
    /// A loss that does not fit the width of the network's output.
    LossMismatch,
    /// Two layers with the same label, or a label used twice as a field.
    DuplicateLabel,
    /// Two networks with the same name in one source.
    DuplicateNetwork,
    /// Nothing says how wide the network's input is.
    UnknownInputWidth,
    /// A network with no layers.
    EmptyNetwork,
    /// An attribute given twice.
    DuplicateAttribute,
}

impl Code {
    /// Every code, in the order of the error index (`docs/errors.md`), which a test checks
    /// against this list.
    pub const ALL: &'static [Code] = &[
        Code::Syntax,
        Code::UnknownStatement,
        Code::UnknownActivation,
        Code::UnknownInitializer,
        Code::UnknownAttribute,
        Code::BadArgument,
        Code::BadAttributeValue,
        Code::WidthMismatch,
        Code::ZeroWidth,
        Code::DropoutRate,
        Code::WeightCount,
        Code::LossNotLast,
        Code::DuplicateLoss,
        Code::LossMismatch,
        Code::DuplicateLabel,
        Code::DuplicateNetwork,
        Code::UnknownInputWidth,
        Code::EmptyNetwork,
        Code::DuplicateAttribute,
    ];

    /// The code as printed: `E0001`, …. Never renumber: users search for these.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "E0001",
            Code::UnknownStatement => "E0002",
            Code::UnknownActivation => "E0003",
            Code::UnknownInitializer => "E0004",
            Code::UnknownAttribute => "E0005",
            Code::BadArgument => "E0006",
            Code::BadAttributeValue => "E0007",
            Code::WidthMismatch => "E0008",
            Code::ZeroWidth => "E0009",
            Code::DropoutRate => "E0010",
            Code::WeightCount => "E0011",
            Code::LossNotLast => "E0012",
            Code::DuplicateLoss => "E0013",
            Code::LossMismatch => "E0014",
            Code::DuplicateLabel => "E0015",
            Code::DuplicateNetwork => "E0016",
            Code::UnknownInputWidth => "E0017",
            // E0018 ("not supported yet") is retired: every statement has its runtime.
            Code::EmptyNetwork => "E0019",
            Code::DuplicateAttribute => "E0020",
        }
    }
}

/// A span with a short message, drawn under the source line.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// The bytes the label points at.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
}

/// One mistake in a source: where, what was expected and found, and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The stable error code.
    pub code: Code,
    /// The headline: `expected input width 64, found 784`.
    pub message: String,
    /// The offending token, with a short label.
    pub primary: Label,
    /// Context elsewhere in the source ("the previous layer outputs 64 here").
    pub secondary: Vec<Label>,
    /// A suggested fix: `did you mean \`relu\`?`.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a primary span and an empty label.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Sets the label under the primary span.
    pub fn label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    /// Adds a secondary label elsewhere in the source.
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

// ---------------------------------------------------------------------------------------
// Rendering for terminals (build.rs, `axc`) via codespan-reporting.

impl Diagnostic {
    /// Renders the diagnostic the way rustc does: `error[E0008]: message`, the
    /// `--> file:line:col` pointer, the source line with carets under the primary span and
    /// its label, any secondary labels, and `= help: …`.
    ///
    /// `source` must be the text the spans refer to; spans that fall outside it (or inside a
    /// UTF-8 character) are clamped, never a panic. ANSI colours only when `color` is set, so
    /// that output piped to a file or compared in a test stays plain.
    pub fn render(&self, file_name: &str, source: &str, color: bool) -> String {
        let mut buffer = new_buffer(color);
        self.write_to(&mut buffer, file_name, source);
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    }

    /// Writes the rendering into `buffer`; falls back to a plain line if codespan fails.
    fn write_to(&self, buffer: &mut Buffer, file_name: &str, source: &str) {
        let file = SimpleFile::new(file_name, source);
        let report = self.to_report(source);
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        if term::emit(buffer, &config, &file, &report).is_err() {
            // Only reachable if codespan rejects a clamped span; say what we can.
            let _ = writeln!(
                buffer,
                "error[{}]: {}\n --> {file_name}",
                self.code.as_str(),
                self.message
            );
        }
    }

    /// The codespan-reporting form of this diagnostic, spans clamped to `source`.
    fn to_report(&self, source: &str) -> Report<()> {
        let primary = ReportLabel::primary((), clamp_span(&self.primary.span, source))
            .with_message(&self.primary.message);
        let secondary = self.secondary.iter().map(|label| {
            ReportLabel::secondary((), clamp_span(&label.span, source)).with_message(&label.message)
        });
        Report::error()
            .with_message(&self.message)
            .with_code(self.code.as_str())
            .with_labels(std::iter::once(primary).chain(secondary).collect())
            .with_notes(self.help.iter().map(|h| format!("help: {h}")).collect())
    }

    /// Turns the diagnostic into `::core::compile_error! { "…" }`, spanned at `span`, so that
    /// rustc reports it with its caret under the offending token of a `network!` invocation.
    ///
    /// The message reads like rustc's own: the headline with the error code, then the label,
    /// then `= help: …`. Secondary labels are left out: without a span of their own they
    /// would only confuse.
    pub fn to_compile_error(&self, span: proc_macro2::Span) -> proc_macro2::TokenStream {
        let mut text = format!("{} [{}]", self.message, self.code.as_str());
        if !self.primary.message.is_empty() {
            text.push_str(&format!("\n  {}", self.primary.message));
        }
        if let Some(help) = &self.help {
            text.push_str(&format!("\n  = help: {help}"));
        }
        let mut message = proc_macro2::Literal::string(&text);
        message.set_span(span);
        quote::quote_spanned! { span=> ::core::compile_error! { #message } }
    }
}

/// Renders every diagnostic (see [`Diagnostic::render`]) followed by a summary line in
/// rustc's words: ``error: could not compile `file` due to 3 previous errors``.
///
/// The summary tells a reader scrolling back how much is wrong at a glance. An empty slice
/// renders as an empty string.
pub fn render_all(diags: &[Diagnostic], file_name: &str, source: &str, color: bool) -> String {
    if diags.is_empty() {
        return String::new();
    }
    let mut buffer = new_buffer(color);
    for diag in diags {
        diag.write_to(&mut buffer, file_name, source);
    }
    let count = match diags.len() {
        1 => "previous error".to_string(),
        n => format!("{n} previous errors"),
    };
    let _ = buffer.set_color(ColorSpec::new().set_fg(Some(Color::Red)).set_bold(true));
    let _ = write!(buffer, "error");
    let _ = buffer.set_color(ColorSpec::new().set_bold(true));
    let _ = write!(buffer, ": could not compile `{file_name}` due to {count}");
    let _ = buffer.reset();
    let _ = writeln!(buffer);
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

fn new_buffer(color: bool) -> Buffer {
    if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    }
}

/// `span` moved inside `source` and onto UTF-8 character boundaries, start <= end.
fn clamp_span(span: &Span, source: &str) -> Span {
    let len = source.len();
    let mut start = span.start.min(len);
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, len);
    while !source.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_code_once() {
        // A new variant makes this match fail to compile until it is added here, and
        // the count below fails until it is added to `Code::ALL`.
        let index = |code: Code| match code {
            Code::Syntax => 0,
            Code::UnknownStatement => 1,
            Code::UnknownActivation => 2,
            Code::UnknownInitializer => 3,
            Code::UnknownAttribute => 4,
            Code::BadArgument => 5,
            Code::BadAttributeValue => 6,
            Code::WidthMismatch => 7,
            Code::ZeroWidth => 8,
            Code::DropoutRate => 9,
            Code::WeightCount => 10,
            Code::LossNotLast => 11,
            Code::DuplicateLoss => 12,
            Code::LossMismatch => 13,
            Code::DuplicateLabel => 14,
            Code::DuplicateNetwork => 15,
            Code::UnknownInputWidth => 16,
            Code::EmptyNetwork => 17,
            Code::DuplicateAttribute => 18,
        };
        let indices: Vec<usize> = Code::ALL.iter().map(|&c| index(c)).collect();
        assert_eq!(indices, (0..19).collect::<Vec<_>>());
        let mut printed: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        printed.dedup();
        assert_eq!(printed.len(), Code::ALL.len());
    }

    fn width_mismatch() -> Diagnostic {
        Diagnostic::new(
            Code::WidthMismatch,
            44..47,
            "expected input width 64, found 784",
        )
        .label("this layer expects 784 inputs")
        .secondary(12..14, "the previous layer outputs 64 here")
        .help("write `dense 64->128`, or `dense 128` to infer it")
    }

    const SOURCE: &str = "N {\n  dense 64 relu;\n  dropout 0.5;\n  dense 784->128\n}\n";

    #[test]
    fn render_is_rustc_style() {
        assert_eq!(&SOURCE[44..47], "784");
        assert_eq!(&SOURCE[12..14], "64");
        let text = width_mismatch().render("mlp.nn", SOURCE, false);
        let expected = "\
error[E0008]: expected input width 64, found 784
  --> mlp.nn:4:9
  |
2 |   dense 64 relu;
  |         -- the previous layer outputs 64 here
3 |   dropout 0.5;
4 |   dense 784->128
  |         ^^^ this layer expects 784 inputs
  |
  = help: write `dense 64->128`, or `dense 128` to infer it

";
        assert_eq!(text, expected, "\n{text}");
        assert!(!text.contains('\u{1b}'));
        assert!(width_mismatch()
            .render("mlp.nn", SOURCE, true)
            .contains('\u{1b}'));
    }

    #[test]
    fn render_all_ends_with_a_summary() {
        let one = render_all(&[width_mismatch()], "mlp.nn", SOURCE, false);
        assert!(one.ends_with("error: could not compile `mlp.nn` due to previous error\n"));
        let two = render_all(
            &[width_mismatch(), width_mismatch()],
            "mlp.nn",
            SOURCE,
            false,
        );
        assert_eq!(two.matches("error[E0008]").count(), 2);
        assert!(two.ends_with("due to 2 previous errors\n"), "{two}");
        assert_eq!(render_all(&[], "mlp.nn", SOURCE, false), "");
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // reversed spans are one of the degenerate cases
    fn degenerate_spans_do_not_panic() {
        let source = "é\nü";
        for span in [
            0..0,
            1..2,
            3..1,
            100..200,
            0..usize::MAX,
            usize::MAX..usize::MAX,
        ] {
            let d = Diagnostic::new(Code::Syntax, span.clone(), "m").secondary(span, "s");
            assert!(d.render("f", source, false).contains("error[E0001]: m"));
            assert!(d.render("f", "", false).contains("error[E0001]: m"));
        }
    }

    #[test]
    fn compile_error_is_spanned_and_reads_well() {
        let tokens: proc_macro2::TokenStream = "dense 784->128".parse().expect("valid tokens");
        let span = tokens
            .into_iter()
            .nth(1)
            .map(|t| t.span())
            .expect("a second token");
        let out = width_mismatch().to_compile_error(span);
        let text = out.to_string();
        assert!(text.starts_with(":: core :: compile_error !"), "{text}");
        let literal = out
            .clone()
            .into_iter()
            .find_map(|t| match t {
                proc_macro2::TokenTree::Group(g) => g.stream().into_iter().next(),
                _ => None,
            })
            .expect("a message literal");
        let lit: syn::LitStr = syn::parse2(literal.clone().into()).expect("a string literal");
        assert_eq!(
            lit.value(),
            "expected input width 64, found 784 [E0008]\n  this layer expects 784 inputs\n  = help: write `dense 64->128`, or `dense 128` to infer it"
        );
        for token in out.into_iter().chain(std::iter::once(literal)) {
            assert_eq!(token.span().start(), span.start());
        }
    }

    proptest::proptest! {
        #[test]
        fn rendering_never_panics(
            source in ".{0,40}",
            start in 0usize..60,
            len in 0usize..60,
            help in proptest::option::of(".{0,10}"),
        ) {
            let mut d = Diagnostic::new(Code::Syntax, start..start + len, "m")
                .label("l")
                .secondary(start + len..start, "s");
            d.help = help;
            let text = render_all(&[d.clone()], "f.nn", &source, false);
            proptest::prop_assert!(text.starts_with("error[E0001]: m"));
            let _ = d.to_compile_error(proc_macro2::Span::call_site());
        }
    }
}
