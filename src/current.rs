//! What the current thread is to skewer: its worker index, and the size of its pool.

use crate::global::global;
use crate::sched::context::Ctx;

/// The index of the current worker thread in its pool, or `None` outside any pool's
/// workers (including a thread taking part in `Pool::join` from outside).
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// assert_eq!(skewer::current_thread_index(), None);
/// assert!(pool.install(skewer::current_thread_index).is_some());
/// ```
pub fn current_thread_index() -> Option<usize> {
    Ctx::with_current(|ctx| ctx.and_then(|c| c.member().worker_index()))
}

/// The number of threads of the current worker's pool, or of the global pool.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(3).build().unwrap();
/// assert_eq!(pool.install(skewer::current_num_threads), 3);
/// ```
#[track_caller]
pub fn current_num_threads() -> usize {
    match Ctx::with_current(|ctx| ctx.map(|c| c.member().num_threads())) {
        Some(n) => n,
        None => global().current_num_threads(),
    }
}
