//! Broadcasts: one call of a closure on every worker of a pool (rayon-core's `broadcast`
//! and `spawn_broadcast`).
//!
//! Worker `i`'s share goes into its *inbox* (`backend/job_list.rs`), which only worker `i`
//! takes from: in its main loop before its own deque, and, while it waits, when the share
//! descends from what it waits for (a worker that broadcasts runs its own share while it
//! waits for the others). A worker busy with a job, or waiting for unrelated work, runs its
//! share when it gets back to its main loop: the waiting rule holds for broadcasts too.
//! After `shutdown`, the shares run on the calling thread, one per index, as `install` runs
//! its closure there.

use std::any::Any;
use std::marker::PhantomData;

use crate::Pool;
use crate::error::SpawnError;
use crate::job::latch::CountLatch;
use crate::job::{Header, HeapJob, JobRef, Kind};
use crate::pool::detached_job;
use crate::sched::context::{Ctx, SharedPool};
use crate::sched::target::Target;
use crate::sched::wait;
use crate::sync::{Arc, Mutex};

/// Where a broadcast's share runs: which worker, out of how many.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(3).build().unwrap();
/// let seen = pool.broadcast(|ctx| (ctx.index(), ctx.num_threads()));
/// assert_eq!(seen, [(0, 3), (1, 3), (2, 3)]);
/// ```
#[derive(Debug)]
pub struct BroadcastContext<'a> {
    index: usize,
    num_threads: usize,
    /// Not `Send`, as in rayon-core: it describes the thread it was given to.
    _marker: PhantomData<&'a *mut ()>,
}

impl BroadcastContext<'_> {
    fn new(index: usize, num_threads: usize) -> Self {
        BroadcastContext {
            index,
            num_threads,
            _marker: PhantomData,
        }
    }

    /// The index of the worker this share runs for (the same as
    /// [`current_thread_index`](crate::current_thread_index) on that worker).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The number of workers of the pool, hence of shares.
    pub fn num_threads(&self) -> usize {
        self.num_threads
    }
}

/// The frame of a blocking broadcast, in the caller's stack while it waits.
#[repr(C)]
struct Frame<'a, OP, R> {
    /// First field: the shares' parent, so a waiter recognizes them as its own work.
    header: Header,
    latch: CountLatch,
    op: &'a OP,
    results: Vec<Mutex<Option<R>>>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// A pointer to a frame that may cross threads (the frame outlives every share: the caller
/// waits for the count latch).
struct FramePtr<T>(*const T);
// SAFETY: the frame's fields are shared only through `&`: `op` is `Sync`, results and the
// panic slot are behind mutexes, the latch is atomic; see `Frame` for its lifetime.
unsafe impl<T> Send for FramePtr<T> {}

impl Pool {
    /// Runs `op` once on every worker of the pool and returns the results in worker order.
    ///
    /// The calling thread waits; if it is one of the pool's workers it runs its own share
    /// in place. A worker that is busy runs its share when it next looks for work. A panic
    /// in any share is re-raised here after every share ran. After
    /// [`shutdown`](Pool::shutdown) the shares run on the calling thread.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// // Each worker reports the name of its own thread.
    /// let names = pool.broadcast(|_| std::thread::current().name().unwrap().to_string());
    /// assert_eq!(names, ["skewer-0", "skewer-1"]);
    /// ```
    pub fn broadcast<OP, R>(&self, op: OP) -> Vec<R>
    where
        OP: Fn(BroadcastContext<'_>) -> R + Sync,
        R: Send,
    {
        broadcast_in(self.running().shared(), op)
    }

    /// Runs `op` once on every worker of the pool, detached: returns at once. A panic in a
    /// share goes to the pool's panic handler, as for [`spawn`](Pool::spawn).
    ///
    /// # Errors
    /// A pool that was shut down (or whose last handle was dropped) refuses the broadcast
    /// and hands `op` back, unless it comes from one of the pool's own jobs: those are
    /// accepted while the pool drains, and every worker runs its share before it exits.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let count = Arc::new(AtomicUsize::new(0));
    /// let c = Arc::clone(&count);
    /// pool.spawn_broadcast(move |_| { c.fetch_add(1, Ordering::SeqCst); }).unwrap();
    /// pool.shutdown(); // waits for the workers, hence for both shares
    /// assert_eq!(count.load(Ordering::SeqCst), 2);
    /// ```
    pub fn spawn_broadcast<OP>(&self, op: OP) -> Result<(), SpawnError<OP>>
    where
        OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
    {
        spawn_broadcast_in(self.running().shared(), op)
    }
}

/// `Pool::broadcast` on `pool`.
pub(crate) fn broadcast_in<OP, R>(pool: &dyn SharedPool, op: OP) -> Vec<R>
where
    OP: Fn(BroadcastContext<'_>) -> R + Sync,
    R: Send,
{
    let n = pool.num_threads();
    let id = pool.id();
    // The context to wait in: this pool's worker (which runs its own share), or the
    // caller's current context (a wait nested in another pool's work), or none.
    let worker = Ctx::worker_of(id);
    // A closed pool's workers stay while one of them runs a job, so a broadcast from its
    // own job still reaches every worker; from anywhere else the shares run here.
    if pool.is_closed() && worker.is_none() {
        return (0..n).map(|i| op(BroadcastContext::new(i, n))).collect();
    }
    let wait_in = worker.or_else(Ctx::current);
    // SAFETY: contexts on the chain outlive this call.
    let parent = wait_in.map_or(std::ptr::null(), |ctx| unsafe { &*ctx }.frame());
    let frame = Frame {
        header: Header::new(parent, Kind::ScopeFrame),
        latch: CountLatch::new(),
        op: &op,
        results: (0..n).map(|_| Mutex::new(None)).collect(),
        panic: Mutex::new(None),
    };
    let header = (&frame as *const Frame<'_, OP, R>).cast::<Header>();
    // A wait nested in another pool's work is one more cross-pool level. Entered before any
    // share is queued: past the limit it panics, and a panic after the shares were queued
    // would free the frame they point at.
    let _nested = match (worker, wait_in) {
        (None, Some(_)) => Some(Ctx::nest()),
        _ => None,
    };
    let mut share = |i: usize| -> JobRef {
        frame.latch.increment();
        let ptr = FramePtr(&frame as *const Frame<'_, OP, R>);
        let body = move || {
            let ptr = ptr;
            // SAFETY: the frame outlives its shares (the caller waits for the count latch,
            // incremented above for this share, which this share releases last).
            unsafe { run_share(ptr.0, i, n) };
        };
        // SAFETY: the share borrows `op` and the frame, which outlive it (above).
        unsafe { HeapJob::into_job_ref(header, Kind::Scoped, body) }
    };
    if !pool.push_to_each_worker(&mut share) && worker.is_none() {
        take_back_and_run(pool);
    }
    // SAFETY: the caller's own count; the frame stays alive while we wait below.
    unsafe { CountLatch::decrement(&frame.latch) };
    let latch = frame.latch.as_latch();
    let target = Target::unit(header);
    match (worker, wait_in) {
        (Some(ctx), _) => Ctx::run_in(ctx, |ctx| wait::wait(ctx, target, latch)),
        (None, Some(ctx)) => Ctx::run_in(ctx, |ctx| wait::wait(ctx, target, latch)),
        // The broadcast woke every worker: block at once (`wait::wait_outside`).
        (None, None) => wait::wait_outside(latch, true),
    }
    if let Some(payload) = frame.panic.lock().take() {
        crate::job::unwind::resume(payload);
    }
    frame
        .results
        .into_iter()
        .map(|slot| slot.lock().take().expect("every share ran"))
        .collect()
}

/// `Pool::spawn_broadcast` on `pool`.
pub(crate) fn spawn_broadcast_in<OP>(pool: &dyn SharedPool, op: OP) -> Result<(), SpawnError<OP>>
where
    OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
{
    // The pool's own jobs may broadcast while it drains: its workers stay until no job runs
    // (`Registry::peer_awake`), and each takes its share before it exits.
    let own_worker = Ctx::worker_of(pool.id()).is_some();
    if pool.is_closed() && !own_worker {
        return Err(SpawnError::new(op));
    }
    let n = pool.num_threads();
    let op = Arc::new(op);
    let mut share = |i: usize| {
        let op = Arc::clone(&op);
        detached_job(move || op(BroadcastContext::new(i, n)))
    };
    if !pool.push_to_each_worker(&mut share) && !own_worker {
        take_back_and_run(pool);
    }
    Ok(())
}

/// The pool closed while a broadcast was pushed: runs on the calling thread every share
/// that no worker took.
fn take_back_and_run(pool: &dyn SharedPool) {
    for i in 0..pool.num_threads() {
        if let Some(job) = pool.take_inbox(i) {
            // SAFETY: taken out of the inbox: this is its only execution.
            unsafe { job.execute() };
        }
    }
}

/// Runs share `i` of `n` of the broadcast whose frame is `frame`: records its result or
/// panic, then releases its count.
///
/// # Safety
/// `frame` points at a live frame whose count includes this share.
unsafe fn run_share<OP, R>(frame: *const Frame<'_, OP, R>, i: usize, n: usize)
where
    OP: Fn(BroadcastContext<'_>) -> R + Sync,
    R: Send,
{
    // SAFETY: the frame is alive until the decrement below (contract); the reference ends
    // before it.
    let f = unsafe { &*frame };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (f.op)(BroadcastContext::new(i, n))
    })) {
        Ok(value) => *f.results[i].lock() = Some(value),
        Err(payload) => {
            let mut slot = f.panic.lock();
            if slot.is_none() {
                *slot = Some(payload);
            }
        }
    }
    // SAFETY: the last access to the frame from this share; no reference to it is live.
    unsafe { CountLatch::decrement(&raw const (*frame).latch) };
}
