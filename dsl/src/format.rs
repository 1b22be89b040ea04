//! The canonical layout of axonal sources, for `axc fmt`: like rustfmt, one way to write
//! each network, so that diffs show changes of meaning and not of spacing.
//!
//! The rules, all decided by the tokens and never by the old layout (so formatting twice
//! changes nothing):
//!
//! - one blank line between networks; `///` docs on their own lines above what they document;
//! - a network whose body has at most three statements, no comments, no block statement
//!   and fits in 100 columns stays on one line:
//!   `pub And { dense 2->1 step weights=[0.5, 0.5] bias=-0.7 }`;
//! - otherwise one statement per line, indented by four spaces, `;` after every statement
//!   but the last and never after a block statement's final `}` (there it is optional);
//! - a block statement writes its head (`down: residual relu`) and then each body as
//!   ` {`, its statements one per line indented one level (four spaces) deeper by the same
//!   rules, and `}` at the head's indentation; a named body opens with ` name: {`, and the
//!   next body follows on the `}` line: `} shortcut: {`. An empty body is `{}`;
//! - inside a statement one space between words, none around `->`, `=`, `:` or inside
//!   brackets; `- 0.7` (as the macro renders it) becomes `-0.7`;
//! - a list written over several lines (a weight matrix, one row per line) keeps its rows,
//!   with the columns right-aligned;
//! - comments are kept: a comment at the end of a line stays there (aligned with its
//!   neighbours', but one space after a block's last `}`), a comment on its own line stays
//!   on its own line, and at most one blank line is kept between items, inside blocks as
//!   at the top level. A comment between a block statement's head and a body's `{` (or
//!   between one body's `}` and the next's `{`) moves to the start of that body, on its
//!   own line, as one right after a `{` does.
//!
//! The parser throws comments away, so this module lexes the source itself; it first
//! parses it, so it only ever formats a source that is valid.
//!
//! ```
//! let messy = "pub  Xor{input 2 ;hidden : dense 8 tanh;// the hidden layer\n dense 1 sigmoid ; mse;}";
//! let tidy = axonal_dsl::format::format(messy).unwrap();
//! assert_eq!(
//!     tidy,
//!     "pub Xor {\n    input 2;\n    hidden: dense 8 tanh; // the hidden layer\n    dense 1 sigmoid;\n    mse\n}\n"
//! );
//! assert_eq!(axonal_dsl::format::format(&tidy).unwrap(), tidy);
//! ```

use crate::diagnostic::{Code, Diagnostic};

/// How wide a one-line network may be.
const MAX_WIDTH: usize = 100;
/// Statements of a body, and continuation lines of a statement, are indented by this.
const INDENT: &str = "    ";

/// The canonical form of `source`, or its syntax error.
///
/// The result parses to the same networks as `source` and keeps every comment;
/// `format(&format(s)?)? == format(s)?`. It also keeps how the file is saved: a UTF-8 byte
/// order mark at the start stays there, and a source whose first line ends in `\r\n`
/// (Windows line endings) gets `\r\n` after every line; otherwise lines end in `\n`.
/// The spans of the errors point into `source` as given, mark and all.
///
/// ```
/// let windows = "\u{feff}N {\r\ninput 2;dense 1\r\n}";
/// assert_eq!(
///     axonal_dsl::format::format(windows).unwrap(),
///     "\u{feff}N { input 2; dense 1 }\r\n"
/// );
/// ```
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let (bom, text) = match source.strip_prefix(BOM) {
        Some(text) => (BOM, text),
        None => ("", source),
    };
    let shift = |mut d: Diagnostic| {
        for label in std::iter::once(&mut d.primary).chain(&mut d.secondary) {
            label.span = label.span.start + bom.len()..label.span.end + bom.len();
        }
        vec![d]
    };
    crate::parse::parse(text).map_err(shift)?;
    let tokens = lex(text).map_err(shift)?;
    let formatted = Printer { tokens, pos: 0 }.source();
    let crlf = text.find('\n').is_some_and(|at| text[..at].ends_with('\r'));
    let formatted = if crlf {
        // A block comment over several lines keeps its own line breaks: make them all one.
        formatted.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        formatted
    };
    Ok(format!("{bom}{formatted}"))
}

/// The byte order mark some Windows editors put at the start of a UTF-8 file.
const BOM: &str = "\u{feff}";

// ---------------------------------------------------------------------------------------
// Lexing: the grammar's tokens, plus the comments it skips.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    Arrow,
    Punct(char),
    /// `// …` or `//// …`
    LineComment,
    /// `/* … */`
    BlockComment,
    /// `/// …`
    DocComment,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// The text, normalized: comments without trailing spaces, numbers without spaces.
    text: String,
    /// How many line breaks stand between this token and the previous one.
    newlines: usize,
}

impl Token {
    fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }

    fn is(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }
}

fn lex(source: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut newlines = 0;
    let ident_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = match b {
            b'\n' => {
                newlines += 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'/' if source[i..].starts_with("/*") => {
                i = source[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |end| i + 2 + end + 2);
                Kind::BlockComment
            }
            b'/' if source[i..].starts_with("//") => {
                i = source[i..].find('\n').map_or(bytes.len(), |end| i + end);
                let doc =
                    source[start..].starts_with("///") && !source[start..].starts_with("////");
                if doc {
                    Kind::DocComment
                } else {
                    Kind::LineComment
                }
            }
            b'-' if source[i..].starts_with("->") => {
                i += 2;
                Kind::Arrow
            }
            b'-' | b'0'..=b'9' => {
                if b == b'-' {
                    // `- 0.7`: the macro puts a space between the sign and the digits.
                    i += 1;
                    while i < bytes.len() && b" \t\r\n".contains(&bytes[i]) {
                        i += 1;
                    }
                }
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                // `1x28x28`: dimensions, one token as in the grammar
                while i + 1 < bytes.len() && bytes[i] == b'x' && bytes[i + 1].is_ascii_digit() {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                // fraction and exponent, as the grammar has them
                if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                    let mut j = i + 1;
                    if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j].is_ascii_digit() {
                        i = j;
                        while i < bytes.len() && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                Kind::Number
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && ident_char(bytes[i]) {
                    i += 1;
                }
                Kind::Ident
            }
            b'{' | b'}' | b'(' | b')' | b'[' | b']' | b';' | b':' | b',' | b'=' => {
                i += 1;
                Kind::Punct(b as char)
            }
            _ => {
                // Unreachable after a successful parse; say so rather than guess.
                let end = start + source[start..].chars().next().map_or(1, char::len_utf8);
                return Err(
                    Diagnostic::new(Code::Syntax, start..end, "unexpected character")
                        .label("the formatter does not know this character"),
                );
            }
        };
        let raw = &source[start..i];
        let text = match kind {
            Kind::Number => raw.chars().filter(|c| !c.is_whitespace()).collect(),
            Kind::LineComment | Kind::DocComment => raw.trim_end().to_string(),
            _ => raw.to_string(),
        };
        tokens.push(Token {
            kind,
            text,
            newlines,
        });
        newlines = 0;
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------------------
// Printing.

/// A comment on a line of its own, and whether a blank line stood before it.
struct OwnLine {
    text: String,
    blank_before: bool,
}

/// One statement of a body with what surrounds it.
struct Stmt {
    /// `/// …` lines.
    docs: Vec<String>,
    /// Code tokens and comments inside the statement; a block statement's head.
    tokens: Vec<Token>,
    /// A block statement's bodies, in order; empty for a plain statement.
    bodies: Vec<Body>,
    /// A comment at the end of the statement's line.
    trailing: Option<String>,
    blank_before: bool,
}

enum BodyItem {
    Comment(OwnLine),
    Stmt(Stmt),
}

impl BodyItem {
    /// A comment moved to a line of its own.
    fn moved(comment: Token) -> Self {
        BodyItem::Comment(OwnLine {
            text: comment.text,
            blank_before: false,
        })
    }
}

/// One braced body of a block statement: `shortcut: { … }` or `{ … }`.
struct Body {
    name: Option<String>,
    items: Vec<BodyItem>,
}

struct Printer {
    tokens: Vec<Token>,
    pos: usize,
}

impl Printer {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    /// A comment right here on the same line as what came before, taken if present.
    fn same_line_comment(&mut self) -> Option<String> {
        match self.peek() {
            Some(t) if t.is_comment() && t.newlines == 0 => self.next().map(|t| t.text),
            _ => None,
        }
    }

    fn source(mut self) -> String {
        let mut out = String::new();
        let mut previous_was_network = false;
        let mut first = true;
        while let Some(token) = self.peek() {
            let blank = token.newlines >= 2;
            if token.is_comment() {
                let text = token.text.clone();
                self.pos += 1;
                if !first && (blank || previous_was_network) {
                    out.push('\n');
                }
                out += &text;
                out.push('\n');
                previous_was_network = false;
            } else {
                if !first && (blank || previous_was_network) {
                    out.push('\n');
                }
                self.network(&mut out);
                previous_was_network = true;
            }
            first = false;
        }
        out
    }

    fn network(&mut self, out: &mut String) {
        // `/// docs`, comments among them kept in place.
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::DocComment | Kind::LineComment | Kind::BlockComment => {
                    *out += &t.text;
                    out.push('\n');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        // Header: `pub`, `pub(crate)`, name, `{`; stray comments go above it.
        let mut header = String::new();
        let mut comments = Vec::new();
        while let Some(t) = self.next() {
            if t.is_comment() {
                comments.push(t.text);
                continue;
            }
            if t.is('{') {
                break;
            }
            if !(header.is_empty() || header.ends_with('(') || t.is('(') || t.is(')')) {
                header.push(' ');
            }
            header += &t.text;
        }
        for comment in comments {
            *out += &comment;
            out.push('\n');
        }
        let items = self.body();
        self.next(); // `}`
        let stmts: Vec<&Stmt> = items
            .iter()
            .filter_map(|item| match item {
                BodyItem::Stmt(s) => Some(s),
                BodyItem::Comment(_) => None,
            })
            .collect();
        let simple = stmts.len() == items.len()
            && stmts.len() <= 3
            && stmts.iter().all(|s| {
                s.docs.is_empty()
                    && s.trailing.is_none()
                    && s.bodies.is_empty()
                    && !s.tokens.iter().any(Token::is_comment)
            });
        let one_line = if stmts.is_empty() && items.is_empty() {
            Some(format!("{header} {{}}"))
        } else if simple {
            let texts: Vec<String> = stmts.iter().map(|s| statement(&s.tokens, 0)).collect();
            let line = format!("{header} {{ {} }}", texts.join("; "));
            (!line.contains('\n') && line.chars().count() <= MAX_WIDTH).then_some(line)
        } else {
            None
        };
        match one_line {
            Some(line) => *out += &line,
            None => {
                *out += &header;
                *out += " {\n";
                body_lines(out, &items, 1);
                out.push('}');
            }
        }
        if let Some(comment) = self.same_line_comment() {
            out.push(' ');
            *out += &comment;
        }
        out.push('\n');
    }

    /// The items of a body, up to (not including) its `}`.
    fn body(&mut self) -> Vec<BodyItem> {
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let blank = |t: &Token, first: bool| !first && t.newlines >= 2;
            // Comments on lines of their own, then docs, then the statement.
            while let Some(t) = self.peek().filter(|t| t.is_comment()) {
                let line = OwnLine {
                    text: t.text.clone(),
                    blank_before: blank(t, first),
                };
                items.push(BodyItem::Comment(line));
                self.pos += 1;
                first = false;
            }
            let Some(t) = self.peek() else { break };
            if t.is('}') {
                break;
            }
            let blank_before = blank(t, first);
            first = false;
            let mut docs = Vec::new();
            let mut stray = Vec::new();
            while let Some(t) = self.peek() {
                match t.kind {
                    Kind::DocComment => docs.push(t.text.clone()),
                    Kind::LineComment | Kind::BlockComment => stray.push(t.text.clone()),
                    _ => break,
                }
                self.pos += 1;
            }
            // Comments between a statement's docs and its code go above the docs.
            items.extend(stray.into_iter().map(|text| {
                BodyItem::Comment(OwnLine {
                    text,
                    blank_before: false,
                })
            }));
            let mut tokens = Vec::new();
            let mut depth = 0usize;
            while let Some(t) = self.peek() {
                if depth == 0 && (t.is(';') || t.is('}') || t.is('{')) {
                    break;
                }
                if t.is('(') || t.is('[') {
                    depth += 1;
                } else if t.is(')') || t.is(']') {
                    depth = depth.saturating_sub(1);
                }
                tokens.push(t.clone());
                self.pos += 1;
            }
            // Comments after the statement's last word: the first, if on the same line, trails it.
            let code_end = tokens
                .iter()
                .rposition(|t| !t.is_comment())
                .map_or(0, |i| i + 1);
            let mut tail: Vec<Token> = tokens.split_off(code_end);
            let mut bodies = Vec::new();
            if self.peek().is_some_and(|t| t.is('{')) {
                // A block statement: `name :` right before the `{` names its first body.
                let mut name = None;
                let named = tokens.last().is_some_and(|t| t.is(':'))
                    && tokens.len() >= 3
                    && tokens[..tokens.len() - 1]
                        .iter()
                        .rposition(|t| !t.is_comment())
                        .is_some_and(|at| tokens[at].kind == Kind::Ident);
                if named {
                    tokens.pop(); // `:`
                    let at = tokens
                        .iter()
                        .rposition(|t| !t.is_comment())
                        .unwrap_or_default();
                    let mut moved = tokens.split_off(at);
                    name = Some(moved.remove(0).text);
                    let head_end = tokens
                        .iter()
                        .rposition(|t| !t.is_comment())
                        .map_or(0, |i| i + 1);
                    let mut before = tokens.split_off(head_end);
                    before.append(&mut moved);
                    before.append(&mut tail);
                    tail = before;
                }
                bodies = self.bodies(name, tail);
                tail = self.comments_before_semi();
            }
            let mut tail = tail.into_iter().peekable();
            let mut trailing = tail.next_if(|t| t.newlines == 0).map(|t| t.text);
            let after: Vec<OwnLine> = tail
                .map(|t| OwnLine {
                    text: t.text,
                    blank_before: t.newlines >= 2,
                })
                .collect();
            let semi = self.peek().is_some_and(|t| t.is(';'));
            if semi {
                self.pos += 1;
            }
            if (semi || !bodies.is_empty()) && trailing.is_none() && after.is_empty() {
                trailing = self.same_line_comment();
            }
            items.push(BodyItem::Stmt(Stmt {
                docs,
                tokens,
                bodies,
                trailing,
                blank_before,
            }));
            items.extend(after.into_iter().map(BodyItem::Comment));
        }
        items
    }

    /// The bodies of a block statement, from the `{` of the first, named `name`, to the
    /// `}` of the last; `moved` are comments that stood before the first `{` and go to
    /// the start of its body.
    fn bodies(&mut self, mut name: Option<String>, mut moved: Vec<Token>) -> Vec<Body> {
        let mut bodies = Vec::new();
        loop {
            self.pos += 1; // `{`
            let mut items: Vec<BodyItem> = moved.drain(..).map(BodyItem::moved).collect();
            items.extend(self.body());
            self.pos += 1; // `}`
            bodies.push(Body { name, items });
            // Another body follows: `{` or `name: {`, perhaps after comments.
            let code: Vec<usize> = (self.pos..self.tokens.len())
                .filter(|&i| !self.tokens[i].is_comment())
                .take(3)
                .collect();
            let is = |k: usize, c: char| code.get(k).is_some_and(|&i| self.tokens[i].is(c));
            let open = if is(0, '{') {
                name = None;
                code[0]
            } else if is(1, ':') && is(2, '{') && self.tokens[code[0]].kind == Kind::Ident {
                name = Some(self.tokens[code[0]].text.clone());
                code[2]
            } else {
                return bodies;
            };
            moved = self.tokens[self.pos..open]
                .iter()
                .filter(|t| t.is_comment())
                .cloned()
                .collect();
            self.pos = open;
        }
    }

    /// After a block statement's last `}`: if an optional `;` follows, the comments before
    /// it, taken; otherwise none.
    fn comments_before_semi(&mut self) -> Vec<Token> {
        let Some(semi) = (self.pos..self.tokens.len()).find(|&i| !self.tokens[i].is_comment())
        else {
            return Vec::new();
        };
        if !self.tokens[semi].is(';') {
            return Vec::new();
        }
        let comments = self.tokens[self.pos..semi].to_vec();
        self.pos = semi;
        comments
    }
}

/// Writes the lines of a multi-line body whose statements are indented `level` times,
/// trailing comments aligned within each run of consecutive statements that have one.
fn body_lines(out: &mut String, items: &[BodyItem], level: usize) {
    let indent = INDENT.repeat(level);
    let last_stmt = items.iter().rposition(|i| matches!(i, BodyItem::Stmt(_)));
    let lines: Vec<Option<String>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            BodyItem::Stmt(s) => {
                let mut text = stmt_text(s, level);
                if Some(i) != last_stmt && s.bodies.is_empty() {
                    text.push(';');
                }
                Some(text)
            }
            BodyItem::Comment(_) => None,
        })
        .collect();
    // The column where a statement's text ends: later lines of a statement carry their
    // indentation, the first does not.
    let end_column = |text: &str| match text.rsplit_once('\n') {
        Some((_, last)) => last.chars().count(),
        None => indent.len() + text.chars().count(),
    };
    let mut i = 0;
    while i < items.len() {
        // The run of statements with trailing comments that starts here. The comment after
        // a block statement's `}` stands alone.
        let mut end = i;
        while end < items.len()
            && matches!(&items[end], BodyItem::Stmt(s) if s.trailing.is_some() && s.bodies.is_empty() && (end == i || (!s.blank_before && s.docs.is_empty())))
        {
            end += 1;
        }
        let column = lines[i..end]
            .iter()
            .flatten()
            .map(|text| end_column(text))
            .max()
            .unwrap_or(0);
        for j in i..end.max(i + 1) {
            match &items[j] {
                BodyItem::Comment(c) => {
                    if c.blank_before {
                        out.push('\n');
                    }
                    *out += &indent;
                    *out += &c.text;
                }
                BodyItem::Stmt(s) => {
                    if s.blank_before {
                        out.push('\n');
                    }
                    for doc in &s.docs {
                        *out += &indent;
                        *out += doc;
                        out.push('\n');
                    }
                    let text = lines[j].as_deref().unwrap_or_default();
                    *out += &indent;
                    *out += text;
                    if let Some(comment) = &s.trailing {
                        let width = end_column(text);
                        *out += &" ".repeat(column.max(width) - width + 1);
                        *out += comment;
                    }
                }
            }
            out.push('\n');
        }
        i = end.max(i + 1);
    }
}

/// A statement of a body indented `level` times, as text without the first line's
/// indentation: a block statement's head, then its bodies, each `}` at the head's level.
fn stmt_text(s: &Stmt, level: usize) -> String {
    let indent = INDENT.repeat(level);
    let mut text = statement(&s.tokens, indent.len());
    for body in &s.bodies {
        text.push(' ');
        if let Some(name) = &body.name {
            text += name;
            text += ": ";
        }
        if body.items.is_empty() {
            text += "{}";
        } else {
            text += "{\n";
            body_lines(&mut text, &body.items, level + 1);
            text += &indent;
            text.push('}');
        }
    }
    text
}

/// A statement's tokens as text; `column` is where the statement starts, for aligning
/// the rows of a multi-line list and indenting the line after a `//` comment.
fn statement(tokens: &[Token], column: usize) -> String {
    let mut out = String::new();
    let mut col = column;
    let mut i = 0;
    let mut prev: Option<&Token> = None;
    let mut after_line_comment = false;
    while i < tokens.len() {
        let t = &tokens[i];
        if after_line_comment {
            out.push('\n');
            col = column + INDENT.len();
            out += &" ".repeat(col);
            after_line_comment = false;
        } else if let Some(p) = prev {
            if space_between(p, t) {
                out.push(' ');
                col += 1;
            }
        }
        if t.is('[') {
            if let Some((text, end)) = list_rows(tokens, i, col) {
                out += &text;
                col = text.rsplit('\n').next().map_or(0, |l| l.chars().count())
                    + if text.contains('\n') { 0 } else { col };
                prev = Some(&tokens[end]);
                i = end + 1;
                continue;
            }
        }
        out += &t.text;
        col += t.text.chars().count();
        after_line_comment = t.kind == Kind::LineComment;
        prev = Some(t);
        i += 1;
    }
    out
}

/// Whether one space stands between two tokens of a statement.
fn space_between(prev: &Token, next: &Token) -> bool {
    if prev.kind == Kind::Arrow || next.kind == Kind::Arrow {
        return false;
    }
    if prev.is_comment() || next.is_comment() {
        return true;
    }
    if [':', ',', ')', ']', '=', ';'].iter().any(|&c| next.is(c)) {
        return false;
    }
    if ['=', '(', '['].iter().any(|&c| prev.is(c)) {
        return false;
    }
    !(next.is('(') && prev.kind == Kind::Ident)
}

/// A list written over several lines, `tokens[open]` being its `[`: its text with one row
/// per line and right-aligned columns, continuation lines starting one past `column` (the
/// column of the `[`), and the index of its `]`. `None` for a list on one line, or one
/// with comments inside, which [`statement`] writes like any other tokens.
fn list_rows(tokens: &[Token], open: usize, column: usize) -> Option<(String, usize)> {
    let mut depth = 0usize;
    let mut close = None;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        if t.is('[') || t.is('(') {
            depth += 1;
        } else if t.is(']') || t.is(')') {
            depth -= 1;
            if depth == 0 {
                close = Some(j);
                break;
            }
        }
    }
    let close = close?;
    let inner = &tokens[open + 1..close];
    if inner.iter().any(Token::is_comment) {
        return None;
    }
    // Items at this list's depth, each with whether it starts a new line.
    let mut items: Vec<(Vec<Token>, bool)> = Vec::new();
    let mut current = Vec::new();
    let mut depth = 0usize;
    for t in inner {
        if depth == 0 && t.is(',') {
            items.push((std::mem::take(&mut current), false));
            continue;
        }
        if t.is('[') || t.is('(') {
            depth += 1;
        } else if t.is(']') || t.is(')') {
            depth -= 1;
        }
        current.push(t.clone());
    }
    if !current.is_empty() {
        items.push((current, false));
    }
    for (item, breaks) in &mut items {
        *breaks = item.first().is_some_and(|t| t.newlines > 0);
    }
    if items.iter().skip(1).all(|(_, b)| !b) {
        return None;
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, (item, breaks)) in items.iter().enumerate() {
        if i == 0 || *breaks {
            rows.push(Vec::new());
        }
        if let Some(row) = rows.last_mut() {
            row.push(statement(item, 0));
        }
    }
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:>w$}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    let continuation = format!(",\n{}", " ".repeat(column + 1));
    Some((format!("[{}]", lines.join(&continuation)), close))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `source` formatted, after checking that formatting again changes nothing, that the
    /// result means the same and that no token was lost.
    fn fmt(source: &str) -> String {
        let once = format(source).unwrap_or_else(|d| panic!("{d:#?}"));
        let twice = format(&once).unwrap_or_else(|d| panic!("{d:#?}\n{once}"));
        assert_eq!(once, twice, "not idempotent");
        assert_eq!(
            crate::check_source(source).map_err(|_| ()),
            crate::check_source(&once).map_err(|_| ()),
            "formatting changed the meaning:\n{once}"
        );
        assert_eq!(
            ast(source),
            ast(&once),
            "formatting changed the tree:\n{once}"
        );
        assert_eq!(
            words(source),
            words(&once),
            "formatting lost a token:\n{once}"
        );
        once
    }

    /// The syntax tree of `source` without its spans (`3..7` becomes `_`), which layout
    /// changes.
    fn ast(source: &str) -> String {
        let text = source.strip_prefix(BOM).unwrap_or(source);
        let tree = crate::parse::parse(text).unwrap_or_else(|d| panic!("{d:#?}"));
        let debug = format!("{tree:?}");
        let mut out = String::new();
        let mut rest = debug.as_str();
        while let Some(at) = rest.find("..") {
            let digits = |c: char| c.is_ascii_digit();
            let before = rest[..at].trim_end_matches(digits);
            let after = rest[at + 2..].trim_start_matches(digits);
            if before.len() < at && after.len() < rest.len() - at - 2 {
                out += before;
                out.push('_');
            } else {
                out += &rest[..at + 2];
            }
            rest = after;
        }
        out + rest
    }

    /// The tokens of `source` but its `;`, sorted: what formatting must neither add nor
    /// drop (it writes the `;` that the grammar makes optional its own way).
    fn words(source: &str) -> Vec<String> {
        let text = source.strip_prefix(BOM).unwrap_or(source);
        let mut words: Vec<String> = lex(text)
            .unwrap_or_else(|d| panic!("{d:#?}"))
            .into_iter()
            .filter(|t| !t.is(';'))
            .map(|t| format!("{:?} {}", t.kind, t.text.replace("\r\n", "\n")))
            .collect();
        words.sort();
        words
    }

    #[test]
    fn short_networks_stay_on_one_line() {
        assert_eq!(
            fmt("pub(crate)And{dense 2 -> 1 step weights = [ 0.5,0.5 ] bias = - 0.7;}"),
            "pub(crate) And { dense 2->1 step weights=[0.5, 0.5] bias=-0.7 }\n"
        );
        assert_eq!(fmt("E {}"), "E {}\n");
        assert_eq!(
            fmt("E { }\n\n\n\nF{dense 1->1}"),
            "E {}\n\nF { dense 1->1 }\n"
        );
    }

    #[test]
    fn long_networks_get_one_statement_per_line() {
        let out = fmt("/// Docs.\npub N { input 784; dense 128 relu init=normal( 0 , 0.01 ); dropout 0.5; dense 10; softmax_ce }");
        assert_eq!(
            out,
            "/// Docs.\npub N {\n    input 784;\n    dense 128 relu init=normal(0, 0.01);\n    dropout 0.5;\n    dense 10;\n    softmax_ce\n}\n"
        );
    }

    #[test]
    fn comments_are_kept_where_they_were() {
        let source = "\
// header comment

/// The net.
N {   // opening
    /// The input.
    input 2;// two


    // a comment of its own
    hidden: dense 8 tanh;   /* block */
    dense 1 sigmoid /* inside */ init=xavier;
    mse // last
    // before the brace
} // after the brace
// end
";
        let out = fmt(source);
        assert_eq!(
            out,
            "\
// header comment

/// The net.
N {
    // opening
    /// The input.
    input 2; // two

    // a comment of its own
    hidden: dense 8 tanh; /* block */
    dense 1 sigmoid /* inside */ init=xavier;
    mse // last
    // before the brace
} // after the brace

// end
"
        );
    }

    #[test]
    fn matrices_keep_their_rows() {
        let source = "X {\n    gates: dense 2->2 step weights=[-0.5, -0.5,\n 0.5, 0.5] bias=[0.7, -0.2];\n    dense 2->1\n}\n";
        let out = fmt(source);
        assert_eq!(
            out,
            "X {\n    gates: dense 2->2 step weights=[-0.5, -0.5,\n                                     0.5,  0.5] bias=[0.7, -0.2];\n    dense 2->1\n}\n"
        );
    }

    #[test]
    fn a_syntax_error_is_reported_not_formatted() {
        let err = format("N { dense 2->3 ").unwrap_err();
        assert_eq!(err[0].code, Code::Syntax);
    }

    #[test]
    fn a_byte_order_mark_is_kept_and_errors_point_past_it() {
        let source = "\u{feff}// saved by Notepad\nN{input 2;dense 1}\n";
        assert_eq!(
            fmt(source),
            "\u{feff}// saved by Notepad\nN { input 2; dense 1 }\n"
        );
        let bad = "\u{feff}N { dense 2->3 ";
        let err = format(bad).unwrap_err();
        let plain = format(&bad[3..]).unwrap_err();
        assert_eq!(
            err[0].primary.span,
            plain[0].primary.span.start + 3..plain[0].primary.span.end + 3
        );
    }

    #[test]
    fn windows_line_endings_are_kept() {
        let source = "// one\r\nN {\r\n    input 2; /* a\r\n    b */\r\n  dense 1\r\n}\r\n";
        let out = fmt(source);
        assert_eq!(
            out,
            "// one\r\nN {\r\n    input 2; /* a\r\n    b */\r\n    dense 1\r\n}\r\n"
        );
        assert!(!out.replace("\r\n", "").contains(['\r', '\n']), "{out:?}");
        // Unix line endings stay as they are, whatever a comment holds.
        assert_eq!(fmt("N { input 2 }\n"), "N { input 2 }\n");
    }

    /// The example of the grammar's block statements, written loosely.
    const BLOCKS: &str = "pub Res {
    input 16x8x8;
    stage1: repeat 2 {
        residual relu {
            conv1: conv2d 16 k=3 pad=1; bn1: batchnorm; relu;
            conv2: conv2d 16 k=3 pad=1; bn2: batchnorm
        }
    }
    down: residual relu { conv2d 32 k=3 stride=2 pad=1; batchnorm } shortcut: { conv2d 32 k=1 stride=2 bias=false; batchnorm };
    towers: concat wide: { dense 1 } deep: { fc: dense 64 relu; dense 1 }
    global_avgpool; dense 10; softmax_ce
}";

    /// [`BLOCKS`] formatted.
    const BLOCKS_TIDY: &str = "\
pub Res {
    input 16x8x8;
    stage1: repeat 2 {
        residual relu {
            conv1: conv2d 16 k=3 pad=1;
            bn1: batchnorm;
            relu;
            conv2: conv2d 16 k=3 pad=1;
            bn2: batchnorm
        }
    }
    down: residual relu {
        conv2d 32 k=3 stride=2 pad=1;
        batchnorm
    } shortcut: {
        conv2d 32 k=1 stride=2 bias=false;
        batchnorm
    }
    towers: concat wide: {
        dense 1
    } deep: {
        fc: dense 64 relu;
        dense 1
    }
    global_avgpool;
    dense 10;
    softmax_ce
}
";

    /// The words of `source`, with `;`, `:`, `{` and `}` words of their own.
    fn split_words(source: &str) -> Vec<&str> {
        source
            .split_whitespace()
            .flat_map(|w| w.split_inclusive([';', ':', '{', '}']))
            .flat_map(|w| match w.strip_suffix([';', ':', '{', '}']) {
                Some(rest) if !rest.is_empty() => vec![rest, &w[rest.len()..]],
                _ => vec![w],
            })
            .collect()
    }

    #[test]
    fn block_statements_open_their_bodies_one_level_deeper() {
        assert_eq!(fmt(BLOCKS), BLOCKS_TIDY);
    }

    #[test]
    fn a_network_with_a_block_never_stays_on_one_line() {
        assert_eq!(
            fmt("N{repeat 2{relu};dense 1}"),
            "N {\n    repeat 2 {\n        relu\n    }\n    dense 1\n}\n"
        );
        // Empty bodies, unnamed bodies one after the other, a last `;` dropped.
        assert_eq!(
            fmt("N { concat a:{} {} b : { relu ; } ; }"),
            "N {\n    concat a: {} {} b: {\n        relu\n    }\n}\n"
        );
        // A plain statement after a block still gets its `;` unless it is the last.
        assert_eq!(
            fmt("N { repeat 2 { relu } dense 1; mse }"),
            "N {\n    repeat 2 {\n        relu\n    }\n    dense 1;\n    mse\n}\n"
        );
    }

    #[test]
    fn comments_inside_blocks_are_kept_where_they_were() {
        let source = "\
N {
    /// A stage.
    stage: repeat 2 { // twice
        // the main path
        residual relu {
            conv1: conv2d 16 k=3 pad=1;   // first
            bn1: batchnorm; // second


            /// The second convolution.
            conv2d 16 k=3 /* square */ pad=1
            // before the brace
        } /* between */ shortcut /* name */ : { conv2d 16 k=1 } // after the last body
        ; // after the semicolon
    } // end of the stage
    dense 10 // last
}
";
        assert_eq!(
            fmt(source),
            "\
N {
    /// A stage.
    stage: repeat 2 {
        // twice
        // the main path
        residual relu {
            conv1: conv2d 16 k=3 pad=1; // first
            bn1: batchnorm;             // second

            /// The second convolution.
            conv2d 16 k=3 /* square */ pad=1
            // before the brace
        } shortcut: {
            /* between */
            /* name */
            conv2d 16 k=1
        } // after the last body
        // after the semicolon
    } // end of the stage
    dense 10 // last
}
"
        );
    }

    #[test]
    fn comments_in_a_block_head_move_into_its_body() {
        let out = fmt("N {\n    residual relu // the head\n    { relu }\n    concat a // n\n    : // c\n    { relu }\n}\n");
        assert_eq!(
            out,
            "N {\n    residual relu {\n        // the head\n        relu\n    }\n    concat a: {\n        // n\n        // c\n        relu\n    }\n}\n"
        );
        // A `//` comment inside a nested head breaks the line one level past the head.
        let out =
            fmt("N {\n    repeat 2 {\n        residual // why\n        relu { relu }\n    }\n}\n");
        assert_eq!(
            out,
            "N {\n    repeat 2 {\n        residual // why\n            relu {\n            relu\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn formatting_blocks_twice_changes_nothing() {
        assert_eq!(fmt(BLOCKS_TIDY), BLOCKS_TIDY);
        // Every body nested as deep as the parser allows.
        let deep = (0..16).fold("relu".to_string(), |inner, i| {
            format!("b{i}: repeat 2 {{ {inner} }} tail: {{ dense {i} }}")
        });
        let out = fmt(&format!("N {{ input 4; {deep}; mse }}"));
        assert!(
            out.contains(&format!("\n{}relu\n", INDENT.repeat(17))),
            "{out}"
        );
    }

    proptest::proptest! {
        /// Whatever the spacing, the formatted text is the same.
        #[test]
        fn layout_does_not_matter(spaces in proptest::collection::vec("[ \n]{0,3}", 40)) {
            let words = ["N", "{", "input", "4", ";", "fc", ":", "dense", "3", "relu", "init",
                "=", "normal", "(", "0", ",", "0.1", ")", "bias", "=", "[", "1", ",", "2", ",",
                "-", "3", "]", ";", "dropout", "0.5", ";", "dense", "2", ";", "mse", "}"];
            let mut source = String::new();
            for (i, w) in words.iter().enumerate() {
                source += w;
                // a sign must not be separated from `->`, and words need a space between them
                let sep = &spaces[i % spaces.len()];
                source += if sep.is_empty() { " " } else { sep };
            }
            let canonical = "N {\n    input 4;\n    fc: dense 3 relu init=normal(0, 0.1) bias=[1, 2, -3];\n    dropout 0.5;\n    dense 2;\n    mse\n}\n";
            let out = format(&source).unwrap();
            // Blank lines between statements are kept, and a line break inside the bias
            // list keeps its rows; apart from those, the layout is gone.
            if !out.contains(",\n ") {
                proptest::prop_assert_eq!(out.replace("\n\n", "\n"), canonical);
            } else {
                proptest::prop_assert_eq!(format(&out).unwrap(), out);
            }
        }

        /// Whatever the spacing, and whether the optional `;` after a block is written,
        /// a source with blocks formats the same.
        #[test]
        fn layout_inside_blocks_does_not_matter(
            spaces in proptest::collection::vec("[ \n]{0,3}", 50),
            semis in proptest::collection::vec(proptest::bool::ANY, 3),
        ) {
            let words = split_words(BLOCKS);
            let mut source = String::new();
            let mut blocks_closed = 0;
            for (i, w) in words.iter().enumerate() {
                if *w == ";" && words[i - 1] == "}" {
                    continue; // the `;` after a block is written below, or not
                }
                source += w;
                let sep = &spaces[i % spaces.len()];
                source += if sep.is_empty() { " " } else { sep };
                // the `}` ending a block statement (not one followed by another body)
                let ends = *w == "}"
                    && !words.get(i + 1).is_some_and(|n| *n == "shortcut" || *n == "deep");
                if ends && i + 1 < words.len() {
                    if semis[blocks_closed % semis.len()] {
                        source += ";";
                    }
                    blocks_closed += 1;
                }
            }
            let out = format(&source).unwrap();
            proptest::prop_assert_eq!(out.replace("\n\n", "\n"), BLOCKS_TIDY, "{}", source);
            proptest::prop_assert_eq!(ast(&source), ast(&out));
        }

        /// Comments anywhere in a source with blocks are kept, and the result is stable.
        #[test]
        fn comments_anywhere_in_blocks_are_kept(
            comments in proptest::collection::vec(0usize..6, 120),
        ) {
            let mut source = String::new();
            for (i, w) in split_words(BLOCKS).iter().enumerate() {
                source += w;
                source += [" ", " ", " /* b */ ", " // l\n", "\n// own\n", "\n\n/* own */\n"]
                    [comments[i % comments.len()]];
            }
            // `fmt` checks stability, meaning and that no token went missing.
            fmt(&source);
        }
    }
}
