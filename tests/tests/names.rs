//! Every name a user might give a network or a layer compiles, without warnings, or is
//! refused by the checker at the name (issue 13, item 3).
//!
//! `tests/build.rs` draws the names from pools: every Rust keyword (strict, reserved and
//! weak, of every edition), every primitive type, every name of the std prelude, and every
//! identifier the generated code uses itself. Each accepted one names a network (and its
//! loss), and all of them label the layers of one more network; `build.rs` checks that the
//! checker refuses exactly `self`, `Self`, `super`, `crate` and `_`
//! (`tests/ui/reserved_names.rs` shows those errors). Both doors are compiled here, each in
//! a module with `#[deny(warnings)]` and `#[no_implicit_prelude]`, so that generated code
//! may rely on nothing a user's module could shadow or lack: the `build.rs` door (code
//! written by `axonal_dsl::emit`) and the `network!` door. Every network is built, and a
//! few (and the one with every label) train a step.

use axonal::ndarray::Array2;
use axonal::{Mode, Model, TargetsView};

// Clippy's naming lints judge the names themselves, which here are hostile on purpose (a
// struct `PARAMS`, a network `new` whose constructor is `new`); everything else must pass.
#[deny(warnings)]
#[allow(clippy::upper_case_acronyms, clippy::self_named_constructors)]
#[no_implicit_prelude]
mod built {
    include!(concat!(env!("OUT_DIR"), "/names.rs"));
}

#[deny(warnings)]
#[allow(clippy::upper_case_acronyms, clippy::self_named_constructors)]
#[no_implicit_prelude]
mod macro_door {
    include!(concat!(env!("OUT_DIR"), "/names_macro.rs"));
}

/// Trains one step of `net` (predict, forward, loss, backward) and returns its checkpoint
/// keys (`layer.name`).
fn run<M: Model<f32>>(mut net: M) -> Vec<String> {
    let x = Array2::from_shape_fn((3, 2), |(i, j)| i as f32 * 0.5 - j as f32);
    let y = Array2::from_shape_fn((3, 2), |(i, j)| (i + j) as f32 * 0.1);
    let predicted = net.predict(x.view()).expect("predict");
    assert_eq!(predicted.dim(), (3, 2), "{}", net.name());
    net.forward(x.view(), Mode::Train).expect("forward");
    net.loss(TargetsView::Values(y.view())).expect("loss");
    net.backward(x.view()).expect("backward");
    let mut keys = Vec::new();
    net.visit_params(&mut |p| keys.push(format!("{}.{}", p.layer, p.name)));
    keys
}

#[test]
fn every_accepted_name_compiles_and_builds_through_both_doors() {
    let built = built::exercise();
    assert_eq!(built, macro_door::exercise());
    // Keywords keep their own name in checkpoints: the field is `r#if`, the key `if`.
    for key in [
        "if.weight",
        "gen.bias",
        "Some.weight",
        "None.bias",
        "Err.weight",
        "f32.weight",
        "F.weight",
        "loss.weight",
    ] {
        assert!(
            built.iter().any(|k| k == key),
            "no parameter {key} among {} keys",
            built.len()
        );
    }
}

#[test]
fn hostile_names_keep_their_text() {
    assert_eq!(Model::<f32>::name(&built::r#type::<f32>::seeded(0)), "type");
    assert_eq!(Model::<f32>::name(&macro_door::F::<f32>::seeded(0)), "F");
    assert_eq!(built::Option::<f64>::PARAMS, 6);
    assert!(built::AllLabels::<f32>::summary().contains("\ntype "));
}
