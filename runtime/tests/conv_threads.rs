//! The convolution, pooling and normalization layers give the same bits on one thread and
//! on two. A test binary of its own: the worker threads serve one caller at a time, so a
//! test running concurrently could otherwise leave this one on a single thread.

use axonal::activation::Relu;
use axonal::init::Init;
use axonal::kernels::{set_threads, threads};
use axonal::layers::{AvgPool2d, BatchNorm, Conv2d, MaxPool2d, Window2};
use axonal::ndarray::{Array2, ArrayView2};
use axonal::{Float, Mode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every output and gradient of a LeNet-5-sized convolution, pooling and batch normalization
/// at batch 64, in f32 and f64, run on one thread and on two.
fn lenet_layers<F: Float>() -> Vec<Vec<F>> {
    let rng = &mut StdRng::seed_from_u64(40);
    let mut conv1 = Conv2d::<F, 1, 28, 28, 6, 28, 28, Relu>::new(
        Window2::new([5, 5]).with_pad([2, 2]),
        Relu,
        Init::HeNormal,
        Init::Uniform {
            low: -0.1,
            high: 0.1,
        },
        rng,
    );
    let mut bn = BatchNorm::<F, 6, 784>::new(0.1, 1e-5);
    let mut pool = MaxPool2d::<F, 6, 28, 28, 14, 14>::new(Window2::pool([2, 2]));
    let mut conv2 = Conv2d::<F, 6, 14, 14, 16, 10, 10, Relu>::new(
        Window2::new([5, 5]),
        Relu,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let mut avg = AvgPool2d::<F, 16, 10, 10, 5, 5>::new(Window2::pool([2, 2]), true);
    let x = Array2::from_shape_fn((64, 784), |_| F::from_f64(rng.random_range(0.0..1.0)));
    let g = Array2::from_shape_fn((64, 400), |_| F::from_f64(rng.random_range(-1.0..1.0)));
    conv1.forward(x.view(), Mode::Train);
    bn.forward(conv1.output(), Mode::Train);
    pool.forward(bn.output(), Mode::Train);
    conv2.forward(pool.output(), Mode::Train);
    avg.forward(conv2.output(), Mode::Train);
    avg.backward(conv2.output(), g.view(), true);
    conv2.backward(pool.output(), avg.grad_input(), true);
    pool.backward(bn.output(), conv2.grad_input(), true);
    bn.backward(conv1.output(), pool.grad_input(), true);
    conv1.backward(x.view(), bn.grad_input(), true);
    let flat = |a: ArrayView2<'_, F>| a.iter().copied().collect::<Vec<F>>();
    vec![
        flat(avg.output()),
        flat(conv1.grad_input()),
        conv1.weight_grad.iter().copied().collect(),
        conv1.bias_grad.to_vec(),
        conv2.weight_grad.iter().copied().collect(),
        conv2.bias_grad.to_vec(),
        bn.weight_grad.to_vec(),
        flat(conv2.predict(pool.output()).view()),
    ]
}

#[test]
fn thread_count_does_not_change_a_bit() {
    let all = threads();
    set_threads(2);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        threads() == 2 || cores < 2,
        "two threads asked for, {} available",
        threads()
    );
    set_threads(1);
    let (one32, one64) = (lenet_layers::<f32>(), lenet_layers::<f64>());
    set_threads(2);
    let (two32, two64) = (lenet_layers::<f32>(), lenet_layers::<f64>());
    set_threads(all);
    for (i, (one, two)) in one32.iter().zip(&two32).enumerate() {
        assert!(one == two, "f32 array {i} differs between 1 and 2 threads");
    }
    for (i, (one, two)) in one64.iter().zip(&two64).enumerate() {
        assert!(one == two, "f64 array {i} differs between 1 and 2 threads");
    }
    // And the f32 run agrees with the f64 one (the fast kernels compute the right thing).
    for (i, (a, b)) in one32.iter().zip(&one64).enumerate() {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let error = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()));
        assert!(
            error <= 1e-4 * scale.max(1.0),
            "array {i}: f32 vs f64 {error} (scale {scale})"
        );
    }
}
