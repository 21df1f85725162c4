//! A thread's membership of one pool: the one implementation of [`Member`], for every
//! [`Role`]. What differs between a worker, a guest and a spare is decided here by the
//! role, which was fixed when the context was made.

use crate::backend::Queues;
use crate::job::JobRef;
use crate::job::latch::Latch;
use crate::job::unwind::JobPanic;
use crate::sched::context::{Ctx, Member, SharedPool};
use crate::sched::registry::Registry;
use crate::sched::role::Role;
use crate::sched::search::{self, Found};
use crate::sched::target::{Dug, Helped, Target};
use crate::sync::Ordering;

/// A thread's membership of `registry`'s pool in `role`.
pub(crate) struct Membership<'a, Q: Queues> {
    pub(crate) registry: &'a Registry<Q>,
    pub(crate) role: Role<'a, Q>,
}

impl<'a, Q: Queues> Membership<'a, Q> {
    /// Runs `f` on the current thread with a context of the pool in this membership's role,
    /// made current for the call.
    pub(crate) fn enter<R>(&self, f: impl FnOnce(&Ctx) -> R) -> R {
        let member: &dyn Member = self;
        // SAFETY: the context made below is dropped at the end of this function, before
        // `self` (and so the registry and the role's borrows). Only the lifetime of the
        // raw pointer the context keeps is erased.
        let member: &'static dyn Member =
            unsafe { std::mem::transmute::<&dyn Member, &'static dyn Member>(member) };
        // SAFETY: as above; `registry.sleep` outlives the context.
        let mut ctx = unsafe { Ctx::new(member, &self.registry.sleep, self.registry.id()) };
        ctx.enter(f)
    }
}

impl<Q: Queues> Membership<'_, Q> {
    /// Runs a job a search found for this thread, counting it in the right row. Always
    /// inline: see `search::pop_own`.
    #[inline(always)]
    fn run(&self, ctx: &Ctx, found: Found) {
        let reg = self.registry;
        match (&self.role, found) {
            (Role::Worker(w), Found::Taken(job)) => w.run_root(ctx, job),
            (Role::Worker(w), Found::Own(job)) => {
                reg.counters.workers[w.index].jobs_executed.add_owned(1);
                // SAFETY: popped from our own deque: nobody else executes it.
                unsafe { ctx.execute(job) }
            }
            (Role::Guest | Role::Spare, Found::Own(job) | Found::Taken(job)) => {
                reg.counters.outside.jobs_executed.add_shared(1);
                // SAFETY: taken out of a queue: nobody else executes it.
                unsafe { ctx.execute(job) }
            }
        }
    }
}

impl<Q: Queues> Member for Membership<'_, Q> {
    fn push(&self, job: JobRef) {
        match &self.role {
            Role::Worker(w) => self.registry.push_local(w.index, w.local, job),
            Role::Guest | Role::Spare => {
                self.registry.push_global(job, None);
            }
        }
    }

    fn push_detached(&self, job: JobRef) {
        match &self.role {
            Role::Worker(w) => self.registry.push_global(job, Some(w.index)),
            // An outside submission: if it races with shutdown, `submit` drains it here.
            Role::Guest | Role::Spare => self.registry.submit(job),
        };
    }

    fn help(&self, ctx: &Ctx, target: Target, scan_global: bool) -> Helped {
        let outcome = search::find(self.registry, &self.role, target, scan_global);
        let Some(found) = outcome.found else {
            return if outcome.anchored {
                Helped::Anchored
            } else {
                Helped::Nothing
            };
        };
        self.run(ctx, found);
        Helped::Ran
    }

    #[inline]
    fn run_own(&self, ctx: &Ctx, target: Target) -> bool {
        let Role::Worker(w) = &self.role else {
            return false;
        };
        // The full search looks at the inbox first; leave a non-empty one to it.
        if self.registry.has_inbox(w.index) {
            return false;
        }
        if !Q::HAS_LOCAL_QUEUES {
            // The shared queue holds this worker's own pushes (and everybody else's): its
            // next job, if it belongs to the target, is the one the full search would find.
            return match search::from_global(self.registry, &self.role, target) {
                Some(job) => {
                    self.run(ctx, Found::Taken(job));
                    true
                }
                None => false,
            };
        }
        match search::pop_own(self.registry, &self.role, w, target) {
            Some(job) => {
                self.run(ctx, Found::Own(job));
                true
            }
            None => false,
        }
    }

    fn dig_own(&self, ctx: &Ctx, target: Target) -> Dug {
        let Role::Worker(w) = &self.role else {
            return Dug::Nothing;
        };
        match search::dig_own(self.registry, &self.role, w, target) {
            search::Dig::Own(job) => {
                self.run(ctx, Found::Own(job));
                Dug::Ran
            }
            search::Dig::Nothing => Dug::Nothing,
            search::Dig::Hidden => Dug::Hidden,
        }
    }

    fn yield_one(&self, ctx: &Ctx, local_only: bool) -> bool {
        let target = Target::unit(ctx.frame());
        if !local_only {
            return self.help(ctx, target, true) == Helped::Ran;
        }
        match search::find_own(self.registry, &self.role, target) {
            Some(found) => {
                self.run(ctx, found);
                true
            }
            None => false,
        }
    }

    fn has_pending_tasks(&self) -> bool {
        match &self.role {
            Role::Worker(w) => {
                !self.registry.queues.local_is_empty(w.local) || self.registry.has_inbox(w.index)
            }
            Role::Guest | Role::Spare => false,
        }
    }

    fn watch(&self, latch: &Latch) {
        self.registry.watchers.watch(latch);
    }

    fn unwatch(&self, latch: &Latch) {
        self.registry.watchers.unwatch(latch);
    }

    fn blocked_elsewhere(&self, blocked: bool) {
        let Role::Worker(w) = &self.role else {
            return;
        };
        let reg = self.registry;
        if blocked {
            reg.blocked_elsewhere.fetch_add(1, Ordering::SeqCst);
            (reg.start_spare)(w.registry);
        } else {
            reg.blocked_elsewhere.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn shared(&self) -> &dyn SharedPool {
        self.registry
    }

    fn num_threads(&self) -> usize {
        self.registry.num_threads
    }

    fn report_panic(&self, panic: JobPanic) {
        self.registry.report_panic(panic);
    }

    fn worker_index(&self) -> Option<usize> {
        self.role.index()
    }

    fn is_spare(&self) -> bool {
        matches!(self.role, Role::Spare)
    }

    fn accepts_publication(&self) -> bool {
        match self.role {
            Role::Worker(_) => true,
            Role::Guest | Role::Spare => !self.registry.terminate.load(Ordering::Relaxed),
        }
    }

    fn publish_target_is_empty(&self) -> bool {
        match &self.role {
            Role::Worker(w) => self.registry.queues.publish_target_is_empty(w.local),
            Role::Guest | Role::Spare => self.registry.queues.global_is_empty(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::backend::channel::Channel;
    use crate::job::job_ref::Word;
    use crate::job::{Header, Kind};
    use crate::sched::role::Worker;
    use std::sync::atomic::AtomicUsize;

    static RAN: AtomicUsize = AtomicUsize::new(0);

    unsafe fn count(_: *const Header, _: Word, _: Word, _: Word) {
        RAN.fetch_add(1, Ordering::SeqCst);
    }

    /// The membership of worker 0 of a pool made by `registry::for_tests`.
    fn worker_zero<'a, Q: Queues>(
        reg: &'a crate::sync::Arc<Registry<Q>>,
        locals: &'a [Q::Local],
    ) -> Membership<'a, Q> {
        Membership {
            registry: reg,
            role: Role::Worker(Worker {
                index: 0,
                local: &locals[0],
                registry: reg,
            }),
        }
    }

    #[test]
    fn a_waiting_channel_worker_runs_the_head_of_the_shared_queue_if_it_is_its_own() {
        let (reg, locals) = crate::sched::registry::for_tests::<Channel>(1);
        let awaited = Header::new(std::ptr::null(), Kind::Stack);
        let mine = Header::new(&awaited, Kind::Stack);
        let unrelated = Header::new(std::ptr::null(), Kind::Stack);
        let membership = worker_zero(&reg, &locals);
        membership.enter(|ctx| {
            let target = Target::unit(&awaited);
            // SAFETY: each job runs at most once (`count` touches nothing of it); the
            // headers outlive the queue's use of them in this test.
            let (unrelated_job, my_job) =
                unsafe { (JobRef::new(&unrelated, count), JobRef::new(&mine, count)) };
            reg.queues.push_global(unrelated_job);
            reg.queues.push_global(my_job);
            // The head does not descend from the target: it goes to the tail, nothing runs.
            assert!(!ctx.member().run_own(ctx, target));
            assert_eq!(RAN.load(Ordering::SeqCst), 0);
            // Now the head is the waiter's own: run without the full search.
            assert!(ctx.member().run_own(ctx, target));
            assert_eq!(RAN.load(Ordering::SeqCst), 1);
            // The unrelated job is still queued, untouched.
            assert!(!ctx.member().run_own(ctx, target));
            assert_eq!(reg.queues.global_len(), 1);
            let _ = reg.queues.pop_global();
        });
    }

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("this test takes its job back without running it");
    }

    #[test]
    fn a_publication_that_cannot_be_made_while_a_job_waits_in_the_queue_is_reported() {
        use crate::backend::stealing::Stealing;
        use crate::sched::sleep::pacing::HUNGRY_TICKS;
        let (reg, locals) = crate::sched::registry::for_tests::<Stealing>(2);
        let membership = worker_zero(&reg, &locals);
        let queued = Header::new(std::ptr::null(), Kind::Stack);
        membership.enter(|ctx| {
            // A new pool counts every worker as a searcher.
            assert!(ctx.sleep().peek().hungry());
            // SAFETY: the job is taken back below, unrun; its header outlives the queue's
            // use of it.
            ctx.member().push(unsafe { JobRef::new(&queued, never) });
            ctx.policy().published_for_hungry(std::time::Instant::now());
            for _ in 0..HUNGRY_TICKS + 16 {
                ctx.poll();
            }
            // A publication was due by fork `HUNGRY_TICKS` at the latest, and the queue
            // still held the job: the context told the policy, which decides when to ask
            // again (`publish.rs`).
            assert!(ctx.policy().unpublished() > 0);
            assert!(reg.queues.pop_local(&locals[0]).is_some());
        });
    }
}
