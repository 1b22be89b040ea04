//! Every layer kind of the compiler's registry (`axonal_dsl::layers::KINDS`) agrees with the
//! runtime: `tests/build.rs` compiles one network per example of every kind (every
//! activation, dense with and without an activation, fixed weights, an L2 penalty, …) into
//! this module under `#[deny(warnings)]`, so a generated field type or constructor the runtime
//! lacks fails to build; and each network runs forward, backward and predict with outputs of
//! the width it declares.

use axonal::ndarray::Array2;
use axonal::{Mode, Model};

#[deny(warnings)]
#[no_implicit_prelude]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/kinds.rs"));
}

/// Runs a network: a training forward and backward of 3 samples, and predict.
fn run<M: Model<f64>>(mut net: M) -> Result<(), String> {
    let x = Array2::from_shape_fn((3, net.input_width()), |(i, j)| {
        0.3 * i as f64 - 0.2 * j as f64 + 0.1
    });
    let width = net.output_width();
    let out = net
        .forward(x.view(), Mode::Train)
        .map_err(|e| e.to_string())?;
    if out.dim() != (3, width) || out.iter().any(|v| !v.is_finite()) {
        return Err(format!("forward gave {out:?}"));
    }
    let grad = Array2::from_elem((3, net.output_width()), 1.0);
    net.backward_with(x.view(), Some(grad.view()), true)
        .map_err(|e| e.to_string())?;
    if net.input_grad().dim() != x.dim() || net.input_grad().iter().any(|v| !v.is_finite()) {
        return Err(format!("backward gave {:?}", net.input_grad()));
    }
    let predicted = net.predict(x.view()).map_err(|e| e.to_string())?;
    if predicted.dim() != (3, net.output_width()) {
        return Err(format!("predict gave {predicted:?}"));
    }
    Ok(())
}

#[test]
fn every_kind_s_generated_code_compiles_and_runs() {
    let results = generated::exercise();
    let examples: usize = axonal_dsl::layers::KINDS
        .iter()
        .map(|k| k.examples().len())
        .sum();
    assert_eq!(results.len(), examples);
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(body, result)| result.err().map(|e| format!("{body}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
