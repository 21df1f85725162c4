//! The per-thread context: what a thread inside `join`/`scope` needs on its fast path, and
//! what it needs from the pool it takes part in ([`Member`]).
//!
//! Every thread that runs skewer work has a [`Ctx`] on its stack while it does: each worker
//! for its whole life, and a thread outside the pool (a *guest*) for the duration of a
//! `Pool::join`/`Pool::scope` call. The chain of current contexts is in `chain.rs`.
//!
//! The context holds the thread's private forks (`forks.rs`): forking pushes onto that
//! stack, with no atomic operation; the fork becomes a real, stealable job only when
//! somebody could use it (`publish.rs`). The oldest fork is the one nearest the root, so it
//! is usually the largest piece of work. A small tree finishes before the first heartbeat
//! and never wakes anybody.

use std::cell::{Cell, UnsafeCell};
use std::time::Instant;

use super::forks::{ForkStack, SavedFloor};
use super::publish::{Decision, OuterJob, Policy, Reads};
use super::settle::Settle;
use crate::job::latch::Latch;
use crate::job::unwind::JobPanic;
use crate::job::{Fork, Header, JobRef};
use crate::sched::pool_id::PoolId;
use crate::sched::sleep::Sleep;
use crate::sched::target::{Dug, Helped, Target};

/// What a context needs from the pool it belongs to, as the thread takes part in it: a
/// worker, a guest or a spare (`sched/member.rs` implements it, once, for every role). The
/// fast path of a fork never calls through it.
pub(crate) trait Member {
    /// Queues a job other threads may take: a published fork or a scope's job. A worker's
    /// own deque, the shared queue for anyone else.
    fn push(&self, job: JobRef);
    /// Queues a detached job into the shared queue. Never refused from inside a pool.
    fn push_detached(&self, job: JobRef);
    /// Searches this pool's queues once for work that descends from `target` and runs it
    /// (see `sched/search.rs`); `ctx` is this thread's context of this pool, and current.
    fn help(&self, ctx: &Ctx, target: Target, scan_global: bool) -> Helped;
    /// A waiter's common case, tried before `help`: if this thread is a worker with an
    /// empty inbox and the top of its own deque descends from `target`, runs that job and
    /// returns true. Otherwise changes nothing and returns false. Without local queues the
    /// head of the shared queue stands for the top of the deque; a head that does not
    /// descend from `target` goes back to the tail, as in the full search.
    fn run_own(&self, ctx: &Ctx, target: Target) -> bool;
    /// A waiter about to block, whose searches found nothing: if this thread is a worker
    /// whose own deque holds a job of `target` below jobs that do not descend from it,
    /// moves those to the relocation queue and runs the job (`search::dig_own`). Returns
    /// whether it ran one, and if not, whether one may lie deeper than it looked.
    fn dig_own(&self, ctx: &Ctx, target: Target) -> Dug;
    /// Runs one job this thread may run for the work it is doing now (`ctx.frame()`, by
    /// the waiting rule): from its own inbox and deque only (`local_only`), or from
    /// anywhere a waiter looks. Returns whether it ran one (`yield_local`, `yield_now`).
    fn yield_one(&self, ctx: &Ctx, local_only: bool) -> bool;
    /// Whether this thread, a worker, has jobs queued in its own deque or inbox.
    fn has_pending_tasks(&self) -> bool;
    /// Registers `latch` to be poked when work arrives in this pool's shared queue.
    fn watch(&self, latch: &Latch);
    /// Undoes `watch` (if no poke did already).
    fn unwatch(&self, latch: &Latch);
    /// This thread, a worker of this pool, blocks (`true`) in a wait on another pool (or in
    /// one within this pool whose work may lie deep in its deque), or stops doing so
    /// (`false`); see `sched/spare.rs`. Nothing for a guest or a spare.
    fn blocked_elsewhere(&self, blocked: bool);
    /// The pool as any thread may reach it.
    fn shared(&self) -> &dyn SharedPool;
    /// The number of worker threads of the pool.
    fn num_threads(&self) -> usize;
    /// Reports a detached job's panic to the pool's panic policy.
    fn report_panic(&self, panic: JobPanic);
    /// This thread's worker index, or `None` for a guest or a spare.
    fn worker_index(&self) -> Option<usize>;
    /// Whether this thread is one of the pool's spare threads (`sched/spare.rs`).
    fn is_spare(&self) -> bool;
    /// Whether the pool takes work from this context (false once a guest's pool shut down).
    fn accepts_publication(&self) -> bool;
    /// Whether the queue a publication would go to is empty. While it holds a fork that
    /// nobody took yet, publishing another only adds queue traffic.
    fn publish_target_is_empty(&self) -> bool;
}

/// What any thread may do to a pool, with or without a context of it: a scope handed to
/// another thread spawns through it; a broadcast hands each worker its share.
pub(crate) trait SharedPool: Sync {
    /// The pool's identity.
    fn id(&self) -> PoolId;
    /// The number of worker threads.
    fn num_threads(&self) -> usize;
    /// Whether the pool was closed (a relaxed look).
    fn is_closed(&self) -> bool;
    /// Pushes a job into the shared queue and wakes whoever should take it.
    fn push_shared(&self, job: JobRef);
    /// Puts `job(i)` in worker `i`'s inbox for every worker and wakes them. Returns false
    /// if the pool was closed meanwhile: the caller takes back what no worker took.
    fn push_to_each_worker(&self, job: &mut dyn FnMut(usize) -> JobRef) -> bool;
    /// Takes back the job still in worker `index`'s inbox, if any.
    fn take_inbox(&self, index: usize) -> Option<JobRef>;
}

/// A thread's context of one pool; see the module docs.
pub(crate) struct Ctx {
    member: *const dyn Member,
    sleep: *const Sleep,
    pool: PoolId,
    forks: UnsafeCell<ForkStack>,
    frame: Cell<*const Header>,
    policy: Policy,
    settle: Settle,
}

/// Restores a context's frame when dropped (also during unwinding).
struct RestoreFrame<'a>(&'a Cell<*const Header>, *const Header);

impl Drop for RestoreFrame<'_> {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

impl Ctx {
    /// # Safety
    /// `member` and `sleep` must outlive the context; `pool` identifies the pool.
    pub(crate) unsafe fn new(member: *const dyn Member, sleep: *const Sleep, pool: PoolId) -> Self {
        Ctx {
            member,
            sleep,
            pool,
            forks: UnsafeCell::new(ForkStack::new()),
            frame: Cell::new(std::ptr::null()),
            policy: Policy::new(),
            settle: Settle::new(),
        }
    }

    #[inline]
    pub(crate) fn member(&self) -> &dyn Member {
        // SAFETY: the member outlives the context (contract of `new`).
        unsafe { &*self.member }
    }

    #[inline]
    pub(crate) fn sleep(&self) -> &Sleep {
        // SAFETY: the sleep state outlives the context (contract of `new`).
        unsafe { &*self.sleep }
    }

    /// The pool this context belongs to.
    pub(crate) fn pool(&self) -> PoolId {
        self.pool
    }

    /// The bulk settlement of a scope's count (`settle.rs`); armed by a worker's main loop
    /// for the job it runs, and by a scope's body on the thread that runs it.
    #[inline]
    pub(crate) fn settle(&self) -> &Settle {
        &self.settle
    }

    /// The header of the job this thread is running (parent of the jobs it creates).
    #[inline]
    pub(crate) fn frame(&self) -> *const Header {
        self.frame.get()
    }

    /// Runs `f` with `header` as the current frame.
    #[inline(always)]
    pub(crate) fn in_frame<R>(&self, header: *const Header, f: impl FnOnce() -> R) -> R {
        let _restore = RestoreFrame(&self.frame, self.frame.replace(header));
        f()
    }

    /// Runs a queued job with its header as the current frame.
    ///
    /// # Safety
    /// The job must not have been executed before.
    #[inline(always)]
    pub(crate) unsafe fn execute(&self, job: JobRef) {
        // SAFETY: forwarded exactly-once promise.
        self.in_frame(job.header(), || unsafe { job.execute() })
    }

    #[allow(clippy::mut_from_ref)]
    #[inline]
    fn forks(&self) -> &mut ForkStack {
        // SAFETY: the fork stack is only touched by the thread that owns the context, and
        // no method holds this borrow across a call that could re-enter it.
        unsafe { &mut *self.forks.get() }
    }

    /// Whether this thread already keeps as many publishable forks as it may (`forks.rs`:
    /// the drowsy bound while the policy's last look found only sleepers idle and no
    /// heartbeat came since, the hungry bound while it found somebody hungry): a `join`
    /// then runs both halves itself, without forking.
    #[inline]
    pub(crate) fn forks_are_full(&self) -> bool {
        self.forks().is_full(self.policy.sharing())
    }

    /// Pushes a private fork; publishes the oldest one if somebody could use it.
    #[inline]
    pub(crate) fn fork(&self, job: Fork) {
        self.forks().push(job);
        self.poll();
    }

    /// The thread, a worker out of work, made a search round that found nothing: counted in
    /// the pool's count, by which busy threads tell whether searchers run, and as its own,
    /// which its own policy leaves out of that count (`stall.rs`).
    #[inline]
    pub(crate) fn searched(&self) {
        self.sleep().searched();
        self.policy.searched();
    }

    /// A point where publication is decided (`publish.rs`): every fork.
    ///
    /// The policy's count of forks between looks at the clock is inline: with the workers
    /// asleep (a call from outside into an idle pool) every fork gets this far, and a call
    /// per fork cost more than the fork (1023-node trees from outside, 2 workers asleep:
    /// 6.9 µs a call with the count out of line, 4.3 µs inline, 1.9 µs sequential).
    /// When everybody is busy (the quiet snapshot) the policy returns at once: nobody to
    /// publish for, nothing to look at.
    #[inline]
    pub(crate) fn poll(&self) {
        self.carry_out(
            self.policy
                .on_fork(self.sleep().peek(), PoolReads(self.sleep())),
        );
    }

    /// The other point where publication is decided: a `join`'s `a` returned. Counted as a
    /// fork is; the first return of a root job also looks at the clock (`publish.rs`).
    #[inline]
    pub(crate) fn poll_return(&self) {
        self.carry_out(
            self.policy
                .on_return(self.sleep().peek(), PoolReads(self.sleep())),
        );
    }

    /// `poll_return` for a `join` that forked: the ahead mode also looks here while the
    /// pool is quiet (`publish.rs`).
    #[inline]
    pub(crate) fn poll_forked_return(&self) {
        self.carry_out(
            self.policy
                .on_forked_return(self.sleep().peek(), PoolReads(self.sleep())),
        );
    }

    /// What a decision point decided: nothing to do inline (`Keep`, the common case), or
    /// a publication, out of line.
    #[inline]
    fn carry_out(&self, decision: Decision) {
        if decision != Decision::Keep {
            self.act(decision);
        }
    }

    #[cold]
    fn act(&self, decision: Decision) {
        match decision {
            Decision::Keep => {}
            Decision::ForHungry => self.publish_for_hungry(),
            Decision::Heartbeat => {
                if self.member().publish_target_is_empty() {
                    let _ = self.publish_oldest();
                }
            }
            // At a forked `join`'s return, whose `b` is the newest fork: publishing `b`
            // itself would only send it through the queue back to this thread, with nobody
            // hungry to take it; an older fork stays queued for the first worker to run out.
            // A pool of one worker has nobody to run out but this thread.
            Decision::Ahead => {
                if self.forks().has_publishable_below_newest()
                    && self.member().num_threads() > 1
                    && self.member().publish_target_is_empty()
                {
                    let _ = self.publish_oldest();
                }
            }
        }
    }

    /// Publishes the oldest fork for a hungry thread, unless the queue it would go to still
    /// holds a job nobody took. Either way the policy hears of it: after a publication it
    /// asks again once `HUNGRY_INTERVAL` or `HUNGRY_TICKS` forks passed, and after an
    /// attempt that could not publish, at its next look at the clock (the next fork only
    /// where the stride is 1). A searcher that does not run (it shares its CPU with
    /// a thread that spins) leaves a publication unclaimed for as long, and when every fine
    /// fork asked again the busy thread spent more on asking than on its tree
    /// (`docs/work-stealing.md`, "A hungry thread that does not run").
    #[cold]
    fn publish_for_hungry(&self) {
        if self.member().publish_target_is_empty() && self.publish_oldest() {
            self.policy.published_for_hungry(Instant::now());
        } else {
            self.policy.not_published();
        }
    }

    /// The publication policy's state (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The thread picked up a new root job: a new heartbeat period (`publish.rs`). Hand the
    /// result to `end_root_job` when the job returns.
    #[inline]
    pub(crate) fn start_root_job(&self) -> OuterJob {
        self.policy.start_root_job()
    }

    /// The root job started by `start_root_job` returned (`publish.rs`, the eager start).
    #[inline]
    pub(crate) fn end_root_job(&self, outer: OuterJob) {
        self.policy.end_root_job(outer, Instant::now);
    }

    /// Removes `job`, the newest fork. Returns true if it is still private (the common
    /// case): the caller runs it. False if it was published: it may be anywhere, running or
    /// done.
    #[inline]
    pub(crate) fn take_back(&self, job: Fork) -> bool {
        let forks = self.forks();
        let private = forks.take_back(job);
        if forks.is_empty() {
            self.policy.stack_emptied();
        }
        private
    }

    /// Publishes the oldest private fork at or above the floor, if there is one and the
    /// pool takes it.
    pub(crate) fn publish_oldest(&self) -> bool {
        if !self.forks().has_publishable() || !self.member().accepts_publication() {
            return false;
        }
        // SAFETY: a fork's header stays valid until it ran (its joiner waits for it).
        match unsafe { self.forks().publish_oldest() } {
            Some(job) => {
                self.member().push(job);
                true
            }
            None => false,
        }
    }

    /// Whether some fork of this thread is still private (pending, as a queued job is),
    /// or a `join` that did not fork may have yet to run its `b` (`ForkStack::may_hide_unforked`).
    pub(crate) fn has_private_forks(&self) -> bool {
        let forks = self.forks();
        forks.has_private() || forks.may_hide_unforked(self.policy.lowered())
    }

    /// A scope opens on this thread: older forks stay private until it closes.
    pub(crate) fn enter_scope(&self) -> SavedFloor {
        self.forks().enter_scope()
    }

    /// The scope closes (all its forks are gone): restore the outer floor.
    pub(crate) fn exit_scope(&self, saved: SavedFloor) {
        self.forks().exit_scope(saved)
    }

    /// Replaces the current frame, returning the old one (for `chain.rs`, which makes a
    /// context current and restores the frame after).
    pub(crate) fn replace_frame(&self, frame: *const Header) -> *const Header {
        self.frame.replace(frame)
    }
}

/// What the policy's looks read from the pool: the clock and the searchers' rounds.
struct PoolReads<'a>(&'a Sleep);

impl Reads for PoolReads<'_> {
    fn now(&mut self) -> Instant {
        Instant::now()
    }
    fn search_rounds(&mut self) -> Option<u64> {
        Some(self.0.search_rounds())
    }
}
