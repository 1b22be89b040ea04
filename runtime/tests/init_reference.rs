//! The random initializers against PyTorch (and Keras, for LeCun) for a 784→128 dense layer,
//! from `fixtures/init.json` (written by `fixtures/init.py`):
//! * the formulas ([`Init::std`], [`Init::bound`]) against the framework's own numbers, to
//!   1e-14 relative (they are the same few floating-point operations);
//! * the framework's empirical std (2 million values) against the formula, within 1%: the
//!   formula is what the framework really draws;
//! * our own large draw's mean and std against the formula, within 1%, and its values within
//!   ±bound; through `Dense::<f64, 784, 128>::new` too, so the fans are passed the right way.

use axonal::activation::Identity;
use axonal::init::{leaky_relu_gain, Init};
use axonal::layers::Dense;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

const IN: usize = 784;
const OUT: usize = 128;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/init.json");
    let text = std::fs::read_to_string(path).expect("fixtures/init.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Our initializer for a fixture entry.
fn init_for(e: &Value) -> Init {
    let p = |k: &str| e["params"][k].as_f64().expect(k);
    match e["name"].as_str().unwrap() {
        "xavier_normal" => Init::XavierNormal,
        "xavier_uniform" => Init::XavierUniform,
        "he_normal" => Init::HeNormal,
        "he_uniform" => Init::HeUniform,
        "kaiming_normal" => Init::KaimingNormal { a: p("a") },
        "kaiming_uniform" => Init::KaimingUniform { a: p("a") },
        "lecun_normal" => Init::LecunNormal,
        "lecun_uniform" => Init::LecunUniform,
        "normal" => Init::Normal {
            mean: p("mean"),
            std: p("std"),
        },
        "uniform" => Init::Uniform {
            low: p("low"),
            high: p("high"),
        },
        other => panic!("fixture names an initializer the test does not know: {other}"),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Mean, population std and max |v|.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var.sqrt(), max)
}

#[test]
fn fans_and_gains_are_pytorchs() {
    let fx = fixture();
    // torch.nn.init._calculate_fan_in_and_fan_out of a [128, 784] weight: what Dense passes.
    assert_eq!(fx["torch_fans"], serde_json::json!([IN, OUT]));
    assert_eq!(fx["keras_fans"], serde_json::json!([IN, OUT]));
    let gains = &fx["gains"];
    let g = |k: &str| gains[k].as_f64().unwrap();
    assert!(rel(leaky_relu_gain(0.0), g("relu")) < 1e-15);
    assert!(rel(leaky_relu_gain(0.01), g("leaky_relu_0.01")) < 1e-15);
    assert!(rel(leaky_relu_gain(5f64.sqrt()), g("leaky_relu_sqrt5")) < 1e-15);
}

#[test]
fn formulas_match_the_frameworks_numbers() {
    let fx = fixture();
    let entries = fx["initializers"].as_array().unwrap();
    assert!(entries.len() >= 14, "fixture has {} entries", entries.len());
    for e in entries {
        let init = init_for(e);
        let source = e["source"].as_str().unwrap();
        let std = e["std"].as_f64().unwrap();
        let ours = init.std(IN, OUT).unwrap();
        assert!(
            rel(ours, std) < 1e-14,
            "{init:?} std {ours} vs {source} {std}"
        );
        match (init.bound(IN, OUT), e["bound"].as_f64()) {
            (Some(ours), Some(theirs)) => assert!(
                rel(ours, theirs) < 1e-14,
                "{init:?} bound {ours} vs {source} {theirs}"
            ),
            (None, None) => {}
            // `Uniform { low, high }` has a range, not a symmetric bound.
            (None, Some(_)) if matches!(init, Init::Uniform { .. }) => {}
            (ours, theirs) => panic!("{init:?}: bound {ours:?} vs {source} {theirs:?}"),
        }
        eprintln!("{source}: std {std:.12} ours {ours:.12}");
    }
}

#[test]
fn frameworks_draw_what_the_formula_says() {
    let fx = fixture();
    for e in fx["initializers"].as_array().unwrap() {
        let source = e["source"].as_str().unwrap();
        let std = e["std"].as_f64().unwrap();
        let empirical = e["empirical_std"].as_f64().unwrap();
        let mean = e["empirical_mean"].as_f64().unwrap();
        assert!(rel(empirical, std) < 0.01, "{source}: {empirical} vs {std}");
        assert!(mean.abs() < 0.01 * std, "{source}: mean {mean}");
        if let Some(bound) = e["bound"].as_f64() {
            let max = e["empirical_max_abs"].as_f64().unwrap();
            assert!(
                max <= bound && max > 0.999 * bound,
                "{source}: max {max}, bound {bound}"
            );
        }
    }
}

#[test]
fn our_draws_match_the_formula_and_pytorchs_draws() {
    let fx = fixture();
    let rng = &mut StdRng::seed_from_u64(2024);
    for e in fx["initializers"].as_array().unwrap() {
        let init = init_for(e);
        let std = e["std"].as_f64().unwrap();
        let torch_std = e["empirical_std"].as_f64().unwrap();
        // Ten layers' worth of values (1 003 520), drawn with this layer's fans.
        let mut v = vec![0.0f64; 10 * IN * OUT];
        init.fill(&mut v, IN, OUT, rng);
        let (mean, got, max) = stats(&v);
        let expected_mean = e["params"]["mean"].as_f64().unwrap_or(0.0)
            + e["params"]["low"].as_f64().map_or(0.0, |low| {
                (low + e["params"]["high"].as_f64().unwrap()) / 2.0
            });
        assert!(
            (mean - expected_mean).abs() < 0.01 * std,
            "{init:?}: mean {mean}"
        );
        assert!(rel(got, std) < 0.01, "{init:?}: std {got} vs formula {std}");
        assert!(
            rel(got, torch_std) < 0.02,
            "{init:?}: std {got} vs the framework's draw {torch_std}"
        );
        if let Some(bound) = e["bound"].as_f64() {
            assert!(
                max <= bound && max > 0.999 * bound,
                "{init:?}: max {max}, bound {bound}"
            );
        }
        eprintln!("{init:?}: std ours {got:.6}, framework {torch_std:.6}, formula {std:.6}");
    }
}

#[test]
fn dense_layer_passes_its_fans_like_pytorch() {
    let fx = fixture();
    for e in fx["initializers"].as_array().unwrap() {
        let init = init_for(e);
        if !matches!(init, Init::XavierNormal | Init::KaimingUniform { .. }) {
            continue;
        }
        let rng = &mut StdRng::seed_from_u64(9);
        let dense = Dense::<f64, IN, OUT, Identity>::new(Identity, init, Init::Zeros, rng);
        assert_eq!(dense.weight.dim(), (OUT, IN));
        let (_, got, max) = stats(dense.weight.as_slice().unwrap());
        let std = e["std"].as_f64().unwrap();
        // 100 352 values: the std is good to about 0.5%.
        assert!(
            rel(got, std) < 0.015,
            "{init:?}: Dense weight std {got} vs {std}"
        );
        if let Some(bound) = e["bound"].as_f64() {
            assert!(max <= bound, "{init:?}: {max} beyond {bound}");
        }
    }
}

/// The test can fail: a fan-out/fan-in swap (a common mistake) is far outside the tolerances.
#[test]
fn swapped_fans_would_be_caught() {
    let fx = fixture();
    let he = fx["initializers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "he_normal")
        .unwrap();
    let std = he["std"].as_f64().unwrap();
    let swapped = Init::HeNormal.std(OUT, IN).unwrap();
    assert!(rel(swapped, std) > 1.0, "{swapped} vs {std}");
}
