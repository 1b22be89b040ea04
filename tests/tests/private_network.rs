//! Generated code compiles without warnings in a user's crate under default lints, whether or
//! not the user calls every item: a private network (`Or { … }`, no `pub`) compiled by
//! `build.rs` (tests/build.rs compiles `tests/models/private_or.nn` with
//! `axonal_dsl::build::compile`, as a user's build script would) and included here, in a
//! crate that denies warnings. Only `new` and `predict` are used; `INPUT`, `OUTPUT`,
//! `PARAMS`, `seeded` and `summary` are not, and must not warn as dead code.
#![deny(warnings)]

use axonal::ndarray::array;
use axonal::Model;

include!(concat!(env!("OUT_DIR"), "/private_or.rs"));

#[test]
fn a_private_network_from_build_rs_compiles_without_warnings_and_works() {
    let net = Or::<f32>::new(&mut axonal::seeded_rng(0));
    let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = net.predict(x.view()).unwrap();
    assert_eq!(y.column(0).to_vec(), [0.0, 1.0, 1.0, 1.0]);
}
