//! The compiler never panics, whatever text it is given: it returns code or diagnostics.

use proptest::prelude::*;

/// Tokens of the language, to build inputs that get past the parser more often than noise.
const TOKENS: &[&str] = &[
    "pub",
    "Net",
    "{",
    "}",
    ";",
    ":",
    "input",
    "dense",
    "relu",
    "softmax",
    "softmax_ce",
    "mse",
    "dropout",
    "batchnorm",
    "maxout",
    "->",
    "=",
    "[",
    "]",
    "(",
    ")",
    ",",
    "0",
    "1",
    "2",
    "784",
    "0.5",
    "-0.7",
    "1e-3",
    "1e999",
    "init",
    "he",
    "normal",
    "weights",
    "bias",
    "k",
    "///",
    "//",
    "\n",
    "step",
    "tanh",
    "sigmoid",
    "fc1",
    "x",
    "pub(crate)",
    "18446744073709551616",
];

fn compile_never_panics(source: &str) {
    // Both outcomes are fine, but accepted code must be valid Rust.
    if let Ok(tokens) = axonal_dsl::compile(source) {
        let file: syn::File = syn::parse2(tokens).expect("generated code parses as Rust");
        let networks = axonal_dsl::check_source(source).unwrap().networks.len();
        let structs = file
            .items
            .iter()
            .filter(|i| matches!(i, syn::Item::Struct(_)))
            .count();
        assert_eq!(structs, networks);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text(source in "\\PC{0,200}") {
        compile_never_panics(&source);
    }

    #[test]
    fn token_soup(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        compile_never_panics(&tokens.join(" "));
    }

    #[test]
    fn valid_networks_with_random_widths(
        widths in proptest::collection::vec(0usize..2000, 1..5),
        loss in proptest::sample::select(&["mse", "softmax_ce", ""][..]),
    ) {
        let layers: Vec<String> = widths.iter().map(|w| format!("dense {w} relu")).collect();
        let source = format!("N {{ input 3; {}; {loss} }}", layers.join("; "));
        compile_never_panics(&source);
    }
}
