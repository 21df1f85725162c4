//! A thread's *chain* of contexts: which context is current, and the ones below it.
//!
//! A thread may take part in several pools at once: a worker of pool A that waits inside
//! `B.join` (as B's guest) or `B.install` still has A's context below on its chain, and
//! helps A with the work its wait depends on. The chain is a linked list of [`Link`]s, one
//! per context made current by `enter` or `resume`, innermost first; links live in the
//! frames of those calls, so the chain follows the thread's stack. A thread-local pointer
//! names the innermost.
//!
//! This is also the one place that tells a worker from a guest: `Ctx::worker_of` asks the
//! chain for a context of the pool whose member is a worker (`Member::worker_index`).

use std::cell::Cell;

use super::ctx::Ctx;
use crate::sched::pool_id::PoolId;

/// One entry of the chain: the context made current, and the entry that was current before.
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
struct RestoreFrame<'a>(&'a Ctx, *const crate::job::Header);

impl Drop for RestoreFrame<'_> {
    fn drop(&mut self) {
        self.0.replace_frame(self.1);
    }
}

/// Leaves one level of cross-pool nesting when dropped.
pub(crate) struct Nested(());

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get() - 1));
    }
}

/// The context a chain link names.
fn link_ctx<'a>(link: *const Link) -> Option<&'a Ctx> {
    // SAFETY: a non-null link is alive: `resume` sets `CURRENT` to a link in its own frame
    // for exactly the duration of that frame and restores it after; the link's context
    // outlives the link (it is borrowed by `resume`).
    unsafe { link.as_ref().map(|l| &*l.ctx) }
}

impl Ctx {
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
        let frame = match link_ctx(prev) {
            Some(current) => current.frame(),
            None => self.frame(),
        };
        let _frame = RestoreFrame(self, self.replace_frame(frame));
        let link = Link {
            ctx: self as *const Ctx,
            prev,
        };
        CURRENT.with(|c| c.set(&link as *const Link));
        f(self)
    }

    /// The current thread's context, if it has one. The pointer stays valid until the
    /// frame that entered the context returns.
    #[inline]
    pub(crate) fn current() -> Option<*const Ctx> {
        let link = CURRENT.with(|c| c.get());
        link_ctx(link).map(|c| c as *const Ctx)
    }

    /// Calls `f` with the current thread's context, if it has one.
    #[inline]
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Ctx>) -> R) -> R {
        let link = CURRENT.with(|c| c.get());
        f(link_ctx(link))
    }

    /// Calls `f` with every context on the current thread's chain, innermost first, each
    /// once, until it returns `Some`.
    pub(crate) fn find_on_chain<R>(mut f: impl FnMut(&Ctx) -> Option<R>) -> Option<R> {
        let mut link = CURRENT.with(|c| c.get());
        // A thread running no pool's work has an empty chain (every `Pool::spawn` from
        // such a thread asks): nothing to look through.
        if link.is_null() {
            return None;
        }
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

    /// This thread's context of `pool`, if its chain has one: the worker's own if the
    /// thread is one of the pool's workers, else a guest context.
    pub(crate) fn of_pool(pool: PoolId) -> Option<*const Ctx> {
        Self::worker_of(pool)
            .or_else(|| Self::find_on_chain(|c| (c.pool() == pool).then_some(c as *const Ctx)))
    }

    /// The innermost context on this thread's chain that belongs to a worker, of any pool.
    pub(crate) fn innermost_worker() -> Option<*const Ctx> {
        Self::find_on_chain(|c| {
            c.member()
                .worker_index()
                .is_some()
                .then_some(c as *const Ctx)
        })
    }

    /// Whether this context, a worker's, has jobs of its own waiting: queued in its deque
    /// or inbox, or forks it has not shared.
    pub(crate) fn has_pending_tasks(&self) -> bool {
        self.member().has_pending_tasks() || self.has_private_forks()
    }

    /// This thread's context as a worker of `pool`, if it is one.
    pub(crate) fn worker_of(pool: PoolId) -> Option<*const Ctx> {
        Self::find_on_chain(|c| {
            (c.pool() == pool && c.member().worker_index().is_some()).then_some(c as *const Ctx)
        })
    }

    /// This thread's context as one of `pool`'s own threads, a worker or a spare, if it is
    /// one: its submissions are the pool's own work, accepted while the pool drains, and it
    /// is not joined by a `shutdown` it calls.
    pub(crate) fn own_thread_of(pool: PoolId) -> Option<*const Ctx> {
        Self::find_on_chain(|c| {
            let m = c.member();
            (c.pool() == pool && (m.worker_index().is_some() || m.is_spare()))
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
}
