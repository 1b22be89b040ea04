//! axonal-dsl: the compiler of the axonal language.
//!
//! Text goes one way: [`parse`] turns it into an [`ast`], [`check`] resolves names and
//! infers every width into an [`ir::Program`] (or reports every mistake as a
//! [`Diagnostic`]), and [`codegen`] turns the program into Rust tokens. The
//! `network!` macro ([`tokens`]), build scripts ([`build`]) and the `axc` CLI are
//! three front doors onto [`compile`]; none has logic of its own.
//!
//! ```
//! let rust = axonal_dsl::emit("pub Xor { input 2; dense 4 tanh; dense 1 sigmoid; mse }").unwrap();
//! assert!(rust.contains("pub struct Xor<F: ::axonal::Float = ::core::primitive::f32>"));
//!
//! let errors = axonal_dsl::check_source("N { input 64; dense 784->10 }").unwrap_err();
//! assert_eq!(errors[0].code, axonal_dsl::Code::WidthMismatch);
//! assert_eq!(errors[0].code.as_str(), "E0008");
//! ```
#![warn(missing_docs)]

pub mod ast;
pub mod build;
pub mod check;
pub mod codegen;
pub mod diagnostic;
pub mod files;
pub mod format;
pub mod graph;
pub mod ir;
pub mod layers;
pub mod onnx;
pub mod parse;
pub mod summary;
pub mod tokens;
pub mod torch;
pub mod vocab;

pub use diagnostic::{Code, Diagnostic};

/// Parses and checks a source, returning its resolved networks or every mistake in it.
pub fn check_source(source: &str) -> Result<ir::Program, Vec<Diagnostic>> {
    let file = parse::parse(source).map_err(|d| vec![d])?;
    check::check(&file)
}

/// Compiles a source to Rust tokens: one struct and its impls per network.
pub fn compile(source: &str) -> Result<proc_macro2::TokenStream, Vec<Diagnostic>> {
    let program = check_source(source)?;
    Ok(codegen::generate(&program))
}

/// Compiles a source to formatted Rust source text, as `build.rs` and `axc emit` write it.
pub fn emit(source: &str) -> Result<String, Vec<Diagnostic>> {
    let program = check_source(source)?;
    Ok(codegen::emit(&program))
}

/// Expands the body of a `network! { … }` macro: the generated code, or one
/// `compile_error!` per mistake, placed at the offending token (the first
/// [`diagnostic::MAX_SHOWN`] of them, then one saying how many more there are).
pub fn expand_macro(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let source = tokens::MacroSource::new(input);
    match compile(&source.text) {
        Ok(tokens) => tokens,
        Err(diags) => diagnostic::compile_errors(&diags, &source.text, |span| source.span_of(span)),
    }
}
