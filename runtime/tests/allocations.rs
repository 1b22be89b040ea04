//! A steady-state training step allocates nothing: counted with a counting global allocator.
//!
//! (Implementing `GlobalAlloc` requires `unsafe`. The library denies unsafe code everywhere
//! but in three kernel modules, `kernels::{gemm, transpose, threads}`, which allow it for the
//! SIMD intrinsics, the raw-pointer tiles and the thread pool's job hand-off.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use axonal::activation::Relu;
use axonal::data::Batcher;
use axonal::loss::SoftmaxCrossEntropy;
use axonal::ndarray::Array2;
use axonal::optim::{Optimizer, Sgd};
use axonal::{train, Dataset, Fit, Mode, Model, Targets};
use common::Mlp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Counts allocations per thread, so tests running in parallel do not disturb each other.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

type Mnist = Mlp<f32, 784, 128, 10, Relu, SoftmaxCrossEntropy>;

fn mnist_like(n: usize) -> Dataset<f32> {
    let rng = &mut StdRng::seed_from_u64(9);
    let x = Array2::from_shape_fn((n, 784), |_| rng.random::<f32>());
    Dataset::new(x, Targets::Labels((0..n).map(|i| i % 10).collect())).unwrap()
}

#[test]
fn steady_state_training_step_allocates_nothing() {
    let data = mnist_like(200); // batches of 64: 64, 64, 64, 8
    let mut net = Mnist::new(Relu, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(1));
    let mut sgd = Sgd::new(0.01);
    let mut batcher = Batcher::new(&data, 64).unwrap();
    let mut step = |batcher: &mut Batcher<'_, f32>, net: &mut Mnist, b: usize| {
        let (x, t) = batcher.batch(b);
        net.forward(x, Mode::Train).unwrap();
        net.loss(t).unwrap();
        net.backward(x).unwrap();
        sgd.step(net);
    };
    step(&mut batcher, &mut net, 0); // warm-up: buffers sized for 64 rows

    let before = allocations();
    for epoch in 0..3 {
        batcher.shuffle(&mut StdRng::seed_from_u64(epoch));
        for b in 0..batcher.len() {
            step(&mut batcher, &mut net, b);
        }
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in 12 steady-state steps"
    );
}

#[test]
fn fit_and_evaluate_allocate_per_call_not_per_step() {
    let data = mnist_like(150);
    let mut net = Mnist::new(Relu, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(1));
    let mut count = |epochs: usize| {
        let before = allocations();
        train::fit(
            &mut net,
            &data,
            &mut Sgd::new(0.01),
            &Fit::epochs(epochs).batch(16).quiet(),
        )
        .unwrap();
        allocations() - before
    };
    count(1); // warm-up
    let (one, five) = (count(1), count(5));
    assert_eq!(one, five, "fit allocates per call only");
    assert!(one <= 8, "fit setup made {one} allocations");

    net.evaluate(&data, 150).unwrap(); // warm-up: buffers grow to 150 rows once
    for batch in [10, 150, 7] {
        let before = allocations();
        net.evaluate(&data, batch).unwrap();
        assert_eq!(allocations() - before, 0, "evaluate with batch {batch}");
    }
}

/// The steps whose update is made with a backup (an optimizer that cannot tell beforehand
/// whether its update stays finite, or clipped gradients) allocate nothing either: the backup
/// is allocated once per `fit` call.
#[test]
fn fit_with_backed_up_steps_allocates_per_call_not_per_step() {
    use axonal::optim::Adam;
    let data = mnist_like(150);
    let mut net = Mnist::new(Relu, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(1));
    let mut count = |epochs: usize, adam: bool| {
        let before = allocations();
        let r = if adam {
            train::fit(
                &mut net,
                &data,
                &mut Adam::new(1e-3),
                &Fit::epochs(epochs).batch(16).quiet(),
            )
        } else {
            train::fit(
                &mut net,
                &data,
                &mut Sgd::new(0.01),
                &Fit::epochs(epochs).batch(16).clip_grad_norm(1.0).quiet(),
            )
        };
        r.unwrap();
        allocations() - before
    };
    for adam in [true, false] {
        count(1, adam); // warm-up
        let (one, five) = (count(1, adam), count(5, adam));
        assert_eq!(one, five, "fit allocates per call only (adam: {adam})");
    }
}

/// Dropout, batch normalization and maxout: once sized for the largest batch, training
/// steps (forward, backward with the input gradient) and eval forwards of any smaller or
/// equal batch allocate nothing.
#[test]
fn dropout_batchnorm_and_maxout_steady_state_allocates_nothing() {
    use axonal::init::Init;
    use axonal::layers::{BatchNorm, Dropout, Maxout};

    let rng = &mut StdRng::seed_from_u64(3);
    let mut maxout = Maxout::<f32, 32, 16, 3>::new(Init::HeNormal, Init::Zeros, rng);
    let mut batchnorm = BatchNorm::<f32, 16>::new(0.1, 1e-5);
    let mut dropout = Dropout::<f32, 16>::new(0.5, rng);
    let x = Array2::from_shape_fn((64, 32), |_| rng.random::<f32>());
    let grad = Array2::from_shape_fn((64, 16), |_| rng.random::<f32>() - 0.5);
    let mut step = |rows: usize, mode: Mode| {
        let (x, g) = (
            x.slice(axonal::ndarray::s![..rows, ..]),
            grad.slice(axonal::ndarray::s![..rows, ..]),
        );
        maxout.forward(x, mode);
        batchnorm.forward(maxout.output(), mode);
        dropout.forward(batchnorm.output(), mode);
        dropout.backward(batchnorm.output(), g, true);
        batchnorm.backward(maxout.output(), dropout.grad_input(), true);
        maxout.backward(x, batchnorm.grad_input(), true);
    };
    step(64, Mode::Train); // warm-up: buffers sized for 64 rows

    let before = allocations();
    for rows in [64, 8, 1, 33, 64] {
        step(rows, Mode::Train);
        step(rows, Mode::Eval);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in steady-state steps"
    );
}

/// Every optimizer allocates its per-parameter state on its first step only: later steps
/// (forward, backward, gradient clipping, update) allocate nothing.
#[test]
fn optimizer_steps_allocate_only_on_the_first() {
    use axonal::optim::{
        clip_grad_norm, clip_grad_value, Adadelta, Adagrad, Adam, AdamW, NAdam, RAdam, RmsProp,
    };

    let data = mnist_like(64);
    let optimizers: Vec<(&str, Box<dyn Optimizer<f32>>)> = vec![
        (
            "Sgd",
            Box::new(
                Sgd::new(0.01)
                    .momentum(0.9)
                    .nesterov(true)
                    .weight_decay(1e-4),
            ),
        ),
        (
            "Adagrad",
            Box::new(Adagrad::new(0.01).lr_decay(1e-3).weight_decay(1e-4)),
        ),
        (
            "RmsProp",
            Box::new(
                RmsProp::new(0.01)
                    .centered(true)
                    .momentum(0.9)
                    .weight_decay(1e-4),
            ),
        ),
        ("Adadelta", Box::new(Adadelta::new(1.0).weight_decay(1e-4))),
        (
            "Adam",
            Box::new(Adam::new(1e-3).amsgrad(true).weight_decay(1e-4)),
        ),
        ("AdamW", Box::new(AdamW::new(1e-3).amsgrad(true))),
        ("NAdam", Box::new(NAdam::new(2e-3).weight_decay(1e-4))),
        (
            "RAdam",
            Box::new(
                RAdam::new(1e-3)
                    .decoupled_weight_decay(true)
                    .weight_decay(1e-4),
            ),
        ),
    ];
    for (name, mut optimizer) in optimizers {
        let mut net = Mnist::new(Relu, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(1));
        let mut batcher = Batcher::new(&data, 64).unwrap();
        let mut step = |net: &mut Mnist| {
            let (x, t) = batcher.batch(0);
            net.forward(x, Mode::Train).unwrap();
            net.loss(t).unwrap();
            net.backward(x).unwrap();
            clip_grad_norm(net, 1.0);
            clip_grad_value(net, 0.5);
            optimizer.step(net);
        };
        step(&mut net); // first step: buffers and optimizer state
        let before = allocations();
        for _ in 0..5 {
            step(&mut net);
        }
        assert_eq!(allocations() - before, 0, "{name}");
    }
}

/// Inference through the network's own buffers (eval-mode forward: the output is a view of
/// a reused buffer) allocates nothing once sized for 256 rows, on both paths of the dense
/// forward: the packed one (at least `kernels::PACK_MIN_ROWS` rows, transposing W block by
/// block into a stack buffer) and the dot-tile one (fewer rows, single samples).
#[test]
fn inference_calls_allocate_nothing() {
    let data = mnist_like(256);
    let mut net = Mnist::new(Relu, SoftmaxCrossEntropy, &mut StdRng::seed_from_u64(1));
    let x = data.inputs();
    net.forward(x, Mode::Eval).unwrap(); // warm-up: buffers sized for 256 rows
    for rows in [256, 64, axonal::kernels::PACK_MIN_ROWS, 1, 256] {
        let before = allocations();
        let out = net
            .forward(x.slice(axonal::ndarray::s![..rows, ..]), Mode::Eval)
            .unwrap();
        assert_eq!(out.nrows(), rows);
        assert_eq!(allocations() - before, 0, "eval forward of {rows} rows");
    }
}
