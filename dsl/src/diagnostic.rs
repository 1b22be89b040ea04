//! One diagnostic type for every mistake in a source, and its two renderings:
//! rustc-style text for terminals (build.rs, `axc`) and `compile_error!` for the macro.

use std::io::Write as _;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label as ReportLabel};
use codespan_reporting::files::{self, Files};
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
    /// A width of zero: a layer or the input 0 units wide, a convolution with 0 channels.
    /// (A width that is not a whole number, or is negative or too large, is a
    /// [`Code::BadArgument`]; a kernel, stride or window of 0 a [`Code::BadAttributeValue`]
    /// or [`Code::BadArgument`].)
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
    /// A network or label name that cannot be a Rust identifier (`self`, `crate`, `_`, …).
    ReservedName,
    /// A network with more layers, parameters or activations than the compiler's limits.
    TooLarge,
    /// A layer after a value whose rank it cannot take: `dense` after a `[C, H, W]` value,
    /// `conv2d` on a vector.
    RankMismatch,
    /// A convolution's kernel or a pooling window longer than its padded input along some
    /// axis: the layer would have no output.
    WindowTooLarge,
    /// Shapes a block cannot join: a residual body that changes the shape without a
    /// shortcut, branches that disagree, a repeated block that changes the shape.
    BlockShape,
    /// A block written wrongly: a missing or extra body, a body that computes nothing, a
    /// repeat count of 0, a body after a layer, a loss inside a block.
    BlockForm,
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
        Code::ReservedName,
        Code::TooLarge,
        Code::RankMismatch,
        Code::WindowTooLarge,
        Code::BlockShape,
        Code::BlockForm,
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
            Code::ReservedName => "E0021",
            Code::TooLarge => "E0022",
            Code::RankMismatch => "E0023",
            Code::WindowTooLarge => "E0024",
            Code::BlockShape => "E0025",
            Code::BlockForm => "E0026",
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

/// How many diagnostics of one source are shown; past this, one line says how many more
/// there are. A source with thousands of mistakes (a generated file gone wrong, a paste
/// into the wrong file) then prints a screenful, not megabytes, and the first mistakes,
/// which often cause the rest, stay in view.
pub const MAX_SHOWN: usize = 50;

/// A source line longer than this many characters is not printed whole under a
/// diagnostic: only windows of [`WINDOW`] characters on each side of each label's ends,
/// the cuts marked `…`.
pub const MAX_LINE_CHARS: usize = 100;

/// Characters kept on each side of a label's start and end on a cut line.
pub const WINDOW: usize = 40;

impl Diagnostic {
    /// Renders the diagnostic the way rustc does: `error[E0008]: message`, the
    /// `--> file:line:col` pointer, the source line with carets under the primary span and
    /// its label, any secondary labels, and `= help: …`.
    ///
    /// `source` must be the text the spans refer to; spans that fall outside it (or inside a
    /// UTF-8 character) are clamped, never a panic. ANSI colours only when `color` is set, so
    /// that output piped to a file or compared in a test stays plain.
    ///
    /// What is shown of the source stays readable and small whatever the source: a line
    /// longer than [`MAX_LINE_CHARS`] is cut to windows around the labels, and control and
    /// invisible characters are shown escaped (`\0`, `\u{feff}`), with the carets under
    /// their escapes. Line and column numbers are those of the real source.
    pub fn render(&self, file_name: &str, source: &str, color: bool) -> String {
        let mut buffer = new_buffer(color);
        self.write_to(&mut buffer, file_name, &Lines::new(source));
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    }

    /// Writes the rendering into `buffer`; falls back to a plain line if codespan fails.
    fn write_to(&self, buffer: &mut Buffer, file_name: &str, lines: &Lines<'_>) {
        let labels: Vec<(Span, &str, bool)> = std::iter::once((&self.primary, true))
            .chain(self.secondary.iter().map(|l| (l, false)))
            .map(|(l, primary)| {
                (
                    clamp_span(&l.span, lines.source),
                    l.message.as_str(),
                    primary,
                )
            })
            .collect();
        let ends: Vec<usize> = labels.iter().flat_map(|(s, ..)| [s.start, s.end]).collect();
        let view = View::new(file_name, lines, &ends);
        let report_labels = labels
            .iter()
            .map(|(span, message, primary)| {
                let span = view.map(span.start)..view.map(span.end);
                let label = if *primary {
                    ReportLabel::primary((), span)
                } else {
                    ReportLabel::secondary((), span)
                };
                label.with_message(*message)
            })
            .collect();
        let report = Report::error()
            .with_message(&self.message)
            .with_code(self.code.as_str())
            .with_labels(report_labels)
            .with_notes(self.help.iter().map(|h| format!("help: {h}")).collect());
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        if term::emit(buffer, &config, &view, &report).is_err() {
            // Only reachable if codespan rejects a mapped span; say what we can.
            let _ = writeln!(
                buffer,
                "error[{}]: {}\n --> {file_name}",
                self.code.as_str(),
                self.message
            );
        }
    }

    /// Turns the diagnostic into `::core::compile_error! { "…" }`, spanned at `span`, so that
    /// rustc reports it with its caret under the offending token of a `network!` invocation.
    ///
    /// The message reads like rustc's own: the headline with the error code, then the label,
    /// then `= note: …` per secondary label, quoting the text of `source` it points at
    /// (``the previous layer outputs 64 here: `dense 64` ``), since `compile_error!` has one
    /// span only, then `= help: …`.
    pub fn to_compile_error(
        &self,
        span: proc_macro2::Span,
        source: &str,
    ) -> proc_macro2::TokenStream {
        let mut text = format!("{} [{}]", self.message, self.code.as_str());
        if !self.primary.message.is_empty() {
            text.push_str(&format!("\n  {}", self.primary.message));
        }
        for label in &self.secondary {
            match source.get(label.span.clone()).map(str::trim) {
                Some(quoted)
                    if !quoted.is_empty() && quoted.len() <= 60 && !quoted.contains('\n') =>
                {
                    text.push_str(&format!("\n  = note: {}: `{quoted}`", label.message));
                }
                _ => text.push_str(&format!("\n  = note: {}", label.message)),
            }
        }
        if let Some(help) = &self.help {
            text.push_str(&format!("\n  = help: {help}"));
        }
        compile_error(&text, span)
    }
}

/// `::core::compile_error! { "text" }` at `span`.
fn compile_error(text: &str, span: proc_macro2::Span) -> proc_macro2::TokenStream {
    let mut message = proc_macro2::Literal::string(text);
    message.set_span(span);
    quote::quote_spanned! { span=> ::core::compile_error! { #message } }
}

/// The line that stands for the diagnostics past the first [`MAX_SHOWN`] of `total`.
pub fn not_shown(total: usize) -> String {
    format!(
        "aborting after {MAX_SHOWN} errors: {} more not shown; fix these first",
        total.saturating_sub(MAX_SHOWN)
    )
}

/// The `compile_error!`s of a `network!` invocation whose text is `source`: one per
/// diagnostic, each at the token `span_of` maps its primary span to, at most [`MAX_SHOWN`] of them, then one saying how
/// many more there are (at the first one left out).
pub fn compile_errors(
    diags: &[Diagnostic],
    source: &str,
    span_of: impl Fn(&Span) -> proc_macro2::Span,
) -> proc_macro2::TokenStream {
    let mut out: proc_macro2::TokenStream = diags
        .iter()
        .take(MAX_SHOWN)
        .map(|d| d.to_compile_error(span_of(&d.primary.span), source))
        .collect();
    if let Some(first_left_out) = diags.get(MAX_SHOWN) {
        out.extend(compile_error(
            &not_shown(diags.len()),
            span_of(&first_left_out.primary.span),
        ));
    }
    out
}

/// Renders the diagnostics (see [`Diagnostic::render`]) followed by a summary line in
/// rustc's words: ``error: could not compile `file` due to 3 previous errors``.
///
/// The summary tells a reader scrolling back how much is wrong at a glance. Only the first
/// [`MAX_SHOWN`] are rendered; past them one line says how many were left out, and the
/// summary still counts them all. An empty slice renders as an empty string.
pub fn render_all(diags: &[Diagnostic], file_name: &str, source: &str, color: bool) -> String {
    if diags.is_empty() {
        return String::new();
    }
    let mut buffer = new_buffer(color);
    let lines = Lines::new(source);
    for diag in diags.iter().take(MAX_SHOWN) {
        diag.write_to(&mut buffer, file_name, &lines);
    }
    if diags.len() > MAX_SHOWN {
        error_line(&mut buffer, &not_shown(diags.len()));
    }
    let count = match diags.len() {
        1 => "previous error".to_string(),
        n => format!("{n} previous errors"),
    };
    error_line(
        &mut buffer,
        &format!("could not compile `{file_name}` due to {count}"),
    );
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// `error: text`, coloured as rustc colours its summary lines.
fn error_line(buffer: &mut Buffer, text: &str) {
    let _ = buffer.set_color(ColorSpec::new().set_fg(Some(Color::Red)).set_bold(true));
    let _ = write!(buffer, "error");
    let _ = buffer.set_color(ColorSpec::new().set_bold(true));
    let _ = write!(buffer, ": {text}");
    let _ = buffer.reset();
    let _ = writeln!(buffer);
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

/// Whether a character would be invisible, or move the cursor, if printed as itself:
/// control characters other than tab, whitespace other than the space and tab, and Unicode's
/// format characters (the byte-order mark, zero-width spaces and joiners, bidirectional
/// overrides).
pub fn is_invisible(c: char) -> bool {
    (c.is_control() && c != '\t')
        || (c.is_whitespace() && c != ' ' && c != '\t')
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// `text` with every [invisible](is_invisible) character escaped as in a Rust string
/// literal (`\0`, `\r`, `\u{feff}`), so that a message can show it.
pub fn escape_invisible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    out
}

fn push_visible(out: &mut String, c: char) {
    if !is_invisible(c) {
        out.push(c);
        return;
    }
    match c {
        '\0' => out.push_str("\\0"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// The start of every line of a source, computed once for all its diagnostics.
struct Lines<'s> {
    source: &'s str,
    /// Byte offset of each line's first character.
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    fn new(source: &'s str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { source, starts }
    }

    /// The index of the line that holds byte `at`.
    fn index(&self, at: usize) -> usize {
        self.starts
            .partition_point(|&start| start <= at)
            .saturating_sub(1)
    }

    /// The text of line `index`, without its `\n` or `\r\n`, and where it starts.
    fn line(&self, index: usize) -> (usize, &'s str) {
        let start = self.starts[index];
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.source.len(), |&next| next - 1);
        let text = &self.source[start..end.max(start)];
        (start, text.strip_suffix('\r').unwrap_or(text))
    }
}

/// What codespan is shown of a source for one diagnostic: the lines from the first label to
/// the last, each cut to windows around the label ends on it if it is long, with invisible
/// characters escaped. It answers codespan's questions about lines and columns with the
/// real source's numbers, so the `-->` pointer and the gutter stay true.
struct View<'a> {
    name: &'a str,
    /// The shown text: one line per real line, each ending in `\n`.
    text: String,
    /// Where each shown line starts in `text`.
    starts: Vec<usize>,
    /// The real index of the first shown line.
    first_line: usize,
    /// `(real byte, shown byte, real column number)` of every label end.
    ends: Vec<(usize, usize, usize)>,
}

impl<'a> View<'a> {
    fn new(name: &'a str, lines: &Lines<'_>, ends: &[usize]) -> Self {
        let line_of: Vec<usize> = ends.iter().map(|&at| lines.index(at)).collect();
        let first_line = line_of.iter().copied().min().unwrap_or(0);
        let last_line = line_of.iter().copied().max().unwrap_or(0);
        let mut view = View {
            name,
            text: String::new(),
            starts: Vec::new(),
            first_line,
            ends: Vec::new(),
        };
        for index in first_line..=last_line {
            let (start, text) = lines.line(index);
            // The label ends on this line, as character indices into it.
            let mut here: Vec<(usize, usize)> = ends
                .iter()
                .zip(&line_of)
                .filter(|&(_, &line)| line == index)
                .map(|(&at, _)| {
                    let within = at.saturating_sub(start).min(text.len());
                    (at, text[..floor(text, within)].chars().count())
                })
                .collect();
            here.sort_unstable();
            here.dedup();
            view.push_line(text, &here);
        }
        view
    }

    /// Appends one line, cut around `ends` (real byte, character index) if it is long.
    fn push_line(&mut self, text: &str, ends: &[(usize, usize)]) {
        let line_start = self.text.len();
        self.starts.push(line_start);
        let chars: Vec<char> = text.chars().collect();
        let keep = kept(chars.len(), ends.iter().map(|&(_, i)| i));
        let mut shown_at = vec![None; ends.len()];
        let mark = |view: &mut Self, index: usize, shown_at: &mut Vec<Option<usize>>| {
            for (slot, &(_, i)) in shown_at.iter_mut().zip(ends) {
                if i == index && slot.is_none() {
                    *slot = Some(view.text.len());
                }
            }
        };
        for (n, range) in keep.iter().enumerate() {
            if range.start > 0 || n > 0 {
                self.text.push('…');
            }
            for index in range.clone() {
                mark(self, index, &mut shown_at);
                push_visible(&mut self.text, chars[index]);
            }
            mark(self, range.end, &mut shown_at);
        }
        if keep.last().map_or(0, |r| r.end) < chars.len() {
            self.text.push('…');
        }
        for (&(real, index), shown) in ends.iter().zip(shown_at) {
            self.ends
                .push((real, shown.unwrap_or(self.text.len()), index + 1));
        }
        self.text.push('\n');
    }

    /// Where real byte `at` (a label end) is shown.
    fn map(&self, at: usize) -> usize {
        self.ends
            .iter()
            .find(|&&(real, ..)| real == at)
            .map_or(0, |&(_, shown, _)| shown)
    }
}

/// The character ranges of a line of `len` characters that are shown: all of it if it is
/// short, else [`WINDOW`] characters around each label end (merged where they meet), or its
/// first [`MAX_LINE_CHARS`] if no label ends on it.
fn kept(len: usize, ends: impl Iterator<Item = usize>) -> Vec<std::ops::Range<usize>> {
    if len <= MAX_LINE_CHARS {
        return std::iter::once(0..len).collect();
    }
    let mut windows: Vec<std::ops::Range<usize>> = ends
        .map(|i| i.saturating_sub(WINDOW)..(i + WINDOW).min(len))
        .collect();
    if windows.is_empty() {
        return std::iter::once(0..MAX_LINE_CHARS).collect();
    }
    windows.sort_by_key(|w| w.start);
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for w in windows {
        match merged.last_mut() {
            // Windows a few characters apart are joined: a `…` would hide almost nothing.
            Some(last) if w.start <= last.end + 3 => last.end = last.end.max(w.end),
            _ => merged.push(w),
        }
    }
    merged
}

/// The largest char boundary of `text` at or before `at`.
fn floor(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl<'a> Files<'a> for View<'_> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, files::Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, files::Error> {
        Ok(self
            .starts
            .partition_point(|&start| start <= byte_index)
            .saturating_sub(1))
    }

    fn line_number(&'a self, (): (), line_index: usize) -> Result<usize, files::Error> {
        Ok(self.first_line + line_index + 1)
    }

    fn column_number(
        &'a self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        // Label ends know their real column; anything else is counted in the shown text.
        if let Some(&(_, _, column)) = self.ends.iter().find(|&&(_, shown, _)| shown == byte_index)
        {
            return Ok(column);
        }
        let range = self.line_range((), line_index)?;
        Ok(files::column_index(&self.text, range, byte_index) + 1)
    }

    fn line_range(
        &'a self,
        (): (),
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, files::Error> {
        let start = *self
            .starts
            .get(line_index)
            .ok_or(files::Error::LineTooLarge {
                given: line_index,
                max: self.starts.len().saturating_sub(1),
            })?;
        let end = self
            .starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(self.text.len());
        Ok(start..end)
    }
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
            Code::ReservedName => 19,
            Code::TooLarge => 20,
            Code::RankMismatch => 21,
            Code::WindowTooLarge => 22,
            Code::BlockShape => 23,
            Code::BlockForm => 24,
        };
        let indices: Vec<usize> = Code::ALL.iter().map(|&c| index(c)).collect();
        assert_eq!(indices, (0..25).collect::<Vec<_>>());
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
        // The secondary label (bytes 12..14) quotes the source it points at.
        let source = "N {dense 2->64; dense 784->128 }";
        let out = width_mismatch().to_compile_error(span, source);
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
            "expected input width 64, found 784 [E0008]\n  this layer expects 784 inputs\n  = note: the previous layer outputs 64 here: `64`\n  = help: write `dense 64->128`, or `dense 128` to infer it"
        );
        for token in out.into_iter().chain(std::iter::once(literal)) {
            assert_eq!(token.span().start(), span.start());
        }
    }

    /// A one-line source of `n` unknown statements, the shape that once took minutes.
    fn one_long_line(n: usize) -> String {
        format!("N {{ input 2; {} }}", "bogus; ".repeat(n))
    }

    #[test]
    fn a_long_line_is_cut_to_a_window_around_the_span() {
        let source = format!(
            "N {{ input 2; {}dense 3 rleu; {}}}",
            "relu; ".repeat(500),
            "relu; ".repeat(500)
        );
        let at = source.find("rleu").unwrap();
        let d = Diagnostic::new(
            Code::UnknownActivation,
            at..at + 4,
            "unknown activation `rleu`",
        )
        .label("not an activation");
        let text = d.render("long.nn", &source, false);
        // The pointer gives the real column; the shown line is a window with `…` at both cuts.
        assert!(
            text.contains(&format!("--> long.nn:1:{}", at + 1)),
            "{text}"
        );
        let shown = text.lines().find(|l| l.starts_with("1 |")).unwrap();
        assert!(shown.chars().count() < MAX_LINE_CHARS + 10, "{shown}");
        assert!(
            shown.starts_with("1 | …") && shown.ends_with('…'),
            "{shown}"
        );
        let carets = text.lines().find(|l| l.contains('^')).unwrap();
        assert_eq!(
            shown.find("rleu").map(|i| shown[..i].chars().count()),
            carets.find('^'),
            "{text}"
        );
        assert!(carets.ends_with("^^^^ not an activation"), "{text}");
        // A short line is shown whole, as before.
        let short = "N { input 2; dense 3 rleu }";
        let d = Diagnostic::new(Code::UnknownActivation, 21..25, "m");
        assert!(d
            .render("s.nn", short, false)
            .contains(&format!("1 | {short}\n")));
    }

    #[test]
    fn labels_far_apart_on_one_line_get_a_window_each() {
        let source = format!("N {{ input 4; {}dense 5->3 }}", "relu; ".repeat(100));
        let (first, second) = (source.find('4').unwrap(), source.find("5->").unwrap());
        let d = Diagnostic::new(
            Code::WidthMismatch,
            second..second + 1,
            "expected input width 4, found 5",
        )
        .label("this layer takes 5 inputs")
        .secondary(first..first + 1, "but the previous layer outputs 4");
        let text = d.render("far.nn", &source, false);
        let shown = text.lines().find(|l| l.starts_with("1 |")).unwrap();
        assert!(
            shown.contains("input 4;") && shown.contains("dense 5->3"),
            "{text}"
        );
        assert_eq!(shown.matches('…').count(), 1, "{text}");
        assert!(text.contains("but the previous layer outputs 4"), "{text}");
        assert!(text.contains("--> far.nn:1:620"), "{text}");
    }

    #[test]
    fn invisible_characters_are_escaped_and_the_caret_stays_under_them() {
        for (bad, shown) in [
            ("\0", "\\0"),
            ("\u{feff}", "\\u{feff}"),
            ("\u{202e}", "\\u{202e}"),
            ("\u{1b}", "\\u{1b}"),
        ] {
            let source = format!("N {{ input 2;{bad} dense 3 }}");
            let at = source.find(bad).unwrap();
            let d = Diagnostic::new(Code::Syntax, at..at + bad.len(), "m").label("here");
            let text = d.render("x.nn", &source, false);
            let line = text.lines().find(|l| l.starts_with("1 |")).unwrap();
            assert_eq!(
                line,
                format!("1 | N {{ input 2;{shown} dense 3 }}"),
                "{text}"
            );
            let carets = text.lines().find(|l| l.contains('^')).unwrap();
            let column = line.find(shown).unwrap();
            assert_eq!(carets.find('^'), Some(column), "{text}");
            assert!(
                carets.contains(&format!("{} here", "^".repeat(shown.len()))),
                "{text}"
            );
            // The pointer still counts characters of the real source.
            assert!(text.contains("--> x.nn:1:13"), "{text}");
        }
        assert_eq!(escape_invisible("a\u{feff}b\0\r\t"), "a\\u{feff}b\\0\\r\t");
    }

    #[test]
    fn lines_and_columns_stay_those_of_the_source() {
        let source = "/// docs\r\nN {\r\n  input 2;\r\n\r\n\r\n  dense 3 rleu\r\n}\r\n";
        let at = source.find("rleu").unwrap();
        let first = source.find('2').unwrap();
        let d = Diagnostic::new(Code::UnknownActivation, at..at + 4, "m")
            .label("p")
            .secondary(first..first + 1, "s");
        let text = d.render("crlf.nn", source, false);
        assert!(text.contains("--> crlf.nn:6:11"), "{text}");
        assert!(text.contains("3 |   input 2;\n"), "{text}");
        assert!(text.contains("6 |   dense 3 rleu\n"), "{text}");
        assert!(!text.contains('\r'), "{text:?}");
    }

    #[test]
    fn thousands_of_errors_on_one_long_line_render_quickly_and_briefly() {
        let source = one_long_line(8_000);
        let diags = crate::check_source(&source).unwrap_err();
        assert_eq!(diags.len(), 8_000);
        let start = std::time::Instant::now();
        let text = render_all(&diags, "long.nn", &source, false);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(text.matches("error[E0002]").count(), MAX_SHOWN);
        assert!(text.len() < MAX_SHOWN * 1_000, "{} bytes", text.len());
        assert!(
            text.ends_with(&format!(
                "error: aborting after {MAX_SHOWN} errors: 7950 more not shown; fix these first\n\
                 error: could not compile `long.nn` due to 8000 previous errors\n"
            )),
            "{}",
            &text[text.len() - 300..]
        );
    }

    #[test]
    fn the_macro_door_is_capped_too() {
        let diags = crate::check_source(&one_long_line(200)).unwrap_err();
        let out = compile_errors(&diags, "", |_| proc_macro2::Span::call_site()).to_string();
        assert_eq!(out.matches("compile_error").count(), MAX_SHOWN + 1);
        assert!(
            out.contains("aborting after 50 errors: 150 more not shown"),
            "{out}"
        );
        let few = compile_errors(&diags[..3], "", |_| proc_macro2::Span::call_site()).to_string();
        assert_eq!(few.matches("compile_error").count(), 3);
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
            let _ = d.to_compile_error(proc_macro2::Span::call_site(), &source);
        }
    }
}
