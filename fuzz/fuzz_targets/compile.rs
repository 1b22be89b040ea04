//! Fuzzes `axonal_dsl::compile` (and the macro's door onto it) on arbitrary bytes, read as
//! UTF-8 when valid and lossily otherwise, with a token-level mutator next to libFuzzer's
//! byte-level one: it replaces, inserts, deletes and duplicates tokens and statements of
//! the language (from `compile.dict`), so that mutations of the example models mostly stay
//! close to valid networks and reach the checker and code generator, not only the parser.
//!
//! Run: `cargo fuzz run compile fuzz/corpus/compile -- -dict=fuzz/compile.dict`
//! (see fuzz/README.md).

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

#[path = "../mutator.rs"]
mod mutator;

#[path = "../check.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    check::check(&source);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutator::mutate(data, size, max_size, seed)
});
