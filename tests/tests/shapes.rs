//! Shapes through the `network!` door: `input 1x4x4` arrives as one Rust literal (`1` with the
//! suffix `x4x4`) and reads as the shape `[1, 4, 4]`; the generated type states it next to the
//! flattened widths; a value of any shape flows through elementwise layers, a per-channel
//! batch norm, a layer norm and `flatten`, and the network's gradients are right (f64, central differences).

use axonal::gradcheck::{check_input_grad, check_model};
use axonal::ndarray::Array2;
use axonal::{Model, Targets};

axonal::network! {
    /// An image through elementwise layers, flattened into a classifier.
    pub Img {
        input 2x3x3;
        tanh;
        bn: batchnorm;
        ln: layernorm;
        drop: dropout 0;
        flatten;
        fc: dense 4 sigmoid;
        out: dense 3;
        softmax_ce
    }
}

#[test]
fn the_generated_type_states_its_shapes() {
    assert_eq!(Img::<f32>::INPUT_SHAPE, &[2, 3, 3]);
    assert_eq!(Img::<f32>::INPUT, 18);
    assert_eq!(Img::<f32>::OUTPUT_SHAPE, &[3]);
    assert_eq!(Img::<f32>::OUTPUT, 3);
    let summary = Img::<f32>::summary();
    assert!(summary.contains("input 2x3x3"), "{summary}");
    assert!(summary.contains("[batch, 2, 3, 3]"), "{summary}");
    let flatten = summary.lines().find(|l| l.contains("flatten")).unwrap();
    assert!(flatten.contains("[batch, 18]"), "{summary}");
    // Per channel: γ and β of 2 channels, and their running mean and variance.
    let bn = summary.lines().find(|l| l.starts_with("bn")).unwrap();
    assert!(bn.ends_with(" 8"), "{summary}");
    let mut keys = Vec::new();
    Img::<f32>::seeded(0).visit_params(&mut |p| {
        keys.push(format!("{}.{} {:?}", p.layer, p.name, p.shape));
    });
    assert!(keys.contains(&"bn.weight [2]".to_string()), "{keys:?}");
    // Layer norm's γ has the per-sample shape, as PyTorch's `LayerNorm(shape)`.
    assert!(
        keys.contains(&"ln.weight [2, 3, 3]".to_string()),
        "{keys:?}"
    );
}

#[test]
fn gradients_flow_through_shapes_and_flatten() {
    let mut net = Img::<f64>::seeded(3);
    let x = Array2::from_shape_fn((4, Img::<f64>::INPUT), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0
    });
    let targets = Targets::Labels(vec![0, 2, 1, 2]);
    net.forward(x.view(), axonal::Mode::Train).unwrap();
    let params = check_model(&mut net, x.view(), targets.view(), 1e-6).unwrap();
    let input = check_input_grad(&mut net, x.view(), targets.view(), 1e-6).unwrap();
    assert!(params.max_relative_error < 1e-6, "{params:?}");
    assert!(input.max_relative_error < 1e-6, "{input:?}");
}

#[test]
fn the_macro_door_and_the_build_door_agree_on_shapes() {
    let src = "pub Img { input 2x3x3; tanh; flatten; dense 3 }";
    let code = axonal_dsl::emit(src).unwrap();
    assert!(
        code.contains("pub const INPUT_SHAPE: &'static [::core::primitive::usize] = &[2, 3, 3];"),
        "{code}"
    );
    // `flatten` has no field: the dense layer reads the activation's output.
    assert!(!code.contains("pub flatten"), "{code}");
    let tokens: proc_macro2::TokenStream = src.parse().unwrap();
    let source = axonal_dsl::tokens::MacroSource::new(tokens);
    assert_eq!(
        axonal_dsl::check_source(&source.text),
        axonal_dsl::check_source(src)
    );
}
