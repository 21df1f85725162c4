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
//! The verbs keep rayon-core's names and meaning, FIFO variants included
//! ([`spawn_fifo`], [`scope_fifo`]), as do [`join_context`], [`in_place_scope`] and
//! [`Builder::build_global`]; `docs/rayon.md` lists every rayon-core item with its skewer
//! name and what differs.
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
//! shared atomic are in `docs/design.md`; the sleep protocol in `src/sched/sleep/README.md`.

#![deny(missing_docs)]

mod backend;
mod broadcast;
mod builder;
mod current;
mod error;
mod fanout;
mod fifo;
mod global;
mod job;
mod join;
mod join_context;
mod metrics;
mod pool;
mod sched;
mod scope;
mod scope_fifo;
mod sync;
mod vector_state;
mod yielding;

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

pub use broadcast::BroadcastContext;
pub use builder::{Backend, Builder, ENV_BACKEND, ENV_NUM_THREADS};
pub use current::{current_num_threads, current_thread_index};
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
pub use job::unwind::JobPanic;
pub use join_context::FnContext;
pub use metrics::{Metrics, WorkerMetrics};
pub use pool::Pool;
pub use sched::context::MAX_CROSS_POOL_NESTING;
pub use scope::Scope;
pub use scope_fifo::ScopeFifo;
pub use yielding::Yield;

use global::global;
use sched::context::Ctx;

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
#[inline]
#[track_caller]
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
#[track_caller]
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    // The body runs on the caller either way; these bounds are rayon-core's for `scope`.
    in_place_scope(op)
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
#[track_caller]
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

/// [`join`] whose closures receive a [`FnContext`] telling whether they run on another
/// thread than the caller ([`FnContext::migrated`]): `b` does when an idle thread took it.
///
/// # Panics
/// As [`join`].
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let (a_moved, b_moved) = pool.install(|| {
///     skewer::join_context(|ctx| ctx.migrated(), |ctx| ctx.migrated())
/// });
/// assert!(!a_moved); // `a` always runs on the calling thread
/// let _ = b_moved; // true only if another worker took `b`
/// ```
#[track_caller]
pub fn join_context<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce(FnContext) -> RA + Send,
    B: FnOnce(FnContext) -> RB + Send,
    RA: Send,
    RB: Send,
{
    let mut parts = Some((a, b));
    let out = Ctx::with_current(|ctx| {
        ctx.map(|ctx| {
            let (a, b) = parts.take().expect("taken once");
            join_context::join_context_in(ctx, a, b)
        })
    });
    match out {
        Some(out) => out,
        None => {
            let (a, b) = parts.take().expect("taken once");
            global().join_context(a, b)
        }
    }
}

/// Spawns a detached job on the current worker's pool, or on the global pool from outside
/// any, that starts after every job this thread spawned into that pool with `spawn_fifo`
/// before it. See [`Pool::spawn_fifo`] for the guarantee (per spawning thread, not global)
/// and its cost. Inside a pool this is never refused, as [`spawn`].
///
/// # Examples
/// ```
/// use std::sync::mpsc;
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// let (tx, rx) = mpsc::channel();
/// pool.install(|| {
///     // From the worker: these start in the order spawned, whatever the queues do.
///     for i in 0..5 {
///         let tx = tx.clone();
///         skewer::spawn_fifo(move || tx.send(i).unwrap());
///     }
/// });
/// drop(tx);
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
/// ```
#[track_caller]
pub fn spawn_fifo<F>(job: F)
where
    F: FnOnce() + Send + 'static,
{
    let mut job = Some(job);
    Ctx::with_current(|ctx| {
        if let Some(ctx) = ctx {
            let job = job.take().expect("taken once");
            pool::spawn_in(ctx, fifo::detached(ctx.pool(), job));
        }
    });
    if let Some(job) = job
        && global().spawn_fifo(job).is_err()
    {
        unreachable!("the global pool is never shut down");
    }
}

/// [`scope`] with a [`ScopeFifo`]: each thread's [`spawn_fifo`](ScopeFifo::spawn_fifo)
/// jobs start in the order it spawned them. On the current worker's pool, or on the global
/// pool from outside any; the body runs on the calling thread.
///
/// # Examples
/// ```
/// let mut squares = vec![0; 8];
/// skewer::scope_fifo(|s| {
///     for (i, out) in squares.iter_mut().enumerate() {
///         s.spawn_fifo(move |_| *out = i * i);
///     }
/// });
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
/// ```
#[track_caller]
pub fn scope_fifo<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R + Send,
    R: Send,
{
    // As `scope`: the body runs on the caller either way.
    in_place_scope_fifo(op)
}

/// A scope whose body runs on the calling thread, in the current worker's pool or, from
/// outside any pool, in the global pool: rayon-core's name for what [`scope`] does in
/// skewer.
///
/// rayon-core's `scope` called from outside a pool sends its body to a worker and blocks
/// the caller; its `in_place_scope` keeps the body on the caller. skewer's `scope` and
/// [`Pool::scope`] always keep it on the caller, so both names do the same. What that
/// means for the body:
/// - it sees the caller's thread-locals; as in rayon-core, neither it nor its result need
///   be `Send`, and it may borrow what is not `Sync` as long as it does not hand it to the
///   scope's jobs (which must be `Send`);
/// - from outside a pool, [`current_thread_index`] is `None` in it and `skewer::join` in
///   it runs as a guest of the pool; the caller helps with the scope's jobs while it waits
///   for them instead of sleeping;
/// - to run the body on a worker instead, call the scope inside
///   [`install`](Pool::install): `pool.install(|| skewer::scope(..))`.
///
/// # Examples
/// ```
/// thread_local!(static NAME: std::cell::Cell<&'static str> = const { std::cell::Cell::new("") });
/// NAME.with(|n| n.set("caller"));
/// let mut seen = "";
/// skewer::in_place_scope(|s| {
///     seen = NAME.with(|n| n.get()); // the caller's thread-local
///     s.spawn(|_| {});
/// });
/// assert_eq!(seen, "caller");
/// ```
#[track_caller]
pub fn in_place_scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    let mut op = Some(op);
    let out = Ctx::with_current(|ctx| {
        ctx.map(|ctx| scope::scope_in(ctx, op.take().expect("taken once")))
    });
    match out {
        Some(out) => out,
        None => global().in_place_scope(op.take().expect("taken once")),
    }
}

/// [`in_place_scope`] with a [`ScopeFifo`]: rayon-core's name for what [`scope_fifo`]
/// does in skewer (the body runs on the calling thread).
///
/// # Examples
/// ```
/// let caller = std::thread::current().id();
/// let body_ran_on = skewer::in_place_scope_fifo(|s| {
///     s.spawn_fifo(|_| {});
///     std::thread::current().id()
/// });
/// assert_eq!(body_ran_on, caller);
/// ```
#[track_caller]
pub fn in_place_scope_fifo<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R,
{
    let mut op = Some(op);
    let out = Ctx::with_current(|ctx| {
        ctx.map(|ctx| scope_fifo::scope_fifo_in(ctx, op.take().expect("taken once")))
    });
    match out {
        Some(out) => out,
        None => global().in_place_scope_fifo(op.take().expect("taken once")),
    }
}

/// [`Pool::broadcast`] on the current worker's pool, or on the global pool from outside
/// any: `op` once on every worker, the results in worker order.
///
/// # Panics
/// Re-raises a panic of any share after all ran; panics if the global pool is needed and
/// cannot be built.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let indices = pool.install(|| skewer::broadcast(|ctx| ctx.index()));
/// assert_eq!(indices, [0, 1]);
/// ```
#[track_caller]
pub fn broadcast<OP, R>(op: OP) -> Vec<R>
where
    OP: Fn(BroadcastContext<'_>) -> R + Sync,
    R: Send,
{
    match Ctx::innermost_worker() {
        // SAFETY: the context, and so its pool, outlives this call.
        Some(ctx) => broadcast::broadcast_in(unsafe { &*ctx }.member().shared(), op),
        None => global().broadcast(op),
    }
}

/// [`Pool::spawn_broadcast`] on the current worker's pool, or on the global pool from
/// outside any. Inside a pool it is never refused (the pool runs what it holds even while
/// it shuts down).
///
/// # Examples
/// ```
/// let (tx, rx) = std::sync::mpsc::channel();
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// pool.install(|| skewer::spawn_broadcast(move |ctx| tx.send(ctx.index()).unwrap()));
/// let mut got: Vec<usize> = rx.iter().take(2).collect();
/// got.sort();
/// assert_eq!(got, [0, 1]);
/// ```
#[track_caller]
pub fn spawn_broadcast<OP>(op: OP)
where
    OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
{
    let refused = match Ctx::innermost_worker() {
        // SAFETY: the context, and so its pool, outlives this call.
        Some(ctx) => broadcast::spawn_broadcast_in(unsafe { &*ctx }.member().shared(), op),
        None => global().spawn_broadcast(op),
    };
    if refused.is_err() {
        unreachable!(
            "a pool takes its own workers' broadcasts even while it drains, and the global pool never closes"
        );
    }
}

/// On a worker thread: runs one pending job it may run and says whether it did; `None` on
/// any other thread. "May run" is skewer's waiting rule: only work that descends from the
/// job the worker is running now, from its own deque and inbox, the deques of workers
/// running that work, or the shared queue (rayon-core's yield runs any job).
///
/// # Examples
/// ```
/// use skewer::Yield;
/// assert_eq!(skewer::yield_now(), None); // not a worker
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// let ran = pool.install(|| skewer::scope(|s| {
///     s.spawn(|_| {});
///     skewer::yield_now()
/// }));
/// assert_eq!(ran, Some(Yield::Executed));
/// ```
pub fn yield_now() -> Option<Yield> {
    yielding::yield_now()
}

/// As [`yield_now`], looking only at the worker's own deque and inbox.
///
/// # Examples
/// ```
/// use skewer::Yield;
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// assert_eq!(pool.install(skewer::yield_local), Some(Yield::Idle));
/// ```
pub fn yield_local() -> Option<Yield> {
    yielding::yield_local()
}

/// On a worker thread: whether it has jobs of its own waiting (queued in its own deque or
/// inbox, or forks it has not shared); `None` on any other thread.
///
/// It errs towards `true`, never towards `false`: the second half of a [`join`] that did
/// not fork (a thread keeps only a few forks, `docs/work-stealing.md`) is not tracked one
/// by one, so inside the first half of a forked `join`, where such a second half may be
/// waiting, the answer can be `true` when no job of the thread is left.
///
/// # Examples
/// ```
/// assert_eq!(skewer::current_thread_has_pending_tasks(), None);
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// assert_eq!(pool.install(skewer::current_thread_has_pending_tasks), Some(false));
/// ```
pub fn current_thread_has_pending_tasks() -> Option<bool> {
    yielding::current_thread_has_pending_tasks()
}
