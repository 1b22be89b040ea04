//! Every network the checker accepts compiles, without warnings, and is correct: seeded
//! random networks (written by `tests/build.rs`, compiled into one module under
//! `#[deny(warnings)]`) each pass an f64 gradient check of every parameter and of the input.
//!
//! Kinks: ReLU-like activations, maxout and hinge losses are not differentiable everywhere;
//! with random inputs a pre-activation within `eps` of a kink is rare, and the seeds are
//! fixed, so a failure is deterministic and worth a look (`AXONAL_RANDOM_NETWORKS=200`
//! with other `AXONAL_RANDOM_NETWORKS_SEED`s explores further).

use axonal::gradcheck::{check_input_grad, check_model, GradCheck};
use axonal::ndarray::Array2;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Mode, Model, Targets};
use axonal_tests::onnx_runtime::{python, Cases};

/// The targets a network's loss needs.
#[derive(Clone, Copy, Debug)]
pub enum Want {
    /// Class labels below this many classes.
    Labels(usize),
    /// One-hot rows of this many classes.
    OneHot(usize),
    /// Values of this width, uniform in [low, high).
    Values(usize, f64, f64),
    /// ±1, this many columns.
    Signs(usize),
    /// The network has no loss.
    NoLoss,
}

/// A generated network: its name, source, targets, and how to check it.
pub struct Case {
    /// The network's name (`R3`).
    pub name: &'static str,
    /// Its source text.
    pub source: &'static str,
    /// What targets its loss takes.
    pub targets: Want,
    /// Builds the network and checks it on a batch of this many rows.
    pub run: fn(&mut StdRng, Want, usize) -> Result<(), String>,
    /// Builds the network in f32 and adds it to the ONNX Runtime cases.
    pub export: fn(&mut StdRng, &mut Cases),
}

// Without the prelude, so that the generated code can rely on nothing a module could lack.
// Clippy's naming lints judge the hostile names themselves (see tests/names.rs).
#[deny(warnings)]
#[allow(clippy::upper_case_acronyms, clippy::self_named_constructors)]
#[no_implicit_prelude]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/random_networks.rs"));
}

const TOLERANCE: f64 = 1e-6;

fn make_targets(want: Want, batch: usize, rng: &mut StdRng) -> Option<Targets<f64>> {
    Some(match want {
        Want::Labels(classes) => {
            Targets::Labels((0..batch).map(|_| rng.random_range(0..classes)).collect())
        }
        Want::OneHot(classes) => {
            let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..classes)).collect();
            Targets::one_hot(&labels, classes).unwrap()
        }
        Want::Values(width, low, high) => {
            Targets::Values(Array2::from_shape_fn((batch, width), |_| {
                rng.random_range(low..high)
            }))
        }
        Want::Signs(width) => Targets::Values(Array2::from_shape_fn((batch, width), |_| {
            if rng.random::<bool>() {
                1.0
            } else {
                -1.0
            }
        })),
        Want::NoLoss => return None,
    })
}

/// Gradient-checks `net` (parameters and input) on a random batch; `freeze` freezes its
/// dropout masks after one training forward pass so that every evaluation sees the same.
fn check<M: Model<f64>>(
    mut net: M,
    freeze: impl Fn(&mut M),
    want: Want,
    batch: usize,
    rng: &mut StdRng,
) -> Result<(), String> {
    let x = Array2::from_shape_fn((batch, net.input_width()), |_| rng.random_range(-1.5..1.5));
    net.forward(x.view(), axonal::Mode::Train)
        .map_err(|e| e.to_string())?;
    freeze(&mut net);
    let Some(targets) = make_targets(want, batch, rng) else {
        // No loss: training is refused with an error, never a panic.
        return match net.loss(Targets::Labels(vec![0; batch]).view()) {
            Err(axonal::Error::NoLoss { .. }) => Ok(()),
            other => Err(format!("a network without a loss answered {other:?}")),
        };
    };
    // Central differences err by O(eps² · third derivative): where a random network is
    // sharply curved (a near-zero vector under `cosine_similarity`, say), eps = 1e-5 can
    // miss by 1e-5. A second try at eps = 1e-6 shrinks that error a hundredfold; a wrong
    // gradient fails both.
    //
    // At a point where a second derivative jumps (an ELU's input exactly 0, after a layer
    // whose outputs are all 0 on a sample), they err by O(eps) instead: 1e-6 relative needs
    // an eps below rounding. There the error still shrinks tenfold with eps, which is
    // accepted (a wrong gradient's error does not shrink).
    let mut worst = String::new();
    let mut before: Option<[GradCheck; 2]> = None;
    for eps in [1e-5, 1e-6] {
        let params =
            check_model(&mut net, x.view(), targets.view(), eps).map_err(|e| e.to_string())?;
        let input =
            check_input_grad(&mut net, x.view(), targets.view(), eps).map_err(|e| e.to_string())?;
        // Gradients near 0 (through a saturated batch norm of two rows, say) are judged
        // by their absolute error: there, rounding in a loss of size 100 (`mape`) is
        // already 1e-8.
        let error = |r: &GradCheck| (r.worst_analytic - r.worst_numeric).abs();
        let close = |r: &GradCheck| r.max_relative_error < TOLERANCE || error(r) < 1e-7;
        let converges = |r: &GradCheck, at_larger_eps: &GradCheck| {
            r.worst == at_larger_eps.worst
                && error(r) * 5.0 < error(at_larger_eps)
                && r.max_relative_error < 100.0 * TOLERANCE
        };
        let fine = |r: &GradCheck, i: usize| {
            close(r) || before.as_ref().is_some_and(|b| converges(r, &b[i]))
        };
        if fine(&params, 0) && fine(&input, 1) {
            return Ok(());
        }
        worst = format!("eps {eps}: parameters {params:?}, input {input:?}");
        before = Some([params, input]);
    }
    Err(worst)
}

#[test]
fn every_random_network_passes_a_gradient_check() {
    let mut failures = Vec::new();
    for (i, case) in generated::CASES.iter().enumerate() {
        for batch in [2, 5] {
            let mut rng = StdRng::seed_from_u64(i as u64 * 31 + batch as u64);
            if let Err(e) = (case.run)(&mut rng, case.targets, batch) {
                failures.push(format!(
                    "{} (batch {batch}): {e}\n  {}",
                    case.name, case.source
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Adds `net` to `cases` after one training pass (batchnorm's running statistics move): ONNX
/// Runtime must agree with `predict` on a random batch.
fn export<M: Model<f32>>(
    mut net: M,
    output_shape: &[usize],
    name: &str,
    rng: &mut StdRng,
    cases: &mut Cases,
) {
    let random = |rows, rng: &mut StdRng| {
        Array2::from_shape_fn((rows, net.input_width()), |_| {
            rng.random_range(-1.5f32..1.5)
        })
    };
    let warm = random(8, rng);
    let x = random(6, rng);
    net.forward(warm.view(), Mode::Train)
        .expect("a training pass");
    cases.close(name, &mut net, output_shape, x.view(), 1e-5);
}

#[test]
fn every_random_network_runs_in_onnx_runtime() {
    let Some(python) = python() else { return };
    let mut cases = Cases::new("random");
    for (i, case) in generated::CASES.iter().enumerate() {
        (case.export)(&mut StdRng::seed_from_u64(i as u64), &mut cases);
    }
    let checked = cases.check(&python);
    if let Ok(report) = &checked {
        eprintln!("{report}");
    }
    if let Err(report) = checked {
        let sources: Vec<String> = generated::CASES
            .iter()
            .map(|c| format!("  {}", c.source.trim()))
            .collect();
        panic!(
            "ONNX Runtime disagrees with predict:\n{report}\nThe networks:\n{}",
            sources.join("\n")
        );
    }
}

#[test]
fn the_generator_covers_the_language() {
    // The networks are random, but together they must use every kind of statement.
    let source = generated::SOURCE;
    // Every layer keyword the generator samples (from `layers::KINDS`), and the attributes.
    let sampled = axonal_dsl::layers::KINDS
        .iter()
        .filter(|k| k.sample_weight() > 0 && k.role() == axonal_dsl::layers::Role::Layer)
        .flat_map(|k| k.keywords().iter().copied());
    for word in sampled {
        assert!(
            source.contains(&format!(" {word} ")) || source.contains(&format!(" {word};")),
            "no generated network uses `{word}`"
        );
    }
    for word in [
        "init=",
        "bias=",
        "l2=",
        "reduction=",
        "input",
        "stride=",
        "pad=",
    ] {
        assert!(source.contains(word), "no generated network uses `{word}`");
    }
    assert!(generated::CASES.len() >= 20);
    // Values of rank 2 and 3 too: `input 2x3x3`, `input 1x4`.
    let ranks: Vec<usize> = source
        .split("input ")
        .skip(1)
        .map(|rest| rest.split(';').next().unwrap_or("").matches('x').count() + 1)
        .collect();
    for rank in [1, 2, 3] {
        assert!(
            ranks.contains(&rank),
            "no generated input of rank {rank}: {ranks:?}"
        );
    }
}

#[test]
fn every_random_network_comes_back_from_onnx_import() {
    // Exported with distinct weights, imported, exported again: the same model, byte for
    // byte (graph, names, weights, loss), whatever the labels and blocks.
    let mut failures = Vec::new();
    for case in generated::CASES {
        let program = axonal_dsl::check_source(case.source).expect("generated networks check");
        let net = &program.networks[0];
        if net.name == "pub" {
            // Only `pub pub { … }` can name a network `pub`; an import, which cannot know
            // the visibility, refuses the name (tested in dsl/tests/onnx_import.rs).
            continue;
        }
        let mut model = axonal_dsl::onnx::export(net);
        let mut seed = 7u32;
        axonal_onnx::fill(&mut model, |name| {
            let (_, dims) = axonal_onnx::weights(&axonal_dsl::onnx::export(net))
                .into_iter()
                .find(|(n, _)| n == name)?;
            let n: i64 = dims.iter().product();
            Some(
                (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 8) as f32 / 16_777_216.0 - 0.5
                    })
                    .collect(),
            )
        })
        .expect("every weight filled");
        let bytes = axonal_onnx::encode(&model);
        let back = match axonal_dsl::onnx::import::import(&bytes, &net.name) {
            Ok(back) => back,
            Err(e) => {
                failures.push(format!("{}: {e}\n  {}", case.name, case.source.trim()));
                continue;
            }
        };
        let again = axonal_dsl::check_source(&back.source).expect("an import checks");
        let mut model = axonal_dsl::onnx::export(&again.networks[0]);
        axonal_onnx::fill(&mut model, |name| {
            back.weights
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, v)| v.clone())
        })
        .expect("the import's weights fill its network");
        if axonal_onnx::encode(&model) != bytes {
            failures.push(format!(
                "{}: imports as a different model\n  {}\n  imported: {}",
                case.name,
                case.source.trim(),
                back.source
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
