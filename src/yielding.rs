//! Yielding inside a job: rayon-core's `yield_now` and `yield_local`, and
//! `current_thread_has_pending_tasks`.
//!
//! A worker that yields runs one pending job it may run *for the work it is doing now*:
//! skewer's waiting rule (a thread runs only work its wait depends on) applies to a yield
//! as to every wait, so a yield inside a job never picks up an unrelated job that could
//! take a lock the yielder holds. rayon-core's yield runs any job.

use crate::Pool;
use crate::sched::context::Ctx;

/// What [`yield_now`](crate::yield_now) or [`yield_local`](crate::yield_local) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Yield {
    /// One job was run.
    Executed,
    /// Nothing this thread may run was pending.
    Idle,
}

/// Runs one job on `ctx`'s behalf, by the rule of the module docs.
fn yield_in(ctx: *const Ctx, local_only: bool) -> Yield {
    Ctx::run_in(ctx, |ctx| {
        if ctx.member().yield_one(ctx, local_only) {
            Yield::Executed
        } else {
            Yield::Idle
        }
    })
}

/// `skewer::yield_now`.
pub(crate) fn yield_now() -> Option<Yield> {
    Ctx::innermost_worker().map(|ctx| yield_in(ctx, false))
}

/// `skewer::yield_local`.
pub(crate) fn yield_local() -> Option<Yield> {
    Ctx::innermost_worker().map(|ctx| yield_in(ctx, true))
}

/// `skewer::current_thread_has_pending_tasks`.
pub(crate) fn current_thread_has_pending_tasks() -> Option<bool> {
    Ctx::innermost_worker().map(|ctx| {
        // SAFETY: contexts on the chain outlive the call that found them.
        unsafe { &*ctx }.has_pending_tasks()
    })
}

impl Pool {
    /// [`yield_now`](crate::yield_now) on this pool: `None` unless the current thread is
    /// one of its workers.
    ///
    /// # Examples
    /// ```
    /// use skewer::Yield;
    /// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// assert_eq!(pool.yield_now(), None); // not a worker of `pool`
    /// // On the only worker, with nothing else queued, a yield finds nothing to run.
    /// assert_eq!(pool.install(|| pool.yield_now()), Some(Yield::Idle));
    /// ```
    pub fn yield_now(&self) -> Option<Yield> {
        Ctx::worker_of(self.running().id()).map(|ctx| yield_in(ctx, false))
    }

    /// [`yield_local`](crate::yield_local) on this pool: `None` unless the current thread
    /// is one of its workers. On the channel backend a worker's own queue is its inbox
    /// only (jobs it queues go to the shared queue, which `yield_now` looks at).
    ///
    /// # Examples
    /// ```
    /// use skewer::Yield;
    /// let pool = skewer::Pool::builder().num_threads(1).backend(skewer::Backend::Stealing).build().unwrap();
    /// let ran = pool.install(|| {
    ///     pool.scope(|s| {
    ///         s.spawn(|_| {}); // queued on this worker's own deque
    ///         pool.yield_local() // runs it here
    ///     })
    /// });
    /// assert_eq!(ran, Some(Yield::Executed));
    /// ```
    pub fn yield_local(&self) -> Option<Yield> {
        Ctx::worker_of(self.running().id()).map(|ctx| yield_in(ctx, true))
    }

    /// Whether the current thread, a worker of this pool, has jobs of its own waiting
    /// (queued in its own deque or inbox, or forks it has not shared); `None` unless it is
    /// one of this pool's workers. On the channel backend workers have no deque: a job a
    /// worker queues goes to the shared queue and is not its own. Like
    /// [`current_thread_has_pending_tasks`](crate::current_thread_has_pending_tasks), it
    /// errs towards `true`.
    ///
    /// # Examples
    /// ```
    /// use skewer::Backend;
    /// let pool = skewer::Pool::builder().num_threads(1).backend(Backend::Stealing).build().unwrap();
    /// assert_eq!(pool.current_thread_has_pending_tasks(), None);
    /// let pending = pool.install(|| {
    ///     pool.scope(|s| {
    ///         let before = pool.current_thread_has_pending_tasks();
    ///         s.spawn(|_| {});
    ///         (before, pool.current_thread_has_pending_tasks())
    ///     })
    /// });
    /// assert_eq!(pending, (Some(false), Some(true)));
    /// ```
    pub fn current_thread_has_pending_tasks(&self) -> Option<bool> {
        Ctx::worker_of(self.running().id()).map(|ctx| {
            // SAFETY: contexts on the chain outlive the call that found them.
            unsafe { &*ctx }.has_pending_tasks()
        })
    }
}
