//! The joins of blocks ([`Sum`], [`Concat`], [`Fork`]) allocate nothing in a steady-state
//! training step or eval forward, counted with a counting global allocator, and give the same
//! bits on one thread and on several (at these sizes they split over threads by rows).
//!
//! The count is global (worker threads included), so this binary has a single test and
//! nothing else allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use axonal::activation::{Relu, Tanh};
use axonal::layers::{Activation, Concat, Fork, Sum};
use axonal::ndarray::{s, Array2, ArrayView2};
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

/// Width of the blocks' input.
const W: usize = 1024;

/// `input 1024; sum a: { relu } b: { tanh } c: { } ; concat d: { relu } e: { tanh }`: a
/// sum of three parts (the third an identity shortcut), then a concatenation of two, with
/// the forks of both blocks' inputs. Written out as generated code writes blocks.
struct Blocks {
    a: Activation<f32, Relu, W>,
    b: Activation<f32, Tanh, W>,
    sum: Sum<f32, W>,
    fork1: Fork<f32, W>,
    d: Activation<f32, Relu, W>,
    e: Activation<f32, Tanh, W>,
    concat: Concat<f32, { 2 * W }>,
    fork2: Fork<f32, W>,
}

impl Blocks {
    fn step(&mut self, x: ArrayView2<'_, f32>, grad: ArrayView2<'_, f32>, mode: Mode) {
        self.a.forward(x, mode);
        self.b.forward(x, mode);
        // `x.view()`: a view of the caller's view, borrowed as long as the others (ndarray's
        // views are invariant in their lifetime, so `x` itself would not mix with them).
        self.sum
            .forward(&[self.a.output(), self.b.output(), x.view()]);
        self.d.forward(self.sum.output(), mode);
        self.e.forward(self.sum.output(), mode);
        self.concat.forward(&[self.d.output(), self.e.output()]);
        if mode == Mode::Eval {
            return;
        }
        self.d.backward(
            self.sum.output(),
            Concat::<f32, { 2 * W }>::part(grad, 0, W),
            true,
        );
        self.e.backward(
            self.sum.output(),
            Concat::<f32, { 2 * W }>::part(grad, W, W),
            true,
        );
        self.fork2
            .backward(&[self.d.grad_input(), self.e.grad_input()]);
        self.a.backward(x, self.fork2.grad_input(), true);
        self.b.backward(x, self.fork2.grad_input(), true);
        self.fork1.backward(&[
            self.a.grad_input(),
            self.b.grad_input(),
            self.fork2.grad_input(),
        ]);
    }

    /// The joins' results: the sum, the concatenation and the input gradient.
    fn results(&self) -> [Array2<f32>; 3] {
        [
            self.sum.output().to_owned(),
            self.concat.output().to_owned(),
            self.fork1.grad_input().to_owned(),
        ]
    }

    /// The same results computed plainly from the parts' outputs and gradients.
    fn expected(&self, x: ArrayView2<'_, f32>) -> [Array2<f32>; 3] {
        let sum = &self.a.output() + &self.b.output() + x;
        let mut concat = Array2::zeros((x.nrows(), 2 * W));
        concat.slice_mut(s![.., ..W]).assign(&self.d.output());
        concat.slice_mut(s![.., W..]).assign(&self.e.output());
        let fork2 = &self.d.grad_input() + &self.e.grad_input();
        let fork1 = &self.a.grad_input() + &self.b.grad_input() + &fork2;
        [sum, concat, fork1]
    }
}

/// Once sized for the largest batch, training steps (forward, backward with input
/// gradients) and eval forwards of any smaller or equal batch, empty ones included,
/// allocate nothing, on one thread or split over several; the results are the same bits
/// either way and those of a plain computation.
#[test]
fn steady_state_steps_through_joins_allocate_nothing() {
    let rng = &mut StdRng::seed_from_u64(1);
    let x = Array2::from_shape_fn((64, W), |_| rng.random_range(-1.0f32..1.0));
    let grad = Array2::from_shape_fn((64, 2 * W), |_| rng.random_range(-1.0f32..1.0));
    let mut blocks = Blocks {
        a: Activation::new(Relu),
        b: Activation::new(Tanh),
        sum: Sum::new(),
        fork1: Fork::new(),
        d: Activation::new(Relu),
        e: Activation::new(Tanh),
        concat: Concat::new(),
        fork2: Fork::new(),
    };
    let all = axonal::kernels::threads();
    let mut results = Vec::new();
    for threads in [1, all] {
        axonal::kernels::set_threads(threads);
        // Warm-up: buffers sized for 64 rows, the workers started.
        blocks.step(x.view(), grad.view(), Mode::Train);
        blocks.step(x.view(), grad.view(), Mode::Eval);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for rows in [64, 8, 1, 0, 33, 64] {
            let (x, g) = (x.slice(s![..rows, ..]), grad.slice(s![..rows, ..]));
            blocks.step(x, g, Mode::Eval);
            blocks.step(x, g, Mode::Train);
        }
        assert_eq!(
            ALLOCATIONS.load(Ordering::Relaxed) - before,
            0,
            "allocations in steady-state steps on {threads} thread(s)"
        );
        assert_eq!(blocks.results(), blocks.expected(x.view()));
        results.push(blocks.results());
    }
    assert_eq!(results[0], results[1], "1 thread against {all}");
}
