//! The generated code of whole networks, pinned. A change here is a change to what
//! users read and compile: review the diff (`cargo insta review`) before accepting.

fn emit(source: &str) -> String {
    axonal_dsl::emit(source).unwrap_or_else(|diags| panic!("does not compile: {diags:#?}"))
}

#[test]
fn gates() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/gates.nn")));
}

#[test]
fn xor() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/xor.nn")));
}

#[test]
fn backprop() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/backprop.nn")));
}

#[test]
fn spiral() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/spiral.nn")));
}

#[test]
fn mnist_mlp() {
    insta::assert_snapshot!(emit(
        "/// MLP for 28x28 digits.
        pub Mnist {
            input 784;
            fc1: dense 784->128 relu init=he;
            fc2: dense 128->10 init=xavier;
            softmax_ce
        }"
    ));
}

#[test]
fn several_networks_visibility_and_standalone_activations() {
    insta::assert_snapshot!(emit(
        "// three networks in one source
        pub(crate) Encoder { input 16; dense 8 tanh; sigmoid }
        Private { dense 4->4; relu; dense 2 init=uniform(-0.1, 0.1) bias=ones; mse }
        pub Probabilities { dense 3->3 softmax init=zeros }"
    ));
}
