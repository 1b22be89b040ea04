//! ONNX import (`axc import`'s `axonal_dsl::onnx::import::import`) on arbitrary bytes: never
//! a panic, never an allocation beyond what the bytes hold (`-rss_limit_mb` catches one: a
//! tensor that claims a billion elements must be refused before it is read), and what it
//! returns is consistent: a source that checks, with one network, whose weights are exactly
//! the imported ones by name and size.
//!
//! Run: `cargo fuzz run -O -a -s none onnx_import WORK fuzz/corpus/onnx_import -- -rss_limit_mb=512`

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match axonal_dsl::onnx::import::import(data, "Fuzzed") {
        Ok(imported) => {
            let program = axonal_dsl::check_source(&imported.source)
                .expect("an imported source checks");
            assert_eq!(program.networks.len(), 1);
            let declared = axonal_onnx::weights(&axonal_dsl::onnx::export(&program.networks[0]));
            assert_eq!(declared.len(), imported.weights.len());
            for ((name, dims), (got, shape, values)) in declared.iter().zip(&imported.weights) {
                assert_eq!(name, got);
                let n: i64 = dims.iter().product();
                assert_eq!(n as usize, values.len());
                assert_eq!(shape.iter().product::<usize>(), values.len());
            }
        }
        Err(e) => assert!(!e.0.is_empty() && !e.to_string().is_empty()),
    }
});
