//! Scoped spawning: jobs that may borrow from the caller's stack, all finished before
//! `scope` returns.

use std::any::Any;
use std::marker::PhantomData;

use crossbeam_utils::CachePadded;

use crate::fifo::Lane;
use crate::job::latch::CountLatch;
use crate::job::{Header, HeapJob, InlineJob, Kind};
use crate::sched::context::{Ctx, SharedPool};
use crate::sched::pool_id::PoolId;
use crate::sched::target::Target;
use crate::sched::wait;
use crate::sync::Mutex;

/// A scope in which jobs that borrow from the enclosing stack frame can be spawned.
///
/// Created by [`Pool::scope`](crate::Pool::scope) or [`scope`](crate::scope). Every job
/// spawned in it, directly or from other jobs of the scope, has finished when `scope`
/// returns. If the scope's body or any of them panicked, a panic is re-raised in the
/// caller after all of them finished: the body's if it panicked, else the first job panic
/// recorded (rayon-core keeps whichever of them came first).
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let mut left = 0;
/// let mut right = 0;
/// let words = ["a", "bb", "ccc"];
/// pool.scope(|s| {
///     s.spawn(|_| left = words.iter().map(|w| w.len()).sum());
///     s.spawn(|s| {
///         s.spawn(|_| {}); // nested spawns belong to the same scope
///         right = words.len();
///     });
/// });
/// assert_eq!((left, right), (6, 3));
/// ```
#[repr(C)]
pub struct Scope<'scope> {
    /// First field: a scope's inline jobs carry a pointer to it and recover the scope.
    header: Header,
    /// On its own cache lines: the count is written at every spawn and by every thread
    /// that finishes one of the scope's jobs, while every thread that starts one reads the
    /// header above. Sharing a line, each job start missed in the cache: on 200 000 jobs of
    /// 60 ns spawned into one scope on 2 workers, 75% of the worker main loop's samples sat
    /// on that first read of the header.
    latch: CachePadded<CountLatch>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// The pool's shared queue; alive as long as the scope (the scope lives inside a call
    /// on the pool).
    pool: *const dyn SharedPool,
    /// That pool's identity, kept to compare with the spawning thread's context without a
    /// call through `pool`.
    pool_id: PoolId,
    /// FIFO lanes (see `fifo.rs`): none for a plain scope; for a `ScopeFifo`, one per
    /// worker of the pool and a last one for every other thread.
    lanes: Box<[Lane<LaneJob<'scope>>]>,
    /// Invariant in `'scope`, as for `std::thread::Scope`.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

// SAFETY: a `Scope` is shared with the jobs it runs on other threads. Its fields are a
// count latch (atomics and a `Sync` latch), mutexes (the lanes' mutexes hold `Send` jobs),
// a pointer to the pool's shared queue (`SharedPool: Sync`, alive as long as the scope,
// see `Scope::pool`), the pool's identity (a plain value), and the header, which is
// immutable and only compared or read (as a parent pointer) while the scope is alive.
unsafe impl Sync for Scope<'_> {}
// SAFETY: as above; moving a scope between threads moves no thread-bound state.
unsafe impl Send for Scope<'_> {}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

impl<'scope> Scope<'scope> {
    /// Spawns `job` into the scope. It may borrow anything that outlives the scope, and it
    /// receives the scope so it can spawn more.
    ///
    /// On a worker the job goes to that worker's own deque (others steal it from there);
    /// from outside the pool it goes to the shared queue. Spawning into a scope never fails,
    /// even after the pool was shut down: the scope's caller then runs the jobs itself.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let count = AtomicUsize::new(0);
    /// skewer::scope(|s| {
    ///     for _ in 0..10 {
    ///         s.spawn(|_| { count.fetch_add(1, Ordering::Relaxed); });
    ///     }
    /// });
    /// assert_eq!(count.into_inner(), 10);
    /// ```
    pub fn spawn<F>(&self, job: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        let scope = ScopePtr(self as *const Scope<'scope>);
        let job_ref = if InlineJob::fits::<F>() {
            // The job travels inside its `JobRef`, with the scope's header as its own. The
            // header pointer is derived from the whole scope, so it can be turned back.
            let body = move |header: *const Header| {
                // SAFETY: `header` is `self.header_ptr()`, a pointer to the whole scope,
                // which outlives its jobs: `scope` does not return before the count latch
                // reaches zero, and it holds a unit for this job (added below, or held
                // for it by the spawning thread's settlement) until the job has finished.
                unsafe { Scope::run_job(header.cast::<Scope<'scope>>(), job) };
            };
            // SAFETY: everything `job` borrows outlives 'scope; the scope waits for it.
            unsafe { InlineJob::into_job_ref(self.header_ptr(), body) }
        } else {
            let body = move || {
                let scope = scope;
                // SAFETY: as above, the scope outlives its jobs.
                unsafe { Scope::run_job(scope.0, job) };
            };
            // SAFETY: everything `job` borrows outlives 'scope; the scope waits for it.
            unsafe { HeapJob::into_job_ref(self.header_ptr(), Kind::Scoped, body) }
        };
        // The count includes the job before anyone can run it: added here, or paid for by
        // a unit this thread's settlement holds (a completion it counted and did not yet
        // subtract, or a unit it advanced; `sched/context/settle.rs`).
        let pushed = Ctx::with_current(|ctx| match ctx {
            Some(ctx) if ctx.pool() == self.pool_id => {
                if !ctx.settle().spawned(self.header_ptr(), &self.latch) {
                    self.latch.increment();
                }
                ctx.member().push(job_ref);
                true
            }
            _ => false,
        });
        if !pushed {
            // Spawned from a thread that has no current context of this pool (the user
            // passed the scope to another thread): into the shared queue, as a guest would.
            self.latch.increment();
            self.pool().push_shared(job_ref);
        }
    }

    fn pool(&self) -> &dyn SharedPool {
        // SAFETY: the scope only exists inside a `scope` call on this pool, which holds
        // the pool alive (a worker's registry `Arc`, or the caller's `Pool` handle).
        unsafe { &*self.pool }
    }

    /// The scope's header, as a pointer derived from the whole scope (its first field).
    fn header_ptr(&self) -> *const Header {
        (self as *const Self).cast::<Header>()
    }

    /// Runs one of the scope's jobs: records its panic, then releases its count.
    ///
    /// It takes a raw pointer, not `&self`: the decrement that releases the count may let
    /// the scope's owner return and free the scope, and a reference argument would still be
    /// live (and, to the memory model, protected) across that point.
    ///
    /// # Safety
    /// `this` points at a live scope whose count includes this job.
    unsafe fn run_job<F: FnOnce(&Scope<'scope>)>(this: *const Self, job: F) {
        // SAFETY: the scope is alive until the decrement below (contract). The reference
        // ends with the calls that use it, before the decrement.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(unsafe { &*this })));
        if let Err(payload) = result {
            // SAFETY: as above.
            unsafe { (*this).record_panic(payload) };
        }
        // SAFETY: the scope is alive (its count includes this job); only its address and
        // its count's address are taken, no reference. A `CachePadded<T>` starts with its
        // `T` (`repr(C)`, documented since crossbeam-utils 0.8.22).
        let (header, latch) = (this.cast::<Header>(), unsafe {
            (&raw const (*this).latch).cast::<CountLatch>()
        });
        // A worker's main loop running this scope's jobs back to back, or the scope's body
        // running on this thread, counts the completion and subtracts it later, with others
        // (`sched/context/settle.rs`).
        if Ctx::with_current(|ctx| ctx.is_some_and(|ctx| ctx.settle().finish(header, latch))) {
            return;
        }
        // SAFETY: the last access to the scope from this job; no reference to it is live.
        unsafe { CountLatch::decrement(latch) };
    }

    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let mut slot = self.panic.lock();
        if slot.is_none() {
            *slot = Some(payload);
        }
    }
}

/// A job of a `ScopeFifo`, waiting in its lane; it receives the scope it was spawned in.
pub(crate) type LaneJob<'scope> = Box<dyn FnOnce(&Scope<'scope>) + Send + 'scope>;

impl<'scope> Scope<'scope> {
    /// The scope's FIFO lanes (empty unless it was opened by `scope_fifo_in`).
    pub(crate) fn lanes(&self) -> &[Lane<LaneJob<'scope>>] {
        &self.lanes
    }

    /// Identity of the scope's pool, as `Ctx::registry`.
    pub(crate) fn pool_id(&self) -> PoolId {
        self.pool_id
    }
}

/// A raw scope pointer that may cross threads (the scope is `Sync`).
struct ScopePtr<'scope>(*const Scope<'scope>);
// SAFETY: `Scope` is `Sync`, so sharing a pointer to it with another thread is sound; the
// pointee's lifetime is guaranteed by the count latch (see `Scope::spawn`).
unsafe impl Send for ScopePtr<'_> {}

/// Runs a scope's body on the current thread with `ctx`, then waits for all its jobs.
pub(crate) fn scope_in<'scope, OP, R>(ctx: &Ctx, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    scope_with_lanes_in(ctx, 0, op)
}

/// `scope_in` for a scope with `lanes` FIFO lanes.
pub(crate) fn scope_with_lanes_in<'scope, OP, R>(ctx: &Ctx, lanes: usize, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    let scope = Scope {
        header: Header::new(ctx.frame(), Kind::ScopeFrame),
        latch: CachePadded::new(CountLatch::new()),
        panic: Mutex::new(None),
        pool: erase(ctx.member().shared()),
        pool_id: ctx.pool(),
        lanes: (0..lanes).map(|_| Lane::new()).collect(),
        _marker: PhantomData,
    };
    let header = scope.header_ptr();
    let floor = ctx.enter_scope();
    // The body's spawns advance the count in batches, and the jobs of the scope that the
    // owner runs while it waits are subtracted in batches (`sched/context/settle.rs`): the
    // settlement stays armed for this scope from the body to the end of the wait. What the
    // body counted is settled before its own unit is released; the wait settles before
    // each idle step, so the count reaches zero with nothing held here.
    let outer = ctx.settle().enter_body(header, &*scope.latch);
    let result = ctx.in_frame(header, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(&scope)))
    });
    ctx.settle().flush();
    // SAFETY: the body's own count; the scope stays alive while we wait below.
    unsafe { CountLatch::decrement(&*scope.latch) };
    wait::wait(ctx, Target::unit(header), scope.latch.as_latch());
    ctx.settle().exit_body(outer);
    ctx.exit_scope(floor);
    let job_panic = scope.panic.lock().take();
    match (result, job_panic) {
        (Err(payload), _) | (Ok(_), Some(payload)) => crate::job::unwind::resume(payload),
        (Ok(value), None) => value,
    }
}

/// Erases the borrow's lifetime; see `Scope::pool` for why the pointer stays valid.
fn erase(pool: &dyn SharedPool) -> *const dyn SharedPool {
    // SAFETY: only the lifetime changes; validity is argued at the use site.
    unsafe { std::mem::transmute::<&dyn SharedPool, &'static dyn SharedPool>(pool) }
}
