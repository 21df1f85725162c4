//! What a thread is to a pool it takes part in, decided once, when its context is made:
//! one of the pool's workers, a guest (a thread outside the pool inside `Pool::join`,
//! `Pool::scope` or `Pool::install`), or a spare standing in for blocked workers
//! (`spare.rs`). Everything that differs between them matches on [`Role`].

use crate::backend::Queues;
use crate::job::{Header, JobRef};
use crate::sched::context::Ctx;
use crate::sched::registry::Registry;
use crate::sync::Arc;

/// A worker's place in its pool: its index and the queue part it owns.
pub(crate) struct Worker<'a, Q: Queues> {
    pub(crate) index: usize,
    pub(crate) local: &'a Q::Local,
    /// The pool, owned (a spare thread started for this worker needs its own handle).
    pub(crate) registry: &'a Arc<Registry<Q>>,
}

/// See the module docs.
pub(crate) enum Role<'a, Q: Queues> {
    Worker(Worker<'a, Q>),
    /// A thread taking part in the pool's work for the duration of a call. Never runs an
    /// `install` body: those run on a worker (or a spare).
    Guest,
    /// A spare thread: takes part like a guest, and may run `install` bodies.
    Spare,
}

impl<Q: Queues> Role<'_, Q> {
    /// The worker index, for a worker.
    pub(crate) fn index(&self) -> Option<usize> {
        match self {
            Role::Worker(w) => Some(w.index),
            Role::Guest | Role::Spare => None,
        }
    }
}

impl<Q: Queues> Worker<'_, Q> {
    /// Runs a job that did not come from the current wait's own forks: announces its anchor
    /// (if the deque is empty, so everything pushed meanwhile descends from it), runs it,
    /// and restores the previous announcement.
    pub(crate) fn run_root(&self, ctx: &Ctx, job: JobRef) {
        let anchor = if self.registry.queues.local_is_empty(self.local) {
            Header::anchor(job.header())
        } else {
            std::ptr::null()
        };
        self.run_announcing(ctx, job, anchor);
    }

    /// Runs a job taken out of a queue with `anchor` announced (null: none), then restores
    /// the previous announcement. `anchor` must be an ancestor of `job` and of every job in
    /// this worker's deque (see `anchor.rs`): a waiter for it may steal any of them.
    #[inline(always)]
    pub(crate) fn run_announcing(&self, ctx: &Ctx, job: JobRef, anchor: *const Header) {
        let registry = &**self.registry;
        let slot = &registry.anchors[self.index];
        let previous = slot.get();
        slot.set(anchor);
        let outer = ctx.start_root_job();
        registry.counters.workers[self.index]
            .jobs_executed
            .add_owned(1);
        // SAFETY: the job was just taken out of a queue, so nobody else executes it.
        unsafe { ctx.execute(job) };
        ctx.end_root_job(outer);
        slot.set(previous);
    }

    /// After a batch steal moved `extra` jobs into this worker's empty deque besides the
    /// one it runs first, whose anchor is `anchor`: `anchor` if every one of them descends
    /// from it too, else null. Looks by popping them and pushing them back in their order;
    /// a thief may meanwhile take some from the other end, which changes nothing.
    pub(crate) fn batch_anchor(&self, anchor: *const Header, extra: usize) -> *const Header {
        if anchor.is_null() {
            return anchor;
        }
        let queues = &self.registry.queues;
        let mut popped = [None; MAX_BATCH];
        let mut n = 0;
        let mut all = true;
        while n < extra.min(MAX_BATCH) {
            let Some(job) = queues.pop_local(self.local) else {
                break;
            };
            // SAFETY: `job` is queued and not yet executed, so its header and (by the
            // parent-chain invariant of `job/mod.rs`) its whole parent chain are alive.
            all &= unsafe { Header::descends_from(job.header(), anchor) };
            popped[n] = Some(job);
            n += 1;
        }
        for job in popped[..n].iter().rev().flatten() {
            queues.push_local(self.local, *job);
        }
        if all && n == extra {
            anchor
        } else {
            std::ptr::null()
        }
    }
}

/// The most jobs one batch steal moves (crossbeam-deque's limit); a larger count is not
/// checked and gives no anchor.
const MAX_BATCH: usize = 32;
