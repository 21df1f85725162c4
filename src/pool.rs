//! `Pool`: the public handle. Cheap to clone; the last handle dropped closes the pool.

use std::fmt;

use crate::builder::Backend;
use crate::error::SpawnError;
use crate::fanout::capacity::{self, Capacity, TrySpawnError};
use crate::job::unwind;
use crate::job::{HeapJob, InlineJob, JobRef, Kind, StackJob, detached_header};
use crate::metrics::Metrics;
use crate::sched::context::Ctx;
use crate::sched::running::RunningPool;
use crate::sched::target::Target;
use crate::sched::wait;
use crate::scope::Scope;
use crate::scope_fifo::{self, ScopeFifo};
use crate::sync::Arc;
use crate::{fifo, join, join_context, scope};

/// A pool of worker threads. See the [crate docs](crate) for the model.
///
/// `Pool` is a handle: clones share one pool.
///
/// # Ending a pool: drop or `shutdown`
/// - **Dropping the last handle** closes the pool and returns at once: outside submissions
///   are refused from then on, and the workers finish every queued and running job (and
///   whatever those spawn), then exit on their own. No thread outlives its work and none is
///   leaked, but the drop does not wait for them, so a job may still be waiting for
///   something the dropping thread does next (a message on a channel, say) without a
///   deadlock. Dropping the last handle from inside one of the pool's own jobs works too.
///   This is rayon-core's behaviour for a dropped `ThreadPool`.
/// - **[`shutdown`](Pool::shutdown)** does the same and then *blocks* until every worker
///   has exited (its exit handler has run). Call it where you need the threads gone, in a
///   test that counts threads, for instance.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let (a, b) = pool.join(|| 1 + 1, || 2 + 2);
/// assert_eq!((a, b), (2, 4));
/// let total: u64 = pool.install(|| {
///     let (x, y) = skewer::join(|| (0..1000u64).sum::<u64>(), || (1000..2000u64).sum::<u64>());
///     x + y
/// });
/// assert_eq!(total, (0..2000).sum());
/// ```
pub struct Pool {
    running: Arc<dyn RunningPool>,
    backend: Backend,
    /// The bound on outside submissions (`Builder::queue_capacity`), shared by all handles.
    capacity: Option<Arc<Capacity>>,
}

impl Pool {
    pub(crate) fn from_running(
        running: Arc<dyn RunningPool>,
        backend: Backend,
        capacity: Option<Capacity>,
    ) -> Pool {
        Pool {
            running,
            backend,
            capacity: capacity.map(Arc::new),
        }
    }

    /// The running pool behind this handle.
    pub(crate) fn running(&self) -> &dyn RunningPool {
        &*self.running
    }

    /// Runs `f` once with a context of this pool on the current thread (see
    /// `RunningPool::with_ctx`: the thread's own if it has one, else a guest context).
    fn in_ctx<R>(&self, f: impl FnOnce(&Ctx) -> R) -> R {
        let mut f = Some(f);
        let mut out = None;
        self.running.with_ctx(&mut |ctx| {
            if let Some(f) = f.take() {
                out = Some(f(ctx));
            }
        });
        out.expect("with_ctx runs its closure")
    }

    /// Spawns a detached `'static` job. Its panic, if any, goes to the panic handler (or is
    /// counted and reported once), never to the caller.
    ///
    /// From outside the pool the job goes to the shared queue; from a worker, also to the
    /// shared queue (a detached job belongs to no one's wait).
    ///
    /// # Errors
    /// After [`shutdown`](Pool::shutdown), a spawn from outside the pool is refused and the
    /// job is handed back in the [`SpawnError`]. Spawns from the pool's own jobs are still
    /// accepted while it drains.
    ///
    /// # Examples
    /// ```
    /// use std::sync::mpsc;
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// for i in 0..4 {
    ///     let tx = tx.clone();
    ///     pool.spawn(move || tx.send(i * i).unwrap()).unwrap();
    /// }
    /// drop(tx);
    /// let mut squares: Vec<i32> = rx.iter().collect();
    /// squares.sort();
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// ```
    pub fn spawn<F>(&self, job: F) -> Result<(), SpawnError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        // Only the pool's own threads (workers and spares) bypass the shutdown check: a
        // guest (a thread inside `Pool::join`/`Pool::scope` from outside) submits from
        // outside.
        if let Some(ctx) = Ctx::own_thread_of(self.running.id()) {
            // A push needs the worker's membership, not its context made current.
            // SAFETY: contexts on the chain outlive the call that found them.
            unsafe { &*ctx }.member().push_detached(detached_job(job));
            return Ok(());
        }
        if self.running.is_closed() {
            return Err(SpawnError::new(job));
        }
        match &self.capacity {
            None => self.running.submit(detached_job(job)),
            Some(capacity) => match capacity.acquire(true) {
                Ok(()) => self
                    .running
                    .submit(detached_job(capacity::counted(capacity, job))),
                Err(_) => return Err(SpawnError::new(job)),
            },
        };
        Ok(())
    }

    /// Spawns a detached `'static` job that starts after every job this thread spawned
    /// into this pool with `spawn_fifo` before it (rayon-core's guarantee: FIFO relative to
    /// the same thread's FIFO spawns, not a global order; several workers may run such
    /// jobs at the same time). Panics are handled as for [`spawn`](Pool::spawn).
    ///
    /// Plain [`spawn`](Pool::spawn) already puts its job in the shared queue, which hands
    /// out jobs roughly oldest first; `spawn_fifo` makes the order a guarantee. The queues
    /// alone do not keep it: a batch of jobs taken from the shared queue by one worker sits
    /// in that worker's deque while later jobs are taken by others (or by the same worker,
    /// which looks at the shared queue now and then), and a waiting thread that takes a job
    /// it may not run puts it back at the end. So the job waits in a lane of this thread
    /// and the queue gets an indirection that runs the lane's oldest job: an allocation, a
    /// reference count and two short lock operations more than `spawn`.
    ///
    /// # Errors
    /// As [`spawn`](Pool::spawn): after [`shutdown`](Pool::shutdown) a spawn from outside
    /// the pool is refused and the job handed back.
    ///
    /// # Examples
    /// ```
    /// use std::sync::mpsc;
    /// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// for i in 0..5 {
    ///     let tx = tx.clone();
    ///     pool.spawn_fifo(move || tx.send(i).unwrap()).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    /// ```
    pub fn spawn_fifo<F>(&self, job: F) -> Result<(), SpawnError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        // As `spawn`, but the closed check comes before the job enters its lane, and the
        // indirection is then pushed unconditionally: a lane never holds a job whose
        // indirection was refused.
        let worker = Ctx::own_thread_of(self.running.id());
        if worker.is_none() && self.running.is_closed() {
            return Err(SpawnError::new(job));
        }
        let indirection = detached_job(fifo::detached(self.running.id(), job));
        match worker {
            // SAFETY: contexts on the chain outlive the call that found them.
            Some(ctx) => unsafe { &*ctx }.member().push_detached(indirection),
            // A submission racing with `shutdown` still runs (see `RunningPool::submit`).
            None => {
                self.running.submit(indirection);
            }
        }
        Ok(())
    }

    /// [`spawn`](Pool::spawn) that never blocks: with a
    /// [`queue_capacity`](crate::Builder::queue_capacity), a full queue hands the job
    /// back. Spawns from the pool's own workers are never refused for capacity.
    ///
    /// # Errors
    /// [`TrySpawnError`], holding the job unrun: [`is_full`](TrySpawnError::is_full) when
    /// `queue_capacity` jobs submitted from outside wait to start,
    /// [`is_shut_down`](TrySpawnError::is_shut_down) after shutdown.
    ///
    /// # Examples
    /// ```
    /// use std::sync::mpsc;
    /// let pool = skewer::Pool::builder().num_threads(1).queue_capacity(1).build().unwrap();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started, running) = mpsc::channel();
    /// pool.spawn(move || { started.send(()).unwrap(); gate.recv().unwrap(); }).unwrap();
    /// running.recv().unwrap(); // the only worker is busy
    /// pool.try_spawn(|| ()).unwrap(); // one job may wait
    /// let (tx, rx) = mpsc::channel();
    /// let refused = pool.try_spawn(move || tx.send("handed back").unwrap()).unwrap_err();
    /// assert!(refused.is_full());
    /// refused.into_inner()(); // run it here instead
    /// assert_eq!(rx.recv().unwrap(), "handed back");
    /// release.send(()).unwrap();
    /// ```
    pub fn try_spawn<F>(&self, job: F) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        if Ctx::own_thread_of(self.running.id()).is_some() {
            return self
                .spawn(job)
                .map_err(|refused| TrySpawnError::shut_down(refused.into_inner()));
        }
        if self.running.is_closed() {
            return Err(TrySpawnError::shut_down(job));
        }
        match &self.capacity {
            None => self.running.submit(detached_job(job)),
            Some(capacity) => match capacity.acquire(false) {
                Ok(()) => self
                    .running
                    .submit(detached_job(capacity::counted(capacity, job))),
                Err(capacity::Refused::Full) => return Err(TrySpawnError::full(job)),
                Err(capacity::Refused::Closed) => return Err(TrySpawnError::shut_down(job)),
            },
        };
        Ok(())
    }

    /// The `queue_capacity` this pool was built with, if any.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().queue_capacity(64).build().unwrap();
    /// assert_eq!(pool.queue_capacity(), Some(64));
    /// ```
    pub fn queue_capacity(&self) -> Option<usize> {
        self.capacity.as_ref().map(|c| c.limit())
    }

    /// How many jobs spawned from outside the pool wait to start (counted only with a
    /// `queue_capacity`; 0 without one).
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().queue_capacity(8).build().unwrap();
    /// assert_eq!(pool.waiting_submissions(), 0);
    /// ```
    pub fn waiting_submissions(&self) -> usize {
        self.capacity.as_ref().map_or(0, |c| c.waiting())
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results.
    ///
    /// On a worker of this pool, `a` runs right away and `b` waits as a private fork that an
    /// idle worker can take; called from outside, the calling thread does the same and takes
    /// part in the work until both halves are done. If either panics, the panic is re-raised
    /// here once both have finished (`a`'s first, if both did).
    ///
    /// # Examples
    /// ```
    /// fn fib(pool: &skewer::Pool, n: u64) -> u64 {
    ///     if n < 2 { return n; }
    ///     let (a, b) = pool.join(|| fib(pool, n - 1), || fib(pool, n - 2));
    ///     a + b
    /// }
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// assert_eq!(fib(&pool, 20), 6765);
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.in_ctx(|ctx| join::join_in(ctx, a, b))
    }

    /// `join` with a [`FnContext`](crate::FnContext) for each closure (the free
    /// `join_context` outside any pool).
    pub(crate) fn join_context<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(crate::FnContext) -> RA + Send,
        B: FnOnce(crate::FnContext) -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.in_ctx(|ctx| join_context::join_context_in(ctx, a, b))
    }

    /// Creates a [`Scope`] whose jobs may borrow from the caller's stack, runs `op` in it,
    /// and returns once every job spawned in it has finished. A panic in `op` or in any
    /// job is re-raised here after all of them finished.
    ///
    /// `op` runs on the calling thread (a worker of this pool, or a guest thread that then
    /// helps with the scope's jobs while it waits).
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let mut chunks = vec![vec![1, 2], vec![3, 4, 5]];
    /// pool.scope(|s| {
    ///     for chunk in chunks.iter_mut() {
    ///         s.spawn(move |_| chunk.iter_mut().for_each(|x| *x *= 10));
    ///     }
    /// });
    /// assert_eq!(chunks, [vec![10, 20], vec![30, 40, 50]]);
    /// ```
    pub fn scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&Scope<'scope>) -> R + Send,
        R: Send,
    {
        self.in_place_scope(op)
    }

    /// [`scope`](Pool::scope) with a [`ScopeFifo`]: each thread's
    /// [`spawn_fifo`](ScopeFifo::spawn_fifo) jobs start in the order it spawned them. `op`
    /// runs on the calling thread, as for `scope`.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Mutex;
    /// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// let order = Mutex::new(Vec::new());
    /// pool.install(|| {
    ///     pool.scope_fifo(|s| {
    ///         for i in 0..4 {
    ///             let order = &order;
    ///             s.spawn_fifo(move |_| order.lock().unwrap().push(i));
    ///         }
    ///     })
    /// });
    /// assert_eq!(order.into_inner().unwrap(), [0, 1, 2, 3]);
    /// ```
    pub fn scope_fifo<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&ScopeFifo<'scope>) -> R + Send,
        R: Send,
    {
        self.in_place_scope_fifo(op)
    }

    /// [`scope`](Pool::scope) under rayon-core's name for a scope whose body runs on the
    /// calling thread. `Pool::scope` already does: see
    /// [`in_place_scope`](crate::in_place_scope) for what that means. As in rayon-core,
    /// neither the body nor its result need be `Send`.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let caller = std::thread::current().id();
    /// let mut ran_on = None;
    /// pool.in_place_scope(|s| {
    ///     ran_on = Some(std::thread::current().id());
    ///     s.spawn(|_| {});
    /// });
    /// assert_eq!(ran_on, Some(caller));
    /// ```
    pub fn in_place_scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&Scope<'scope>) -> R,
    {
        self.in_ctx(|ctx| scope::scope_in(ctx, op))
    }

    /// [`scope_fifo`](Pool::scope_fifo) under rayon-core's name for a FIFO scope whose body
    /// runs on the calling thread, which `Pool::scope_fifo` already does.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let caller = std::thread::current().id();
    /// let ran_on = pool.in_place_scope_fifo(|s| {
    ///     s.spawn_fifo(|_| {});
    ///     std::thread::current().id()
    /// });
    /// assert_eq!(ran_on, caller);
    /// ```
    pub fn in_place_scope_fifo<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&ScopeFifo<'scope>) -> R,
    {
        self.in_ctx(|ctx| scope_fifo::scope_fifo_in(ctx, op))
    }

    /// Runs `op` on a worker thread of this pool and returns its result; `skewer::join`,
    /// `skewer::scope` and `skewer::spawn` inside it use this pool. A panic in `op` is
    /// re-raised here.
    ///
    /// Who runs what, by the calling thread:
    /// - **A worker of this pool** (also one inside another pool's `join`/`scope`/`install`
    ///   called from this pool's work): `op` runs in place.
    /// - **A thread inside another pool's work** (a worker of pool A calling `B.install`,
    ///   or a thread taking part in `A.join`): `op` goes to this pool, and the caller waits
    ///   *by helping*: it runs work of every pool it belongs to that descends from `op`
    ///   (say, a job that `op` sends back into A with `A.install`), and never unrelated
    ///   work, so pools compose without deadlock (A->B->A) and a waiter that holds a lock
    ///   cannot pick up a job that takes it. A thread that takes part in this pool only as
    ///   a guest never runs `op` (nor any other `install` body): `op` runs on a worker, or
    ///   on a spare thread standing in for blocked workers (below).
    /// - **Any other thread**: `op` goes to this pool and the caller blocks until it ran.
    ///
    /// If every worker of a pool waits on other pools like this while the pool holds
    /// queued work that none of their waits depends on (two independent roots crossing
    /// two pools in opposite directions, say), the pool starts a spare thread that runs
    /// that work; [`Metrics::spares_started`](crate::Metrics::spares_started) counts them.
    ///
    /// Cross-pool calls may nest (A's job installs into B, whose job installs into A, ...)
    /// up to [`MAX_CROSS_POOL_NESTING`](crate::MAX_CROSS_POOL_NESTING) levels on one
    /// thread; one more panics with a message that names the limit.
    ///
    /// After [`shutdown`](Pool::shutdown), `op` runs on the calling thread instead.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let index = pool.install(|| skewer::current_thread_index());
    /// assert!(index.unwrap() < 2);
    /// assert_eq!(skewer::current_thread_index(), None); // the caller is not a worker
    ///
    /// // Pools compose: a job of `a` waits in `b.install` while `b` calls back into `a`.
    /// let a = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// let b = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// assert_eq!(a.install(|| b.install(|| a.install(|| 1) + 1)), 2);
    /// ```
    pub fn install<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        if let Some(ctx) = Ctx::worker_of(self.running.id()) {
            return Ctx::run_in(ctx, |_| op());
        }
        if self.running.is_closed() {
            return op();
        }
        // The job descends from whatever the caller is running (in any pool), so a waiter
        // of that work recognises what `op` sends back as its own.
        let current = Ctx::current();
        // SAFETY: the current context outlives this call.
        let parent = current.map_or(std::ptr::null(), |ctx| unsafe { &*ctx }.frame());
        let job = StackJob::install(parent, op);
        match current {
            Some(ctx) => {
                let nested = Ctx::nest();
                // SAFETY: `job` stays in this frame until its latch is set: we wait for it
                // right below (nothing between can unwind).
                self.running.submit(unsafe { job.as_job_ref() });
                // SAFETY: the current context outlives this call.
                wait::wait(unsafe { &*ctx }, Target::install(job.header()), &job.latch);
                drop(nested);
            }
            None => {
                // SAFETY: as above.
                let woke = self.running.submit(unsafe { job.as_job_ref() });
                // A thread outside every pool has nothing to help with: it spins a little
                // if a worker was awake to take the job, then blocks.
                wait::wait_outside(&job.latch, woke);
            }
        }
        job.into_result().into_return_value()
    }

    /// The number of worker threads.
    pub fn current_num_threads(&self) -> usize {
        self.running.num_threads()
    }

    /// The index of the current thread among this pool's workers (`0..current_num_threads()`),
    /// or `None` when it is not one of them: a thread outside every pool, a worker of
    /// another pool, a thread taking part in this pool's `join` or `scope` from outside,
    /// or a spare thread standing in for blocked workers (see [`install`](Pool::install)).
    /// The free function [`current_thread_index`](crate::current_thread_index) answers for
    /// whatever pool the thread is working in.
    ///
    /// # Examples
    /// ```
    /// let a = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let b = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// assert_eq!(a.current_thread_index(), None);
    /// assert!(a.install(|| a.current_thread_index()).is_some_and(|i| i < 2));
    /// // A worker of `a` is not a worker of `b`.
    /// assert_eq!(a.install(|| b.current_thread_index()), None);
    /// ```
    pub fn current_thread_index(&self) -> Option<usize> {
        let id = self.running.id();
        Ctx::find_on_chain(|ctx| {
            if ctx.pool() == id {
                ctx.member().worker_index()
            } else {
                None
            }
        })
    }

    /// The backend this pool runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A snapshot of the pool's counters and queue depths.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// pool.scope(|s| for _ in 0..10 { s.spawn(|_| {}); });
    /// assert_eq!(pool.metrics().total.jobs_executed, 10);
    /// ```
    pub fn metrics(&self) -> Metrics {
        let mut metrics = self.running.metrics();
        metrics.backend = self.backend;
        metrics
    }

    /// Stops taking outside submissions, lets the workers finish every queued and nested
    /// job, and blocks until every worker thread has exited (its exit handler included).
    /// Idempotent. Called from one of the pool's own workers it does not wait (a thread
    /// cannot join itself): the workers still drain and exit, and a later call from
    /// outside joins them.
    ///
    /// Unlike dropping the last handle, this waits: a job that waits for something the
    /// caller does only after `shutdown` returns makes it wait forever.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let done = done.clone();
    ///     pool.spawn(move || { done.fetch_add(1, std::sync::atomic::Ordering::SeqCst); }).unwrap();
    /// }
    /// pool.shutdown();
    /// assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 100);
    /// assert_eq!(pool.metrics().live_workers, 0);
    /// ```
    pub fn shutdown(&self) {
        if let Some(capacity) = &self.capacity {
            capacity.close();
        }
        self.running.shutdown();
    }

    /// Whether [`shutdown`](Pool::shutdown) was called (or the last other handle dropped).
    pub fn is_shut_down(&self) -> bool {
        self.running.is_closed()
    }
}

/// Wraps a detached job: its panic goes to the pool's panic policy. A closure of up to three
/// words travels inside the `JobRef` (no allocation); a larger one is boxed.
pub(crate) fn detached_job<F: FnOnce() + Send + 'static>(job: F) -> JobRef {
    fn run<F: FnOnce()>(job: F) {
        let worker = || Ctx::with_current(|ctx| ctx.and_then(|c| c.member().worker_index()));
        if let Err(panic) = unwind::catch_detached(job, worker) {
            Ctx::with_current(|ctx| match ctx {
                Some(ctx) => ctx.member().report_panic(panic),
                None => eprintln!("skewer: {panic}"),
            });
        }
    }
    if InlineJob::fits::<F>() {
        // SAFETY: `job` is 'static, so it borrows nothing that could go away; the static
        // header lives forever.
        unsafe { InlineJob::into_job_ref(detached_header(), move |_| run(job)) }
    } else {
        // SAFETY: as above.
        unsafe { HeapJob::into_job_ref(std::ptr::null(), Kind::Detached, move || run(job)) }
    }
}

/// Pushes a detached job from the current context (free `spawn` on a pool thread).
pub(crate) fn spawn_in(ctx: &Ctx, job: impl FnOnce() + Send + 'static) {
    ctx.member().push_detached(detached_job(job));
}

impl Clone for Pool {
    fn clone(&self) -> Self {
        self.running.add_handle();
        Pool {
            running: Arc::clone(&self.running),
            backend: self.backend,
            capacity: self.capacity.clone(),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // The last handle closes the pool without waiting: a job still running may wait
        // for something the dropping thread does next (rayon-core keeps its pool alive the
        // same way). The workers finish every queued and running job, then exit.
        if self.running.release_handle() {
            if let Some(capacity) = &self.capacity {
                capacity.close();
            }
            self.running.close();
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("backend", &self.backend())
            .field("num_threads", &self.current_num_threads())
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}
