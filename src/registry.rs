//! The registry: everything a pool shares between its threads, and the pool's lifecycle
//! (start, outside submission, shutdown, metrics, the panic policy).
//!
//! `Registry<Q>` is generic over the backend's queues; the public [`Pool`](crate::Pool)
//! holds it as `Arc<dyn PoolApi>`, so the choice of backend is made once, at build time.

use std::collections::HashSet;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::Backend;
use crate::anchor::AnchorSlot;
use crate::backend::queue::{Injector, Steal};
use crate::backend::{Queues, Tuning};
use crate::context::Ctx;
use crate::error::BuildError;
use crate::job::JobRef;
use crate::metrics::{Metrics, PoolCounters};
use crate::sleep::Sleep;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::unwind::JobPanic;
use crate::watchers::Watchers;
use crate::{guest, worker};

pub(crate) type PanicHandler = dyn Fn(JobPanic) + Send + Sync;
pub(crate) type ThreadHandler = dyn Fn(usize) + Send + Sync;

/// What the builder hands to the registry.
pub(crate) struct Config {
    pub(crate) num_threads: usize,
    pub(crate) backend: Backend,
    pub(crate) tuning: Tuning,
    pub(crate) thread_names: Vec<String>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) panic_handler: Option<Box<PanicHandler>>,
    pub(crate) start_handler: Option<Box<ThreadHandler>>,
    pub(crate) exit_handler: Option<Box<ThreadHandler>>,
}

/// The shared state of one pool.
pub(crate) struct Registry<Q: Queues> {
    pub(crate) queues: Q,
    pub(crate) sleep: Sleep,
    pub(crate) anchors: Vec<CachePadded<AnchorSlot>>,
    /// Jobs a waiter stole while their worker's anchor changed (see `wait.rs`): they may
    /// belong to anyone. Normally empty; waiters and searching workers look here first.
    relocated: Injector<JobRef>,
    /// Threads blocked in a wait that want a poke when work arrives (see `watchers.rs`).
    pub(crate) watchers: Watchers,
    pub(crate) counters: PoolCounters,
    pub(crate) num_threads: usize,
    backend: Backend,
    /// Set by `shutdown`: outside submissions are refused from then on. A submission that
    /// raced with it and finds it set after pushing drains the shared queue itself (see
    /// `submit`), so an accepted job is never stranded.
    closed: AtomicBool,
    /// Set by `shutdown` after `closed`: workers exit when they find no work.
    pub(crate) terminate: AtomicBool,
    /// Worker threads that have not exited yet.
    pub(crate) live: AtomicUsize,
    /// Workers blocked in a wait on another pool (see `spare.rs`).
    pub(crate) blocked_elsewhere: AtomicUsize,
    /// Spare threads that have not exited yet.
    pub(crate) spares: AtomicUsize,
    /// Spare threads looking for work (not running a job).
    pub(crate) spares_looking: AtomicUsize,
    /// The name of spare threads.
    pub(crate) spare_name: String,
    /// The stack size of workers and spares.
    pub(crate) stack_size: Option<usize>,
    /// `Pool` handles alive; the last one to go shuts the pool down.
    handles: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
    panic_handler: Option<Box<PanicHandler>>,
    pub(crate) start_handler: Option<Box<ThreadHandler>>,
    pub(crate) exit_handler: Option<Box<ThreadHandler>>,
    reported: Mutex<HashSet<String>>,
}

/// The backend-independent face of a registry, used by `Pool`.
pub(crate) trait PoolApi: Send + Sync {
    fn id(&self) -> *const ();
    fn backend(&self) -> Backend;
    fn num_threads(&self) -> usize;
    /// Pushes an outside submission into the shared queue. Callers check `is_closed`
    /// first (to hand a refused job back); a submission racing with `shutdown` still runs.
    fn submit(&self, job: JobRef);
    /// Runs `f` with a context of this pool on the current thread: the worker's own when the
    /// thread is one of this pool's workers, else a guest context for the call.
    fn with_ctx(&self, f: &mut dyn FnMut(&Ctx));
    fn metrics(&self) -> Metrics;
    fn add_handle(&self);
    /// Returns true when the handle released was the last one.
    fn release_handle(&self) -> bool;
    /// Refuses outside submissions from now on and tells the workers to exit once they
    /// find no work. Does not wait for them.
    fn close(&self);
    /// `close`, then waits until every worker has exited (unless called from one).
    fn shutdown(&self);
    fn is_closed(&self) -> bool;
}

impl<Q: Queues> Registry<Q> {
    /// Builds the registry and starts its workers.
    pub(crate) fn start(config: Config) -> Result<Arc<dyn PoolApi>, BuildError> {
        crate::unwind::install_hook();
        let n = config.num_threads;
        let (queues, locals) = Q::new(n, config.tuning);
        let registry = Arc::new(Registry {
            queues,
            sleep: Sleep::new(n),
            anchors: (0..n).map(|_| CachePadded::default()).collect(),
            relocated: Injector::new(),
            watchers: Watchers::default(),
            counters: PoolCounters::new(n),
            num_threads: n,
            backend: config.backend,
            closed: AtomicBool::new(false),
            terminate: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            blocked_elsewhere: AtomicUsize::new(0),
            spares: AtomicUsize::new(0),
            spares_looking: AtomicUsize::new(0),
            spare_name: config
                .thread_names
                .first()
                .map_or_else(|| "skewer-spare".to_string(), |n| format!("{n}-spare")),
            stack_size: config.stack_size,
            handles: AtomicUsize::new(1),
            threads: Mutex::new(Vec::with_capacity(n)),
            panic_handler: config.panic_handler,
            start_handler: config.start_handler,
            exit_handler: config.exit_handler,
            reported: Mutex::new(HashSet::new()),
        });
        for (index, (local, name)) in locals.into_iter().zip(config.thread_names).enumerate() {
            let mut builder = std::thread::Builder::new().name(name);
            if let Some(size) = config.stack_size {
                builder = builder.stack_size(size);
            }
            let reg = Arc::clone(&registry);
            registry.live.fetch_add(1, Ordering::SeqCst);
            match builder.spawn(move || worker::run(reg, index, local)) {
                Ok(handle) => registry.threads.lock().push(handle),
                Err(source) => {
                    registry.live.fetch_sub(1, Ordering::SeqCst);
                    registry.shutdown();
                    return Err(BuildError::thread_spawn(index, source));
                }
            }
        }
        Ok(registry)
    }

    /// Identity of this registry, compared against a context's.
    pub(crate) fn identity(&self) -> *const () {
        self as *const Self as *const ()
    }

    /// Pushes a job into the shared queue from `counters`' owner and wakes a worker.
    pub(crate) fn push_global(&self, job: JobRef, row: Option<usize>) {
        self.queues.push_global(job);
        let count = match row {
            Some(i) => {
                let c = &self.counters.workers[i].injected;
                c.add_owned(1);
                c.get()
            }
            None => self.counters.outside.injected.add_shared(1),
        };
        // Sample the shared queue's depth every 16 pushes of a row: `len` is not free.
        if count.is_multiple_of(16) {
            self.counters
                .max_injector_depth
                .raise_to(self.queues.global_len() as u64);
        }
        self.sleep.notify_work();
        self.watchers.poke_all();
    }

    /// Parks a job whose owner is unknown where every waiter and searcher looks.
    pub(crate) fn relocate(&self, job: JobRef) {
        self.relocated.push(job);
        self.sleep.notify_work();
        self.watchers.poke_all();
    }

    /// Puts back a job a waiter took from the shared queue and may not run. Not new work:
    /// it wakes a sleeper for it but pokes no watcher (a watcher that put it back would
    /// otherwise poke itself awake, over and over).
    pub(crate) fn put_back_global(&self, job: JobRef) {
        self.queues.push_global(job);
        self.sleep.notify_work();
    }

    /// As `put_back_global`, for a job taken from the relocation queue.
    pub(crate) fn put_back_relocated(&self, job: JobRef) {
        self.relocated.push(job);
        self.sleep.notify_work();
    }

    /// Takes a relocated job, if any.
    pub(crate) fn pop_relocated(&self) -> Option<JobRef> {
        if self.relocated.is_empty() {
            return None;
        }
        loop {
            match self.relocated.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => crate::sync::spin_hint(),
            }
        }
    }

    /// Whether any queue, the relocation queue included, holds a job.
    pub(crate) fn has_work(&self) -> bool {
        !self.relocated.is_empty() || self.queues.has_work()
    }

    /// Applies the panic policy to a detached job's panic.
    pub(crate) fn report_panic(&self, panic: JobPanic) {
        match panic.worker() {
            Some(i) => self.counters.workers[i].panics.add_owned(1),
            None => {
                self.counters.outside.panics.add_shared(1);
            }
        }
        if let Some(handler) = &self.panic_handler {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(panic)));
            if caught.is_err() {
                eprintln!("skewer: the pool's panic handler panicked; the panic was dropped");
            }
            return;
        }
        let key = panic.location().unwrap_or("<unknown location>").to_string();
        if self.reported.lock().insert(key) {
            eprintln!(
                "skewer: {panic} (reported once per location; Pool::metrics counts every panic)"
            );
        }
    }

    /// Runs, on the calling thread, every job left in the shared queue once the workers may
    /// be gone: a submission that raced with `shutdown` is not stranded.
    fn drain_stranded(&self) {
        crate::sync::fence(Ordering::SeqCst);
        while let Some(job) = self.queues.pop_global() {
            self.counters.outside.jobs_executed.add_shared(1);
            // SAFETY: taken out of the queue: this is its only execution.
            unsafe { job.execute() };
        }
    }

    fn join_threads(&self) {
        let threads = std::mem::take(&mut *self.threads.lock());
        for handle in threads {
            // A worker never unwinds (jobs are caught, scheduler code aborts instead), but a
            // start/exit handler may have panicked: that thread is gone either way.
            let _ = handle.join();
        }
    }

    fn on_worker_thread(&self) -> bool {
        Ctx::worker_of(self.identity()).is_some()
    }
}

impl<Q: Queues> PoolApi for Registry<Q> {
    fn id(&self) -> *const () {
        self.identity()
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    fn num_threads(&self) -> usize {
        self.num_threads
    }

    fn submit(&self, job: JobRef) {
        // The push, then `notify_work`'s SeqCst fence, then the look at `closed`. Against
        // `shutdown`'s store of `closed`, fence, and final drain: either this load sees
        // `closed` set, or the drain sees the job (the two fences are ordered).
        self.push_global(job, None);
        if self.closed.load(Ordering::SeqCst) {
            self.drain_stranded();
        }
    }

    fn with_ctx(&self, f: &mut dyn FnMut(&Ctx)) {
        match Ctx::of_pool(self.identity()) {
            Some(ctx) => Ctx::run_in(ctx, |ctx| f(ctx)),
            None => {
                // A thread already inside some pool's work that enters this one waits in it
                // for what it forks: one more level of cross-pool nesting.
                let _nested = Ctx::current().is_some().then(Ctx::nest);
                guest::run(self, f);
            }
        }
    }

    fn metrics(&self) -> Metrics {
        self.counters.snapshot(
            self.queues.global_len(),
            self.queues.local_lens(),
            self.live.load(Ordering::SeqCst),
        )
    }

    fn add_handle(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    fn release_handle(&self) -> bool {
        self.handles.fetch_sub(1, Ordering::AcqRel) == 1
    }

    fn close(&self) {
        // 1. Refuse new outside submissions.
        self.closed.store(true, Ordering::SeqCst);
        // 2. Workers drain every queue (nested work included), then exit when they find
        //    nothing. Sleepers are woken so they can see the flag.
        self.terminate.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    fn shutdown(&self) {
        self.close();
        // 3. Join the workers, unless we are one of them (a worker cannot join itself; the
        //    others still exit on their own, and a later call from outside joins them).
        if self.on_worker_thread() {
            return;
        }
        self.join_threads();
        // Anyone parked late (a worker that announced sleep after wake_all) is covered by
        // the sleep protocol's re-check of `terminate`; wait for the count to settle.
        while self.live.load(Ordering::SeqCst) != 0 || self.spares.load(Ordering::SeqCst) != 0 {
            self.sleep.wake_all();
            std::thread::sleep(Duration::from_micros(50));
        }
        // 4. A submission that raced with step 1 may have landed after the workers left.
        self.drain_stranded();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}
