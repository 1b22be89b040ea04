//! The `network!` macro of axonal. A thin shell: all logic lives in `axonal-dsl`,
//! where it can be tested without a compiler in the loop.

use proc_macro::TokenStream;

/// Compiles networks written in the axonal language into Rust structs.
///
/// ```text
/// axonal::network! {
///     pub Xor { dense 2->4 tanh; dense 4->1 sigmoid; mse }
/// }
/// ```
///
/// Mistakes become compile errors that point at the offending token. Use it through the
/// `axonal` crate, which re-exports it and whose docs run this example; this crate cannot
/// depend on the runtime the generated code calls.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    axonal_dsl::expand_macro(input.into()).into()
}
