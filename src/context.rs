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
use crate::wait::{Helped, Target};

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
    /// Searches this pool's queues once for work that descends from `target` and runs it
    /// (see `wait.rs`); `ctx` is this thread's context of this pool, and current.
    fn help(&self, ctx: &Ctx, target: Target, scan_global: bool) -> Helped;
    /// Registers `latch` to be poked when work arrives in this pool's shared queue.
    fn watch(&self, latch: &Latch);
    /// Undoes `watch` (if no poke did already).
    fn unwatch(&self, latch: &Latch);
    /// This thread, a worker of this pool, blocks (`true`) in a wait on another pool, or
    /// stops doing so (`false`); see `spare.rs`. Nothing for a guest.
    fn blocked_elsewhere(&self, blocked: bool);
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
}

/// One entry of a thread's *chain* of contexts: the context made current by `enter` or
/// `resume`, and the entry that was current before. The chain is what a waiting thread
/// helps: a worker of pool A that waits inside `B.join` (as B's guest) or `B.install` still
/// has A's context below on its chain, and helps A with the work its wait depends on.
/// Links live in the frames of `enter`/`resume`, so the chain follows the thread's stack.
struct Link {
    ctx: *const Ctx,
    prev: *const Link,
}

thread_local! {
    static CURRENT: Cell<*const Link> = const { Cell::new(std::ptr::null()) };
    /// Cross-pool waits this thread is nested in (see `Ctx::nest`).
    static NESTING: Cell<usize> = const { Cell::new(0) };
}

/// The most cross-pool waits one thread may be nested in: `install`, `join` or `scope` of
/// another pool called from inside a pool's work (A's job waits in `B.install`, B's job in
/// `A.install`, and so on, each level adding its frames to the threads that wait). Deeper
/// nesting panics with a message that names this limit instead of overflowing a stack.
///
/// # Examples
/// ```
/// use skewer::Pool;
/// // Installs alternating between two one-thread pools: each thread waits in every other
/// // level, so twice the limit fits; a deeper alternation panics naming the limit.
/// fn alternate(levels: usize, here: &Pool, there: &Pool) -> usize {
///     if levels == 0 { return 0; }
///     here.install(|| alternate(levels - 1, there, here)) + 1
/// }
/// let a = Pool::builder().num_threads(1).build().unwrap();
/// let b = Pool::builder().num_threads(1).build().unwrap();
/// assert_eq!(alternate(50, &a, &b), 50);
/// let too_deep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     alternate(2 * skewer::MAX_CROSS_POOL_NESTING + 10, &a, &b)
/// }));
/// assert!(too_deep.is_err());
/// ```
pub const MAX_CROSS_POOL_NESTING: usize = 200;

/// Restores `CURRENT` when dropped (also during unwinding).
struct RestoreCurrent(*const Link);

impl Drop for RestoreCurrent {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Restores a context's frame when dropped (also during unwinding).
struct RestoreFrame<'a>(&'a Cell<*const Header>, *const Header);

impl Drop for RestoreFrame<'_> {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

/// Leaves one level of cross-pool nesting when dropped.
pub(crate) struct Nested(());

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get() - 1));
    }
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
        }
    }

    /// Runs `f` with `self` as the current context, restoring the previous one after (also
    /// when `f` unwinds). A context entered on a thread that already runs skewer work starts
    /// in the current frame, so parent chains continue across pools.
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce(&Ctx) -> R) -> R {
        let this: &Ctx = self;
        this.resume(f)
    }

    /// Makes `self`, a context already on this thread's chain (or being entered), current
    /// again for the duration of `f`: a worker of A inside `B.join` that runs A's work, or
    /// calls `A.join`, does so in its own context. `self`'s frame is the current frame
    /// meanwhile, so the jobs it creates descend from the work the thread is doing.
    pub(crate) fn resume<R>(&self, f: impl FnOnce(&Ctx) -> R) -> R {
        let prev = CURRENT.with(|c| c.get());
        let _restore = RestoreCurrent(prev);
        let frame = match Self::link_ctx(prev) {
            Some(current) => current.frame(),
            None => self.frame(),
        };
        let _frame = RestoreFrame(&self.frame, self.frame.replace(frame));
        let link = Link {
            ctx: self as *const Ctx,
            prev,
        };
        CURRENT.with(|c| c.set(&link as *const Link));
        f(self)
    }

    /// The context a chain link names.
    fn link_ctx<'a>(link: *const Link) -> Option<&'a Ctx> {
        // SAFETY: a non-null link is alive: `resume` sets `CURRENT` to a link in its own
        // frame for exactly the duration of that frame and restores it after; the link's
        // context outlives the link (it is borrowed by `resume`).
        unsafe { link.as_ref().map(|l| &*l.ctx) }
    }

    /// The current thread's context, if it has one. The pointer stays valid until the
    /// frame that entered the context returns.
    #[inline]
    pub(crate) fn current() -> Option<*const Ctx> {
        let link = CURRENT.with(|c| c.get());
        Self::link_ctx(link).map(|c| c as *const Ctx)
    }

    /// Calls `f` with the current thread's context, if it has one.
    #[inline]
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
        let link = CURRENT.with(|c| c.get());
        f(Self::link_ctx(link))
    }

    /// Calls `f` with every context on the current thread's chain, innermost first, each
    /// once, until it returns `Some`.
    pub(crate) fn find_on_chain<R>(mut f: impl FnMut(&Ctx) -> Option<R>) -> Option<R> {
        let mut link = CURRENT.with(|c| c.get());
        let mut seen: [*const Ctx; 8] = [std::ptr::null(); 8];
        let mut n = 0;
        // SAFETY: every link on the chain is alive (see `link_ctx`).
        while let Some(l) = unsafe { link.as_ref() } {
            if !seen[..n.min(8)].contains(&l.ctx) {
                if n < 8 {
                    seen[n] = l.ctx;
                }
                n += 1;
                // SAFETY: as in `link_ctx`.
                if let Some(out) = f(unsafe { &*l.ctx }) {
                    return Some(out);
                }
            }
            link = l.prev;
        }
        None
    }

    /// This thread's context of the pool `registry`, if its chain has one: the worker's own
    /// if the thread is one of the pool's workers, else a guest context.
    pub(crate) fn of_pool(registry: *const ()) -> Option<*const Ctx> {
        Self::worker_of(registry).or_else(|| {
            Self::find_on_chain(|c| (c.registry == registry).then_some(c as *const Ctx))
        })
    }

    /// This thread's context as a worker of the pool `registry`, if it is one.
    pub(crate) fn worker_of(registry: *const ()) -> Option<*const Ctx> {
        Self::find_on_chain(|c| {
            (c.registry == registry && c.engine().worker_index().is_some())
                .then_some(c as *const Ctx)
        })
    }

    /// Runs `f` with `ctx`, a context on this thread's chain, as the current one.
    pub(crate) fn run_in<R>(ctx: *const Ctx, f: impl FnOnce(&Ctx) -> R) -> R {
        // SAFETY: contexts on the chain outlive the call that found them (see `link_ctx`).
        let ctx = unsafe { &*ctx };
        if Self::current() == Some(ctx as *const Ctx) {
            f(ctx)
        } else {
            ctx.resume(f)
        }
    }

    /// Enters one more level of cross-pool nesting on this thread; panics past
    /// [`MAX_CROSS_POOL_NESTING`].
    #[track_caller]
    pub(crate) fn nest() -> Nested {
        let depth = NESTING.with(|n| {
            let depth = n.get() + 1;
            n.set(depth);
            depth
        });
        let nested = Nested(());
        if depth > MAX_CROSS_POOL_NESTING {
            panic!(
                "skewer: more than {MAX_CROSS_POOL_NESTING} cross-pool calls nested on one \
                 thread (`install`, `join` or `scope` of one pool called from inside another \
                 pool's work, each waiting for the next); the limit \
                 (skewer::MAX_CROSS_POOL_NESTING) keeps the waiting threads' stacks bounded"
            );
        }
        nested
    }

    #[inline]
    pub(crate) fn engine(&self) -> &dyn Engine {
        // SAFETY: the engine outlives the context (contract of `new`).
        unsafe { &*self.engine }
    }

    #[inline]
    pub(crate) fn sleep(&self) -> &Sleep {
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
        let _restore = RestoreFrame(&self.frame, self.frame.replace(header));
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
