//! A steady-state training step allocates nothing: counted by a global allocator.
//!
//! This file is its own test binary with one test, so no other test's
//! allocations are counted; counting is also limited to the current thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use axonal::ndarray::Array2;
use axonal::optim::{Optimizer, Sgd};
use axonal::{Model, TargetsView};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call forwards to `System` unchanged; the only addition is a
// thread-local counter update, which neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

axonal::network! {
    Mnist { input 784; dense 128 relu; dense 64 sigmoid; tanh; dense 10; softmax_ce }
    Cnn {
        input 1x28x28;
        conv2d 6 k=5 pad=2 relu;
        batchnorm;
        maxpool 2;
        conv2d 16 k=5 relu;
        avgpool 2;
        dropout 0.1;
        conv2d 8 k=3 pad=same;
        global_avgpool;
        dense 10;
        softmax_ce
    }
}

/// Allocations of the first step (which sizes the buffers and the optimizer's state) and of
/// five steady-state steps of `net` on a batch of 32.
fn count_steps<M: Model<f32>>(net: &mut M) -> (usize, usize) {
    let mut sgd = Sgd::new(0.01);
    let x = Array2::from_shape_fn((32, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
    let labels: Vec<usize> = (0..32).map(|i| i % 10).collect();
    let mut step = |net: &mut M| {
        net.forward_train(x.view()).unwrap();
        net.loss(TargetsView::Labels(&labels)).unwrap();
        net.backward(x.view()).unwrap();
        sgd.step(net);
    };
    let warm_up = allocations(|| step(net));
    let steady = allocations(|| {
        for _ in 0..5 {
            step(net);
        }
    });
    (warm_up, steady)
}

#[test]
fn steady_state_training_step_allocates_nothing() {
    // An MLP, and a CNN with every shaped layer kind.
    for (name, (warm_up, steady)) in [
        ("Mnist", count_steps(&mut Mnist::<f32>::seeded(0))),
        ("Cnn", count_steps(&mut Cnn::<f32>::seeded(0))),
    ] {
        assert!(
            warm_up > 0,
            "{name}: the counter must see the first step's buffers"
        );
        assert_eq!(steady, 0, "{name}: allocations in 5 steady-state steps");
    }
}
