//! The TextMate grammar of `editors/vscode` against the compiler: its keyword lists are
//! exactly the vocabulary's, and tokenizing the example models with it gives every token
//! the scope it should — checked against the spans of the compiler's own parser.
//!
//! The tokenizer below is the part of the TextMate algorithm the grammar uses: at each
//! position, the pattern whose match starts first wins (the earlier pattern on a tie);
//! `match` patterns scope their match and captures; `begin`/`end` patterns (block
//! comments) may span lines.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use axonal_dsl::ast::{Arg, Value};
use axonal_dsl::vocab::{self, INITIALIZERS, LOSSES};
use fancy_regex::Regex;
use serde_json::Value as Json;

fn grammar_json() -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../editors/vscode/syntaxes/axonal.tmLanguage.json");
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

struct Rule {
    name: Option<String>,
    regex: Regex,
    captures: Vec<(usize, String)>,
    end: Option<Regex>,
}

/// The grammar's patterns in order, `include`s resolved from the repository.
fn rules(grammar: &Json) -> Vec<Rule> {
    fn collect(patterns: &Json, grammar: &Json, out: &mut Vec<Rule>) {
        for p in patterns.as_array().unwrap() {
            if let Some(include) = p["include"].as_str() {
                let key = include.trim_start_matches('#');
                collect(&grammar["repository"][key]["patterns"], grammar, out);
                continue;
            }
            let source = p["match"].as_str().or(p["begin"].as_str()).unwrap();
            let captures = p["captures"]
                .as_object()
                .map(|caps| {
                    caps.iter()
                        .map(|(k, v)| (k.parse().unwrap(), v["name"].as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Rule {
                name: p["name"].as_str().map(str::to_string),
                regex: Regex::new(source).unwrap_or_else(|e| panic!("{source}: {e}")),
                captures,
                end: p["end"].as_str().map(|e| Regex::new(e).unwrap()),
            });
        }
    }
    let mut out = Vec::new();
    collect(&grammar["patterns"], grammar, &mut out);
    out
}

/// The scope of each byte of `text` (None where no pattern matched).
fn tokenize(rules: &[Rule], text: &str) -> Vec<Option<String>> {
    let mut scopes = vec![None; text.len()];
    let mut open_block: Option<(usize, String)> = None; // end-rule index, scope
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let mut set = |range: Range<usize>, scope: &str| {
            for s in &mut scopes[line_start + range.start..line_start + range.end] {
                *s = Some(scope.to_string());
            }
        };
        let mut pos = 0;
        while pos < line.len() {
            if let Some((rule, scope)) = open_block.clone() {
                let end = rules[rule].end.as_ref().unwrap();
                match end.find_from_pos(line, pos).unwrap() {
                    Some(m) => {
                        set(pos..m.end(), &scope);
                        pos = m.end();
                        open_block = None;
                    }
                    None => {
                        set(pos..line.len(), &scope);
                        pos = line.len();
                    }
                }
                continue;
            }
            let best = rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    r.regex
                        .captures_from_pos(line, pos)
                        .unwrap()
                        .map(|c| (c.get(0).unwrap().start(), i, c))
                })
                .min_by_key(|(start, i, _)| (*start, *i));
            let Some((_, i, caps)) = best else { break };
            let rule = &rules[i];
            let whole = caps.get(0).unwrap();
            if let Some(name) = &rule.name {
                set(whole.range(), name);
            }
            for (group, name) in &rule.captures {
                if let Some(m) = caps.get(*group) {
                    set(m.range(), name);
                }
            }
            pos = whole.end().max(pos + 1);
            if rule.end.is_some() {
                let scope = rule.name.clone().unwrap_or_default();
                open_block = Some((i, scope));
            }
        }
        line_start += line.len() + 1;
    }
    scopes
}

/// The words of the `\b(?:a|b|c)\b` pattern named `scope`.
fn words(grammar: &Json, scope: &str) -> BTreeSet<String> {
    let statement = grammar["repository"]["statement"]["patterns"]
        .as_array()
        .unwrap();
    let pattern = statement
        .iter()
        .find(|p| p["name"].as_str() == Some(scope))
        .and_then(|p| p["match"].as_str())
        .unwrap_or_else(|| panic!("no pattern {scope}"));
    pattern
        .trim_start_matches("\\b(?:")
        .trim_end_matches(")\\b")
        .split('|')
        .map(str::to_string)
        .collect()
}

#[test]
fn keyword_lists_are_the_compilers() {
    let g = grammar_json();
    let set = |names: &mut dyn Iterator<Item = &str>| -> BTreeSet<String> {
        names.map(str::to_string).collect()
    };
    assert_eq!(
        words(&g, "keyword.other.layer.axonal"),
        set(&mut vocab::layer_words())
    );
    assert_eq!(
        words(&g, "keyword.control.block.axonal"),
        set(&mut vocab::block_words())
    );
    assert_eq!(
        words(&g, "support.function.activation.axonal"),
        set(&mut vocab::activation_words())
    );
    assert_eq!(
        words(&g, "support.function.loss.axonal"),
        set(&mut LOSSES.iter().map(|w| w.name))
    );
    assert_eq!(
        words(&g, "support.constant.initializer.axonal"),
        set(&mut INITIALIZERS.iter().copied())
    );
    assert_eq!(g["scopeName"], "source.axonal");
    let package: Json = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode/package.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let grammar = &package["contributes"]["grammars"][0];
    assert_eq!(grammar["scopeName"], "source.axonal");
    assert_eq!(grammar["path"], "./syntaxes/axonal.tmLanguage.json");
    assert_eq!(
        package["contributes"]["languages"][0]["extensions"][0],
        ".nn"
    );
}

fn models() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models");
    let mut models: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nn"))
        .collect();
    models.sort();
    models
}

/// Asserts that every byte of `span` has `scope`.
fn expect(scopes: &[Option<String>], text: &str, span: Range<usize>, scope: &str, file: &Path) {
    for (i, s) in scopes[span.clone()].iter().enumerate() {
        assert_eq!(
            s.as_deref(),
            Some(scope),
            "{}: `{}` (byte {}) should be {scope}",
            file.display(),
            &text[span.clone()],
            span.start + i
        );
    }
}

#[test]
fn example_models_tokenize_as_the_parser_reads_them() {
    let g = grammar_json();
    let rules = rules(&g);
    let mut checked = 0;
    for file in models() {
        let text = std::fs::read_to_string(&file).unwrap();
        let scopes = tokenize(&rules, &text);
        // Every visible character is in some token, and none is flagged invalid.
        for (i, c) in text.char_indices() {
            if !c.is_whitespace() {
                let scope = scopes[i].as_deref();
                assert!(
                    scope.is_some_and(|s| !s.starts_with("invalid")),
                    "{}: byte {i} ({c:?}) has scope {scope:?}",
                    file.display()
                );
            }
        }
        // Comments: `///` is documentation, `//` an ordinary comment.
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if let Some(at) = line.find("//") {
                let start = offset + at;
                let end = offset + line.trim_end().len();
                let doc = line[at..].starts_with("///") && !line[at..].starts_with("////");
                let scope = if doc {
                    "comment.line.documentation.axonal"
                } else {
                    "comment.line.double-slash.axonal"
                };
                expect(&scopes, &text, start..end, scope, &file);
            }
            offset += line.len();
        }
        // Every name and number where the parser found it.
        let ast = axonal_dsl::parse::parse(&text).unwrap();
        for net in &ast.networks {
            expect(
                &scopes,
                &text,
                net.name.span.clone(),
                "entity.name.type.network.axonal",
                &file,
            );
            // Every statement, blocks' bodies included.
            let mut statements: Vec<&axonal_dsl::ast::Statement> = Vec::new();
            let mut pending: Vec<&axonal_dsl::ast::Statement> = net.statements.iter().collect();
            while let Some(s) = pending.pop() {
                statements.push(s);
                pending.extend(s.blocks.iter().flat_map(|b| &b.statements));
            }
            for s in statements {
                let keyword = &s.keyword.name;
                let scope = if vocab::layer_words().any(|w| w == keyword) {
                    "keyword.other.layer.axonal"
                } else if vocab::block_words().any(|w| w == keyword) {
                    "keyword.control.block.axonal"
                } else if vocab::activation_words().any(|w| w == keyword) {
                    "support.function.activation.axonal"
                } else {
                    "support.function.loss.axonal"
                };
                expect(&scopes, &text, s.keyword.span.clone(), scope, &file);
                if let Some(label) = &s.label {
                    expect(
                        &scopes,
                        &text,
                        label.span.clone(),
                        "entity.name.label.axonal",
                        &file,
                    );
                }
                for arg in &s.args {
                    match arg {
                        Arg::Dims(d) => expect(
                            &scopes,
                            &text,
                            d.span.clone(),
                            "constant.numeric.axonal",
                            &file,
                        ),
                        Arg::Arrow { from, to, span } => {
                            expect(
                                &scopes,
                                &text,
                                from.span.clone(),
                                "constant.numeric.axonal",
                                &file,
                            );
                            expect(
                                &scopes,
                                &text,
                                to.span.clone(),
                                "constant.numeric.axonal",
                                &file,
                            );
                            let arrow = from.span.end..to.span.start;
                            assert_eq!(text[arrow.clone()].trim(), "->", "{span:?}");
                            let at = arrow.start + text[arrow].find("->").unwrap();
                            expect(
                                &scopes,
                                &text,
                                at..at + 2,
                                "keyword.operator.arrow.axonal",
                                &file,
                            );
                        }
                        Arg::Number(n) => expect(
                            &scopes,
                            &text,
                            n.span.clone(),
                            "constant.numeric.axonal",
                            &file,
                        ),
                        Arg::Ident(i) => expect(
                            &scopes,
                            &text,
                            i.span.clone(),
                            "support.function.activation.axonal",
                            &file,
                        ),
                    }
                }
                for attr in &s.attrs {
                    expect(
                        &scopes,
                        &text,
                        attr.name.span.clone(),
                        "variable.parameter.attribute.axonal",
                        &file,
                    );
                    let mut values = vec![&attr.value];
                    while let Some(value) = values.pop() {
                        match value {
                            Value::Dims(d) => expect(
                                &scopes,
                                &text,
                                d.span.clone(),
                                "constant.numeric.axonal",
                                &file,
                            ),
                            Value::Number(n) => expect(
                                &scopes,
                                &text,
                                n.span.clone(),
                                "constant.numeric.axonal",
                                &file,
                            ),
                            Value::Ident(i) => {
                                let scope = if INITIALIZERS.contains(&i.name.as_str()) {
                                    "support.constant.initializer.axonal"
                                } else {
                                    "constant.language.axonal"
                                };
                                expect(&scopes, &text, i.span.clone(), scope, &file)
                            }
                            Value::List { items, .. } => values.extend(items),
                            Value::Call { name, args, .. } => {
                                expect(
                                    &scopes,
                                    &text,
                                    name.span.clone(),
                                    "support.constant.initializer.axonal",
                                    &file,
                                );
                                values.extend(args);
                            }
                        }
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} statements checked");
}

#[test]
fn block_comments_span_lines_and_visibility_is_a_modifier() {
    let g = grammar_json();
    let rules = rules(&g);
    let text = "/* a\n dense 3 */ pub(crate) N { dense 2->1 }";
    let scopes = tokenize(&rules, text);
    let dense_in_comment = text.find("dense").unwrap();
    assert_eq!(
        scopes[dense_in_comment].as_deref(),
        Some("comment.block.axonal")
    );
    let pub_at = text.find("pub").unwrap();
    assert_eq!(
        scopes[pub_at].as_deref(),
        Some("storage.modifier.visibility.axonal")
    );
    let crate_at = text.find("crate").unwrap();
    assert_eq!(
        scopes[crate_at].as_deref(),
        Some("storage.modifier.visibility.axonal")
    );
    let dense = text.rfind("dense").unwrap();
    assert_eq!(scopes[dense].as_deref(), Some("keyword.other.layer.axonal"));
}
