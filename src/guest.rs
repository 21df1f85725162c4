//! Guests: threads outside the pool that call `Pool::join`, `Pool::scope` or
//! `Pool::install`. A guest gets a context for the duration of the call, so it runs its own
//! part of the work itself (no hand-off and wake-up before the first split), forks privately
//! like a worker, and while it waits, helps with the work it waits for. Its published forks
//! and scope spawns go to the shared queue.

use crate::backend::Queues;
use crate::context::{Ctx, Engine};
use crate::job::JobRef;
use crate::latch::Latch;
use crate::registry::{PoolApi, Registry};
use crate::sync::Ordering;
use crate::unwind::JobPanic;
use crate::wait::{self, Helped, Target};

/// A guest's engine: a borrowed registry.
struct Guest<'a, Q: Queues> {
    registry: &'a Registry<Q>,
    /// A spare thread (`spare.rs`) rather than a caller: it may run `install` bodies.
    spare: bool,
}

/// Runs `f` with a guest context of `registry` on the current thread.
pub(crate) fn run<Q: Queues>(registry: &Registry<Q>, f: &mut dyn FnMut(&Ctx)) {
    run_as(registry, false, f);
}

/// As `run`, for a spare thread when `spare` is set.
pub(crate) fn run_as<Q: Queues>(registry: &Registry<Q>, spare: bool, f: &mut dyn FnMut(&Ctx)) {
    let guest = Guest { registry, spare };
    let engine: &dyn Engine = &guest;
    // SAFETY: the context is dropped at the end of this function, before `guest` and
    // `registry`. The lifetime erasure only concerns the raw pointer the context keeps.
    let engine: &'static dyn Engine =
        unsafe { std::mem::transmute::<&dyn Engine, &'static dyn Engine>(engine) };
    // SAFETY: as above, `registry.sleep` outlives the context.
    let mut ctx = unsafe { Ctx::new(engine, &registry.sleep, registry.identity()) };
    ctx.enter(|ctx| f(ctx));
}

impl<Q: Queues> Engine for Guest<'_, Q> {
    fn publish(&self, job: JobRef) {
        self.registry.push_global(job, None);
    }

    fn push_scoped(&self, job: JobRef) {
        self.registry.push_global(job, None);
    }

    fn push_detached(&self, job: JobRef) {
        // An outside submission: if it races with shutdown, `submit` drains it here.
        self.registry.submit(job);
    }

    fn help(&self, ctx: &Ctx, target: Target, scan_global: bool) -> Helped {
        let who = if self.spare {
            wait::Waiter::Spare
        } else {
            wait::Waiter::Guest
        };
        wait::help(self.registry, who, ctx, target, scan_global)
    }

    fn watch(&self, latch: &Latch) {
        self.registry.watchers.watch(latch);
    }

    fn unwatch(&self, latch: &Latch) {
        self.registry.watchers.unwatch(latch);
    }

    fn blocked_elsewhere(&self, _blocked: bool) {}

    fn api(&self) -> &dyn crate::registry::PoolApi {
        self.registry
    }

    fn num_threads(&self) -> usize {
        self.registry.num_threads
    }

    fn report_panic(&self, panic: JobPanic) {
        self.registry.report_panic(panic);
    }

    fn worker_index(&self) -> Option<usize> {
        None
    }

    fn publish_target_is_empty(&self) -> bool {
        self.registry.queues.global_is_empty()
    }

    fn accepts_publication(&self) -> bool {
        !self.registry.terminate.load(Ordering::Relaxed)
    }
}
