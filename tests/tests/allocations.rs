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
}

#[test]
fn steady_state_training_step_allocates_nothing() {
    let mut net = Mnist::<f32>::seeded(0);
    let mut sgd = Sgd::new(0.01);
    let x = Array2::from_shape_fn((32, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
    let labels: Vec<usize> = (0..32).map(|i| i % 10).collect();
    let mut step = |net: &mut Mnist<f32>| {
        net.forward_train(x.view()).unwrap();
        net.loss(TargetsView::Labels(&labels)).unwrap();
        net.backward(x.view()).unwrap();
        sgd.step(net);
    };
    // The first step sizes the buffers (and the optimizer's state).
    let warm_up = allocations(|| step(&mut net));
    assert!(warm_up > 0, "the counter must see the first step's buffers");
    let steady = allocations(|| {
        for _ in 0..5 {
            step(&mut net);
        }
    });
    assert_eq!(steady, 0, "allocations in 5 steady-state steps");
}
