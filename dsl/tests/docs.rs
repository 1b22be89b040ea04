//! The pages in `docs/` are checked against the compiler, so they cannot drift:
//! the error index has an entry for every [`Code`] whose example really produces that code
//! and whose fix compiles, and the language reference lists exactly the words of
//! [`axonal_dsl::vocab`] with their attributes, defaults and (losses) output widths, each with an
//! example that compiles.

use std::collections::BTreeSet;
use std::path::Path;

use axonal_dsl::ir::LossKind;
use axonal_dsl::layers::{Role, KINDS};
use axonal_dsl::vocab::{self, OutputNeed, ACTIVATIONS, INITIALIZERS, LOSSES};
use axonal_dsl::Code;

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `## E0008: …` sections of the error index, by code.
fn error_sections(text: &str) -> Vec<(String, String)> {
    text.split("\n## ")
        .skip(1)
        .map(|section| {
            let code = section.split(':').next().unwrap_or("").trim().to_string();
            (code, section.to_string())
        })
        .collect()
}

/// The ```nn code blocks of a section, in order.
fn nn_blocks(section: &str) -> Vec<String> {
    section
        .split("```nn\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or("").to_string())
        .collect()
}

fn codes_of(source: &str) -> Vec<&'static str> {
    match axonal_dsl::check_source(source) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(|d| d.code.as_str()).collect(),
    }
}

#[test]
fn every_error_code_has_an_entry_whose_example_produces_it() {
    let text = doc("errors.md");
    let sections = error_sections(&text);
    let documented: Vec<&str> = sections.iter().map(|(c, _)| c.as_str()).collect();
    for code in Code::ALL {
        let code = code.as_str();
        let section = sections
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("docs/errors.md has no `## {code}: …` section"));
        let blocks = nn_blocks(section);
        assert_eq!(
            blocks.len(),
            2,
            "{code}: expected an example and a fix, found {blocks:?}"
        );
        let (example, fix) = (&blocks[0], &blocks[1]);
        let codes = codes_of(example);
        assert_eq!(
            codes.first().copied(),
            Some(code),
            "{code}: the example gives {codes:?}:\n{example}"
        );
        assert!(
            section.contains("Example:") && section.contains("Fix:"),
            "{code}: the entry needs an `Example:` and a `Fix:`"
        );
        if let Err(diags) = axonal_dsl::check_source(fix) {
            panic!("{code}: the fix does not compile: {diags:#?}\n{fix}");
        }
    }
    // No entry for a code the compiler does not have (except the retired E0018), and in order.
    let known: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for code in &documented {
        assert!(
            known.contains(code) || *code == "E0018",
            "stale entry {code}"
        );
    }
    let mut sorted = documented.clone();
    sorted.sort();
    assert_eq!(documented, sorted, "entries out of order");
}

/// The rows of the markdown table under `## heading`: cells, trimmed, header and rule skipped.
fn table(text: &str, heading: &str) -> Vec<Vec<String>> {
    let section = text
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {heading}"));
    let section = section.split("\n## ").next().unwrap_or("");
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The text between backticks in a cell.
fn ticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The word a cell's first backticked text starts with: `normal(mean, std)` → `normal`.
fn word(cell: &str) -> &str {
    let first = ticked(cell).into_iter().next().unwrap_or("");
    first
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("")
}

/// `name=value` pairs written in backticks in a cell.
fn attrs(cell: &str) -> Vec<(&str, &str)> {
    ticked(cell)
        .into_iter()
        .filter_map(|t| t.split_once('='))
        .filter(|(name, _)| name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .collect()
}

/// Each row's example (its last cell) compiles, and the words of the first column are `expected`.
fn check_rows(rows: &[Vec<String>], what: &str, expected: impl IntoIterator<Item = &'static str>) {
    let listed: Vec<&str> = rows.iter().map(|r| word(&r[0])).collect();
    let expected: Vec<&str> = expected.into_iter().collect();
    assert_eq!(
        listed, expected,
        "the {what} table differs from the compiler's vocabulary"
    );
    for row in rows {
        let example = ticked(row.last().unwrap()).concat();
        if let Err(diags) = axonal_dsl::check_source(&example) {
            panic!(
                "the example of `{}` does not compile: {example}\n{diags:#?}",
                row[0]
            );
        }
        assert!(
            example.contains(word(&row[0])),
            "the example of `{}` does not use it: {example}",
            row[0]
        );
    }
}

#[test]
fn the_reference_lists_every_statement_with_its_attributes_and_defaults() {
    let text = doc("reference.md");
    let rows = table(&text, "Statements");
    check_rows(&rows, "statement", vocab::layer_words());
    // One row per keyword (`conv2d` and `conv1d` are one kind, with one set of attributes).
    let keywords = KINDS
        .iter()
        .filter(|k| k.role() != Role::Activation)
        .flat_map(|k| k.keywords().iter().map(move |w| (*k, *w)));
    for (row, (kind, keyword)) in rows.iter().zip(keywords) {
        let written = attrs(&row[2]);
        let names: BTreeSet<&str> = written.iter().map(|(n, _)| *n).collect();
        let expected: BTreeSet<&str> = kind.attrs().iter().map(|a| a.name).collect();
        assert_eq!(names, expected, "attributes of `{keyword}`");
        // The defaults written there are the kind's (and the kind's tests check that the
        // checker uses them: `name=default` changes nothing).
        for (name, value) in written {
            let spec = kind.attrs().iter().find(|a| a.name == name).unwrap();
            if let Some(default) = spec.default {
                assert_eq!(value, default, "the default of `{keyword} {name}`");
            } else {
                assert_eq!(value, "…", "`{keyword} {name}` has no default to write");
            }
        }
    }
}

#[test]
fn the_reference_lists_every_activation_with_its_parameter() {
    let text = doc("reference.md");
    let rows = table(&text, "Activations");
    check_rows(&rows, "activation", ACTIVATIONS.iter().map(|w| w.name));
    for (row, word) in rows.iter().zip(ACTIVATIONS) {
        let params = attrs(&row[1]);
        match word.param {
            None => assert!(params.is_empty(), "`{}` has no parameter", word.name),
            Some((name, default)) => {
                assert_eq!(params.len(), 1, "`{}`: {params:?}", word.name);
                assert_eq!(params[0].0, name, "`{}`", word.name);
                assert_eq!(
                    params[0].1.parse::<f64>().unwrap(),
                    default,
                    "`{}`",
                    word.name
                );
            }
        }
    }
}

#[test]
fn the_reference_lists_every_initializer() {
    let text = doc("reference.md");
    let rows = table(&text, "Initializers");
    check_rows(&rows, "initializer", INITIALIZERS.iter().copied());
}

#[test]
fn the_reference_lists_every_loss_with_its_attributes_and_defaults() {
    let text = doc("reference.md");
    let rows = table(&text, "Losses");
    check_rows(&rows, "loss", LOSSES.iter().map(|w| w.name));
    for (row, word) in rows.iter().zip(LOSSES) {
        let written = attrs(&row[1]);
        let names: BTreeSet<&str> = written.iter().map(|(n, _)| *n).collect();
        let expected: BTreeSet<&str> = vocab::loss_attrs(word.kind).iter().copied().collect();
        assert_eq!(names, expected, "attributes of `{}`", word.name);
        let width = row[2].as_str();
        let says = match width {
            w if w.starts_with("any") => OutputNeed::Any,
            w if w.contains("(≥ 2)") => OutputNeed::Classes,
            w => panic!("`{}`: an output width the test cannot read: {w}", word.name),
        };
        assert_eq!(
            says, word.output,
            "output width of `{}`: {width}",
            word.name
        );
        for (name, value) in written {
            let ok = match (name, word.kind) {
                ("reduction", _) => value == "mean",
                ("margin", LossKind::MulticlassHinge { margin }) => value.parse() == Ok(margin),
                ("delta", LossKind::Huber { delta }) => value.parse() == Ok(delta),
                (
                    "from_logits",
                    LossKind::BinaryCrossentropy { from_logits }
                    | LossKind::CategoricalCrossentropy { from_logits }
                    | LossKind::SparseCategoricalCrossentropy { from_logits },
                ) => value.parse() == Ok(from_logits),
                _ => false,
            };
            assert!(
                ok,
                "`{}`: the default of `{name}` is not {value}",
                word.name
            );
        }
    }
}

#[test]
fn every_nn_block_of_the_tutorial_and_reference_compiles() {
    for page in ["tutorial.md", "reference.md"] {
        let text = doc(page);
        let blocks = nn_blocks(&text);
        assert!(!blocks.is_empty(), "{page}");
        for block in blocks {
            if let Err(diags) = axonal_dsl::check_source(&block) {
                panic!("{page}: a block does not compile:\n{block}\n{diags:#?}");
            }
        }
    }
}

#[test]
fn the_tutorial_follows_the_course_and_names_real_examples() {
    let text = doc("tutorial.md");
    let steps = [
        "Perceptron gates",
        "XOR",
        "Multilayer perceptrons",
        "Backpropagation",
        "Activations",
        "Initialization",
        "Losses",
        "Batch normalization",
        "Optimizers",
        "Dropout",
        "MNIST",
    ];
    let headings: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|h| h.split_once(". ").map(|(_, title)| title))
        .collect();
    assert_eq!(headings, steps);
    let bins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/src/bin");
    let mut named = BTreeSet::new();
    for part in text.split("-p axonal-examples --bin ").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name != "NAME" {
            assert!(
                bins.join(format!("{name}.rs")).exists(),
                "no example `{name}`"
            );
            named.insert(name);
        }
    }
    for bin in [
        "gates",
        "xor",
        "backprop",
        "spiral",
        "init_histograms",
        "losses",
        "optimizers",
        "mnist",
    ] {
        assert!(named.contains(bin), "the tutorial never runs `{bin}`");
    }
    for model in text.split("examples/models/").skip(1) {
        let file: String = model
            .chars()
            .take_while(|c| *c != '`' && *c != ')' && *c != ' ')
            .collect();
        if !file.starts_with('*') {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../examples/models")
                .join(&file);
            assert!(path.exists(), "no {}", path.display());
        }
    }
}

#[test]
fn the_error_index_states_the_momentum_range_the_checker_uses() {
    // The checker takes momentum 0 (running statistics stay where they start, as PyTorch
    // allows) through 1, and says so; the index must say the same.
    assert!(
        axonal_dsl::check_source("N { input 2; batchnorm momentum=0; batchnorm momentum=1 }")
            .is_ok()
    );
    let diags = axonal_dsl::check_source("N { input 2; batchnorm momentum=1.5 }").unwrap_err();
    assert_eq!(diags[0].primary.message, "expected a momentum in [0, 1]");
    let text = doc("errors.md");
    let section = &error_sections(&text)
        .into_iter()
        .find(|(code, _)| code == "E0007")
        .expect("an E0007 section")
        .1;
    assert!(section.contains("a `momentum` outside [0, 1]"), "{section}");
}
