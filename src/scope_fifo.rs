//! `ScopeFifo`: a scope whose `spawn_fifo` jobs start in the order each thread spawned
//! them, by lanes and indirections (see `fifo.rs`).

use crate::sched::context::Ctx;
use crate::scope::{self, Scope};

/// A scope whose jobs start in FIFO order relative to the other FIFO jobs spawned by the
/// same thread (rayon-core's guarantee: not a global order across threads).
///
/// Created by [`Pool::scope_fifo`](crate::Pool::scope_fifo),
/// [`scope_fifo`](crate::scope_fifo) or [`in_place_scope_fifo`](crate::in_place_scope_fifo).
/// Every job spawned in it, directly or from other jobs of the scope, has finished when the
/// call returns; a panic in the body or in a job is re-raised there after all of them
/// finished, as for [`Scope`].
///
/// Each [`spawn_fifo`](ScopeFifo::spawn_fifo) queues the job in a lane of the spawning
/// thread and pushes, where [`Scope::spawn`] would push the job itself, an indirection that
/// runs the oldest job of that lane. So the jobs of one thread start oldest first even
/// where the queue is newest first (a worker's own deque); several workers may still run
/// them at the same time.
///
/// # Examples
/// ```
/// use std::sync::Mutex;
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// let order = Mutex::new(Vec::new());
/// pool.install(|| {
///     skewer::scope_fifo(|s| {
///         for i in 0..5 {
///             let order = &order;
///             s.spawn_fifo(move |_| order.lock().unwrap().push(i));
///         }
///     })
/// });
/// // One worker: the jobs ran in the order they were spawned.
/// assert_eq!(order.into_inner().unwrap(), [0, 1, 2, 3, 4]);
/// ```
#[repr(transparent)]
pub struct ScopeFifo<'scope> {
    /// A scope with lanes (opened by `scope_fifo_in`).
    scope: Scope<'scope>,
}

impl std::fmt::Debug for ScopeFifo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeFifo").finish_non_exhaustive()
    }
}

impl<'scope> ScopeFifo<'scope> {
    /// Views a scope with lanes as a `ScopeFifo`.
    fn of<'a>(scope: &'a Scope<'scope>) -> &'a ScopeFifo<'scope> {
        debug_assert!(!scope.lanes().is_empty(), "a ScopeFifo needs lanes");
        // SAFETY: `ScopeFifo` is `repr(transparent)` over `Scope`, so both have the same
        // layout; the reference keeps the lifetime and provenance of `scope`.
        unsafe { &*(scope as *const Scope<'scope>).cast::<ScopeFifo<'scope>>() }
    }

    /// Spawns `job` into the scope. It may borrow anything that outlives the scope, and it
    /// receives the scope so it can spawn more. It starts after every job this thread
    /// spawned into the scope with `spawn_fifo` before it.
    ///
    /// Never refused, as [`Scope::spawn`]; the job costs one allocation more than a plain
    /// scope job (its place in the lane).
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let done = AtomicUsize::new(0);
    /// skewer::scope_fifo(|s| {
    ///     for _ in 0..10 {
    ///         s.spawn_fifo(|s| {
    ///             done.fetch_add(1, Ordering::Relaxed);
    ///             s.spawn_fifo(|_| { done.fetch_add(1, Ordering::Relaxed); });
    ///         });
    ///     }
    /// });
    /// assert_eq!(done.into_inner(), 20);
    /// ```
    pub fn spawn_fifo<F>(&self, job: F)
    where
        F: FnOnce(&ScopeFifo<'scope>) + Send + 'scope,
    {
        let lanes = self.scope.lanes();
        // The spawning thread's lane: its own if it is a worker of the scope's pool (by
        // its worker context, whichever context is current), else the shared last one.
        // Jobs of threads that share a lane start in the order they entered it, which
        // keeps each thread's order.
        let worker = Ctx::find_on_chain(|ctx| {
            if ctx.pool() == self.scope.pool_id() {
                ctx.member().worker_index()
            } else {
                None
            }
        });
        let lane = worker.unwrap_or(lanes.len() - 1);
        lanes[lane].push(Box::new(move |scope: &Scope<'scope>| {
            job(ScopeFifo::of(scope))
        }));
        self.scope
            .spawn(move |scope| (scope.lanes()[lane].pop_oldest())(scope));
    }
}

/// Runs a FIFO scope's body on the current thread with `ctx`, then waits for all its jobs.
pub(crate) fn scope_fifo_in<'scope, OP, R>(ctx: &Ctx, op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R,
{
    let lanes = ctx.member().num_threads() + 1;
    scope::scope_with_lanes_in(ctx, lanes, |scope| op(ScopeFifo::of(scope)))
}
