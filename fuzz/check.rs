//! What must hold for any source text, shared by the fuzz target (`fuzz_targets/compile.rs`)
//! and the regression test that replays `fuzz/corpus` and `fuzz/regressions`
//! (`tests/tests/fuzz_regressions.rs`): nothing panics, and every answer is well formed.

/// Runs `source` through every front door of the compiler and checks the answers.
///
/// - `compile` (`check_source`, then `codegen::generate`) returns code or at least one diagnostic;
/// - accepted code parses as a Rust file with one struct per network, and formats;
/// - diagnostics render (plain and coloured), and as `compile_error!`s;
/// - the `network!` macro's door (tokens rendered back to text) holds as well.
pub fn check(source: &str) {
    // `compile` is `check_source` then `codegen::generate`; calling them apart saves a pass.
    match axonal_dsl::check_source(source) {
        Ok(program) => {
            let tokens = axonal_dsl::codegen::generate(&program);
            let file: syn::File =
                syn::parse2(tokens.clone()).expect("generated code parses as a Rust file");
            let networks = program.networks.len();
            let structs = file
                .items
                .iter()
                .filter(|i| matches!(i, syn::Item::Struct(_)))
                .count();
            assert_eq!(structs, networks, "one struct per network");
            let text = axonal_dsl::codegen::format(tokens);
            assert!(!text.is_empty() || networks == 0);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "a rejection says why");
            let text = axonal_dsl::diagnostic::render_all(&diagnostics, "fuzz.nn", source, false);
            assert!(text.contains("error"));
            for d in &diagnostics {
                let _ = d.render("fuzz.nn", source, true);
                let _ = d.to_compile_error(proc_macro2::Span::call_site(), source);
            }
        }
    }
    if let Ok(tokens) = source.parse::<proc_macro2::TokenStream>() {
        let expanded = axonal_dsl::expand_macro(tokens);
        let _: syn::File = syn::parse2(expanded).expect("the macro expands to items");
    }
}
