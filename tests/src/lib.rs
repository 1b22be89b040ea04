//! Whole-system tests of axonal live in `tests/`: snapshots of generated code,
//! compile-fail diagnostics, gradient checks through whole networks, training.

pub mod onnx_runtime;
