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
fn lenet() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/lenet.nn")));
}

#[test]
fn fashion_cnn() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/fashion.nn")));
}

/// Residual stages written as blocks: one struct per block beside the network's.
#[test]
fn fashion_resnet() {
    insta::assert_snapshot!(emit(include_str!("../../examples/models/resnet.nn")));
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

#[test]
fn every_statement() {
    insta::assert_snapshot!(emit(
        "/// Every statement of the language in one network.
        pub Everything {
            input 8;
            fc1: dense 8->16 leaky_relu 0.1 init=he bias=0.01 l2=1e-4;
            bn1: batchnorm momentum=0.1 eps=1e-5;
            drop1: dropout 0.25;
            mx: maxout 16->8 k=3 init=xavier_uniform;
            elu 0.5;
            dense 8 selu;
            gelu; gelu_tanh; silu; swish; softplus; mish; hard_sigmoid;
            dense 8 step init=uniform(-0.1, 0.1);
            identity; sigmoid; tanh; relu;
            dense 8 init=lecun_uniform bias=[0, 1, 2, 3, 4, 5, 6, 7];
            log_softmax;
            dense 4 init=normal(0, 0.01);
            huber delta=0.5 reduction=sum
        }"
    ));
}

#[test]
fn fused_output_activations() {
    insta::assert_snapshot!(emit(
        "/// softmax + categorical cross-entropy: trained on logits.
        pub Categorical { input 4; dense 3 softmax; categorical_crossentropy }
        /// sigmoid + binary cross-entropy: trained on logits.
        pub Binary { input 4; dense 8 relu; dense 1; sigmoid; bce }
        /// Already on logits: nothing to fuse.
        pub Logits { input 4; dense 3; sparse_categorical_crossentropy from_logits=true reduction=none }"
    ));
}
