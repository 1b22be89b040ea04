//! The fast half of the compiler fuzzing: `axonal_dsl::compile` alone on arbitrary bytes
//! (lossy UTF-8), several times more executions per second than `compile`, which also
//! formats the code, renders every diagnostic and goes through the macro's door. Same
//! token-level mutator, same dictionary.
//!
//! Run: `cargo fuzz run compile_fast fuzz/corpus/compile -- -dict=fuzz/compile.dict`

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

#[path = "../mutator.rs"]
mod mutator;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    if let Err(diagnostics) = axonal_dsl::compile(&source) {
        assert!(!diagnostics.is_empty(), "a rejection says why");
        let _ = diagnostics[0].render("fuzz.nn", &source, false);
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    mutator::mutate(data, size, max_size, seed)
});
