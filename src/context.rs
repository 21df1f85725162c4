//! The per-thread context: what a thread inside `join`/`scope` needs on its fast path.
//!
//! Every thread that runs skewer work has a [`Ctx`] on its stack while it does: each worker
//! for its whole life, and a thread outside the pool (a *guest*) for the duration of a
//! `Pool::join`/`Pool::scope` call. A thread-local pointer names the current one.
//!
//! The context holds the thread's **private forks**: the second halves of `join`s that no
//! other thread can see yet. Forking pushes onto this private stack, with no atomic
//! operation; the fork becomes a real, stealable job only when somebody could use it
//! (*lazy publication*, after heartbeat scheduling):
//! - a worker is searching for work, or a waiter is spinning for work of its own
//!   (`Snapshot::hungry`): the oldest private fork is published on the next `join`;
//! - otherwise, every 256 forks the thread looks at the clock, and if workers are parked and
//!   the thread has been busy for `HEARTBEAT` without publishing, it publishes its oldest
//!   fork (which wakes one sleeper).
//!
//! The oldest fork is the one nearest the root, so it is usually the largest piece of
//! work. A small tree finishes before the first heartbeat and never wakes anybody.

use std::cell::{Cell, UnsafeCell};
use std::time::{Duration, Instant};

use crate::job::{ExecuteFn, Header, JobRef};
use crate::latch::Latch;
use crate::sleep::Sleep;

/// How long a thread may run private forks while others sleep before it publishes one.
pub(crate) const HEARTBEAT: Duration = Duration::from_micros(100);
/// Forks between two looks at the clock (a power of two).
const HEARTBEAT_TICKS: u32 = 256;
/// Forks between two publications for hungry threads, at most.
const HUNGRY_TICKS: u32 = 256;
/// Every this many forks while somebody is hungry, the thread looks at the clock...
const HUNGRY_CLOCK_TICKS: u32 = 16;
/// ...and publishes if this long passed since its last publication for a hungry thread.
const HUNGRY_INTERVAL: Duration = Duration::from_micros(2);

/// What a context needs from the pool it belongs to. Implemented by the worker and guest
/// types of `registry.rs`, for each backend; the fast path never calls through it.
pub(crate) trait Engine {
    /// Makes a private fork visible to other threads and wakes a sleeper if needed.
    fn publish(&self, job: JobRef);
    /// Queues a scope's job (own deque for a worker, shared queue for a guest).
    fn push_scoped(&self, job: JobRef);
    /// Queues a detached job into the shared queue. Never refused from inside a pool.
    fn push_detached(&self, job: JobRef);
    /// Helps with work `target` depends on until `latch` is set; blocks when there is none.
    fn wait(&self, ctx: &Ctx, target: *const Header, latch: &Latch);
    /// The pool this context belongs to.
    fn api(&self) -> &dyn crate::registry::PoolApi;
    /// The number of worker threads of the pool.
    fn num_threads(&self) -> usize;
    /// Reports a detached job's panic to the pool's panic policy.
    fn report_panic(&self, panic: crate::JobPanic);
    /// This thread's worker index, or `None` for a guest.
    fn worker_index(&self) -> Option<usize>;
    /// Whether the pool takes work from this context (false once a guest's pool shut down).
    fn accepts_publication(&self) -> bool;
    /// Whether the queue a publication would go to is empty. While it holds a fork that
    /// nobody took yet, publishing another only adds queue traffic.
    fn publish_target_is_empty(&self) -> bool;
}

/// A fork: a stack job's header and execute function (no payload), and whether it was
/// published (bit 0 of the pointer's address; headers are 8-aligned). The tag lives in the
/// pointer itself (`map_addr`), so the pointer keeps its provenance: no integer casts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fork {
    tagged: *const Header,
    execute_fn: ExecuteFn,
}

const PUBLISHED: usize = 1;

impl Fork {
    /// # Safety
    /// As `JobRef::new`.
    pub(crate) unsafe fn new(header: *const Header, execute_fn: ExecuteFn) -> Self {
        debug_assert!(header.addr().is_multiple_of(2));
        Fork {
            tagged: header,
            execute_fn,
        }
    }

    fn header(self) -> *const Header {
        self.tagged.map_addr(|addr| addr & !PUBLISHED)
    }

    fn is_published(self) -> bool {
        self.tagged.addr() & PUBLISHED != 0
    }

    fn mark_published(&mut self) {
        self.tagged = self.tagged.map_addr(|addr| addr | PUBLISHED);
    }
}

/// The thread's forks, oldest first. An entry stays until its own `join` takes it back;
/// publishing marks it, so the `join` knows to wait for it instead of calling it.
///
/// Publication goes oldest first, but never below `floor`: forks older than the innermost
/// scope open on this thread stay private while it is open. Otherwise such a fork,
/// published after the scope pushed its jobs, would sit *above* them in the deque, where
/// the scope's wait (which only looks at the top of its own deque for its jobs) would find
/// a job it must not run covering the ones it must.
#[derive(Debug, Default)]
struct Pending {
    forks: Vec<Fork>,
    floor: usize,
    /// Every entry in `floor..cursor` is published.
    cursor: usize,
}

/// What `enter_scope` saved, for `exit_scope`.
#[derive(Debug)]
pub(crate) struct SavedFloor {
    floor: usize,
    cursor: usize,
}

/// A thread's context; see the module docs.
pub(crate) struct Ctx {
    engine: *const dyn Engine,
    sleep: *const Sleep,
    registry: *const (),
    pending: UnsafeCell<Pending>,
    frame: Cell<*const Header>,
    ticks: Cell<u32>,
    /// `ticks` at the last publication for a hungry thread.
    published_at: Cell<u32>,
    /// When that publication happened.
    published_time: Cell<Option<Instant>>,
    deadline: Cell<Option<Instant>>,
    previous: *const Ctx,
}

thread_local! {
    static CURRENT: Cell<*const Ctx> = const { Cell::new(std::ptr::null()) };
}

impl Ctx {
    /// # Safety
    /// `engine` and `sleep` must outlive the context; `registry` identifies the pool.
    pub(crate) unsafe fn new(
        engine: *const dyn Engine,
        sleep: *const Sleep,
        registry: *const (),
    ) -> Self {
        Ctx {
            engine,
            sleep,
            registry,
            pending: UnsafeCell::new(Pending {
                // Room for a 64-deep recursion without regrowing (one allocation per
                // guest call, none per fork).
                forks: Vec::with_capacity(64),
                ..Pending::default()
            }),
            frame: Cell::new(std::ptr::null()),
            ticks: Cell::new(0),
            published_at: Cell::new(0),
            published_time: Cell::new(None),
            deadline: Cell::new(None),
            previous: std::ptr::null(),
        }
    }

    /// Runs `f` with `self` as the current context, restoring the previous one after (also
    /// when `f` unwinds).
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce(&Ctx) -> R) -> R {
        struct Restore(*const Ctx);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        self.previous = CURRENT.with(|c| c.get());
        let _restore = Restore(self.previous);
        CURRENT.with(|c| c.set(self as *const Ctx));
        f(self)
    }

    /// The current thread's context, if it has one. The pointer stays valid until the
    /// frame that entered the context returns.
    #[inline]
    pub(crate) fn current() -> Option<*const Ctx> {
        let ptr = CURRENT.with(|c| c.get());
        (!ptr.is_null()).then_some(ptr)
    }

    /// Calls `f` with the current thread's context, if it has one.
    #[inline]
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
        let ptr = CURRENT.with(|c| c.get());
        // SAFETY: a non-null CURRENT points at a context that is alive: `enter` sets it for
        // exactly the duration of the borrow of that context and restores it afterwards.
        f(unsafe { ptr.as_ref() })
    }

    #[inline]
    pub(crate) fn engine(&self) -> &dyn Engine {
        // SAFETY: the engine outlives the context (contract of `new`).
        unsafe { &*self.engine }
    }

    #[inline]
    fn sleep(&self) -> &Sleep {
        // SAFETY: the sleep state outlives the context (contract of `new`).
        unsafe { &*self.sleep }
    }

    /// Identity of the pool this context belongs to.
    pub(crate) fn registry(&self) -> *const () {
        self.registry
    }

    /// The header of the job this thread is running (parent of the jobs it creates).
    #[inline]
    pub(crate) fn frame(&self) -> *const Header {
        self.frame.get()
    }

    /// Runs `f` with `header` as the current frame.
    #[inline]
    pub(crate) fn in_frame<R>(&self, header: *const Header, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<*const Header>, *const Header);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.frame, self.frame.replace(header));
        f()
    }

    /// Runs a queued job with its header as the current frame.
    ///
    /// # Safety
    /// The job must not have been executed before.
    pub(crate) unsafe fn execute(&self, job: JobRef) {
        // SAFETY: forwarded exactly-once promise.
        self.in_frame(job.header(), || unsafe { job.execute() })
    }

    #[allow(clippy::mut_from_ref)]
    #[inline]
    fn pending(&self) -> &mut Pending {
        // SAFETY: `pending` is only touched by the thread that owns the context, and no
        // method holds this borrow across a call that could re-enter it.
        unsafe { &mut *self.pending.get() }
    }

    /// Pushes a private fork; publishes the oldest one if somebody could use it.
    #[inline]
    pub(crate) fn fork(&self, job: Fork) {
        self.pending().forks.push(job);
        let s = self.sleep().peek();
        if s.is_quiet() {
            return; // everybody is busy: nobody to publish for, nobody to wake
        }
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if s.hungry() {
            // At most one publication per `HUNGRY_TICKS` forks: a searcher spins for
            // microseconds, and publishing at every fork meanwhile hands out work too small
            // to be worth the trip (a tiny tree ping-pongs between threads).
            let since = t.wrapping_sub(self.published_at.get());
            if since >= HUNGRY_TICKS
                || (since.is_multiple_of(HUNGRY_CLOCK_TICKS) && self.hungry_clock_due())
            {
                self.publish_for_hungry();
            }
            return;
        }
        if t.is_multiple_of(HEARTBEAT_TICKS) && s.sleeping() > 0 {
            self.heartbeat();
        }
    }

    #[cold]
    fn heartbeat(&self) {
        let now = Instant::now();
        match self.deadline.get() {
            Some(deadline) if now >= deadline => {
                if self.engine().publish_target_is_empty() {
                    let _ = self.publish_oldest();
                }
                self.deadline.set(Some(now + HEARTBEAT));
            }
            Some(_) => {}
            None => self.deadline.set(Some(now + HEARTBEAT)),
        }
    }

    #[cold]
    fn publish_for_hungry(&self) {
        if self.engine().publish_target_is_empty() && self.publish_oldest() {
            self.published_at.set(self.ticks.get());
            self.published_time.set(Some(Instant::now()));
        }
    }

    /// Whether `HUNGRY_INTERVAL` passed since the last publication for a hungry thread: a
    /// thread whose forks are far apart (coarse nodes) should not make a searcher wait
    /// `HUNGRY_TICKS` forks.
    #[cold]
    fn hungry_clock_due(&self) -> bool {
        match self.published_time.get() {
            Some(at) => at.elapsed() >= HUNGRY_INTERVAL,
            None => true,
        }
    }

    /// Starts a new heartbeat period (the thread just picked up a new root job).
    #[inline]
    pub(crate) fn reset_heartbeat(&self) {
        self.deadline.set(None);
    }

    /// Removes `job`, the newest fork (every fork pushed after it was removed by its own
    /// `join` before this one's first half returned). Returns true if it is still private
    /// (the common case): the caller runs it. False if it was published: it may be
    /// anywhere, running or done.
    #[inline]
    pub(crate) fn take_back(&self, job: Fork) -> bool {
        let p = self.pending();
        let last = p.forks.pop().expect("a join's fork is on the stack");
        debug_assert_eq!(
            last.header(),
            job.header(),
            "forks are taken back newest first"
        );
        if p.cursor > p.forks.len() {
            p.cursor = p.forks.len();
        }
        !last.is_published()
    }

    /// Publishes the oldest private fork at or above the floor, if there is one and the
    /// pool takes it.
    pub(crate) fn publish_oldest(&self) -> bool {
        let p = self.pending();
        let start = p.cursor.max(p.floor);
        let Some(offset) = p.forks[start..].iter().position(|f| !f.is_published()) else {
            return false;
        };
        if !self.engine().accepts_publication() {
            return false;
        }
        let index = start + offset;
        let fork = &mut p.forks[index];
        fork.mark_published();
        let (header, execute_fn) = (fork.header(), fork.execute_fn);
        p.cursor = index + 1;
        // SAFETY: a fork's header stays valid until it ran (its joiner waits for it).
        let job = unsafe { JobRef::new(header, execute_fn) };
        self.engine().publish(job);
        true
    }

    /// A scope opens on this thread: older forks stay private until it closes.
    pub(crate) fn enter_scope(&self) -> SavedFloor {
        let p = self.pending();
        let saved = SavedFloor {
            floor: p.floor,
            cursor: p.cursor,
        };
        p.floor = p.forks.len();
        p.cursor = p.forks.len();
        saved
    }

    /// The scope closes (all its forks are gone): restore the outer floor.
    pub(crate) fn exit_scope(&self, saved: SavedFloor) {
        let p = self.pending();
        debug_assert_eq!(p.forks.len(), p.floor, "a scope's forks outlived it");
        p.floor = saved.floor;
        p.cursor = saved.cursor;
    }
}
