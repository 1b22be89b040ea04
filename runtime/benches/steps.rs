//! Criterion benches of the issue: one training step (forward, loss, backward, SGD) and one
//! inference call (eval-mode forward into the network's reused buffers) at batch 1, 64 and
//! 256, in f32, for 784→128 ReLU→10 and 784→512→512→10, with allocations counted.
//!
//! Before timing, every case runs once to size its buffers and once more under a counting
//! global allocator; a case that allocates in steady state panics, so the figures are
//! never those of an allocating step. `cargo bench -p axonal --bench steps`; not run by
//! `cargo test` (compiled only by `cargo test --benches`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use axonal::ndarray::Array2;
use axonal::optim::{Optimizer, Sgd};
use axonal::rand::{Rng, SeedableRng};
use axonal::{Mode, Model, TargetsView};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// The system allocator, counting allocations (the benches run on one thread).
struct Counting;

/// Allocations (and reallocations) since the start.
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

axonal::network! {
    /// The MLP.
    pub Mlp {
        input 784;
        fc1: dense 784->128 relu init=he;
        fc2: dense 128->10;
        softmax_ce
    }
}

axonal::network! {
    /// The larger network of the issue.
    pub Big {
        input 784;
        fc1: dense 784->512 relu init=he;
        fc2: dense 512->512 relu init=he;
        fc3: dense 512->10;
        softmax_ce
    }
}

/// One SGD training step on `x` with `labels`.
fn train_step<M: Model<f32>>(net: &mut M, sgd: &mut Sgd, x: &Array2<f32>, labels: &[usize]) {
    net.forward(x.view(), Mode::Train).unwrap();
    black_box(net.loss(TargetsView::Labels(labels)).unwrap());
    net.backward(x.view()).unwrap();
    sgd.step(net);
}

/// Runs `f` once to warm up, then once more counting allocations, which must be none.
fn assert_no_allocations(case: &str, mut f: impl FnMut()) {
    f();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    let n = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(n, 0, "{case}: {n} allocations in a steady-state call");
}

/// Training-step and inference benches of one network at batch 1, 64 and 256.
fn network<M: Model<f32>>(c: &mut Criterion, name: &str, mut net: M) {
    let rng = &mut axonal::seeded_rng(0);
    let mut sgd = Sgd::new(0.01);
    let mut group = c.benchmark_group(name);
    for batch in [1usize, 64, 256] {
        let x = Array2::from_shape_fn((batch, 784), |_| rng.random::<f32>());
        let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..10)).collect();
        group.throughput(Throughput::Elements(batch as u64));

        let case = format!("{name}/train/{batch}");
        assert_no_allocations(&case, || train_step(&mut net, &mut sgd, &x, &labels));
        group.bench_function(BenchmarkId::new("train", batch), |b| {
            b.iter(|| train_step(&mut net, &mut sgd, &x, &labels))
        });

        let case = format!("{name}/infer/{batch}");
        assert_no_allocations(&case, || {
            black_box(net.forward(x.view(), Mode::Eval).unwrap());
        });
        group.bench_function(BenchmarkId::new("infer", batch), |b| {
            b.iter(|| black_box(net.forward(x.view(), Mode::Eval).unwrap()[[0, 0]]))
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let seed = || axonal::rand::rngs::StdRng::seed_from_u64(1);
    network(c, "mlp_784_128_10", Mlp::<f32>::new(&mut seed()));
    network(c, "mlp_784_512_512_10", Big::<f32>::new(&mut seed()));
}

criterion_group!(steps, benches);
criterion_main!(steps);
