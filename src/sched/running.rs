//! The top of the scheduling layer: starting a pool's threads, and the pool as the public
//! `Pool` handle drives it without knowing its backend ([`RunningPool`]).

use std::time::Duration;

use crate::backend::Queues;
use crate::job::JobRef;
use crate::metrics::Metrics;
use crate::sched::context::{Ctx, SharedPool};
use crate::sched::member::Membership;
use crate::sched::pool_id::PoolId;
use crate::sched::registry::{Config, Registry};
use crate::sched::role::Role;
use crate::sched::{spare, worker};
use crate::sync::{Arc, Ordering};

/// A running pool of either backend, as the public `Pool` handle drives it. The choice of
/// backend is made once, when `start` picks `Q`; the hot paths below are monomorphized.
pub(crate) trait RunningPool: Send + Sync {
    /// The pool's identity.
    fn id(&self) -> PoolId;
    fn num_threads(&self) -> usize;
    /// Pushes an outside submission into the shared queue. Callers check `is_closed`
    /// first (to hand a refused job back); a submission racing with `close` still runs.
    /// Returns whether it woke a parked worker.
    fn submit(&self, job: JobRef) -> bool;
    /// Runs `f` with a context of this pool on the current thread: one already on the
    /// thread's chain (a worker's own first), else a guest context for the call.
    fn with_ctx(&self, f: &mut dyn FnMut(&Ctx));
    fn metrics(&self) -> Metrics;
    fn add_handle(&self);
    /// Returns true when the handle released was the last one.
    fn release_handle(&self) -> bool;
    /// Refuses outside submissions from now on and tells the workers to exit once they
    /// find no work. Does not wait for them.
    fn close(&self);
    /// `close`, then waits until every worker and spare has exited (unless called from a
    /// worker of this pool).
    fn shutdown(&self);
    fn is_closed(&self) -> bool;
    /// The pool as any thread may reach it (broadcasts go through it).
    fn shared(&self) -> &dyn SharedPool;
}

/// Builds a pool's registry and starts its workers. If the OS refuses a thread, the
/// workers already started are shut down and the error says which index failed.
pub(crate) fn start<Q: Queues>(
    config: Config,
) -> Result<Arc<dyn RunningPool>, (usize, std::io::Error)> {
    crate::job::unwind::install_hook();
    let stack_size = config.stack_size;
    let (registry, locals, names) = Registry::<Q>::new(config, spare::maybe_start::<Q>);
    let registry = Arc::new(registry);
    for (index, (local, name)) in locals.into_iter().zip(names).enumerate() {
        let mut builder = std::thread::Builder::new().name(name);
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        let reg = Arc::clone(&registry);
        registry.live.fetch_add(1, Ordering::SeqCst);
        registry.looping.fetch_add(1, Ordering::SeqCst);
        match builder.spawn(move || worker::run(reg, index, local)) {
            Ok(handle) => registry.threads.lock().push(handle),
            Err(source) => {
                registry.looping.fetch_sub(1, Ordering::SeqCst);
                registry.live.fetch_sub(1, Ordering::SeqCst);
                registry.shutdown();
                return Err((index, source));
            }
        }
    }
    Ok(registry)
}

impl<Q: Queues> RunningPool for Registry<Q> {
    fn id(&self) -> PoolId {
        Registry::id(self)
    }

    fn num_threads(&self) -> usize {
        self.num_threads
    }

    fn submit(&self, job: JobRef) -> bool {
        Registry::submit(self, job)
    }

    fn with_ctx(&self, f: &mut dyn FnMut(&Ctx)) {
        match Ctx::of_pool(self.id()) {
            Some(ctx) => Ctx::run_in(ctx, |ctx| f(ctx)),
            None => {
                // A thread already inside some pool's work that enters this one waits in it
                // for what it forks: one more level of cross-pool nesting.
                let _nested = Ctx::current().is_some().then(Ctx::nest);
                let guest = Membership {
                    registry: self,
                    role: Role::Guest,
                };
                guest.enter(|ctx| f(ctx));
            }
        }
    }

    fn metrics(&self) -> Metrics {
        Registry::metrics(self)
    }

    fn add_handle(&self) {
        Registry::add_handle(self);
    }

    fn release_handle(&self) -> bool {
        Registry::release_handle(self)
    }

    fn close(&self) {
        Registry::close(self);
    }

    fn shutdown(&self) {
        Registry::close(self);
        // Join the workers, unless we are one of them or a spare (a thread cannot join
        // itself, nor wait for the spares while it is one; the others still exit on their
        // own, and a later call from outside joins them).
        if Ctx::own_thread_of(self.id()).is_some() {
            return;
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        for handle in threads {
            // A worker never unwinds (jobs are caught, scheduler code aborts instead), but a
            // start/exit handler may have panicked: that thread is gone either way.
            let _ = handle.join();
        }
        // Anyone parked late (a worker that announced sleep after wake_all) is covered by
        // the sleep protocol's re-check of `terminate`; wait for the counts to settle.
        while self.live.load(Ordering::SeqCst) != 0 || self.spares.load(Ordering::SeqCst) != 0 {
            self.sleep.wake_all();
            std::thread::sleep(Duration::from_micros(50));
        }
        // A submission that raced with `close` may have landed after the workers left.
        self.drain_stranded();
    }

    fn is_closed(&self) -> bool {
        Registry::is_closed(self)
    }

    fn shared(&self) -> &dyn SharedPool {
        self
    }
}
