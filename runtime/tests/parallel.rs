//! `DataParallel` trains like one thread: same parameters (to rounding) as single-threaded
//! training of a dense network, bit-identical between runs, the same gradients for explicit
//! output gradients, and no allocation in a steady-state step (counted on every thread).
//!
//! (`unsafe` appears only here: implementing `GlobalAlloc` requires it.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use axonal::gradcheck::check_model;
use axonal::ndarray::{s, Array2};
use axonal::optim::{Adam, Optimizer, Sgd};
use axonal::parallel::DataParallel;
use axonal::rand::{Rng, SeedableRng};
use axonal::{Dataset, Error, Fit, Mode, Model, Targets, TargetsView};

/// Counts allocations of all threads (the worker's included); the tests of this file take
/// `SERIAL` so that they do not count each other's.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

axonal::network! {
    /// A dense classifier.
    pub Net { input 5; fc1: dense 16 tanh; fc2: dense 8 relu; fc3: dense 3; softmax_ce }
}

axonal::network! {
    /// A dense regressor.
    pub Reg { input 4; fc1: dense 12 tanh; fc2: dense 2; mse }
}

axonal::network! {
    /// The benchmark's shape.
    pub Mnist { input 784; fc1: dense 784->128 relu init=he; fc2: dense 128->10; softmax_ce }
}

fn inputs(n: usize, width: usize, seed: u64) -> Array2<f64> {
    let rng = &mut axonal::seeded_rng(seed);
    Array2::from_shape_fn((n, width), |_| rng.random_range(-1.0..1.0))
}

fn classes(n: usize) -> Dataset<f64> {
    let x = inputs(n, 5, 3);
    let labels = x
        .rows()
        .into_iter()
        .map(|r| usize::from(r[0] > 0.0) + usize::from(r[1] > 0.3))
        .collect();
    Dataset::new(x, Targets::Labels(labels)).unwrap()
}

fn params<M: Model<f64>>(m: &mut M) -> Vec<f64> {
    let mut all = Vec::new();
    m.visit_params(&mut |p| all.extend_from_slice(p.value));
    all
}

fn grads<M: Model<f64>>(m: &mut M) -> Vec<f64> {
    let mut all = Vec::new();
    m.visit_params(&mut |p| all.extend_from_slice(p.grad));
    all
}

/// Largest |a − b| / max(1, |a|).
fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
        .fold(0.0, f64::max)
}

#[test]
fn fit_matches_one_thread_for_even_and_odd_batches() {
    let _serial = serial();
    let data = classes(103);
    // 16: even halves; 7: halves of 4 and 3, and a last batch of 5 (3 + 2).
    for batch in [16, 7] {
        let config = || Fit::epochs(6).batch(batch).seed(5).quiet();
        let mut single = Net::<f64>::seeded(1);
        let h1 = single.fit(&data, &mut Adam::new(0.01), config()).unwrap();
        let mut parallel = DataParallel::new(Net::<f64>::seeded(1)).unwrap();
        let h2 = parallel.fit(&data, &mut Adam::new(0.01), config()).unwrap();
        let (a, b) = (params(&mut single), params(&mut parallel));
        assert!(
            a != params(&mut Net::<f64>::seeded(1)),
            "training changed nothing"
        );
        let diff = max_diff(&a, &b);
        assert!(diff < 1e-6, "batch {batch}: parameters differ by {diff}");
        for (e1, e2) in h1.epochs.iter().zip(&h2.epochs) {
            assert!((e1.loss - e2.loss).abs() < 1e-9, "{e1:?} vs {e2:?}");
            assert_eq!(e1.accuracy, e2.accuracy);
        }
        // The unwrapped network is the trained one.
        assert_eq!(params(&mut parallel.into_inner()), b);
    }
}

#[test]
fn regression_targets_and_sgd_match_one_thread() {
    let _serial = serial();
    let x = inputs(64, 4, 8);
    let y = Array2::from_shape_fn((64, 2), |(i, j)| {
        x[[i, j]] * x[[i, j + 1]] - 0.5 * x[[i, 3]]
    });
    let data = Dataset::new(x, Targets::Values(y)).unwrap();
    let config = || Fit::epochs(5).batch(10).seed(2).quiet();
    let mut single = Reg::<f64>::seeded(4);
    single.fit(&data, &mut Sgd::new(0.1), config()).unwrap();
    let mut parallel = DataParallel::new(Reg::<f64>::seeded(4)).unwrap();
    parallel.fit(&data, &mut Sgd::new(0.1), config()).unwrap();
    let diff = max_diff(&params(&mut single), &params(&mut parallel));
    assert!(diff < 1e-6, "parameters differ by {diff}");
}

#[test]
fn runs_are_bit_identical() {
    let _serial = serial();
    let data = classes(90);
    let run = || {
        let mut net = DataParallel::new(Net::<f64>::seeded(7)).unwrap();
        let config = Fit::epochs(4).batch(9).seed(1).quiet();
        net.fit(&data, &mut Adam::new(0.02), config).unwrap();
        params(&mut net)
    };
    let (a, b) = (run(), run());
    assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn explicit_output_gradient_and_input_gradient_match_one_thread() {
    let _serial = serial();
    let x = inputs(11, 5, 6);
    let g = inputs(11, 3, 7);
    let mut single = Net::<f64>::seeded(2);
    let mut parallel = DataParallel::new(Net::<f64>::seeded(2)).unwrap();
    let y1 = single.forward(x.view(), Mode::Train).unwrap().to_owned();
    let y2 = parallel.forward(x.view(), Mode::Train).unwrap().to_owned();
    assert!(max_diff(y1.as_slice().unwrap(), y2.as_slice().unwrap()) < 1e-12);
    single
        .backward_with(x.view(), Some(g.view()), true)
        .unwrap();
    parallel
        .backward_with(x.view(), Some(g.view()), true)
        .unwrap();
    assert!(max_diff(&grads(&mut single), &grads(&mut parallel)) < 1e-12);
    let (d1, d2) = (
        single.input_grad().to_owned(),
        parallel.input_grad().to_owned(),
    );
    assert_eq!(d2.dim(), (11, 5));
    assert!(max_diff(d1.as_slice().unwrap(), d2.as_slice().unwrap()) < 1e-12);
}

#[test]
fn gradients_pass_a_gradient_check() {
    let _serial = serial();
    let data = classes(12);
    let mut net = DataParallel::new(Net::<f64>::seeded(3)).unwrap();
    let check = check_model(&mut net, data.inputs(), data.targets(), 1e-5).unwrap();
    assert!(check.max_relative_error < 1e-6, "{}", check.worst);
    assert_eq!(check.checked, Net::<f64>::PARAMS);
}

#[test]
fn errors_of_the_second_half_name_the_sample_in_the_batch() {
    let _serial = serial();
    let x = inputs(6, 5, 1);
    let mut net = DataParallel::new(Net::<f64>::seeded(0)).unwrap();
    net.forward(x.view(), Mode::Train).unwrap();
    let labels = [0, 1, 2, 0, 7, 1];
    let err = net.loss(TargetsView::Labels(&labels)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                index: 4,
                label: 7,
                ..
            }
        ),
        "{err:?}"
    );
    let err = net.loss(TargetsView::Labels(&labels[..5])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                inputs: 6,
                targets: 5
            }
        ),
        "{err:?}"
    );
    // The network still trains after errors.
    net.forward(x.view(), Mode::Train).unwrap();
    net.loss(TargetsView::Labels(&[0, 1, 2, 0, 2, 1])).unwrap();
    net.backward(x.view()).unwrap();
}

#[test]
fn steady_state_step_allocates_nothing_on_either_thread() {
    let _serial = serial();
    let rng = &mut axonal::rand::rngs::StdRng::seed_from_u64(9);
    let x = Array2::from_shape_fn((256, 784), |_| rng.random::<f32>());
    let labels: Vec<usize> = (0..256).map(|i| i % 10).collect();
    let mut net = DataParallel::new(Mnist::<f32>::seeded(1)).unwrap();
    let mut sgd = Sgd::new(0.01);
    let mut step = |net: &mut DataParallel<Mnist<f32>>, rows: std::ops::Range<usize>| {
        let xb = x.slice(s![rows.clone(), ..]);
        net.forward(xb, Mode::Train).unwrap();
        net.loss(TargetsView::Labels(&labels[rows])).unwrap();
        net.backward(xb).unwrap();
        sgd.step(net);
    };
    step(&mut net, 0..64); // warm-up: buffers sized for 64 rows
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for i in 0..12 {
        let start = (i * 17) % 192;
        step(&mut net, start..start + 64);
        step(&mut net, start..start + 37); // smaller batches reuse the buffers
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "allocations in steady-state steps");
}
