//! `fit` end to end through networks compiled by `network!`: validation data and split,
//! metrics (checked against counts made by hand from `predict`), early stopping, callbacks,
//! schedules, clipping, divergence, plots, checkpoints and reproducibility.

use axonal::ndarray::{array, s, Array2, ArrayView2};
use axonal::optim::{Adam, Optimizer, Sgd};
use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::schedule::{CosineAnnealing, Step};
use axonal::train::{self, Control, EarlyStopping};
use axonal::{Buffer, Dataset, Error, Fit, Mode, Model, Param, Targets, TargetsView};

axonal::network! {
    /// Three classes in the plane.
    Blobs { input 2; fc1: dense 16 relu; fc2: dense 3; softmax_ce }
    /// With buffers (batchnorm's running statistics) and randomness (dropout).
    Deep { input 2; fc1: dense 16 relu; bn1: batchnorm; dropout 0.2; fc2: dense 3; softmax_ce }
    /// y = w·x + b.
    Line { input 1; fc: dense 1; mse }
}

/// `n` points of three Gaussian-ish blobs around the corners of a triangle, labels 0, 1, 2 in turn.
fn blobs(n: usize, seed: u64) -> Dataset<f64> {
    let rng = &mut StdRng::seed_from_u64(seed);
    let centers = [(0.0, 2.0), (-2.0, -1.0), (2.0, -1.0)];
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let c = centers[i % 3];
        (if j == 0 { c.0 } else { c.1 }) + rng.random_range(-1.5..1.5)
    });
    Dataset::new(x, Targets::Labels((0..n).map(|i| i % 3).collect())).unwrap()
}

fn labels(data: &Dataset<f64>) -> Vec<usize> {
    match data.targets() {
        TargetsView::Labels(l) => l.to_vec(),
        TargetsView::Values(_) => panic!("labels expected"),
    }
}

/// Samples `range` of a labelled dataset, copied.
fn rows(data: &Dataset<f64>, range: std::ops::Range<usize>) -> Dataset<f64> {
    let x = data.inputs().slice(s![range.clone(), ..]).to_owned();
    Dataset::new(x, Targets::Labels(labels(data)[range].to_vec())).unwrap()
}

/// Every parameter and buffer of `net`, by name, as bits: equality is bitwise.
fn tensors<M: Model<f64>>(net: &mut M) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    net.visit_params(&mut |p: Param<'_, f64>| out.push((p.full_name(), bits(p.value))));
    net.visit_buffers(&mut |b: Buffer<'_, f64>| out.push((b.full_name(), bits(b.value))));
    out
}

/// All gradients of `net`, concatenated in visit order.
fn gradients<M: Model<f64>>(net: &mut M) -> Vec<f64> {
    let mut out = Vec::new();
    net.visit_params(&mut |p| out.extend_from_slice(p.grad));
    out
}

/// All parameter values of `net`, concatenated in visit order.
fn values<M: Model<f64>>(net: &mut M) -> Vec<f64> {
    let mut out = Vec::new();
    net.visit_params(&mut |p| out.extend_from_slice(p.value));
    out
}

/// Mean cross-entropy, accuracy and top-k accuracy counted by hand from probabilities.
fn by_hand(p: ArrayView2<'_, f64>, labels: &[usize], k: usize) -> (f64, f64, f64) {
    let n = labels.len() as f64;
    let loss = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| -p[[i, l]].ln())
        .sum::<f64>()
        / n;
    let mut correct = 0;
    let mut in_top_k = 0;
    for (i, &l) in labels.iter().enumerate() {
        let row = p.row(i);
        let first_max = (0..row.len())
            .find(|&j| row.iter().all(|&v| v <= row[j]))
            .unwrap();
        correct += usize::from(first_max == l);
        in_top_k += usize::from(row.iter().filter(|&&v| v > row[l]).count() < k);
    }
    (loss, correct as f64 / n, in_top_k as f64 / n)
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn validation_metrics_match_a_count_by_hand_and_evaluate() {
    let (train_set, test) = (blobs(90, 1), blobs(30, 2));
    let mut net = Blobs::<f64>::seeded(3);
    let history = net
        .fit(
            &train_set,
            &mut Adam::new(0.01),
            Fit::epochs(4).batch(16).validation(&test).top_k(2).quiet(),
        )
        .unwrap();
    assert_eq!(history.epochs.len(), 4);
    let last = history.last().unwrap().clone();
    let p = net.predict(test.inputs()).unwrap();
    let (loss, accuracy, top2) = by_hand(p.view(), &labels(&test), 2);
    assert!(
        close(last.val_loss.unwrap(), loss, 1e-12),
        "{last:?} vs {loss}"
    );
    assert_eq!(last.val_accuracy, Some(accuracy));
    assert_eq!(last.val_top_k, Some(top2));
    assert!(last.top_k.unwrap() >= last.accuracy.unwrap());

    let eval = train::evaluate_top_k(&mut net, &test, 16, 2).unwrap();
    assert_eq!(
        (Some(eval.loss), eval.accuracy, eval.top_k),
        (last.val_loss, last.val_accuracy, last.val_top_k)
    );
    let eval = net.evaluate(&test, 7).unwrap();
    assert!(close(eval.loss, loss, 1e-12));
    assert_eq!((eval.accuracy, eval.top_k), (Some(accuracy), None));
    assert!(matches!(
        train::evaluate_top_k(&mut net, &test, 16, 0),
        Err(Error::Config(_))
    ));
}

#[test]
fn training_metrics_of_a_full_batch_epoch_are_those_of_the_initial_weights() {
    // One full batch: the epoch's training metrics are measured before its only update.
    let data = blobs(60, 6);
    let mut net = Blobs::<f64>::seeded(7);
    let p = net.predict(data.inputs()).unwrap();
    let (loss, accuracy, top2) = by_hand(p.view(), &labels(&data), 2);
    let h = net
        .fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(1).full_batch().top_k(2).quiet(),
        )
        .unwrap();
    let e = &h.epochs[0];
    assert!(close(e.loss, loss, 1e-12), "{e:?} vs {loss}");
    assert_eq!((e.accuracy, e.top_k), (Some(accuracy), Some(top2)));
    assert_eq!(
        (e.val_loss, e.val_accuracy, e.val_top_k),
        (None, None, None)
    );
    assert!(e.samples_per_second > 0.0 && e.seconds > 0.0);
}

#[test]
fn validation_split_holds_out_the_last_samples() {
    // Keras' rule: ⌊10 · (1 − 0.25)⌋ = 7 samples train, the last 3 validate.
    let data = blobs(10, 4);
    let config = || Fit::epochs(3).batch(3).seed(9).quiet();
    let mut split = Blobs::<f64>::seeded(5);
    let hs = split
        .fit(&data, &mut Sgd::new(0.1), config().validation_split(0.25))
        .unwrap();
    let (head, tail) = (rows(&data, 0..7), rows(&data, 7..10));
    let mut explicit = Blobs::<f64>::seeded(5);
    let he = explicit
        .fit(&head, &mut Sgd::new(0.1), config().validation(&tail))
        .unwrap();
    for (a, b) in hs.epochs.iter().zip(&he.epochs) {
        assert_eq!(
            (a.loss, a.accuracy, a.val_loss, a.val_accuracy),
            (b.loss, b.accuracy, b.val_loss, b.val_accuracy)
        );
    }
    assert!(hs.epochs[0].val_loss.is_some());
    assert_eq!(tensors(&mut split), tensors(&mut explicit));

    // Eight samples would give other numbers: the split is not rounded up.
    let mut eight = Blobs::<f64>::seeded(5);
    eight
        .fit(&rows(&data, 0..8), &mut Sgd::new(0.1), config())
        .unwrap();
    assert_ne!(tensors(&mut split), tensors(&mut eight));

    for (n, fraction) in [(1, 0.5), (10, 1e-17), (3, 0.9)] {
        let mut net = Blobs::<f64>::seeded(5);
        let r = net.fit(
            &blobs(n, 4),
            &mut Sgd::new(0.1),
            config().validation_split(fraction),
        );
        assert!(matches!(r, Err(Error::Config(_))), "{n} {fraction}: {r:?}");
    }
}

#[test]
fn validation_data_of_the_wrong_width_fails_before_training() {
    let data = blobs(12, 1);
    let wide = Dataset::new(Array2::zeros((4, 3)), Targets::Labels(vec![0; 4])).unwrap();
    let mut net = Blobs::<f64>::seeded(1);
    let before = tensors(&mut net);
    let r = net.fit(
        &data,
        &mut Sgd::new(0.1),
        Fit::epochs(2).validation(&wide).quiet(),
    );
    assert!(
        matches!(r, Err(Error::InputWidth { found: 3, .. })),
        "{r:?}"
    );
    assert_eq!(tensors(&mut net), before);
}

/// `Line` with weight `w` and bias `b`.
fn line(w: f64, b: f64) -> Line<f64> {
    let mut net = Line::<f64>::seeded(0);
    net.fc.weight.fill(w);
    net.fc.bias.fill(b);
    net
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_epoch() {
    // Train y(1) toward 1, validate against 0.5. Plain SGD with lr 0.05 from y = 0 moves the
    // prediction 20% of the way per step (dL/dw = dL/db = 2(y − 1) at x = 1), so after epoch
    // e it is 1 − 0.8^e and the validation loss (0.5 − 0.8^e)² is 0.09, 0.0196, 0.000144,
    // 0.00817, 0.0297, …: best at epoch 3; with patience 2, training stops after epoch 5.
    let train_set = Dataset::new(array![[1.0]], Targets::Values(array![[1.0]])).unwrap();
    let val = Dataset::new(array![[1.0]], Targets::Values(array![[0.5]])).unwrap();
    let config = |epochs| Fit::epochs(epochs).batch(1).validation(&val).quiet();

    let mut net = line(0.0, 0.0);
    let h = net
        .fit(
            &train_set,
            &mut Sgd::new(0.05),
            config(10).early_stopping(EarlyStopping::new(2)),
        )
        .unwrap();
    for e in &h.epochs {
        let expected = (0.5 - 0.8f64.powi(e.epoch as i32)).powi(2);
        assert!(close(e.val_loss.unwrap(), expected, 1e-9), "{e:?}");
    }
    assert_eq!(h.epochs.len(), 5);
    assert!(h.stopped_early);
    assert_eq!(h.best_epoch, Some(3));
    assert_eq!(h.best().unwrap().epoch, 3);

    let mut at_best = line(0.0, 0.0);
    at_best
        .fit(&train_set, &mut Sgd::new(0.05), config(3))
        .unwrap();
    assert_eq!(tensors(&mut net), tensors(&mut at_best));

    // Without restoring: the weights of the last epoch run.
    let mut kept = line(0.0, 0.0);
    kept.fit(
        &train_set,
        &mut Sgd::new(0.05),
        config(10).early_stopping(EarlyStopping::new(2).restore_best(false)),
    )
    .unwrap();
    let mut at_five = line(0.0, 0.0);
    at_five
        .fit(&train_set, &mut Sgd::new(0.05), config(5))
        .unwrap();
    assert_eq!(tensors(&mut kept), tensors(&mut at_five));
    assert_ne!(tensors(&mut kept), tensors(&mut at_best));

    // Patience 0 stops at the first epoch that does not improve.
    let mut eager = line(0.0, 0.0);
    let h = eager
        .fit(
            &train_set,
            &mut Sgd::new(0.05),
            config(10).early_stopping(EarlyStopping::new(0)),
        )
        .unwrap();
    assert_eq!((h.epochs.len(), h.best_epoch), (4, Some(3)));
}

#[test]
fn early_stopping_restores_buffers_too() {
    // min_delta so large that only the first epoch counts as an improvement: stop after
    // epoch 3 and put back epoch 1's parameters and batchnorm statistics.
    let data = blobs(40, 3);
    let config = || Fit::epochs(10).batch(8).seed(4).quiet();
    let mut net = Deep::<f64>::seeded(2);
    let h = net
        .fit(
            &data,
            &mut Adam::new(0.01),
            config().early_stopping(EarlyStopping::new(2).min_delta(1e9)),
        )
        .unwrap();
    assert_eq!(
        (h.epochs.len(), h.best_epoch, h.stopped_early),
        (3, Some(1), true)
    );
    let mut one = Deep::<f64>::seeded(2);
    one.fit(
        &data,
        &mut Adam::new(0.01),
        Fit::epochs(1).batch(8).seed(4).quiet(),
    )
    .unwrap();
    let mut three = Deep::<f64>::seeded(2);
    three
        .fit(
            &data,
            &mut Adam::new(0.01),
            Fit::epochs(3).batch(8).seed(4).quiet(),
        )
        .unwrap();
    let restored = tensors(&mut net);
    assert_eq!(restored, tensors(&mut one));
    let buffers = |t: &[(String, Vec<u64>)]| {
        t.iter()
            .filter(|(name, _)| name.starts_with("bn1.running"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(buffers(&restored).len(), 2);
    assert_ne!(buffers(&restored), buffers(&tensors(&mut three)));
}

#[test]
fn callback_sees_every_epoch_and_can_stop() {
    let data = blobs(30, 1);
    let mut seen = Vec::new();
    let mut net = Blobs::<f64>::seeded(1);
    let h = net
        .fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(10).batch(8).quiet().on_epoch(|stats| {
                seen.push((stats.epoch, stats.loss));
                if stats.epoch == 3 {
                    Control::Stop
                } else {
                    Control::Continue
                }
            }),
        )
        .unwrap();
    assert_eq!((h.epochs.len(), h.stopped_early), (3, true));
    let recorded: Vec<_> = h.epochs.iter().map(|e| (e.epoch, e.loss)).collect();
    assert_eq!(seen, recorded);

    // Stopping at the last epoch is not stopping early.
    let h = net
        .fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(2).quiet().on_epoch(|_| Control::Stop),
        )
        .unwrap();
    assert_eq!((h.epochs.len(), h.stopped_early), (1, true));
    let h = net
        .fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(1).quiet().on_epoch(|_| Control::Stop),
        )
        .unwrap();
    assert_eq!((h.epochs.len(), h.stopped_early), (1, false));
}

#[test]
fn schedule_sets_the_learning_rate_of_every_epoch() {
    let x = array![[1.0], [2.0], [-1.0], [0.5]];
    let y = array![[3.0], [5.0], [-1.0], [2.0]];
    let data = Dataset::new(x, Targets::Values(y)).unwrap();
    let mut sgd = Sgd::new(0.1);
    let mut net = line(0.0, 0.0);
    let h = net
        .fit(
            &data,
            &mut sgd,
            Fit::epochs(5)
                .batch(2)
                .seed(3)
                .schedule(Step::new(2, 0.5))
                .quiet(),
        )
        .unwrap();
    let lrs: Vec<f64> = h.epochs.iter().map(|e| e.lr).collect();
    assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.025]);
    assert_eq!(
        Optimizer::<f64>::learning_rate(&sgd),
        0.1,
        "base rate put back"
    );

    // The same updates one epoch at a time with the rate set by hand (plain SGD has no
    // state; epoch k of a run with seed s is shuffled as epoch 0 of one with seed s + k).
    let mut by_hand = line(0.0, 0.0);
    for (k, lr) in [0.1, 0.1, 0.05, 0.05, 0.025].into_iter().enumerate() {
        by_hand
            .fit(
                &data,
                &mut Sgd::new(lr),
                Fit::epochs(1).batch(2).seed(3 + k as u64).quiet(),
            )
            .unwrap();
    }
    assert_eq!(tensors(&mut net), tensors(&mut by_hand));
    let mut unscheduled = line(0.0, 0.0);
    unscheduled
        .fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(5).batch(2).seed(3).quiet(),
        )
        .unwrap();
    assert_ne!(tensors(&mut net), tensors(&mut unscheduled));
}

/// Gradients of `net` on the whole of `data` (one forward/backward in training mode).
fn raw_gradients(mut net: Blobs<f64>, data: &Dataset<f64>) -> Vec<f64> {
    net.forward(data.inputs(), Mode::Train).unwrap();
    net.loss(data.targets()).unwrap();
    net.backward(data.inputs()).unwrap();
    gradients(&mut net)
}

#[test]
fn clipping_bounds_the_gradients_of_each_step() {
    let data = blobs(30, 8);
    let start = Blobs::<f64>::seeded(6);
    let g = raw_gradients(start.clone(), &data);
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let lr = 0.5;

    // By global norm: the gradients left in the model are the clipped ones, and the step used them.
    let max_norm = norm / 4.0;
    let mut net = start.clone();
    net.fit(
        &data,
        &mut Sgd::new(lr),
        Fit::epochs(1)
            .full_batch()
            .shuffle(false)
            .clip_grad_norm(max_norm)
            .quiet(),
    )
    .unwrap();
    let clipped = gradients(&mut net);
    let clipped_norm = clipped.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(
        close(clipped_norm, max_norm, 1e-6),
        "{clipped_norm} vs {max_norm}"
    );
    let scale = max_norm / (norm + 1e-6);
    for (c, r) in clipped.iter().zip(&g) {
        assert!(close(*c, r * scale, 1e-12));
    }
    let w0 = values(&mut start.clone());
    for ((w, w0), c) in values(&mut net).iter().zip(&w0).zip(&clipped) {
        assert!((w - (w0 - lr * c)).abs() < 1e-14);
    }

    // By value.
    let bound = g.iter().fold(0.0f64, |m, v| m.max(v.abs())) / 3.0;
    let mut net = start.clone();
    net.fit(
        &data,
        &mut Sgd::new(lr),
        Fit::epochs(1)
            .full_batch()
            .shuffle(false)
            .clip_grad_value(bound)
            .quiet(),
    )
    .unwrap();
    let clamped = gradients(&mut net);
    assert!(clamped.iter().any(|v| v.abs() == bound));
    for (c, r) in clamped.iter().zip(&g) {
        assert_eq!(*c, r.clamp(-bound, bound));
    }
}

/// A network whose `backward_with` call number `at` (from 1) writes NaN into the gradients of
/// `params`: a divergence at a known step and parameter.
#[derive(Clone)]
struct Poisoned<M> {
    net: M,
    calls: usize,
    at: usize,
    params: &'static [&'static str],
}

impl<M: Model<f64>> Model<f64> for Poisoned<M> {
    fn name(&self) -> &'static str {
        self.net.name()
    }
    fn input_width(&self) -> usize {
        self.net.input_width()
    }
    fn output_width(&self) -> usize {
        self.net.output_width()
    }
    fn forward(
        &mut self,
        x: ArrayView2<'_, f64>,
        mode: Mode,
    ) -> axonal::Result<ArrayView2<'_, f64>> {
        self.net.forward(x, mode)
    }
    fn output(&self) -> ArrayView2<'_, f64> {
        self.net.output()
    }
    fn loss(&mut self, targets: TargetsView<'_, f64>) -> axonal::Result<f64> {
        self.net.loss(targets)
    }
    fn backward_with(
        &mut self,
        x: ArrayView2<'_, f64>,
        grad_output: Option<ArrayView2<'_, f64>>,
        input_grad: bool,
    ) -> axonal::Result<()> {
        self.net.backward_with(x, grad_output, input_grad)?;
        self.calls += 1;
        if self.calls == self.at {
            let params = self.params;
            self.net.visit_params(&mut |p| {
                if params.contains(&p.full_name().as_str()) {
                    p.grad[p.grad.len() / 2] = f64::NAN;
                }
            });
        }
        Ok(())
    }
    fn input_grad(&self) -> ArrayView2<'_, f64> {
        self.net.input_grad()
    }
    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, f64>)) {
        self.net.visit_params(f)
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_, f64>)) {
        self.net.visit_buffers(f)
    }
    fn predict(&self, x: ArrayView2<'_, f64>) -> axonal::Result<Array2<f64>> {
        self.net.predict(x)
    }
}

/// `steps` training steps done by hand the way `fit` does them (batches of `batch`, epoch k
/// shuffled by a generator seeded with `seed + k`), with SGD at `lr`.
fn steps_by_hand<M: Model<f64>>(
    net: &mut M,
    data: &Dataset<f64>,
    batch: usize,
    seed: u64,
    lr: f64,
    steps: usize,
) {
    let mut batcher = axonal::data::Batcher::new(data, batch).unwrap();
    let mut sgd = Sgd::new(lr);
    let mut done = 0;
    for epoch in 0.. {
        batcher.shuffle(&mut StdRng::seed_from_u64(seed + epoch));
        for b in 0..batcher.len() {
            if done == steps {
                return;
            }
            let (x, t) = batcher.batch(b);
            net.forward(x, Mode::Train).unwrap();
            net.loss(t).unwrap();
            net.backward(x).unwrap();
            sgd.step(net);
            done += 1;
        }
    }
}

#[test]
fn a_nan_gradient_stops_training_naming_epoch_step_and_layer() {
    // 20 samples in batches of 4: 5 steps per epoch, so the 7th backward is epoch 2, step 2.
    let data = blobs(20, 5);
    let fit = |params: &'static [&'static str]| {
        let mut net = Poisoned {
            net: Blobs::<f64>::seeded(1),
            calls: 0,
            at: 7,
            params,
        };
        let r = net.fit(
            &data,
            &mut Sgd::new(0.1),
            Fit::epochs(3).batch(4).seed(11).quiet(),
        );
        (r, net)
    };
    let (r, mut net) = fit(&["fc2.bias"]);
    let Err(Error::Diverged {
        epoch,
        step,
        layer,
        what,
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!((epoch, step, layer.as_deref()), (2, 2, Some("fc2")));
    assert!(
        what.contains("`fc2.bias` is NaN") && what.contains("no parameter was updated"),
        "{what}"
    );

    // The weights are those after the 6 good steps.
    let mut good = Blobs::<f64>::seeded(1);
    steps_by_hand(&mut good, &data, 4, 11, 0.1, 6);
    assert_eq!(tensors(&mut net), tensors(&mut good));
    assert!(values(&mut net).iter().all(|v| v.is_finite()));

    // Several: the first in visit order is named, the others listed.
    let (r, _) = fit(&["fc2.bias", "fc1.weight"]);
    let Err(Error::Diverged { layer, what, .. }) = r else {
        panic!("{r:?}")
    };
    assert_eq!(layer.as_deref(), Some("fc1"));
    assert!(
        what.contains("`fc1.weight` is NaN") && what.contains("also not finite: `fc2.bias`"),
        "{what}"
    );
}

#[test]
fn a_nan_input_stops_training_with_the_last_good_weights_and_buffers() {
    // Sample 13 has a NaN: unshuffled batches of 4, so step 4 (samples 12..16) of epoch 1.
    let clean = blobs(20, 6);
    let mut x = clean.inputs().to_owned();
    x[[13, 1]] = f64::NAN;
    let poisoned = Dataset::new(x, Targets::Labels(labels(&clean))).unwrap();
    let config = || Fit::epochs(2).batch(4).shuffle(false).quiet();

    let mut net = Deep::<f64>::seeded(3);
    let r = net.fit(&poisoned, &mut Adam::new(0.01), config());
    let Err(Error::Diverged {
        epoch,
        step,
        layer,
        what,
    }) = r
    else {
        panic!("{r:?}")
    };
    // ReLU's max(0, NaN) is 0, so the loss stays finite, but fc1's weight gradient is NaN.
    assert_eq!(
        (epoch, step, layer.as_deref()),
        (1, 4, Some("fc1")),
        "{what}"
    );
    assert!(
        what.contains("`fc1.weight` is NaN")
            && what.contains("sample 13 of the dataset has input NaN in column 1"),
        "{what}"
    );

    // Parameters and batchnorm statistics are those after the first 12 samples.
    let mut good = Deep::<f64>::seeded(3);
    good.fit(
        &rows(&clean, 0..12),
        &mut Adam::new(0.01),
        Fit::epochs(1).batch(4).shuffle(false).quiet(),
    )
    .unwrap();
    let t = tensors(&mut net);
    assert!(t.iter().any(|(name, _)| name == "bn1.running_mean"));
    assert_eq!(t, tensors(&mut good));
}

#[test]
fn a_nan_input_that_makes_the_loss_nan_is_reported_without_a_layer() {
    let x = array![[1.0], [2.0], [f64::INFINITY], [0.5]];
    let data = Dataset::new(x, Targets::Values(array![[3.0], [5.0], [-1.0], [2.0]])).unwrap();
    let mut net = line(0.5, 0.0);
    let r = net.fit(
        &data,
        &mut Sgd::new(0.1),
        Fit::epochs(2).batch(2).shuffle(false).quiet(),
    );
    let Err(err @ Error::Diverged { layer: None, .. }) = r else {
        panic!("{r:?}")
    };
    let message = err.to_string();
    assert!(
        message.starts_with(
            "training diverged at epoch 1, step 2: the loss is inf: sample 2 of the dataset has \
             input inf in column 0; no parameter was updated in this step."
        ),
        "{message}"
    );
    let mut good = line(0.5, 0.0);
    good.fit(
        &rows_of(&data, 0..2),
        &mut Sgd::new(0.1),
        Fit::epochs(1).quiet(),
    )
    .unwrap();
    assert_eq!(tensors(&mut net), tensors(&mut good));
}

/// Samples `range` of a dataset with value targets, copied.
fn rows_of(data: &Dataset<f64>, range: std::ops::Range<usize>) -> Dataset<f64> {
    let x = data.inputs().slice(s![range.clone(), ..]).to_owned();
    let TargetsView::Values(y) = data.targets() else {
        panic!("values expected")
    };
    Dataset::new(x, Targets::Values(y.slice(s![range, ..]).to_owned())).unwrap()
}

#[test]
fn a_huge_learning_rate_diverges_and_keeps_the_last_finite_weights() {
    // Full batches: epoch 1's step makes the weights ~1e200, epoch 2's forward overflows.
    let data = blobs(30, 7);
    let mut net = Blobs::<f64>::seeded(4);
    let r = net.fit(
        &data,
        &mut Sgd::new(1e200),
        Fit::epochs(5).full_batch().quiet(),
    );
    assert!(
        matches!(
            r,
            Err(Error::Diverged {
                epoch: 2,
                step: 1,
                ..
            })
        ),
        "{r:?}"
    );
    let mut one = Blobs::<f64>::seeded(4);
    one.fit(
        &data,
        &mut Sgd::new(1e200),
        Fit::epochs(1).full_batch().quiet(),
    )
    .unwrap();
    assert_eq!(tensors(&mut net), tensors(&mut one));
    assert!(values(&mut net).iter().all(|v| v.is_finite()));
}

#[test]
fn weights_that_are_already_nan_are_named() {
    let data = blobs(12, 1);
    let mut net = Blobs::<f64>::seeded(1);
    net.fc2.weight[[1, 3]] = f64::NAN;
    let r = net.fit(&data, &mut Sgd::new(0.1), Fit::epochs(1).quiet());
    let Err(Error::Diverged {
        epoch: 1,
        step: 1,
        layer,
        what,
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(layer.as_deref(), Some("fc2"));
    assert!(
        what.contains("parameter `fc2.weight` is already NaN"),
        "{what}"
    );
}

#[test]
fn same_seed_same_history_and_weights() {
    let data = blobs(60, 2);
    let run = |seed: u64| {
        let mut net = Deep::<f64>::seeded(5);
        let h = net
            .fit(
                &data,
                &mut Adam::new(0.02),
                Fit::epochs(6)
                    .batch(7)
                    .seed(seed)
                    .validation_split(0.2)
                    .top_k(2)
                    .schedule(CosineAnnealing::new(6, 0.001))
                    .clip_grad_norm(1.0)
                    .early_stopping(EarlyStopping::new(2))
                    .quiet(),
            )
            .unwrap();
        let timeless: Vec<_> = h
            .epochs
            .iter()
            .map(|e| {
                let mut e = e.clone();
                (e.seconds, e.samples_per_second) = (0.0, 0.0);
                e
            })
            .collect();
        ((timeless, h.stopped_early, h.best_epoch), tensors(&mut net))
    };
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a, b);
    assert_ne!(a.0 .0, c.0 .0);
    assert_ne!(a.1, c.1);
}

#[test]
fn predict_batched_stacks_the_batches() {
    let data = blobs(23, 3);
    let mut net = Deep::<f64>::seeded(1);
    net.fit(&data, &mut Adam::new(0.01), Fit::epochs(2).batch(8).quiet())
        .unwrap();
    let whole = net.predict(data.inputs()).unwrap();
    for batch in [1, 5, 23, 100] {
        assert_eq!(
            net.predict_batched(data.inputs(), batch).unwrap(),
            whole,
            "{batch}"
        );
    }
    assert!(matches!(
        net.predict_batched(data.inputs(), 0),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        net.predict_batched(Array2::zeros((0, 2)).view(), 4),
        Err(Error::EmptyBatch)
    ));
}

/// A path in the temporary directory unique to this process and test.
fn temporary(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("axonal-fit-{}-{name}", std::process::id()))
}

#[test]
fn save_and_load_round_trip_through_model_methods() {
    let data = blobs(30, 9);
    let mut net = Deep::<f64>::seeded(1);
    net.fit(&data, &mut Adam::new(0.01), Fit::epochs(3).batch(8).quiet())
        .unwrap();
    let path = temporary("round-trip.safetensors");
    net.save(&path).unwrap();
    let mut restored = Deep::<f64>::seeded(2);
    assert_ne!(tensors(&mut restored), tensors(&mut net));
    restored.load(&path).unwrap();
    assert_eq!(tensors(&mut restored), tensors(&mut net));
    assert_eq!(
        restored.predict(data.inputs()).unwrap(),
        net.predict(data.inputs()).unwrap()
    );
    let mut other = Blobs::<f64>::seeded(1);
    assert!(matches!(
        other.load(&path),
        Err(Error::CheckpointMismatch { .. })
    ));
    std::fs::remove_file(&path).unwrap();
}

#[cfg(feature = "plot")]
#[test]
fn plot_writes_png_and_svg_with_the_series() {
    let (train_set, test) = (blobs(60, 1), blobs(30, 2));
    let mut net = Blobs::<f64>::seeded(3);
    let history = net
        .fit(
            &train_set,
            &mut Adam::new(0.01),
            Fit::epochs(5).batch(16).validation(&test).top_k(2).quiet(),
        )
        .unwrap();
    let png = temporary("history.png");
    history.plot(&png).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
    assert!(bytes.len() > 1000);

    let svg = temporary("history.svg");
    history.plot(&svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.trim_start().starts_with("<svg"), "{}", &text[..100]);
    assert!(
        text.contains("<desc>training history; loss: loss, val_loss; accuracy: accuracy, val_accuracy, top_k, val_top_k</desc>"),
        "{}",
        &text[..300]
    );
    if axonal::train::plot::register_font().is_some() {
        // The contents of the <text> elements: titles, axis labels, legend entries.
        let texts: Vec<&str> = text
            .split("<text")
            .skip(1)
            .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim()))
            .collect();
        for series in [
            "loss",
            "val_loss",
            "accuracy",
            "val_accuracy",
            "top_k",
            "val_top_k",
        ] {
            assert!(
                texts.contains(&series),
                "legend entry {series} in {texts:?}"
            );
        }
    }
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&svg);

    // Regression targets: no accuracy panel.
    let data = Dataset::new(array![[1.0], [2.0]], Targets::Values(array![[1.0], [2.0]])).unwrap();
    let h = line(0.0, 0.0)
        .fit(&data, &mut Sgd::new(0.01), Fit::epochs(1).quiet())
        .unwrap();
    let svg = temporary("line.svg");
    h.plot(&svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<desc>training history; loss: loss</desc>"));
    let _ = std::fs::remove_file(&svg);

    assert!(matches!(
        h.plot(temporary("x.jpg")),
        Err(Error::Plot { .. })
    ));
    assert!(matches!(
        axonal::History::default().plot(temporary("empty.png")),
        Err(Error::Plot { .. })
    ));
}
