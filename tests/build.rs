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
        "hinge" | "squared_hinge" => "Want::Signs".into(),
        "bce" | "binary_crossentropy" | "msle" => format!("Want::Values({width}, 0.0, 1.0)"),
        "poisson" => format!("Want::Values({width}, 0.0, 3.0)"),
        "mae" | "mean_absolute_error" | "mape" | "mean_absolute_percentage_error" => {
            format!("Want::Values({width}, 2.0, 3.0)")
        }
        "" => "Want::NoLoss".into(),
        _ => format!("Want::Values({width}, -1.0, 1.0)"),
    }
}

/// One random activation, with its parameter sometimes (`leaky_relu 0.2`, `elu 0.7`).
fn activation(rng: &mut Rng) -> String {
    let name = rng.pick(&[
        "identity",
        "linear",
        "step",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "gelu_tanh",
        "silu",
        "swish",
        "softplus",
        "mish",
        "hard_sigmoid",
        "softmax",
        "log_softmax",
    ]);
    match name {
        "leaky_relu" if rng.chance(60) => {
            format!("leaky_relu {}", rng.pick(&["0.1", "0.3", "0.9"]))
        }
        "elu" if rng.chance(60) => format!("elu {}", rng.pick(&["0.5", "1", "1.5"])),
        _ => name.to_string(),
    }
}

/// A random weight initializer: random ones always, constants only before smooth
/// activations (a constant layer puts every unit on a ReLU's kink together).
fn init(rng: &mut Rng) -> String {
    rng.pick(&[
        "he",
        "xavier",
        "xavier_normal",
        "xavier_uniform",
        "glorot",
        "glorot_uniform",
        "he_normal",
        "he_uniform",
        "kaiming",
        "kaiming_uniform",
        "lecun_normal",
        "lecun_uniform",
        "normal(0, 0.5)",
        "normal(0.1, 0.3)",
        "uniform(-0.7, 0.7)",
    ])
    .to_string()
}

/// One network: its source text and its test case.
fn network(index: usize, rng: &mut Rng) -> (String, String) {
    let name = format!("R{index}");
    let input = rng.range(1, 6);
    let mut src = String::new();
    let mut freeze = Vec::new();
    writeln!(src, "/// Random network {index}.").unwrap();
    let vis = rng.pick(&["", "pub ", "pub(crate) "]);
    write!(src, "{vis}{name} {{").unwrap();
    let explicit_input = rng.chance(60);
    if explicit_input {
        write!(src, " input {input};").unwrap();
    }
    let mut width = input;
    let mut first = !explicit_input;
    let layers = rng.range(0, 5);
    for i in 0..layers {
        let kind = if first { 0 } else { rng.below(6) };
        let label = if rng.chance(40) {
            format!("l{i}: ")
        } else {
            String::new()
        };
        match kind {
            // A dense layer, with an activation, an initializer, a bias, an L2 penalty.
            0..=2 => {
                let out = rng.range(1, 7);
                let arrow = if first || rng.chance(30) {
                    format!("{width}->{out}")
                } else {
                    out.to_string()
                };
                write!(src, " {label}dense {arrow}").unwrap();
                if rng.chance(70) {
                    write!(src, " {}", activation(rng)).unwrap();
                }
                if rng.chance(60) {
                    write!(src, " init={}", init(rng)).unwrap();
                }
                if rng.chance(40) {
                    let bias = rng.pick(&["0.1", "-0.2", "zeros", "ones", "normal(0, 0.1)"]);
                    write!(src, " bias={bias}").unwrap();
                }
                if rng.chance(20) {
                    write!(src, " l2={}", rng.pick(&["0.01", "0.5"])).unwrap();
                }
                src.push(';');
                width = out;
            }
            // Maxout: k affine pieces per unit.
            3 => {
                let out = rng.range(1, 5);
                // Random biases: with zero biases every piece ties at 0 wherever the input
                // is 0 (after a step, a dropped unit), a kink no gradient check survives.
                write!(
                    src,
                    " {label}maxout {out} k={} bias=normal(0, 0.5)",
                    rng.range(2, 3)
                )
                .unwrap();
                if rng.chance(40) {
                    write!(src, " init={}", init(rng)).unwrap();
                }
                src.push(';');
                width = out;
            }
            // Batch normalization, sometimes with its attributes.
            4 => {
                write!(src, " {label}batchnorm").unwrap();
                if rng.chance(50) {
                    write!(src, " momentum={}", rng.pick(&["0.1", "0.5", "1"])).unwrap();
                }
                if rng.chance(50) {
                    write!(src, " eps={}", rng.pick(&["1e-5", "1e-3", "0.1"])).unwrap();
                }
                src.push(';');
            }
            // Dropout (labelled: the test freezes its mask) or an activation statement.
            _ => {
                if rng.chance(50) {
                    let field = format!("drop{i}");
                    write!(src, " {field}: dropout {}", rng.pick(&["0", "0.2", "0.5"])).unwrap();
                    freeze.push(field);
                } else {
                    write!(src, " {label}{}", activation(rng)).unwrap();
                }
                src.push(';');
            }
        }
        first = false;
    }

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
        "binary_crossentropy" | "bce" if logits => (1, "", " from_logits=true".to_string()),
        "binary_crossentropy" | "bce" => (1, "sigmoid", String::new()),
        "hinge" | "squared_hinge" => (1, "tanh", String::new()),
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
        write!(src, "; {loss}{attrs}{reduction} }}").unwrap();
    }
    src.push('\n');

    let freeze: String = freeze
        .iter()
        .map(|f| format!("net.{f}.freeze_mask(true); "))
        .collect();
    let case = format!(
        "Case {{ name: {name:?}, source: {src:?}, targets: {}, run: |rng, want, batch| \
         super::check(R{index}::<f64>::new(rng), |net| {{ {freeze}let _ = net; }}, want, batch, rng) }},",
        targets(loss, out),
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
    let mut source = String::new();
    let mut cases = String::new();
    for index in 0..count {
        let (src, case) = network(index, &mut rng);
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
         pub const SOURCE: &str = {source:?};\n\n\
         {code}\n\
         /// One gradient-check case per network.\n\
         pub const CASES: &[Case] = &[\n{cases}];\n"
    );
    let dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&dir).join("random_networks.rs"), out).expect("write OUT_DIR");
}
