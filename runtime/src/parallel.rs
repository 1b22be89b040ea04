//! Data-parallel training on two threads: each training batch is split into halves, one per
//! thread, and the halves' gradients are combined before the optimizer step.
//!
//! [`DataParallel`] wraps a network and implements [`Model`] itself, so [`crate::train::fit`],
//! optimizers, gradient clipping and checks work on it unchanged:
//!
//! ```
//! use axonal::ndarray::array;
//! use axonal::optim::Sgd;
//! use axonal::parallel::DataParallel;
//! use axonal::{Dataset, Fit, Model, Targets};
//!
//! axonal::network! { Xor { input 2; dense 8 tanh; dense 2; softmax_ce } }
//!
//! let x = array![[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
//! let data = Dataset::new(x, Targets::Labels(vec![0, 1, 1, 0]))?;
//! let mut net = DataParallel::new(Xor::<f64>::seeded(1))?;
//! net.fit(&data, &mut Sgd::new(0.5), Fit::epochs(5).batch(4).quiet())?;
//! let trained: Xor<f64> = net.into_inner();
//! # let _ = trained;
//! # Ok::<(), axonal::Error>(())
//! ```
//!
//! # How a step runs
//! A persistent worker thread owns a replica of the network (a clone). In a training-mode
//! [`Model::forward`] of `b ≥ 2` rows, the main thread keeps the first `b1 = ⌈b/2⌉` rows and
//! copies the other `b2 = ⌊b/2⌋` into a buffer the worker reads; both halves run forward at the
//! same time. [`Model::loss`] hands the worker its half of the targets; the worker computes its
//! loss and, without waiting, its backward pass (what a training step does next), while the
//! main thread computes its loss and then its own backward pass in [`Model::backward_with`].
//! The gradients are then combined on the main thread, in a fixed order (main's then the
//! worker's, parameter by parameter), so runs with the same seed are bit for bit identical:
//!
//! * for a loss that is a mean over the batch ([`Model::loss_is_mean`]), the row-weighted
//!   average `g = (b1·g1 + b2·g2) / b`, which is the full batch's mean gradient (up to
//!   rounding: it sums in another order);
//! * for a summed loss, or an explicit `grad_output`, the sum `g1 + g2`.
//!
//! The reported loss is combined the same way. The optimizer then updates the main network;
//! the next training forward copies its parameters to the replica before the worker starts
//! (any [`Model::visit_params`] call marks them as possibly changed).
//!
//! Eval-mode forwards, and batches of one row, run on the main network alone.
//!
//! # What differs from training on one thread
//! * **Batch normalization** normalizes each half with that half's statistics ("ghost batch
//!   norm" with two ghost batches), so gradients differ from full-batch batch norm, and the
//!   running statistics (used in eval mode) are updated from the main thread's half only;
//!   the replica's running statistics are never used.
//! * **Dropout**: the replica starts as a clone of the network, generator state included, so
//!   the two halves draw the *same* sequence of masks (row `i` of the second half gets the mask
//!   of row `i` of the first). Training stays correct in expectation but the halves' noise is
//!   correlated; a per-layer reseeding hook would fix it.
//! * Networks without those layers compute the same gradients as on one thread up to floating
//!   point rounding (tested to 1e-6 relative in f64 over several steps).
//!
//! A steady-state step allocates nothing: the hand-off buffers grow with the batch like
//! [`Scratch`] and the threads synchronize through a `Mutex` and a `Condvar` (futex based),
//! after a short spin so that a step does not pay for putting a thread to sleep.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use ndarray::{s, Array2, ArrayView2};

use crate::data::TargetsView;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::{check_backward, check_input, Buffer, Mode, Model, Param};
use crate::scratch::Scratch;

/// How many times a waiting thread polls before it sleeps on the condition variable: about
/// the length of a small step's gap, so the hand-offs of a step rarely sleep.
const SPINS: u32 = 1 << 14;

/// A network trained on two threads by splitting each batch in halves; see the
/// [module documentation](self) for how, and for what batchnorm and dropout do differently.
///
/// `DataParallel<M>` implements [`Model`], so it is trained, evaluated and checkpointed like
/// the network it wraps; [`DataParallel::into_inner`] gives the network back.
pub struct DataParallel<M, F: Float = f32>
where
    M: Model<F> + Clone + Send + 'static,
{
    main: M,
    /// The worker thread and what it shares with this one.
    worker: Worker<F, M>,
    /// Both halves' outputs, stacked, after a split forward.
    output: Scratch<F>,
    /// Both halves' input gradients, stacked, after a split backward that asked for them.
    input_grad: Scratch<F>,
    /// Rows of the halves of the last forward, if it was split.
    split: Option<(usize, usize)>,
    /// Whether the input gradient of the last backward is in `input_grad`.
    split_input_grad: bool,
    /// The main network's parameters may have changed since the replica last copied them.
    sync: bool,
    /// The job number of a loss job whose (speculative) backward has not been collected yet.
    pending: Option<u64>,
    /// Number of the last job posted.
    posted: u64,
}

impl<F: Float, M: Model<F> + Clone + Send + 'static> std::fmt::Debug for DataParallel<M, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("network", &self.main.name())
            .field("split", &self.split)
            .finish_non_exhaustive()
    }
}

/// What the worker is asked to do.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// Train-mode forward of the rows in `Data::x`, after copying the parameters from
    /// `Data::flat` if `sync`.
    Forward { sync: bool },
    /// Loss against the targets in `Data`, then backward with its gradient.
    LossBackward,
    /// Backward with `Data::grad_out` (if `explicit`) or the stored loss gradient.
    Backward { explicit: bool, input_grad: bool },
    /// Leave the loop.
    Exit,
}

/// Signals between the threads; the counters are also read without the lock while spinning.
struct Shared<F, M> {
    control: Mutex<Control<F>>,
    signal: Condvar,
    /// Number of the last job posted by the main thread.
    posted: AtomicU64,
    /// Number of the last job whose loss the worker has reported.
    loss_ready: AtomicU64,
    /// Number of the last job the worker has finished.
    done: AtomicU64,
    /// The replica and the hand-off buffers; locked by the worker while it works and by the
    /// main thread only while the worker is idle.
    data: Mutex<Data<F, M>>,
}

/// The state behind the condition variable.
struct Control<F> {
    job: Job,
    /// The worker's loss of the last loss job.
    loss: F,
    /// The error of the worker's last job, if any.
    error: Option<Error>,
    /// The worker panicked: waiting would never end.
    dead: bool,
}

/// The replica and what the threads hand each other.
struct Data<F, M> {
    replica: M,
    /// The worker's rows of the batch.
    x: Scratch<F>,
    /// The worker's targets: labels, or values if `values_given`.
    labels: Vec<usize>,
    values: Scratch<F>,
    values_given: bool,
    /// The worker's rows of an explicit output gradient.
    grad_out: Scratch<F>,
    /// The worker's output and input gradient.
    output: Scratch<F>,
    input_grad: Scratch<F>,
    /// All parameters in visit order: the main network's values before a forward, the
    /// replica's gradients after a backward.
    flat: Vec<F>,
}

/// The worker thread's handle; dropping it stops and joins the thread.
struct Worker<F, M> {
    shared: Arc<Shared<F, M>>,
    handle: Option<JoinHandle<()>>,
}

impl<F: Float, M: Model<F> + Clone + Send + 'static> DataParallel<M, F> {
    /// Wraps `model`, cloning it into a replica owned by a new worker thread.
    ///
    /// # Errors
    /// [`Error::Config`] if the operating system cannot start the thread.
    pub fn new(mut model: M) -> Result<Self> {
        let params = model.param_count();
        let (inputs, outputs) = (model.input_width(), model.output_width());
        let data = Data {
            replica: model.clone(),
            x: Scratch::new(inputs),
            labels: Vec::new(),
            values: Scratch::new(outputs),
            values_given: false,
            grad_out: Scratch::new(outputs),
            output: Scratch::new(outputs),
            input_grad: Scratch::new(inputs),
            flat: vec![F::zero(); params],
        };
        let shared = Arc::new(Shared {
            control: Mutex::new(Control {
                job: Job::Exit,
                loss: F::zero(),
                error: None,
                dead: false,
            }),
            signal: Condvar::new(),
            posted: AtomicU64::new(0),
            loss_ready: AtomicU64::new(0),
            done: AtomicU64::new(0),
            data: Mutex::new(data),
        });
        let for_worker = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("axonal-data-parallel".into())
            .spawn(move || work(&for_worker))
            .map_err(|e| Error::Config(format!("cannot start the worker thread: {e}")))?;
        Ok(Self {
            main: model,
            worker: Worker {
                shared,
                handle: Some(handle),
            },
            output: Scratch::new(outputs),
            input_grad: Scratch::new(inputs),
            split: None,
            split_input_grad: false,
            sync: true,
            pending: None,
            posted: 0,
        })
    }

    /// The wrapped network (the one the optimizer updates).
    pub fn model(&self) -> &M {
        &self.main
    }

    /// The wrapped network, mutably; the replica copies its parameters before the next split
    /// forward.
    pub fn model_mut(&mut self) -> &mut M {
        self.sync = true;
        &mut self.main
    }

    /// Stops the worker thread and returns the wrapped network.
    pub fn into_inner(self) -> M {
        self.main
    }

    /// Posts `job` to the worker once it is idle; returns the job's number.
    fn post(&mut self, job: Job) -> u64 {
        self.collect_pending();
        self.posted += 1;
        let mut control = lock(&self.worker.shared.control);
        control.job = job;
        control.error = None;
        self.worker
            .shared
            .posted
            .store(self.posted, Ordering::Release);
        drop(control);
        self.worker.shared.signal.notify_all();
        self.posted
    }

    /// Waits for a speculative backward still running, discarding its outcome.
    fn collect_pending(&mut self) {
        if let Some(job) = self.pending.take() {
            drop(wait(&self.worker.shared, &self.worker.shared.done, job));
        }
    }

    /// Waits until the worker has finished job `job`; its error, if any.
    fn finish(&self, job: u64) -> Result<()> {
        match wait(&self.worker.shared, &self.worker.shared.done, job)
            .error
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<F, M> Model<F> for DataParallel<M, F>
where
    F: Float,
    M: Model<F> + Clone + Send + 'static,
{
    fn name(&self) -> &'static str {
        self.main.name()
    }

    fn input_width(&self) -> usize {
        self.main.input_width()
    }

    fn output_width(&self) -> usize {
        self.main.output_width()
    }

    fn forward(&mut self, x: ArrayView2<'_, F>, mode: Mode) -> Result<ArrayView2<'_, F>> {
        check_input(self.main.name(), &x, self.main.input_width())?;
        self.collect_pending();
        self.split = None;
        let rows = x.nrows();
        if mode == Mode::Eval || rows < 2 {
            return self.main.forward(x, mode);
        }
        let (b1, b2) = (rows - rows / 2, rows / 2);
        let sync = self.sync;
        {
            let mut data = lock(&self.worker.shared.data);
            let data = &mut *data;
            data.x.resize(b2);
            data.x.view_mut().assign(&x.slice(s![b1.., ..]));
            if sync {
                let mut at = 0;
                self.main.visit_params(&mut |p| {
                    data.flat[at..at + p.value.len()].copy_from_slice(p.value);
                    at += p.value.len();
                });
            }
        }
        self.sync = false;
        let job = self.post(Job::Forward { sync });
        let mine = self
            .main
            .forward(x.slice(s![..b1, ..]), Mode::Train)
            .map(drop);
        let theirs = self.finish(job);
        mine?;
        theirs?;
        self.split = Some((b1, b2));
        self.output.resize(rows);
        let mut out = self.output.view_mut();
        out.slice_mut(s![..b1, ..]).assign(&self.main.output());
        out.slice_mut(s![b1.., ..])
            .assign(&lock(&self.worker.shared.data).output.view());
        Ok(self.output.view())
    }

    fn output(&self) -> ArrayView2<'_, F> {
        match self.split {
            Some(_) => self.output.view(),
            None => self.main.output(),
        }
    }

    fn loss(&mut self, targets: TargetsView<'_, F>) -> Result<F> {
        let Some((b1, b2)) = self.split else {
            return self.main.loss(targets);
        };
        self.collect_pending();
        if targets.len() != b1 + b2 {
            return Err(Error::CountMismatch {
                inputs: b1 + b2,
                targets: targets.len(),
            });
        }
        {
            let mut data = lock(&self.worker.shared.data);
            match targets.rows(b1..b1 + b2) {
                TargetsView::Labels(labels) => {
                    data.labels.clear();
                    data.labels.extend_from_slice(labels);
                    data.values_given = false;
                }
                TargetsView::Values(v) if v.ncols() == data.values.cols() => {
                    data.values.resize(b2);
                    data.values.view_mut().assign(&v);
                    data.values_given = true;
                }
                // The wrong width: the main network's loss says so.
                TargetsView::Values(_) => return self.main.loss(targets.rows(0..b1)),
            }
        }
        let job = self.post(Job::LossBackward);
        self.pending = Some(job);
        let mine = self.main.loss(targets.rows(0..b1));
        let theirs = {
            let mut control = wait(&self.worker.shared, &self.worker.shared.loss_ready, job);
            match control.error.take() {
                Some(e) => Err(shift_sample(e, b1)),
                None => Ok(control.loss),
            }
        };
        let (l1, l2) = (mine?, theirs?);
        Ok(if self.main.loss_is_mean() {
            let (w1, w2) = weights(b1, b2);
            l1 * w1 + l2 * w2
        } else {
            l1 + l2
        })
    }

    fn backward_with(
        &mut self,
        x: ArrayView2<'_, F>,
        grad_output: Option<ArrayView2<'_, F>>,
        input_grad: bool,
    ) -> Result<()> {
        self.split_input_grad = false;
        let Some((b1, b2)) = self.split else {
            self.collect_pending();
            return self.main.backward_with(x, grad_output, input_grad);
        };
        let rows = b1 + b2;
        let name = self.main.name();
        check_backward(
            name,
            &x,
            grad_output.as_ref(),
            (rows, self.main.output_width()),
        )?;
        let explicit = grad_output.is_some();
        // A training step (`fit`) asks for what the worker has already started after `loss`.
        let job = match self.pending.take() {
            Some(job) if !explicit && !input_grad => job,
            pending => {
                self.pending = pending;
                self.collect_pending();
                if let Some(g) = &grad_output {
                    let mut data = lock(&self.worker.shared.data);
                    data.grad_out.resize(b2);
                    data.grad_out.view_mut().assign(&g.slice(s![b1.., ..]));
                }
                self.post(Job::Backward {
                    explicit,
                    input_grad,
                })
            }
        };
        let mine = self.main.backward_with(
            x.slice(s![..b1, ..]),
            grad_output.map(|g| g.slice_move(s![..b1, ..])),
            input_grad,
        );
        let theirs = self.finish(job);
        mine?;
        theirs?;
        let (w1, w2) = if !explicit && self.main.loss_is_mean() {
            weights(b1, b2)
        } else {
            (F::one(), F::one())
        };
        let data = lock(&self.worker.shared.data);
        let mut at = 0;
        self.main.visit_params(&mut |p| {
            let theirs = &data.flat[at..at + p.grad.len()];
            for (g, &h) in p.grad.iter_mut().zip(theirs) {
                *g = *g * w1 + h * w2;
            }
            at += p.grad.len();
        });
        if input_grad {
            self.input_grad.resize(rows);
            let mut all = self.input_grad.view_mut();
            all.slice_mut(s![..b1, ..]).assign(&self.main.input_grad());
            all.slice_mut(s![b1.., ..]).assign(&data.input_grad.view());
            self.split_input_grad = true;
        }
        Ok(())
    }

    fn input_grad(&self) -> ArrayView2<'_, F> {
        if self.split_input_grad {
            self.input_grad.view()
        } else {
            self.main.input_grad()
        }
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(Param<'_, F>)) {
        self.sync = true;
        self.main.visit_params(f);
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(Buffer<'_, F>)) {
        self.main.visit_buffers(f);
    }

    fn predict(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        self.main.predict(x)
    }

    fn loss_is_mean(&self) -> bool {
        self.main.loss_is_mean()
    }
}

/// The weights `b1/b` and `b2/b` of the halves' means in the batch's mean.
fn weights<F: Float>(b1: usize, b2: usize) -> (F, F) {
    let b = (b1 + b2) as f64;
    (F::from_f64(b1 as f64 / b), F::from_f64(b2 as f64 / b))
}

/// An error of the worker's half, with its sample index made relative to the whole batch.
fn shift_sample(e: Error, b1: usize) -> Error {
    match e {
        Error::LabelOutOfRange {
            index,
            label,
            classes,
        } => Error::LabelOutOfRange {
            index: index + b1,
            label,
            classes,
        },
        e => e,
    }
}

/// Locks `m`; a poisoned lock means the other thread panicked mid-step, which `wait` reports.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Spins, then sleeps, until `counter` reaches `target`; the control state, locked.
///
/// # Panics
/// If the worker thread panicked.
fn wait<'a, F, M>(
    shared: &'a Shared<F, M>,
    counter: &AtomicU64,
    target: u64,
) -> MutexGuard<'a, Control<F>> {
    for _ in 0..SPINS {
        if counter.load(Ordering::Acquire) >= target {
            break;
        }
        spin_loop();
    }
    let mut control = lock(&shared.control);
    while counter.load(Ordering::Acquire) < target && !control.dead {
        control = shared
            .signal
            .wait(control)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    assert!(!control.dead, "DataParallel: the worker thread panicked");
    control
}

/// Sets `counter` to `job` (with the worker's `error` and `loss`, if given) and wakes the
/// main thread.
fn report<F, M>(shared: &Shared<F, M>, counter: &AtomicU64, job: u64, outcome: Result<Option<F>>) {
    let mut control = lock(&shared.control);
    match outcome {
        Ok(Some(loss)) => control.loss = loss,
        Ok(None) => {}
        Err(e) => control.error = Some(e),
    }
    counter.store(job, Ordering::Release);
    drop(control);
    shared.signal.notify_all();
}

/// Marks the worker dead if it unwinds, so the main thread's waits end in a panic.
struct Alive<'a, F, M>(&'a Shared<F, M>);

impl<F, M> Drop for Alive<'_, F, M> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(&self.0.control).dead = true;
            self.0.signal.notify_all();
        }
    }
}

/// The worker thread: waits for a job, does it on the replica, reports, until `Exit`.
fn work<F: Float, M: Model<F>>(shared: &Shared<F, M>) {
    let _alive = Alive(shared);
    let mut seen = 0;
    loop {
        let job = {
            let control = wait(shared, &shared.posted, seen + 1);
            seen += 1;
            control.job
        };
        let mut data = lock(&shared.data);
        let data = &mut *data;
        match job {
            Job::Exit => return,
            Job::Forward { sync } => {
                if sync {
                    let mut at = 0;
                    data.replica.visit_params(&mut |p| {
                        p.value.copy_from_slice(&data.flat[at..at + p.value.len()]);
                        at += p.value.len();
                    });
                }
                let result = data.replica.forward(data.x.view(), Mode::Train).map(|y| {
                    data.output.resize(y.nrows());
                    data.output.view_mut().assign(&y);
                    None
                });
                report(shared, &shared.done, seen, result);
            }
            Job::LossBackward => {
                let targets = if data.values_given {
                    TargetsView::Values(data.values.view())
                } else {
                    TargetsView::Labels(&data.labels)
                };
                let loss = data.replica.loss(targets);
                let ok = loss.is_ok();
                report(shared, &shared.loss_ready, seen, loss.map(Some));
                let result = if ok {
                    backward(data, false, false)
                } else {
                    Ok(None)
                };
                report(shared, &shared.done, seen, result);
            }
            Job::Backward {
                explicit,
                input_grad,
            } => {
                let result = backward(data, explicit, input_grad);
                report(shared, &shared.done, seen, result);
            }
        }
    }
}

/// The replica's backward pass; its gradients into `flat`, its input gradient into
/// `input_grad` if asked.
fn backward<F: Float, M: Model<F>>(
    data: &mut Data<F, M>,
    explicit: bool,
    input_grad: bool,
) -> Result<Option<F>> {
    let grad = explicit.then(|| data.grad_out.view());
    data.replica
        .backward_with(data.x.view(), grad, input_grad)?;
    let mut at = 0;
    data.replica.visit_params(&mut |p| {
        data.flat[at..at + p.grad.len()].copy_from_slice(p.grad);
        at += p.grad.len();
    });
    if input_grad {
        let g = data.replica.input_grad();
        data.input_grad.resize(g.nrows());
        data.input_grad.view_mut().assign(&g);
    }
    Ok(None)
}

impl<F, M> Drop for Worker<F, M> {
    fn drop(&mut self) {
        let mut control = lock(&self.shared.control);
        control.job = Job::Exit;
        let next = self.shared.posted.load(Ordering::Acquire) + 1;
        self.shared.posted.store(next, Ordering::Release);
        drop(control);
        self.shared.signal.notify_all();
        if let Some(handle) = self.handle.take() {
            // A worker that panicked has already made the main thread panic.
            let _ = handle.join();
        }
    }
}
