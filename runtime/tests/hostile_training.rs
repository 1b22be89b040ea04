//! Hostile settings for training (issue 13, items 7, 8, 10, 11 and 14): schedules that give
//! negative or NaN rates, absurd epoch counts, huge batch sizes and batch indices, infinite
//! or overflowing learning rates, absurd thread counts. Each is an `Err` (or a documented
//! panic message), never an abort, an overflow panic or a model with non-finite weights.

use std::panic::{catch_unwind, AssertUnwindSafe};

use axonal::data::Batcher;
use axonal::ndarray::{array, Array2};
use axonal::optim::{Adadelta, Adagrad, Adam, AdamW, NAdam, Optimizer, RAdam, RmsProp, Sgd};
use axonal::schedule::{
    Chain, CosineAnnealing, Exponential, MultiStep, Schedule, Sequential, Step,
};
use axonal::train::{Control, EarlyStopping};
use axonal::{Dataset, Error, Fit, Float, Model, Targets, TargetsView};

axonal::network! {
    /// y = w·x + b.
    Line { input 1; fc: dense 1; mse }
}

/// The line y = w·x + b.
fn line<F: Float>(w: f64, b: f64) -> Line<F> {
    let mut net = Line::<F>::seeded(0);
    net.fc.weight.fill(F::from_f64(w));
    net.fc.bias.fill(F::from_f64(b));
    net
}

/// `n` samples of y = 2x on x = 0, 0.1, 0.2, …
fn twice<F: Float>(n: usize) -> Dataset<F> {
    let x = Array2::from_shape_fn((n, 1), |(i, _)| F::from_f64(i as f64 * 0.1));
    let y = x.mapv(|v| v + v);
    Dataset::new(x, Targets::Values(y)).unwrap()
}

/// Every parameter value of `net`, in visit order.
fn values<F: Float, M: Model<F>>(net: &mut M) -> Vec<F> {
    let mut out = Vec::new();
    net.visit_params(&mut |p| out.extend_from_slice(p.value));
    out
}

/// The message of a panic caught by `catch_unwind`.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

// ---- item 7: schedules with negative or NaN rates ----

/// A schedule whose settings are out of range is refused before training starts, naming the
/// schedule, the setting and the value (it used to make `fit` panic in the optimizer step).
#[test]
fn schedules_with_bad_settings_are_refused_before_training() {
    let cases: Vec<(Box<dyn Schedule>, &str)> = vec![
        (
            Box::new(Exponential::new(-1.0)),
            "Exponential schedule: gamma",
        ),
        (
            Box::new(Exponential::new(f64::NAN)),
            "Exponential schedule: gamma",
        ),
        (
            Box::new(Exponential::new(f64::INFINITY)),
            "Exponential schedule: gamma",
        ),
        (
            Box::new(CosineAnnealing::new(2, -1.0)),
            "CosineAnnealing schedule: eta_min",
        ),
        (
            Box::new(CosineAnnealing::new(2, f64::NAN)),
            "CosineAnnealing schedule: eta_min",
        ),
        (Box::new(Step::new(1, -0.5)), "Step schedule: gamma"),
        (
            Box::new(MultiStep::new(vec![1], f64::NAN)),
            "MultiStep schedule: gamma",
        ),
        (
            Box::new(Chain::new(vec![Box::new(Exponential::new(-2.0))])),
            "Exponential schedule: gamma",
        ),
        (
            Box::new(
                Sequential::new(
                    vec![
                        Box::new(Exponential::new(0.5)),
                        Box::new(CosineAnnealing::new(3, -0.1)),
                    ],
                    vec![2],
                )
                .unwrap(),
            ),
            "CosineAnnealing schedule: eta_min",
        ),
    ];
    for (schedule, expected) in cases {
        let described = format!("{schedule:?}");
        let mut net = line::<f64>(0.5, 0.0);
        let before = values(&mut net);
        let mut config = Fit::epochs(4).batch(2).quiet();
        config.schedule = Some(schedule);
        let r = catch_unwind(AssertUnwindSafe(|| {
            net.fit(&twice(4), &mut Sgd::new(0.1), config)
        }))
        .unwrap_or_else(|p| panic!("{described}: fit panicked: {}", panic_message(p)));
        let Err(Error::Config(message)) = r else {
            panic!("{described}: {r:?}")
        };
        assert!(message.starts_with(expected), "{described}: {message}");
        assert_eq!(values(&mut net), before, "{described}: nothing trained");
    }
}

/// A schedule that is valid by its settings but whose rate overflows (or any custom schedule
/// giving a negative or NaN rate) stops training with an `Err` naming the schedule, the
/// epoch and the rate, before any step with that rate.
#[test]
fn a_schedule_rate_that_is_not_a_finite_non_negative_number_is_an_error() {
    /// A rate of −1 from epoch 2 (counting from 0) on.
    #[derive(Debug)]
    struct Negative;
    impl Schedule for Negative {
        fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
            if epoch < 2 {
                base_lr
            } else {
                -1.0
            }
        }
    }
    let mut net = line::<f64>(0.5, 0.0);
    let r = net.fit(
        &twice(4),
        &mut Sgd::new(0.01),
        Fit::epochs(5).batch(2).schedule(Negative).quiet(),
    );
    let Err(Error::Config(message)) = r else {
        panic!("{r:?}")
    };
    assert!(
        message.contains("schedule Negative")
            && message.contains("epoch 3")
            && message.contains("-1"),
        "{message}"
    );

    // 1e-300 · 1e300^epoch is 1e-300, then 1, then inf from the third epoch (epoch 2
    // counting from 0).
    let mut net = line::<f64>(0.5, 0.0);
    let mut epochs_run = 0;
    let r = net.fit(
        &twice(4),
        &mut Sgd::new(1e-300),
        Fit::epochs(5)
            .batch(2)
            .schedule(Exponential::new(1e300))
            .on_epoch(|_| {
                epochs_run += 1;
                Control::Continue
            })
            .quiet(),
    );
    let Err(Error::Config(message)) = r else {
        panic!("{r:?}")
    };
    assert!(
        message.contains("Exponential { gamma: 1e300 }")
            && message.contains("epoch 3")
            && message.contains("learning rate inf"),
        "{message}"
    );
    assert_eq!(epochs_run, 2);
    assert!(values(&mut net).iter().all(|v| v.is_finite()));
}

// ---- item 8: absurd epoch counts ----

/// The history grows as epochs run: `epochs(usize::MAX)` used to panic with a capacity
/// overflow and `epochs(10_000_000_000)` to abort on a 1.2 TB allocation.
#[test]
fn huge_epoch_counts_do_not_preallocate_the_history() {
    for epochs in [usize::MAX, 10_000_000_000] {
        let mut net = line::<f64>(0.5, 0.0);
        let history = net
            .fit(
                &twice(4),
                &mut Sgd::new(0.1),
                Fit::epochs(epochs)
                    .batch(4)
                    .on_epoch(|stats| {
                        if stats.epoch == 3 {
                            Control::Stop
                        } else {
                            Control::Continue
                        }
                    })
                    .quiet(),
            )
            .unwrap();
        assert_eq!(history.epochs.len(), 3);
        assert!(history.stopped_early);
        assert!(
            history.epochs.capacity() <= 1024,
            "capacity {}",
            history.epochs.capacity()
        );
    }
    // Early stopping ends a run of ten billion epochs as well (patience 0: at the first
    // epoch that does not improve, which a zero learning rate makes the second).
    let mut net = line::<f64>(0.5, 0.0);
    let history = net
        .fit(
            &twice(4),
            &mut Sgd::new(0.0),
            Fit::epochs(10_000_000_000)
                .batch(4)
                .early_stopping(EarlyStopping::new(0))
                .quiet(),
        )
        .unwrap();
    assert_eq!((history.epochs.len(), history.stopped_early), (2, true));
}

// ---- item 10: huge batch sizes and batch indices ----

/// A batch size larger than the data gives one batch of every sample; an index whose
/// product with the batch size overflows is out of range (the documented panic), never an
/// arithmetic overflow or, in a release build, a wrapped-around batch.
#[test]
fn batcher_with_huge_batch_sizes_and_indices() {
    let x = array![[0.0f64], [1.0], [2.0]];
    let data = Dataset::new(x, Targets::Labels(vec![0, 1, 2])).unwrap();
    for size in [3, 4, usize::MAX / 2 + 1, usize::MAX] {
        let mut batcher = Batcher::new(&data, size).unwrap();
        assert_eq!((batcher.len(), batcher.batch_size()), (1, 3), "{size}");
        assert_eq!(batcher.indices(0), [0, 1, 2]);
        let (x, t) = batcher.batch(0);
        assert_eq!(x.column(0).to_vec(), [0.0, 1.0, 2.0]);
        assert!(matches!(t, TargetsView::Labels(&[0, 1, 2])));
    }
    let mut batcher = Batcher::new(&data, 2).unwrap();
    assert_eq!(batcher.indices(1), [2]);
    for index in [2, usize::MAX / 2 + 1, usize::MAX] {
        let message = catch_unwind(AssertUnwindSafe(|| batcher.indices(index).to_vec()))
            .map(|i| format!("returned {i:?}"))
            .unwrap_or_else(panic_message);
        assert_eq!(message, format!("batch {index} of 2"));
        let message = catch_unwind(AssertUnwindSafe(|| {
            batcher.batch(index).0.nrows();
        }))
        .map(|()| "returned a batch".to_string())
        .unwrap_or_else(panic_message);
        assert_eq!(message, format!("batch {index} of 2"));
    }
}

// ---- item 11: infinite and overflowing learning rates ----

/// Every optimizer, built with a learning rate `fit` cannot use.
fn all_optimizers(lr: f64) -> Vec<(&'static str, Box<dyn Optimizer<f32>>)> {
    vec![
        ("Sgd", Box::new(Sgd::new(lr))),
        ("Adam", Box::new(Adam::new(lr))),
        ("AdamW", Box::new(AdamW::new(lr))),
        ("NAdam", Box::new(NAdam::new(lr))),
        ("RAdam", Box::new(RAdam::new(lr))),
        ("Adagrad", Box::new(Adagrad::new(lr))),
        // eps 1: steps of about lr (with PyTorch's 1e-6, a thousandth of it).
        ("Adadelta", Box::new(Adadelta::new(lr).eps(1.0))),
        ("RmsProp", Box::new(RmsProp::new(lr))),
    ]
}

/// An infinite or NaN learning rate, or one too large for the parameters' type (1e39 is inf
/// in f32), is refused by every optimizer's validation before training starts.
#[test]
fn learning_rates_that_are_not_finite_are_refused_by_every_optimizer() {
    for lr in [f64::INFINITY, f64::NAN, 1e39, -1.0] {
        for (name, mut optimizer) in all_optimizers(lr) {
            let mut net = line::<f32>(0.5, 0.0);
            let r = net.fit(&twice(4), optimizer.as_mut(), Fit::epochs(2).quiet());
            let Err(Error::Config(message)) = r else {
                panic!("{name} with lr {lr}: {r:?}")
            };
            assert!(
                message.starts_with(&format!("{name}: lr must be")),
                "{name}: {message}"
            );
            assert_eq!(values(&mut net), [0.5, 0.0], "{name}: nothing trained");
        }
    }
    // The other hyperparameters, likewise.
    let others: Vec<(&str, Box<dyn Optimizer<f32>>)> = vec![
        (
            "Sgd: momentum",
            Box::new(Sgd::new(0.1).momentum(f64::INFINITY)),
        ),
        (
            "Sgd: dampening",
            Box::new(Sgd::new(0.1).momentum(0.9).dampening(f64::NEG_INFINITY)),
        ),
        (
            "Sgd: weight_decay",
            Box::new(Sgd::new(0.1).weight_decay(1e39)),
        ),
        ("Adam: eps", Box::new(Adam::new(0.1).eps(f64::INFINITY))),
        (
            "AdamW: weight_decay",
            Box::new(AdamW::new(0.1).weight_decay(f64::NAN)),
        ),
        (
            "NAdam: momentum_decay",
            Box::new(NAdam::new(0.1).momentum_decay(f64::INFINITY)),
        ),
        (
            "Adagrad: lr_decay",
            Box::new(Adagrad::new(0.1).lr_decay(f64::INFINITY)),
        ),
        (
            "Adagrad: initial_accumulator_value",
            Box::new(Adagrad::new(0.1).initial_accumulator_value(f64::INFINITY)),
        ),
        (
            "RmsProp: alpha",
            Box::new(RmsProp::new(0.1).alpha(f64::INFINITY)),
        ),
        (
            "RmsProp: momentum",
            Box::new(RmsProp::new(0.1).momentum(f64::INFINITY)),
        ),
    ];
    for (expected, optimizer) in others {
        let Err(Error::Config(message)) = optimizer.validate() else {
            panic!("{expected}: accepted")
        };
        assert!(message.starts_with(expected), "{expected}: {message}");
    }
}

/// A finite learning rate whose step overflows (1e38 · a gradient of 2e4 in f32): the step
/// that would make a parameter infinite is not kept, so the `Diverged` error comes at that
/// step with the weights from before it. It used to come one epoch later, with the weights
/// already infinite and a message to reload a checkpoint.
#[test]
fn a_step_that_overflows_the_weights_is_undone() {
    // x = 100, y = 0 from w = 1, b = 0: the gradient of w is 2·100·100, of b 2·100.
    let data = Dataset::new(array![[100.0f32]], Targets::Values(array![[0.0f32]])).unwrap();
    let mut net = line::<f32>(1.0, 0.0);
    let r = net.fit(&data, &mut Sgd::new(1e38), Fit::epochs(3).quiet());
    let Err(err @ Error::Diverged { .. }) = r else {
        panic!("{r:?}")
    };
    let Error::Diverged {
        epoch,
        step,
        ref layer,
        ref what,
    } = err
    else {
        unreachable!()
    };
    assert_eq!((epoch, step, layer.as_deref()), (1, 1, Some("fc")), "{err}");
    assert!(
        what.contains("`fc.weight`")
            && what.contains("-inf")
            && what.contains("put back")
            && !what.contains("reload a checkpoint"),
        "{err}"
    );
    assert_eq!(values(&mut net), [1.0, 0.0], "the weights before the step");

    // Every optimizer. x = 1e-30, y = 1e9 from w = 2e38, b = 0: the prediction 2e8 is
    // finite and below the target, so every optimizer moves w and b up, by about lr (3e38)
    // or more: past f32's largest value, 3.4e38, for one of them at least.
    let data = Dataset::new(array![[1e-30f32]], Targets::Values(array![[1e9f32]])).unwrap();
    for (name, mut optimizer) in all_optimizers(3e38) {
        let mut net = line::<f32>(2e38, 0.0);
        let r = net.fit(&data, optimizer.as_mut(), Fit::epochs(2).quiet());
        let Err(Error::Diverged {
            epoch: 1,
            step: 1,
            what,
            ..
        }) = r
        else {
            panic!("{name}: {r:?}")
        };
        assert!(what.contains("put back"), "{name}: {what}");
        assert_eq!(values(&mut net), [2e38, 0.0], "{name}");
    }
}

/// An optimizer written by a user (no fused backup) gets the same guarantee: its update is
/// undone when it makes a parameter non-finite.
#[test]
fn a_custom_optimizer_that_overflows_the_weights_is_undone_too() {
    /// Sets the bias to infinity on the third step.
    struct Wild(usize);
    impl Optimizer<f64> for Wild {
        fn update(&mut self, index: usize, value: &mut [f64], grad: &[f64]) -> axonal::Result<()> {
            if index == 1 {
                self.0 += 1;
            }
            for (v, g) in value.iter_mut().zip(grad) {
                *v -= 0.01 * g;
            }
            if index == 1 && self.0 == 3 {
                value[0] = f64::INFINITY;
            }
            Ok(())
        }
        fn learning_rate(&self) -> f64 {
            0.01
        }
        fn set_learning_rate(&mut self, _: f64) {}
    }
    let data = twice::<f64>(4);
    let mut net = line::<f64>(0.5, 0.0);
    let r = net.fit(&data, &mut Wild(0), Fit::epochs(3).batch(4).quiet());
    let Err(Error::Diverged {
        epoch,
        step,
        layer,
        what,
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        (epoch, step, layer.as_deref()),
        (3, 1, Some("fc")),
        "{what}"
    );
    assert!(what.contains("`fc.bias`") && what.contains("inf"), "{what}");
    let mut two = line::<f64>(0.5, 0.0);
    two.fit(&data, &mut Wild(0), Fit::epochs(2).batch(4).quiet())
        .unwrap();
    assert_eq!(
        values(&mut net),
        values(&mut two),
        "the weights after 2 epochs"
    );
}

// ---- item 14: absurd thread counts ----

/// `AXONAL_THREADS=1000` is capped at the machine's available parallelism, with a warning
/// (it used to start 999 spinning workers). Run in a child process, so the variable is read
/// at the first product of a fresh process.
#[test]
fn thread_counts_above_the_cores_are_capped_with_a_warning() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_reports_threads",
            "--ignored",
            "--nocapture",
        ])
        .env("AXONAL_THREADS", "1000")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let threads: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("threads "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .parse()
        .unwrap();
    assert!(threads <= cores, "{threads} threads on {cores} cores");
    assert!(
        stderr.contains("AXONAL_THREADS=\"1000\"")
            && stderr.contains(&format!("available parallelism ({cores})")),
        "{stderr}"
    );
}

/// Run by [`thread_counts_above_the_cores_are_capped_with_a_warning`] in a child process.
#[test]
#[ignore = "run by thread_counts_above_the_cores_are_capped_with_a_warning"]
fn child_reports_threads() {
    let threads = axonal::kernels::threads();
    // A product large enough to be split, so the pool starts.
    let a = Array2::<f32>::ones((256, 256));
    let mut c = Array2::<f32>::zeros((256, 256));
    axonal::kernels::gemm_nn(a.view(), a.view(), c.view_mut());
    assert_eq!(c[[0, 0]], 256.0);
    println!("threads {threads}");
}
