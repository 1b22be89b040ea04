//! The convolution, pooling and normalization layers allocate nothing in a steady-state
//! training step or eval forward, counted with a counting global allocator.
//!
//! The count is global (worker threads included: a convolution splits its samples over
//! them), so this binary has a single test and nothing else allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use axonal::activation::{Relu, Tanh};
use axonal::init::Init;
use axonal::layers::{
    AvgPool1d, AvgPool2d, BatchNorm, Conv1d, Conv2d, Dense, GlobalAvgPool, LayerNorm, MaxPool1d,
    MaxPool2d, Window1, Window2,
};
use axonal::ndarray::{s, Array2};
use axonal::Mode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The system allocator, counting allocations and reallocations on every thread.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts them.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A LeNet-5-shaped chain with every new layer kind: conv2d → batchnorm (per channel) →
/// maxpool → conv2d → avgpool → layernorm, and on the side conv1d → maxpool1d → avgpool1d →
/// global average; then dense. Once sized for the largest batch, training steps (forward,
/// backward with input gradients) and eval forwards of any smaller or equal batch allocate
/// nothing, on one thread or split over several.
#[test]
fn steady_state_steps_and_eval_forwards_allocate_nothing() {
    let rng = &mut StdRng::seed_from_u64(1);
    let mut conv1 = Conv2d::<f32, 1, 28, 28, 6, 28, 28, Relu>::new(
        Window2::new([5, 5]).with_pad([2, 2]),
        Relu,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let mut bn = BatchNorm::<f32, 6, 784>::new(0.1, 1e-5);
    let mut pool = MaxPool2d::<f32, 6, 28, 28, 14, 14>::new(Window2::pool([2, 2]));
    let mut conv2 = Conv2d::<f32, 6, 14, 14, 16, 10, 10, Tanh>::new(
        Window2::new([5, 5]),
        Tanh,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let mut avg = AvgPool2d::<f32, 16, 10, 10, 5, 5>::new(Window2::pool([2, 2]), true);
    let mut ln = LayerNorm::<f32, 400>::new(&[16, 5, 5], 1e-5);
    // The same 400 values read as 16 channels × 25 positions.
    let mut conv1d = Conv1d::<f32, 16, 25, 8, 13, Relu>::new(
        Window1::new([3]).with_stride([2]).with_pad([1]),
        Relu,
        Init::HeNormal,
        Init::Zeros,
        rng,
    );
    let mut pool1d = MaxPool1d::<f32, 8, 13, 6>::new(Window1::pool([2]));
    let mut avg1d =
        AvgPool1d::<f32, 8, 6, 3>::new(Window1::new([3]).with_stride([2]).with_pad([1]), false);
    let mut gap = GlobalAvgPool::<f32, 8, 3>::new();
    let mut fc = Dense::<f32, 8, 10>::new(
        axonal::activation::Identity,
        Init::XavierNormal,
        Init::Zeros,
        rng,
    );
    let x = Array2::from_shape_fn((64, 784), |_| rng.random::<f32>());
    let grad = Array2::from_shape_fn((64, 10), |_| rng.random::<f32>() - 0.5);
    let mut step = |rows: usize, mode: Mode| {
        let (x, g) = (x.slice(s![..rows, ..]), grad.slice(s![..rows, ..]));
        conv1.forward(x, mode);
        bn.forward(conv1.output(), mode);
        pool.forward(bn.output(), mode);
        conv2.forward(pool.output(), mode);
        avg.forward(conv2.output(), mode);
        ln.forward(avg.output(), mode);
        conv1d.forward(ln.output(), mode);
        pool1d.forward(conv1d.output(), mode);
        avg1d.forward(pool1d.output(), mode);
        gap.forward(avg1d.output(), mode);
        fc.forward(gap.output(), mode);
        if mode == Mode::Eval {
            return;
        }
        fc.backward(gap.output(), g, true);
        gap.backward(avg1d.output(), fc.grad_input(), true);
        avg1d.backward(pool1d.output(), gap.grad_input(), true);
        pool1d.backward(conv1d.output(), avg1d.grad_input(), true);
        conv1d.backward(ln.output(), pool1d.grad_input(), true);
        ln.backward(avg.output(), conv1d.grad_input(), true);
        avg.backward(conv2.output(), ln.grad_input(), true);
        conv2.backward(pool.output(), avg.grad_input(), true);
        pool.backward(bn.output(), conv2.grad_input(), true);
        bn.backward(conv1.output(), pool.grad_input(), true);
        conv1.backward(x, bn.grad_input(), true);
    };
    let all = axonal::kernels::threads();
    for threads in [1, all] {
        axonal::kernels::set_threads(threads);
        // Warm-up: buffers sized for 64 rows, per-thread buffers for this thread count.
        step(64, Mode::Train);
        step(64, Mode::Eval);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for rows in [64, 8, 1, 33, 64] {
            step(rows, Mode::Train);
            step(rows, Mode::Eval);
        }
        assert_eq!(
            ALLOCATIONS.load(Ordering::Relaxed) - before,
            0,
            "allocations in steady-state steps on {threads} thread(s)"
        );
    }
}
