//! `join_context`: `join` whose closures learn whether they run on another thread than the
//! one that called it.

use std::marker::PhantomData;

use crate::join;
use crate::sched::context::Ctx;

/// What a closure of [`join_context`](crate::join_context) learns about where it runs.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// // One worker: nobody else can take `b`, so neither closure migrates.
/// let (a, b) = pool.install(|| skewer::join_context(|ctx| ctx.migrated(), |ctx| ctx.migrated()));
/// assert!(!a && !b);
/// ```
#[derive(Debug)]
pub struct FnContext {
    migrated: bool,
    /// Not `Send` or `Sync`, as in rayon-core: it describes the thread it was made on.
    _not_send: PhantomData<*mut ()>,
}

impl FnContext {
    fn new(migrated: bool) -> Self {
        FnContext {
            migrated,
            _not_send: PhantomData,
        }
    }

    /// Whether the closure runs on a different thread than the one that called
    /// `join_context`: true when another thread took `b` (it was stolen); always false
    /// for `a`, which skewer runs on the calling thread even from outside any pool.
    ///
    /// # Examples
    /// ```
    /// let (a, _) = skewer::join_context(|ctx| ctx.migrated(), |_| ());
    /// assert!(!a);
    /// ```
    #[inline]
    pub fn migrated(&self) -> bool {
        self.migrated
    }
}

thread_local! {
    /// A byte whose address names the thread while it lives.
    static MARK: u8 = const { 0 };
}

/// The current thread's identity: two threads alive at once never share it. Cheaper than
/// `std::thread::current().id()` (no reference count).
#[inline]
fn this_thread() -> *const u8 {
    MARK.with(|mark| mark as *const u8)
}

/// `join` with a context for each closure; `ctx` is the calling thread's context.
pub(crate) fn join_context_in<A, B, RA, RB>(ctx: &Ctx, a: A, b: B) -> (RA, RB)
where
    A: FnOnce(FnContext) -> RA + Send,
    B: FnOnce(FnContext) -> RB + Send,
    RA: Send,
    RB: Send,
{
    // The caller is alive (it waits in this join) whenever either closure runs, so no
    // other thread can have the same identity then. Carried as an address: the pointer
    // itself is not `Send`.
    let caller = this_thread().addr();
    join::join_in(
        ctx,
        move || a(FnContext::new(this_thread().addr() != caller)),
        move || b(FnContext::new(this_thread().addr() != caller)),
    )
}
