//! Replays the fuzzer's inputs through the compiler in every `cargo test`: the minimized
//! corpus of `fuzz/corpus/compile` (inputs that together cover what the fuzzer reached) and
//! `fuzz/regressions` (every input that ever crashed or failed a check, kept forever).
//! Each goes through the same checks as the fuzz target (`fuzz/check.rs`): no panic,
//! accepted code parses as Rust with one struct per network, diagnostics render.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/check.rs"]
mod check;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

fn replay(dir: &str) -> usize {
    let files = files(dir);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let source = String::from_utf8_lossy(&bytes);
        if std::panic::catch_unwind(|| check::check(&source)).is_err() {
            panic!("{} fails the compiler's checks (see above)", path.display());
        }
    }
    files.len()
}

#[test]
fn the_fuzz_corpus_compiles_or_is_rejected_cleanly() {
    assert!(replay("fuzz/corpus/compile") > 100, "the corpus is missing");
}

#[test]
fn every_input_that_ever_crashed_stays_fixed() {
    replay("fuzz/regressions");
}
