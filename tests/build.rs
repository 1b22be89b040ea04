//! Writes `$OUT_DIR/random_networks.rs` for `tests/random_networks.rs`: seeded random, valid
//! networks (every layer kind, activations with parameters, initializers, every loss with
//! the targets it needs), compiled by the axonal compiler into one module, with one
//! gradient-check case per network.
//!
//! Every network must pass the checker, or the build fails with its diagnostics: the
//! generator only writes networks the language accepts, so a rejection is a bug in one of
//! the two. The module is compiled under `#[deny(warnings)]`: an accepted network must
//! build without warnings.
//!
//! `AXONAL_RANDOM_NETWORKS=N` (default 24) and `AXONAL_RANDOM_NETWORKS_SEED=S` (default 1)
//! change how many networks and which; CI keeps the default so its compile time stays small.
//! About half the random networks, and some of their layers and losses, are named from the
//! pools of hostile names below (keywords, primitive types, prelude names, the generated
//! code's own identifiers), drawn from a second generator so the networks' shapes do not
//! depend on it: a property test that accepted names compile, and train correctly.
//!
//! It also writes `$OUT_DIR/names.rs` and `$OUT_DIR/names_macro.rs` for `tests/names.rs`:
//! every name of the pools as a network name and as a label, through the `build.rs` door
//! (code from `axonal_dsl::emit`) and through the `network!` door. The checker must refuse
//! exactly the names of [`REFUSED`], at the name, and accept every other one.
//!
//! Last, it compiles `models/private_or.nn` with `axonal_dsl::build::compile`, as a user's
//! build script would, for `tests/private_network.rs`.

use std::fmt::Write as _;
use std::path::Path;

/// Splitmix64: enough randomness for a generator, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Every keyword of Rust: strict and reserved in every edition to 2024, and the weak
/// (contextual) ones.
const KEYWORDS: &str = "\
    as break const continue crate else enum extern false fn for if impl in let loop match \
    mod move mut pub ref return self Self static struct super trait true type unsafe use \
    where while async await dyn abstract become box do final macro override priv typeof \
    unsized virtual yield try gen macro_rules union raw safe auto default _";

/// Every primitive type, stable or not.
const PRIMITIVES: &str = "\
    bool char str f16 f32 f64 f128 i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize";

/// The names of the std prelude (v1, rust_2021, rust_2024): types, traits, functions,
/// variants, macros, derives and built-in attributes.
const PRELUDE: &str = "\
    Copy Send Sized Sync Unpin Drop Fn FnMut FnOnce AsyncFn AsyncFnMut AsyncFnOnce drop \
    size_of size_of_val align_of align_of_val Box ToOwned Clone PartialEq PartialOrd Eq Ord \
    AsRef AsMut Into From Default Iterator Extend IntoIterator DoubleEndedIterator \
    ExactSizeIterator Option Some None Result Ok Err String ToString Vec TryFrom TryInto \
    FromIterator Future IntoFuture Debug Hash assert assert_eq assert_ne cfg column \
    compile_error concat dbg debug_assert env eprint eprintln file format format_args \
    include include_bytes include_str line matches module_path option_env panic print \
    println stringify thread_local todo unimplemented unreachable vec write writeln derive \
    test bench global_allocator cfg_attr allow warn deny forbid doc inline must_use \
    deprecated repr path non_exhaustive";

/// Every identifier the generated code (and the tests' code around it) uses: its type
/// parameters and their alternatives, locals, methods, constants, the crates and items it
/// names, the lints it allows.
const GENERATED: &str = "\
    F R T G x grad grad_output input_grad mode rng f targets seed new seeded summary INPUT \
    OUTPUT PARAMS name input_width output_width forward output loss backward_with \
    visit_params visit_buffers predict axonal core std alloc proc_macro Model Float Param \
    Buffer Mode Error NoLoss network TargetsView ndarray ArrayView2 Array2 rand Rng \
    seeded_rng model check_input check_backward layers Dense Activation Maxout BatchNorm \
    Dropout activation Relu Tanh Sigmoid init Init Loss Reduction Mse reborrow view link dim \
    as_ref penalty with_l2 grad_input backward primitive option result marker ops clone fmt \
    dead_code non_snake_case non_camel_case_types main Case Want check CASES SOURCE \
    generated names built exercise net want batch dense0 relu1 input dense relu mse Conv2d \
    Conv1d MaxPool2d MaxPool1d AvgPool2d AvgPool1d GlobalAvgPool LayerNorm Window1 Window2 pool \
    with_stride with_pad with_dilation INPUT_SHAPE OUTPUT_SHAPE";

/// The names the checker refuses: Rust has no identifier for them, not even a raw one.
const REFUSED: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Every name of the pools, once, in pool order.
fn pool() -> Vec<&'static str> {
    let mut names: Vec<&str> = Vec::new();
    let words = [KEYWORDS, PRIMITIVES, PRELUDE, GENERATED].map(str::split_whitespace);
    for name in words.into_iter().flatten() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The accepted names of the pools.
fn accepted() -> Vec<&'static str> {
    pool()
        .into_iter()
        .filter(|n| !REFUSED.contains(n))
        .collect()
}

/// A name as Rust code spells it: raw if it is a keyword.
fn rust(name: &str) -> String {
    if axonal_dsl::codegen::KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// The targets a network's loss needs, as `tests/random_networks.rs` spells them.
fn targets(loss: &str, width: usize) -> String {
    match loss {
        "softmax_ce" | "multiclass_hinge" | "sparse_categorical_crossentropy" => {
            format!("Want::Labels({width})")
        }
        "cross_entropy"
        | "categorical_crossentropy"
        | "kl_divergence"
        | "kld"
        | "categorical_hinge" => format!("Want::OneHot({width})"),
        "hinge" | "squared_hinge" => format!("Want::Signs({width})"),
        "bce" | "binary_crossentropy" | "msle" => format!("Want::Values({width}, 0.0, 1.0)"),
        "poisson" => format!("Want::Values({width}, 0.0, 3.0)"),
        "mae" | "mean_absolute_error" | "mape" | "mean_absolute_percentage_error" => {
            format!("Want::Values({width}, 2.0, 3.0)")
        }
        "" => "Want::NoLoss".into(),
        _ => format!("Want::Values({width}, -1.0, 1.0)"),
    }
}

impl axonal_dsl::layers::Random for Rng {
    fn below(&mut self, n: usize) -> usize {
        Rng::below(self, n)
    }
}

/// A layer kind of the compiler's registry, each as often as its sample weight says.
fn pick_kind(rng: &mut Rng) -> &'static dyn axonal_dsl::layers::Kind {
    let kinds = axonal_dsl::layers::KINDS;
    let total: usize = kinds.iter().map(|k| k.sample_weight()).sum();
    let mut r = rng.below(total);
    for kind in kinds {
        if r < kind.sample_weight() {
            return *kind;
        }
        r -= kind.sample_weight();
    }
    unreachable!("r < total")
}

/// One statement of a kind that can take `width`, as text with its output (never a dropout
/// whose mask the test must freeze: inside a block it has no field of the network's; never a
/// `flatten`).
fn layer_sample(
    rng: &mut Rng,
    width: &axonal_dsl::ir::Shape,
) -> Option<(String, axonal_dsl::ir::Shape)> {
    for _ in 0..100 {
        let kind = pick_kind(rng);
        if let Some(sample) = kind.sample(rng, Some(width)) {
            // A body of `flatten` alone computes nothing (E0026): no `flatten` in blocks.
            if !sample.freeze && sample.text != "flatten" {
                return Some((sample.text, sample.output));
            }
        }
    }
    None
}

/// A body of one to two statements (a block among them sometimes) on `width`.
fn body_sample(
    rng: &mut Rng,
    width: &axonal_dsl::ir::Shape,
    depth: usize,
) -> Option<(String, axonal_dsl::ir::Shape)> {
    let mut text = String::new();
    let mut w = width.clone();
    for _ in 0..rng.range(1, 2) {
        let (t, out) = if depth < 2 && rng.chance(15) {
            block_sample(rng, &w, depth + 1)?
        } else {
            let (t, out) = layer_sample(rng, &w)?;
            (format!("{t};"), out)
        };
        write!(text, " {t}").unwrap();
        w = out;
    }
    Some((text, w))
}

/// A random block on `width` (a residual with or without shortcut, `add` or `concat` of two
/// branches, a `repeat`), nested inside another sometimes, as text with its output shape.
fn block_sample(
    rng: &mut Rng,
    width: &axonal_dsl::ir::Shape,
    depth: usize,
) -> Option<(String, axonal_dsl::ir::Shape)> {
    use axonal_dsl::ir::Shape;
    let act = |rng: &mut Rng| rng.pick(&["", " relu", " tanh", " elu"]);
    for _ in 0..20 {
        match rng.below(4) {
            0 => {
                let (body, out) = body_sample(rng, width, depth)?;
                let a = act(rng);
                if out == *width {
                    return Some((format!("residual{a} {{{body} }}"), out));
                }
                if width.rank() == 1 && out.rank() == 1 {
                    let shortcut = format!(" dense {};", out.size());
                    return Some((
                        format!("residual{a} {{{body} }} shortcut: {{{shortcut} }}"),
                        out,
                    ));
                }
            }
            1 => {
                let (a, out_a) = body_sample(rng, width, depth)?;
                let (mut b, mut out_b) = body_sample(rng, width, depth)?;
                if out_a != out_b && out_a.rank() == 1 && out_b.rank() == 1 {
                    write!(b, " dense {};", out_a.size()).unwrap();
                    out_b = out_a.clone();
                }
                if out_a == out_b {
                    let act = act(rng);
                    return Some((format!("add{act} {{{a} }} {{{b} }}"), out_a));
                }
            }
            2 => {
                let (a, out_a) = body_sample(rng, width, depth)?;
                let (b, out_b) = body_sample(rng, width, depth)?;
                if out_a.rank() == out_b.rank() && out_a.dims()[1..] == out_b.dims()[1..] {
                    let mut dims = out_a.dims().to_vec();
                    dims[0] += out_b.dims()[0];
                    return Some((
                        format!("concat left: {{{a} }} right: {{{b} }}"),
                        Shape::new(dims),
                    ));
                }
            }
            _ => {
                let (body, out) = body_sample(rng, width, depth)?;
                if out == *width {
                    let n = rng.range(1, 3);
                    return Some((format!("repeat {n} {{{body} }}"), out));
                }
            }
        }
    }
    None
}

/// Hands out hostile names from the pools, never the same twice in one scope.
struct Namer {
    rng: Rng,
    names: Vec<&'static str>,
}

impl Namer {
    /// A name from the pools not in `taken`, `percent` % of the time.
    fn maybe(&mut self, percent: usize, taken: &[String]) -> Option<&'static str> {
        if !self.rng.chance(percent) {
            return None;
        }
        let name = self.names[self.rng.below(self.names.len())];
        (!taken.iter().any(|t| t == name)).then_some(name)
    }
}

/// One network: its source text and its test case. `taken` holds the names of the
/// networks written so far (and `namer` may add one).
fn network(
    index: usize,
    rng: &mut Rng,
    namer: &mut Namer,
    taken: &mut Vec<String>,
) -> (String, String) {
    let name = match namer.maybe(50, taken) {
        Some(hostile) => hostile.to_string(),
        None => format!("R{index}"),
    };
    taken.push(name.clone());
    // Labels: a hostile name sometimes; never the loss's default field name or a layer's.
    let mut labels: Vec<String> = vec!["loss".into(), "out".into()];
    let mut hostile_label = |labels: &mut Vec<String>| match namer.maybe(50, labels) {
        Some(label)
            if !label.starts_with("drop")
                && !label.starts_with("dense")
                && !label.starts_with("relu") =>
        {
            labels.push(label.to_string());
            format!("{label}: ")
        }
        _ => String::new(),
    };
    use axonal_dsl::ir::Shape;
    // Two networks in six start from an image `[C, H, W]`, one from a sequence `[C, L]`
    // (flattened before the output layer), by index so that every run has both.
    let input = match index % 6 {
        1 | 3 => Shape::new(vec![rng.range(1, 2), rng.range(2, 5), rng.range(2, 5)]),
        4 => Shape::new(vec![rng.range(1, 3), rng.range(2, 5)]),
        _ => Shape::vector(rng.range(1, 6)),
    };
    let mut src = String::new();
    let mut freeze = Vec::new();
    writeln!(src, "/// Random network {index}.").unwrap();
    let mut vis = rng.pick(&["", "pub ", "pub(crate) "]);
    if name == "pub" && vis.is_empty() {
        // `pub { … }` reads as a visibility without a name; `pub pub { … }` is the network.
        vis = "pub ";
    }
    write!(src, "{vis}{name} {{").unwrap();
    let explicit_input = input.rank() > 1 || rng.chance(60);
    if explicit_input {
        write!(src, " input {};", input.source()).unwrap();
    }
    // Networks 1 and 4 of every six start with a convolution, so that every run has CNNs.
    let conv_first = input.rank() > 1 && matches!(index % 6, 1 | 4);
    let mut width = input;
    let mut first = !explicit_input;
    let layers = rng.range(usize::from(conv_first), 5);
    // Blocks come from a generator of their own, so the other networks stay as they were.
    let mut block_rng = Rng(0xb10c_u64 ^ (index as u64).wrapping_mul(0x9e37_79b9));
    for i in 0..layers {
        if !first && block_rng.chance(30) {
            if let Some((text, out)) = block_sample(&mut block_rng, &width, 0) {
                let label = if block_rng.chance(50) {
                    format!("b{i}: ")
                } else {
                    String::new()
                };
                write!(src, " {label}{text}").unwrap();
                width = out;
                continue;
            }
        }
        // A kind of the registry, as often as its weight says, that can take this input.
        let known = (!first).then_some(&width);
        let sample = loop {
            let kind = if conv_first && i == 0 {
                axonal_dsl::layers::kind("conv2d").expect("a kind")
            } else {
                pick_kind(rng)
            };
            if let Some(sample) = kind.sample(rng, known) {
                break sample;
            }
        };
        let label = if sample.freeze {
            // Labelled: the test freezes its mask.
            let field = format!("drop{i}");
            freeze.push(field.clone());
            format!("{field}: ")
        } else if rng.chance(40) {
            format!("l{i}: ")
        } else {
            hostile_label(&mut labels)
        };
        write!(src, " {label}{};", sample.text).unwrap();
        width = sample.output;
        first = false;
    }
    if width.rank() > 1 {
        write!(src, " flatten;").unwrap();
        width = Shape::vector(width.size());
    }
    let width = width.size();

    // The output layer and the loss, with the activation and width the loss needs.
    let loss = rng.pick(&[
        "softmax_ce",
        "multiclass_hinge",
        "mse",
        "mean_squared_error",
        "sse_half",
        "cross_entropy",
        "binary_crossentropy",
        "bce",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "poisson",
        "kl_divergence",
        "kld",
        "mae",
        "mape",
        "msle",
        "cosine_similarity",
        "huber",
        "log_cosh",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "",
    ]);
    let logits = rng.chance(50);
    let (out, act, attrs) = match loss {
        "softmax_ce" | "multiclass_hinge" | "categorical_hinge" => {
            (rng.range(2, 5), "", String::new())
        }
        "cross_entropy" | "kl_divergence" | "kld" => (rng.range(2, 5), "softmax", String::new()),
        "categorical_crossentropy" | "sparse_categorical_crossentropy" if logits => {
            (rng.range(2, 5), "", " from_logits=true".to_string())
        }
        "categorical_crossentropy" | "sparse_categorical_crossentropy" => {
            (rng.range(2, 5), "softmax", String::new())
        }
        "binary_crossentropy" | "bce" if logits => {
            (rng.range(1, 4), "", " from_logits=true".to_string())
        }
        "binary_crossentropy" | "bce" => (rng.range(1, 4), "sigmoid", String::new()),
        "hinge" | "squared_hinge" => (rng.range(1, 4), "tanh", String::new()),
        "msle" => (rng.range(1, 4), "sigmoid", String::new()),
        "poisson" => (rng.range(1, 4), "softplus", String::new()),
        "cosine_similarity" => (rng.range(2, 4), "", String::new()),
        "huber" => (
            rng.range(1, 4),
            "",
            format!(" delta={}", rng.pick(&["0.5", "1", "2"])),
        ),
        _ => (rng.range(1, 4), "", String::new()),
    };
    let attrs = match loss {
        "multiclass_hinge" if rng.chance(50) => format!(" margin={}", rng.pick(&["0.5", "2"])),
        _ => attrs,
    };
    let reduction = if !loss.is_empty() && rng.chance(40) {
        format!(" reduction={}", rng.pick(&["mean", "sum", "none"]))
    } else {
        String::new()
    };
    let arrow = if first {
        format!("{width}->{out}")
    } else {
        out.to_string()
    };
    let act = if act.is_empty() {
        String::new()
    } else {
        format!(" {act}")
    };
    // cosine_similarity clamps the norm of its input at 1e-6 (Keras' l2_normalize): an
    // output of exactly 0 (a step layer's zeros, zero biases) sits on that kink.
    let bias = if loss == "cosine_similarity" {
        " bias=normal(0, 0.5)"
    } else {
        ""
    };
    write!(src, " out: dense {arrow}{act}{bias}").unwrap();
    if loss.is_empty() {
        src.push_str(" }");
    } else {
        labels.retain(|l| l != "loss");
        let label = hostile_label(&mut labels);
        write!(src, "; {label}{loss}{attrs}{reduction} }}").unwrap();
    }
    src.push('\n');

    let freeze: String = freeze
        .iter()
        .map(|f| format!("net.{f}.freeze_mask(true); "))
        .collect();
    // Spelt with paths a hostile name cannot shadow: a network may be called `Case`, `f64`.
    let case = format!(
        "super::Case {{ name: {name:?}, source: {src:?}, targets: super::{}, run: |rng, want, batch| \
         super::check({ty}::<::core::primitive::f64>::new(rng), |net| {{ {freeze}let _ = net; }}, want, batch, rng), \
         export: |rng, cases| super::export({ty}::<::core::primitive::f32>::new(rng), \
         {ty}::<::core::primitive::f32>::OUTPUT_SHAPE, {name:?}, rng, cases) }},",
        targets(loss, out),
        ty = rust(&name),
    );
    (src, case)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=AXONAL_RANDOM_NETWORKS");
    println!("cargo:rerun-if-env-changed=AXONAL_RANDOM_NETWORKS_SEED");
    let count: usize = std::env::var("AXONAL_RANDOM_NETWORKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let seed: u64 = std::env::var("AXONAL_RANDOM_NETWORKS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(seed);
    let mut namer = Namer {
        rng: Rng(seed ^ 0x6e61_6d65),
        names: accepted(),
    };
    let mut taken = Vec::new();
    let mut source = String::new();
    let mut cases = String::new();
    for index in 0..count {
        let (src, case) = network(index, &mut rng, &mut namer, &mut taken);
        // Each network on its own first, so a rejection names the network.
        if let Err(diagnostics) = axonal_dsl::check_source(&src) {
            panic!(
                "the generator wrote a network the checker rejects:\n{src}\n{}",
                axonal_dsl::diagnostic::render_all(&diagnostics, "random.nn", &src, false)
            );
        }
        source.push_str(&src);
        cases.push_str(&case);
        cases.push('\n');
    }
    let code = match axonal_dsl::emit(&source) {
        Ok(code) => code,
        Err(diagnostics) => panic!(
            "{}",
            axonal_dsl::diagnostic::render_all(&diagnostics, "random.nn", &source, false)
        ),
    };
    let out = format!(
        "// Generated by tests/build.rs from seed {seed}: {count} random networks.\n\
         /// The source of every network, as the compiler read it.\n\
         pub const SOURCE: &::core::primitive::str = {source:?};\n\n\
         {code}\n\
         /// One gradient-check case per network.\n\
         pub const CASES: &[super::Case] = &[\n{cases}];\n"
    );
    let dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&dir).join("random_networks.rs"), out).expect("write OUT_DIR");
    names(Path::new(&dir));
    kinds(Path::new(&dir));
    // A private network through the `build.rs` door, as a user's crate compiles it, for
    // tests/private_network.rs (which denies warnings).
    if let Err(err) = axonal_dsl::build::compile(["models/private_or.nn"]) {
        panic!("{err}");
    }
    // The sources `axc import` made of PyTorch-exported models (fixtures/onnx), for
    // tests/onnx_import.rs, which checks that importing still gives exactly these.
    let imported = [
        "models/torch_cnn.nn",
        "models/torch_resnet.nn",
        "models/torch_mlp.nn",
    ];
    if let Err(err) = axonal_dsl::build::compile(imported) {
        panic!("{err}");
    }
}

/// Writes `kinds.rs` for `tests/kinds.rs`: one network per example of every registered layer
/// kind (`Kind::examples`), so that every runtime type the compiler can name is compiled
/// against the runtime (under `deny(warnings)`) and run, and a function that runs them.
fn kinds(dir: &Path) {
    let mut source = String::new();
    let mut run = String::new();
    for kind in axonal_dsl::layers::KINDS {
        for body in kind.examples() {
            let name = format!("K{}", run.lines().count());
            writeln!(source, "/// `{body}`.\npub {name} {{ {body} }}").unwrap();
            writeln!(
                run,
                "    ({body:?}, super::run({name}::<::core::primitive::f64>::seeded(1))),"
            )
            .unwrap();
        }
    }
    let code = axonal_dsl::emit(&source).unwrap_or_else(|d| {
        panic!(
            "{}",
            axonal_dsl::diagnostic::render_all(&d, "kinds.nn", &source, false)
        )
    });
    let out = format!(
        "// Generated by tests/build.rs: every example of every layer kind.\n{code}\n\
         /// Each example's body and what running its network gave.\n\
         pub fn exercise() -> ::std::vec::Vec<(&'static ::core::primitive::str, ::core::result::Result<(), ::std::string::String>)> {{\n\
         \x20   ::std::vec![\n{run}    ]\n}}\n"
    );
    std::fs::write(dir.join("kinds.rs"), out).expect("write OUT_DIR");
}

/// The source of one network per accepted name, named so and with its loss labelled so,
/// and of one network with every accepted name as a label.
fn names_source() -> String {
    let mut src = String::new();
    for name in accepted() {
        // `pub` always: a network called `pub` needs a visibility before its name.
        writeln!(src, "/// The network `{name}`.\npub {name} {{ input 2; hidden: dense 2 tanh; {name}: mse }}").unwrap();
    }
    // Every kind of layer in turn, so each kind of field is named by every kind of name.
    let kinds = [
        "dense 2 tanh",
        "batchnorm",
        "dropout 0.25",
        "relu",
        "maxout 2 k=2",
        "dense 2 l2=0.01",
    ];
    let names = accepted();
    let (loss_label, layer_labels) = names.split_last().expect("names");
    let layers: Vec<String> = layer_labels
        .iter()
        .enumerate()
        .map(|(i, label)| format!("{label}: {}", kinds[i % kinds.len()]))
        .collect();
    writeln!(
        src,
        "/// Every accepted name as a label.\npub AllLabels {{ input 2; {}; {loss_label}: mse }}",
        layers.join("; ")
    )
    .unwrap();
    src
}

/// Writes `names.rs` (the `build.rs` door) and `names_macro.rs` (the `network!` door).
fn names(dir: &Path) {
    // The checker refuses exactly the reserved names, at the name, as networks and labels.
    for name in pool() {
        for (src, what) in [
            (format!("pub {name} {{ input 2; dense 1 }}"), "network"),
            (format!("N {{ input 2; {name}: dense 1 }}"), "label"),
        ] {
            let refused = REFUSED.contains(&name);
            match axonal_dsl::check_source(&src) {
                Ok(_) if !refused => {}
                Err(d)
                    if refused
                        && d.len() == 1
                        && d[0].code.as_str() == "E0021"
                        && src[d[0].primary.span.clone()] == *name => {}
                other => panic!(
                    "the {what} name `{name}` should be {}: {other:?}",
                    if refused {
                        "refused with E0021"
                    } else {
                        "accepted"
                    }
                ),
            }
        }
    }
    let source = names_source();
    let code = axonal_dsl::emit(&source).unwrap_or_else(|d| {
        panic!(
            "{}",
            axonal_dsl::diagnostic::render_all(&d, "names.nn", &source, false)
        )
    });
    // Builds every network, and trains a step of a few and of the one with every label.
    // Compiling is the test: rustc resolves names and checks types in generic code whether
    // or not it is instantiated; running every network would only add codegen time.
    let run = [
        "type",
        "F",
        "R",
        "Option",
        "None",
        "f32",
        "str",
        "x",
        "AllLabels",
    ];
    let mut exercise = String::new();
    for name in accepted().into_iter().chain(["AllLabels"]) {
        let net = format!("{}::<::core::primitive::f32>::seeded(0)", rust(name));
        if run.contains(&name) {
            writeln!(
                exercise,
                "    ::core::iter::Extend::extend(&mut keys, super::run({net}));"
            )
            .unwrap();
        } else {
            writeln!(exercise, "    ::core::mem::drop({net});").unwrap();
        }
    }
    let harness = format!(
        "/// Builds every network above; trains a step of some and lists their parameters.\n\
         pub fn exercise() -> ::std::vec::Vec<::std::string::String> {{\n\
         \x20   let mut keys = ::std::vec::Vec::new();\n{exercise}    keys\n}}\n"
    );
    let write = |file: &str, text: String| {
        std::fs::write(dir.join(file), text).expect("write OUT_DIR");
    };
    write(
        "names.rs",
        format!("// Generated by tests/build.rs: every name of the pools.\n{code}\n{harness}"),
    );
    write(
        "names_macro.rs",
        format!("// Generated by tests/build.rs: every name of the pools.\n::axonal::network! {{\n{source}}}\n{harness}"),
    );
}
