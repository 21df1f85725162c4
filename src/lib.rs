//! skewer runs many CPU-bound jobs on a fixed set of threads when the jobs are not all the
//! same size.
//!
//! Two scheduling disciplines sit behind one API, so a workload can be measured on both
//! by changing one line (or the `SKEWER_BACKEND` environment variable):
//!
//! - [`Backend::Stealing`] (default): every worker owns a deque; outside submissions go to a
//!   global injector; an idle worker steals the oldest jobs of a random peer.
//! - [`Backend::Channel`]: the classic fan-out, N workers receiving from one shared channel.
//!
//! On top of both: detached [`spawn`](Pool::spawn), fork-join [`join`](Pool::join), scoped
//! spawning that borrows from the stack ([`scope`](Pool::scope)), panic isolation, and
//! per-worker [`metrics`](Pool::metrics).
//!
//! # Quick start
//! ```
//! use skewer::{Backend, Pool};
//!
//! // Sizes that differ wildly: stealing balances them without any tuning.
//! let sizes: Vec<u64> = (0..1000).map(|i| if i % 100 == 0 { 20_000 } else { 20 }).collect();
//! let pool = Pool::builder().num_threads(2).backend(Backend::Stealing).build()?;
//! let mut results = vec![0u64; sizes.len()];
//! pool.scope(|s| {
//!     for (out, &n) in results.iter_mut().zip(&sizes) {
//!         s.spawn(move |_| *out = (0..n).map(|x| x % 7).sum());
//!     }
//! });
//! assert_eq!(results[0], (0..20_000u64).map(|x| x % 7).sum());
//!
//! // Fork-join: a fork costs about as much as a function call until someone is idle.
//! fn sum(v: &[u64]) -> u64 {
//!     if v.len() < 1024 { return v.iter().sum(); }
//!     let (l, r) = v.split_at(v.len() / 2);
//!     let (a, b) = skewer::join(|| sum(l), || sum(r));
//!     a + b
//! }
//! let v: Vec<u64> = (0..100_000).collect();
//! assert_eq!(pool.install(|| sum(&v)), v.iter().sum());
//! println!("steals per 1000 jobs: {:.1}", pool.metrics().steals_per_1000_jobs());
//! # Ok::<(), skewer::BuildError>(())
//! ```
//!
//! # Guarantees
//! - Every accepted job runs exactly once; a refused one comes back in a [`SpawnError`].
//! - A thread waiting in `join` or `scope` runs only work its wait depends on, so waiting
//!   inside a lock cannot pick up an unrelated job that takes the same lock, and nesting
//!   adds no stack beyond the frames of the work itself.
//! - A panic never kills a worker or aborts the process: it is re-raised in the caller of
//!   `join`/`scope`/`install`, or handed to the pool's panic handler for detached jobs.
//! - After [`Pool::shutdown`] every worker thread has exited; after the last handle is
//!   dropped every worker exits once the work it holds is done (the drop does not wait).
//! - Pools compose: a thread waiting on another pool (`B.install` from a job of A) keeps
//!   helping with the work its wait depends on, so A->B->A does not deadlock.
//!
//! The design, the life of a job in each backend and the memory-ordering contract of every
//! shared atomic are in `docs/design.md`; the sleep protocol in `src/sleep/README.md`.

#![deny(missing_docs)]

mod anchor;
mod backend;
mod builder;
mod context;
mod error;
mod fanout;
mod guest;
mod job;
mod join;
mod latch;
mod metrics;
mod pool;
mod registry;
mod scope;
mod sleep;
mod spare;
mod sync;
mod unwind;
mod wait;
mod watchers;
mod worker;

#[cfg(all(test, loom))]
mod loom_models;

/// The README's example is compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// `docs/fan-out.md`'s examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/fan-out.md")]
struct FanOutDoctests;

pub use backend::Backend;
pub use builder::{Builder, ENV_BACKEND, ENV_NUM_THREADS};
pub use context::MAX_CROSS_POOL_NESTING;
pub use error::{BuildError, SpawnError};
pub use fanout::attempt::Attempt;
pub use fanout::cancel::{CancelToken, DropGuard};
pub use fanout::capacity::TrySpawnError;
pub use fanout::error::{ConfigError, ItemError};
pub use fanout::group::{Group, GroupOptions, GroupOptionsBuilder};
pub use fanout::map::{MapOrdered, MapUnordered};
pub use fanout::options::{DEFAULT_WINDOW_PER_THREAD, FanOut, FanOutBuilder};
pub use fanout::retry::Retry;
pub use fanout::stats::{
    DurationHistogram, FanoutStats, HISTOGRAM_BUCKETS, RunningItem, SLOWEST_KEPT, SlowItem,
    StatsHandle,
};
pub use fanout::target::FanOutTarget;
pub use metrics::{Metrics, WorkerMetrics};
pub use pool::Pool;
pub use scope::Scope;
pub use unwind::JobPanic;

use context::Ctx;
use std::sync::OnceLock;

/// The pool the free functions use outside any pool: built on first use with the default
/// settings (and so from `SKEWER_NUM_THREADS` / `SKEWER_BACKEND`).
fn global() -> &'static Pool {
    static GLOBAL: OnceLock<Pool> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        Pool::new().unwrap_or_else(|err| panic!("skewer: cannot build the global pool: {err}"))
    })
}

/// [`Pool::join`] on the current worker's pool, or on the global pool from outside any.
///
/// # Panics
/// Re-raises a panic of `a` or `b`; panics if the global pool is needed and the
/// environment holds an invalid `SKEWER_NUM_THREADS` or `SKEWER_BACKEND`.
///
/// # Examples
/// ```
/// let (a, b) = skewer::join(|| "left".len(), || "right".len());
/// assert_eq!(a + b, 9);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match Ctx::current() {
        // SAFETY: the current context outlives this call (it is popped only when the
        // frame that entered it returns, which encloses this one).
        Some(ctx) => join::join_in(unsafe { &*ctx }, a, b),
        None => global().join(a, b),
    }
}

/// [`Pool::scope`] on the current worker's pool, or on the global pool from outside any.
///
/// # Examples
/// ```
/// let mut v = vec![1, 2, 3];
/// skewer::scope(|s| {
///     for x in v.iter_mut() {
///         s.spawn(move |_| *x += 1);
///     }
/// });
/// assert_eq!(v, [2, 3, 4]);
/// ```
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    let mut op = Some(op);
    let out = Ctx::with_current(|ctx| {
        ctx.map(|ctx| scope::scope_in(ctx, op.take().expect("taken once")))
    });
    match out {
        Some(out) => out,
        None => global().scope(op.take().expect("taken once")),
    }
}

/// Spawns a detached job on the current worker's pool, or on the global pool from outside
/// any. Inside a pool this is never refused (the pool drains nested work even while it
/// shuts down).
///
/// # Examples
/// ```
/// let (tx, rx) = std::sync::mpsc::channel();
/// skewer::spawn(move || tx.send(7).unwrap());
/// assert_eq!(rx.recv().unwrap(), 7);
/// ```
pub fn spawn<F>(job: F)
where
    F: FnOnce() + Send + 'static,
{
    let mut job = Some(job);
    Ctx::with_current(|ctx| {
        if let Some(ctx) = ctx {
            pool::spawn_in(ctx, job.take().expect("taken once"));
        }
    });
    if let Some(job) = job
        && global().spawn(job).is_err()
    {
        unreachable!("the global pool is never shut down");
    }
}

/// The index of the current worker thread in its pool, or `None` outside any pool's
/// workers (including a thread taking part in `Pool::join` from outside).
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// assert_eq!(skewer::current_thread_index(), None);
/// assert!(pool.install(skewer::current_thread_index).is_some());
/// ```
pub fn current_thread_index() -> Option<usize> {
    Ctx::with_current(|ctx| ctx.and_then(|c| c.engine().worker_index()))
}

/// The number of threads of the current worker's pool, or of the global pool.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(3).build().unwrap();
/// assert_eq!(pool.install(skewer::current_num_threads), 3);
/// ```
pub fn current_num_threads() -> usize {
    Ctx::with_current(|ctx| ctx.map(|c| c.engine().num_threads()))
        .unwrap_or_else(|| global().current_num_threads())
}
