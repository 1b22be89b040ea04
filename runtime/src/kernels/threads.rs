//! The threads a matrix product is split over: the calling thread plus persistent workers.
//!
//! A product large enough to gain is cut into disjoint blocks of output rows, one per
//! thread; the calling thread computes the first block and waits for the others. Every
//! output element is computed by the same instructions in the same order whichever thread
//! computes it, so results are bit for bit the same for every thread count.
//!
//! Workers are started on first use and wait for work by spinning for [`SPIN`] (the gap
//! between the products of a training step is shorter, so a step never pays for waking a
//! thread), then sleep on a condition variable until the next product. Handing out a product
//! takes a lock and two atomic stores, and allocates nothing.
//!
//! One caller at a time owns the workers; a product started on another thread meanwhile
//! (say, a second model trained concurrently) runs on that thread alone. The number of
//! threads is [`threads()`]: the machine's cores, at most [`MAX_THREADS`], or the environment
//! variable `AXONAL_THREADS`, or what [`set_threads`] last set; never more than the machine's
//! available parallelism (spinning workers that wait for a core only slow the others down)
//! nor than the 16 parts a product is split into at most.
#![allow(unsafe_code)]

use std::hint::spin_loop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Most threads a product is split over by default (more is allowed with `AXONAL_THREADS`
/// or [`set_threads`]): the products of the networks we target stop gaining beyond a few.
pub const MAX_THREADS: usize = 4;

/// How long an idle worker spins before it sleeps.
const SPIN: Duration = Duration::from_micros(200);

/// Threads used by the next products (the calling thread included); 0 = not chosen yet.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads (the calling one included) later products may be split over; 1
/// turns the splitting off. Results do not depend on it.
///
/// Workers already started stay; more than there are is capped by how many were started,
/// which is `n` if this is called before the first product, up to the machine's available
/// parallelism and 16 (the most parts a product is split into).
///
/// # Panics
/// If `n` is 0.
pub fn set_threads(n: usize) {
    assert!(n > 0, "set_threads: at least one thread (the caller)");
    LIMIT.store(n, Ordering::Relaxed);
}

/// How many threads (the calling one included) a large product is split over.
pub fn threads() -> usize {
    if LIMIT.load(Ordering::Relaxed) == 0 {
        // Another thread may set it meanwhile; theirs wins.
        let _ = LIMIT.compare_exchange(0, default_threads(), Ordering::Relaxed, Ordering::Relaxed);
    }
    let workers = pool().workers.load(Ordering::Relaxed);
    LIMIT.load(Ordering::Relaxed).min(workers + 1)
}

/// The machine's available parallelism (1 if it cannot be told): the most threads that can
/// run at once, affinity masks and cgroup quotas included.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most threads the pool runs, the calling one included: more would never all get a core
/// or a part of a product at once.
fn most_threads() -> usize {
    cores().min(super::MAX_PARTS)
}

/// `AXONAL_THREADS` if set to a positive number (at most the available parallelism), else
/// the machine's cores up to [`MAX_THREADS`]; with a warning on stderr if the variable is set
/// but not used as given.
fn default_threads() -> usize {
    let value = std::env::var("AXONAL_THREADS").ok();
    let (n, warning) = threads_from_env(value.as_deref(), cores());
    if let Some(warning) = warning {
        eprintln!("axonal: {warning}");
    }
    n
}

/// The threads to use for the value `value` of `AXONAL_THREADS` (`None`: not set) on a
/// machine that can run `cores` threads at once, and why the value was not used as given, if
/// it was not: not a whole number ≥ 1 (then the default, `cores` up to [`MAX_THREADS`]), or
/// more than `cores` (then `cores`).
fn threads_from_env(value: Option<&str>, cores: usize) -> (usize, Option<String>) {
    let default = cores.min(MAX_THREADS);
    let Some(v) = value else {
        return (default, None);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if n > cores => (
            cores,
            Some(format!(
                "AXONAL_THREADS={v:?} is more than the available parallelism ({cores}); using \
                 {cores} threads (more would only wait for a core)"
            )),
        ),
        Ok(n) if n > 0 => (n, None),
        _ => (
            default,
            Some(format!(
                "ignoring AXONAL_THREADS={v:?} (expected a whole number ≥ 1); using {default} \
                 threads"
            )),
        ),
    }
}

/// A part of a product as the workers see it: a type-erased `&dyn Fn(usize) + Sync`.
#[derive(Clone, Copy)]
struct JobRef(*const (dyn Fn(usize) + Sync));

// SAFETY: the pointee is `Sync`, so calling it from another thread is allowed; the pointer is
// dereferenced only while the `split` call that created it waits for its parts (see `split`).
unsafe impl Send for JobRef {}

/// The job the workers read after the epoch changes.
struct Job {
    /// Number of this job; equals `Pool::epoch` once posted.
    epoch: u64,
    /// Total parts; worker `w` (1-based) runs part `w` if `w < parts`.
    parts: usize,
    /// What to run; `None` between jobs.
    run: Option<JobRef>,
}

/// The workers and what they share with the caller.
struct Pool {
    /// Worker threads started.
    workers: AtomicUsize,
    job: Mutex<Job>,
    /// Number of the last job posted; workers spin on it.
    epoch: AtomicU64,
    /// Parts of the current job not finished yet, the caller's excluded.
    pending: AtomicUsize,
    /// A part panicked on a worker.
    panicked: AtomicBool,
    /// A caller owns the workers.
    busy: AtomicBool,
    /// Workers asleep (or about to sleep) on `wake`.
    sleepers: AtomicUsize,
    sleep: Mutex<()>,
    wake: Condvar,
}

/// The pool, started on first use with as many workers as [`threads()`] asks for then.
fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let wanted = match LIMIT.load(Ordering::Relaxed) {
            0 => default_threads(),
            n => n,
        }
        .min(most_threads());
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            workers: AtomicUsize::new(0),
            job: Mutex::new(Job {
                epoch: 0,
                parts: 0,
                run: None,
            }),
            epoch: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        }));
        let mut started = 0;
        for w in 1..wanted {
            let spawned = std::thread::Builder::new()
                .name(format!("axonal-kernel-{w}"))
                .spawn(move || work(pool, w));
            if spawned.is_err() {
                break; // fewer threads; products still run, on fewer
            }
            started += 1;
        }
        pool.workers.store(started, Ordering::Relaxed);
        pool
    })
}

/// Locks `m`, ignoring poisoning (no lock here is held while user code runs).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A worker's loop: wait for a new epoch, run its part if it has one, report.
fn work(pool: &'static Pool, w: usize) {
    let mut seen = 0;
    loop {
        wait_for_epoch(pool, seen);
        let (epoch, parts, run) = {
            let job = lock(&pool.job);
            (job.epoch, job.parts, job.run)
        };
        seen = epoch;
        if let (Some(run), true) = (run, w < parts) {
            // SAFETY: this worker has part `w` of the current job, so the `split` call that
            // posted it is waiting for this worker's report and its closure is alive.
            let f = unsafe { &*run.0 };
            if catch_unwind(AssertUnwindSafe(|| f(w))).is_err() {
                pool.panicked.store(true, Ordering::Relaxed);
            }
            pool.pending.fetch_sub(1, Ordering::Release);
        }
    }
}

/// Returns once `pool.epoch` differs from `seen`: spins for [`SPIN`], then sleeps.
fn wait_for_epoch(pool: &Pool, seen: u64) {
    let start = Instant::now();
    let mut spins = 0u32;
    while pool.epoch.load(Ordering::Acquire) == seen {
        spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(256) && start.elapsed() > SPIN {
            let mut guard = lock(&pool.sleep);
            pool.sleepers.fetch_add(1, Ordering::SeqCst);
            while pool.epoch.load(Ordering::SeqCst) == seen {
                guard = pool
                    .wake
                    .wait(guard)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            pool.sleepers.fetch_sub(1, Ordering::SeqCst);
            return;
        }
    }
}

/// Runs `f(0)`, …, `f(parts − 1)`, each part on its own thread (part 0 on the caller's),
/// and returns when all are done. `parts` must not exceed [`threads()`]; if the workers are
/// busy with another caller's product, all parts run here, one after another.
///
/// # Panics
/// If a part panics (on a worker: after all parts have finished).
pub(crate) fn split(parts: usize, f: &(dyn Fn(usize) + Sync)) {
    let pool = pool();
    if parts <= 1
        || parts > pool.workers.load(Ordering::Relaxed) + 1
        || pool
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        (0..parts).for_each(f);
        return;
    }
    // Erase the closure's lifetime for the workers. `Finish` below waits, even when `f(0)`
    // unwinds, until every worker with a part has reported, and no worker touches the job
    // after reporting; so the closure outlives every use of the pointer.
    // SAFETY: only the lifetime changes (same fat-pointer layout); see the comment above.
    let run = JobRef(unsafe {
        std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync)>(f)
    });
    // A panic of an earlier job whose caller unwound before checking must not be reported
    // for this one.
    pool.panicked.store(false, Ordering::Relaxed);
    pool.pending.store(parts - 1, Ordering::Relaxed);
    let epoch = {
        let mut job = lock(&pool.job);
        job.epoch += 1;
        job.parts = parts;
        job.run = Some(run);
        job.epoch
    };
    pool.epoch.store(epoch, Ordering::SeqCst);
    if pool.sleepers.load(Ordering::SeqCst) > 0 {
        let _guard = lock(&pool.sleep);
        pool.wake.notify_all();
    }

    /// Waits for the workers' parts and releases the pool, on return or unwind.
    struct Finish(&'static Pool);
    impl Drop for Finish {
        fn drop(&mut self) {
            // Parts are balanced, so this is short; but on an oversubscribed machine a
            // worker may be waiting for a core, so after a while give ours up.
            let mut spins = 0u32;
            while self.0.pending.load(Ordering::Acquire) > 0 {
                if spins < 1 << 12 {
                    spins += 1;
                    spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            lock(&self.0.job).run = None;
            self.0.busy.store(false, Ordering::Release);
        }
    }
    let finish = Finish(pool);
    f(0);
    drop(finish);
    assert!(
        !pool.panicked.swap(false, Ordering::Relaxed),
        "a part of a matrix product panicked on a worker thread"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Unset, invalid, usable and too large values of `AXONAL_THREADS` on a machine of 2 and
    /// of 8 cores (a count above the cores used to start that many spinning workers).
    #[test]
    fn thread_counts_from_the_environment() {
        assert_eq!(threads_from_env(None, 2), (2, None));
        assert_eq!(threads_from_env(None, 8), (MAX_THREADS, None));
        assert_eq!(threads_from_env(Some(" 2 "), 2), (2, None));
        assert_eq!(threads_from_env(Some("6"), 8), (6, None));
        for bad in ["0", "abc", "-3", "", "2.5", "99999999999999999999999"] {
            let (n, warning) = threads_from_env(Some(bad), 2);
            assert_eq!(n, 2, "{bad:?}");
            assert_eq!(
                warning.as_deref(),
                Some(
                    format!(
                        "ignoring AXONAL_THREADS={bad:?} (expected a whole number ≥ 1); using 2 \
                         threads"
                    )
                    .as_str()
                )
            );
        }
        for (many, cores) in [
            ("1000", 2),
            ("10000", 2),
            ("9", 8),
            ("18446744073709551615", 8),
        ] {
            let (n, warning) = threads_from_env(Some(many), cores);
            assert_eq!(n, cores, "{many}");
            assert_eq!(
                warning,
                Some(format!(
                    "AXONAL_THREADS={many:?} is more than the available parallelism ({cores}); \
                     using {cores} threads (more would only wait for a core)"
                ))
            );
        }
    }

    #[test]
    fn the_pool_is_never_larger_than_the_machine() {
        assert!(pool().workers.load(Ordering::Relaxed) < most_threads().max(1));
        let all = threads();
        set_threads(100_000);
        assert!(threads() <= most_threads());
        set_threads(all);
    }

    #[test]
    fn every_part_runs_once() {
        // The pool's size, not `threads()`: another test may change the limit meanwhile.
        let parts = pool().workers.load(Ordering::Relaxed) + 1;
        let counts: Vec<AtomicUsize> = (0..parts + 1).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..1000 {
            split(parts, &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        for (i, c) in counts.iter().enumerate() {
            let expected = if i < parts { 1000 } else { 0 };
            assert_eq!(c.load(Ordering::Relaxed), expected, "part {i}");
        }
    }

    #[test]
    fn a_panicking_part_panics_the_caller_after_the_others_finish() {
        let parts = pool().workers.load(Ordering::Relaxed) + 1;
        let finished = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            split(parts, &|i| {
                if i + 1 == parts {
                    panic!("part {i} fails");
                }
                finished.fetch_add(1, Ordering::Relaxed);
            })
        }));
        assert!(result.is_err());
        assert_eq!(finished.load(Ordering::Relaxed), parts - 1);
        // The pool is usable afterwards.
        let ran = AtomicUsize::new(0);
        split(parts, &|_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(ran.load(Ordering::Relaxed), parts);
    }
}
