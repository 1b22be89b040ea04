//! Every checker error, as a user meets it through `network!`: the `.stderr` files
//! pin the message and the caret under the offending token. After an intended
//! change, regenerate with `TRYBUILD=overwrite cargo test -p axonal-tests --test compile_fail`
//! and read the diff.

#[test]
fn diagnostics() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
