//! Small synthetic datasets for the examples, drawn from a seeded generator.

use axonal::ndarray::Array2;
use axonal::rand::{Rng, SeedableRng};
use axonal::{Dataset, Targets};

/// `classes` spirals of `per_class` points each in the plane (the CS231n classic):
/// point i of class k has radius r = i/n and angle 4k + 4r plus noise.
pub fn spirals(per_class: usize, classes: usize, noise: f64, seed: u64) -> Dataset<f32> {
    let mut rng = axonal::rand::rngs::StdRng::seed_from_u64(seed);
    let n = per_class * classes;
    let mut inputs = Array2::zeros((n, 2));
    let mut labels = Vec::with_capacity(n);
    for class in 0..classes {
        for i in 0..per_class {
            let r = i as f64 / per_class as f64;
            let noise: f64 = noise * (rng.random::<f64>() * 2.0 - 1.0);
            let t = 4.0 * class as f64 + 4.0 * r + noise;
            let row = class * per_class + i;
            inputs[[row, 0]] = (r * t.sin()) as f32;
            inputs[[row, 1]] = (r * t.cos()) as f32;
            labels.push(class);
        }
    }
    Dataset::new(inputs, Targets::Labels(labels)).expect("as many labels as points")
}

/// The four points of XOR with targets 0 or 1.
pub fn xor() -> Dataset<f32> {
    let inputs =
        Array2::from_shape_vec((4, 2), vec![0., 0., 0., 1., 1., 0., 1., 1.]).expect("4×2 values");
    let targets = Array2::from_shape_vec((4, 1), vec![0., 1., 1., 0.]).expect("4×1 values");
    Dataset::new(inputs, Targets::Values(targets)).expect("4 inputs, 4 targets")
}
