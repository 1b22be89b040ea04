//! The compiler never panics, whatever text it is given: it returns code or diagnostics.
//! Names from the pools of hostile names (keywords, prelude, primitives, the generated
//! code's own identifiers), huge sizes and extreme numbers included; and what it accepts
//! works: an accepted initializer fills an f32 parameter with finite values.

use proptest::prelude::*;

/// Tokens of the language, to build inputs that get past the parser more often than noise.
const TOKENS: &[&str] = &[
    "pub",
    "Net",
    "{",
    "}",
    ";",
    ":",
    "input",
    "dense",
    "relu",
    "softmax",
    "softmax_ce",
    "mse",
    "dropout",
    "batchnorm",
    "maxout",
    "residual",
    "shortcut",
    "add",
    "concat",
    "repeat",
    "conv2d",
    "flatten",
    "k=1",
    "1x4x4",
    "->",
    "=",
    "[",
    "]",
    "(",
    ")",
    ",",
    "0",
    "1",
    "2",
    "784",
    "0.5",
    "-0.7",
    "1e-3",
    "1e999",
    "init",
    "he",
    "normal",
    "weights",
    "bias",
    "k",
    "///",
    "//",
    "\n",
    "step",
    "tanh",
    "sigmoid",
    "fc1",
    "x",
    "pub(crate)",
    "18446744073709551616",
    "16777216",
    "16777216->16777216",
    "k=64",
    "1e308",
    "-1e308",
    "1e39",
    "1e-50",
    "uniform",
    "type",
    "self",
    "Self",
    "None",
    "Ok",
    "F",
    "f32",
    "_",
    "\u{feff}",
    "\0",
];

/// Names a user might pick that Rust, or the generated code, could trip on.
const NAMES: &[&str] = &[
    "type",
    "fn",
    "gen",
    "async",
    "dyn",
    "try",
    "macro_rules",
    "union",
    "self",
    "Self",
    "super",
    "crate",
    "_",
    "f32",
    "usize",
    "str",
    "bool",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Vec",
    "Box",
    "Sized",
    "FnMut",
    "Clone",
    "Debug",
    "Default",
    "drop",
    "F",
    "R",
    "T",
    "G",
    "x",
    "grad",
    "mode",
    "rng",
    "f",
    "targets",
    "seed",
    "loss",
    "new",
    "axonal",
    "core",
    "std",
    "Model",
    "mlp",
    "Net",
    "fc1",
    "__",
];

/// Numbers at and past the edges of what the compiler and f32 accept.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "1e-50",
    "1e-46",
    "1e-45",
    "3.4e38",
    "3.5e38",
    "1e39",
    "1e300",
    "1e308",
    "-1e308",
    "16777216",
    "16777217",
    "4294967296",
    "0.99999999999999999",
];

/// The runtime's initializer for the compiler's.
fn runtime_init(init: &axonal_dsl::ir::Init) -> axonal::init::Init {
    use axonal::init::Init as R;
    use axonal_dsl::ir::Init as C;
    match init {
        C::Zeros => R::Zeros,
        C::Ones => R::Ones,
        C::Constant(v) => R::Constant(*v),
        C::Normal { mean, std } => R::Normal {
            mean: *mean,
            std: *std,
        },
        C::Uniform { low, high } => R::Uniform {
            low: *low,
            high: *high,
        },
        C::XavierNormal => R::XavierNormal,
        C::XavierUniform => R::XavierUniform,
        C::HeNormal => R::HeNormal,
        C::HeUniform => R::HeUniform,
        C::KaimingNormal { a } => R::KaimingNormal { a: *a },
        C::KaimingUniform { a } => R::KaimingUniform { a: *a },
        C::LecunNormal => R::LecunNormal,
        C::LecunUniform => R::LecunUniform,
        C::Values(values) => R::Values(Box::leak(values.clone().into_boxed_slice())),
    }
}

/// Every initializer of every accepted layer fills an f32 parameter of its shape with
/// finite values, without a panic: what `seeded()` does with it.
fn initializers_draw_finite_f32s(program: &axonal_dsl::ir::Program) {
    use axonal_dsl::layers::{dense::Dense, maxout::Maxout};
    let mut rng = axonal::seeded_rng(1);
    for layer in program.networks.iter().flat_map(|n| n.layers()) {
        let (input, output) = (layer.input.size(), layer.output.size());
        let (weight, bias, fan_in) = if let Some(d) = layer.spec.downcast_ref::<Dense>() {
            (&d.weight_init, &d.bias_init, input)
        } else if let Some(m) = layer.spec.downcast_ref::<Maxout>() {
            (&m.weight_init, &m.bias_init, input * m.k)
        } else {
            continue;
        };
        for (init, len) in [(weight, input * output), (bias, output)] {
            // A few values are enough to see the distribution's range; `Values` needs them all.
            let len = if matches!(init, axonal_dsl::ir::Init::Values(_)) {
                len
            } else {
                len.min(64)
            };
            let mut values = vec![0f32; len];
            runtime_init(init).fill(&mut values, fan_in, output, &mut rng);
            assert!(
                values.iter().all(|v| v.is_finite()),
                "{init:?} drew {values:?}"
            );
        }
    }
}

fn compile_never_panics(source: &str) {
    // Both outcomes are fine, but accepted code must be valid Rust.
    if let Ok(tokens) = axonal_dsl::compile(source) {
        let file: syn::File = syn::parse2(tokens).expect("generated code parses as Rust");
        let networks = axonal_dsl::check_source(source).unwrap().networks;
        // One struct per network, plus one per block (named after the network and the block).
        let structs: Vec<String> = file
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Struct(s) => Some(s.ident.to_string()),
                _ => None,
            })
            .collect();
        for net in &networks {
            let name = net.name.trim_start_matches("r#");
            let count = structs
                .iter()
                .filter(|s| s.trim_start_matches("r#") == name)
                .count();
            assert_eq!(count, 1, "{name} in {structs:?}");
        }
    }
    if let Ok(program) = axonal_dsl::check_source(source) {
        initializers_draw_finite_f32s(&program);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text(source in "\\PC{0,200}") {
        compile_never_panics(&source);
    }

    #[test]
    fn token_soup(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        compile_never_panics(&tokens.join(" "));
    }

    #[test]
    fn blocks_of_random_shapes_and_counts(
        widths in proptest::collection::vec(0usize..40, 1..5),
        count in 0usize..2000,
        kind in proptest::sample::select(&["residual", "add", "concat", "repeat"][..]),
        depth in 0usize..20,
    ) {
        let body = widths.iter().map(|w| format!("dense {w} relu")).collect::<Vec<_>>().join("; ");
        let head = if kind == "repeat" { format!("repeat {count}") } else { kind.to_string() };
        let block = format!("{head} {{ {body} }} b: {{ dense {} }}", widths[0]);
        let nested = format!("{}{block}{}", "residual { ".repeat(depth), " }".repeat(depth));
        compile_never_panics(&format!("N {{ input 3; {nested}; mse }}"));
    }

    #[test]
    fn valid_networks_with_random_widths(
        widths in proptest::collection::vec(0usize..2000, 1..5),
        loss in proptest::sample::select(&["mse", "softmax_ce", ""][..]),
    ) {
        let layers: Vec<String> = widths.iter().map(|w| format!("dense {w} relu")).collect();
        let source = format!("N {{ input 3; {}; {loss} }}", layers.join("; "));
        compile_never_panics(&source);
    }

    #[test]
    fn hostile_names(
        name in proptest::sample::select(NAMES),
        labels in proptest::collection::vec(proptest::sample::select(NAMES), 1..5),
    ) {
        let layers: Vec<String> = labels.iter().enumerate().map(|(i, l)| match i % 3 {
            0 => format!("{l}: dense 2 relu"),
            1 => format!("{l}: batchnorm"),
            _ => format!("{l}: mse"),
        }).collect();
        let source = format!("pub {name} {{ input 2; {} }}", layers.join("; "));
        compile_never_panics(&source);
        let reserved = ["self", "Self", "super", "crate", "_"];
        if let Err(diags) = axonal_dsl::check_source(&source) {
            // Refused only for a reserved name, a label used twice, or a statement after the loss.
            for d in &diags {
                let ok = match d.code.as_str() {
                    "E0021" => reserved.contains(&&source[d.primary.span.clone()]),
                    "E0015" | "E0012" | "E0013" => true,
                    _ => false,
                };
                prop_assert!(ok, "{source}: {d:?}");
            }
        }
    }

    #[test]
    fn huge_sizes(
        widths in proptest::collection::vec(proptest::sample::select(&[1usize, 7, 4096, 65536, 16777216, 16777217][..]), 1..6),
        k in 1usize..70,
        repeat in 1usize..40,
    ) {
        let layers: Vec<String> = widths.iter().map(|w| format!("maxout {w} k={k}; dense {w}; batchnorm")).collect();
        let source = format!("N {{ input 16777216; {} }}", vec![layers.join("; "); repeat].join("; "));
        compile_never_panics(&source);
    }

    #[test]
    fn extreme_numbers(
        a in proptest::sample::select(NUMBERS),
        b in proptest::sample::select(NUMBERS),
        form in 0usize..10,
    ) {
        let attrs = match form {
            0 => format!("init=uniform({a}, {b})"),
            1 => format!("init=normal({a}, {b})"),
            2 => format!("init=constant({a}) bias={b}"),
            3 => format!("weights=[{a}, {b}] bias=[{b}]"),
            4 => format!("init={a} bias=uniform(-{b}, {b})"),
            5 => format!("elu {a}; batchnorm eps={b} momentum={a}"),
            6 => format!("l2={a}; dropout {b}"),
            7 => format!("relu; maxout 1 k={a} bias={b}"),
            8 => format!("relu; huber delta={a}"),
            _ => format!("relu; multiclass_hinge margin={b}"),
        };
        compile_never_panics(&format!("N {{ dense 2->1 {attrs} }}"));
        compile_never_panics(&format!("N {{ input 2; dense 2 {attrs} }}"));
    }
}
