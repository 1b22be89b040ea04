//! End-to-end training through generated code: convergence and reproducibility.

use axonal::ndarray::Array2;
use axonal::optim::Sgd;
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{Dataset, Fit, Model, Targets};

axonal::network! {
    Xor { input 2; dense 8 tanh; dense 1 sigmoid; mse }
    Blobs { input 2; dense 16 relu; dense 3; softmax_ce }
}

fn xor_data() -> Dataset<f32> {
    let x = Array2::from_shape_vec((4, 2), vec![0., 0., 0., 1., 1., 0., 1., 1.]).unwrap();
    let t = Array2::from_shape_vec((4, 1), vec![0., 1., 1., 0.]).unwrap();
    Dataset::new(x, Targets::Values(t)).unwrap()
}

/// Three Gaussian blobs around the corners of a triangle.
fn blobs(n: usize, seed: u64) -> Dataset<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centers = [(0.0, 2.0), (-2.0, -1.0), (2.0, -1.0)];
    let mut x = Array2::zeros((n, 2));
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % 3;
        x[[i, 0]] = centers[c].0 + rng.random_range(-0.8..0.8);
        x[[i, 1]] = centers[c].1 + rng.random_range(-0.8..0.8);
        labels.push(c);
    }
    Dataset::new(x, Targets::Labels(labels)).unwrap()
}

#[test]
fn xor_converges_from_a_fixed_seed() {
    let data = xor_data();
    let mut net = Xor::<f32>::seeded(7);
    let history = net
        .fit(
            &data,
            &mut Sgd::new(0.5),
            Fit::epochs(2000).batch(4).quiet(),
        )
        .unwrap();
    assert!(
        history.epochs[0].loss > 0.1,
        "starts untrained: {}",
        history.epochs[0].loss
    );
    let y = net.predict(data.inputs()).unwrap();
    let classes: Vec<f32> = y.iter().map(|&p| if p > 0.5 { 1.0 } else { 0.0 }).collect();
    assert_eq!(classes, [0.0, 1.0, 1.0, 0.0], "outputs {y}");
    assert!(history.epochs.last().unwrap().loss < 0.02);
}

#[test]
fn classification_learns_and_evaluates() {
    let train = blobs(300, 1);
    let test = blobs(150, 2);
    let mut net = Blobs::<f32>::seeded(1);
    let before = net.evaluate(&test, 64).unwrap();
    net.fit(
        &train,
        &mut Sgd::new(0.1),
        Fit::epochs(20).batch(16).quiet(),
    )
    .unwrap();
    let after = net.evaluate(&test, 64).unwrap();
    assert!(after.loss < before.loss / 3.0, "{before:?} -> {after:?}");
    assert!(after.accuracy.unwrap() > 0.95, "{after:?}");
    // predict gives probabilities: rows sum to one.
    let p = net.predict(test.inputs()).unwrap();
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
}

fn train_once(seed: u64) -> (Vec<u32>, Vec<f64>) {
    let data = blobs(90, 5);
    let mut net = Blobs::<f32>::seeded(seed);
    let history = net
        .fit(
            &data,
            &mut Sgd::new(0.05),
            Fit::epochs(3).batch(8).seed(seed).quiet(),
        )
        .unwrap();
    let mut bits = Vec::new();
    net.visit_params(&mut |p| bits.extend(p.value.iter().map(|v| v.to_bits())));
    (bits, history.epochs.iter().map(|e| e.loss).collect())
}

#[test]
fn the_same_seed_gives_bit_identical_training() {
    let a = train_once(11);
    let b = train_once(11);
    assert_eq!(a, b);
    let c = train_once(12);
    assert_ne!(a.0, c.0, "another seed must give another run");
}
