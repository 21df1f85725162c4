//! Watchers: threads blocked on a latch that want a nudge when work arrives in a pool's
//! shared queue.
//!
//! A thread waiting in `join`, `scope` or `install` helps with the work its wait depends on,
//! in every pool on its chain of contexts (`context/chain.rs`). When it finds none it blocks on
//! its latch. Work it could run may then arrive in a pool's shared queue: a job another
//! pool's thread sends back into this pool on its behalf (`A.install` called from inside
//! `B.install` called from A), a guest's published fork, a relocated job. Such pushes
//! *poke* the watchers: they wake, search once more, and block again.
//!
//! A poke is one-shot: it empties the list, so a busy shared queue costs one relaxed load
//! per push once every watcher was poked, and a watcher re-registers each time it blocks.
//!
//! # Ordering
//! Dekker again: the watcher registers (SeqCst increment) and issues a SeqCst fence before
//! its last search; a pusher to a shared queue pushes, issues a SeqCst fence (the one in
//! `Sleep::notify_work`) and then reads the count. Either the watcher's search sees the job,
//! or the pusher sees the watcher and pokes it. A worker's push onto its own queue
//! (`Registry::push_local`) spends no fence: its poke is best effort, and a watcher that
//! misses it finds the job at its backstop (`wait.rs`). A poke that arrives before the watcher
//! blocks is not lost: the latch remembers it (`Latch::poke`).
//!
//! # Lifetime
//! A watched latch lives in its waiter's frame. The list is only read under its mutex, and
//! a waiter removes its latch (under the same mutex) before it leaves the wait, so a poke
//! never touches a latch that may be gone.

use crate::job::latch::Latch;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// A latch pointer that may sit in a shared list (see "Lifetime" above).
struct Watched(*const Latch);

// SAFETY: the pointer is only dereferenced under the list's mutex while its waiter keeps
// the latch alive (it unregisters before leaving); `Latch` itself is `Sync`.
unsafe impl Send for Watched {}

/// The watchers of one pool's shared queue.
#[derive(Default)]
pub(crate) struct Watchers {
    count: AtomicUsize,
    list: Mutex<Vec<Watched>>,
}

impl std::fmt::Debug for Watchers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchers")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Watchers {
    /// Registers `latch` until the next poke or `unwatch`. The caller must unwatch before
    /// the latch may be freed, and searches once more after a SeqCst fence.
    pub(crate) fn watch(&self, latch: &Latch) {
        let mut list = self.list.lock();
        list.push(Watched(latch));
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// Removes `latch` if a poke did not already.
    pub(crate) fn unwatch(&self, latch: &Latch) {
        let mut list = self.list.lock();
        if let Some(pos) = list.iter().position(|w| std::ptr::eq(w.0, latch)) {
            list.swap_remove(pos);
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Pokes every watcher and empties the list. Called after a push into the shared queue
    /// and a SeqCst fence; one relaxed load when nobody watches.
    #[inline]
    pub(crate) fn poke_all(&self) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.poke_slow();
    }

    #[cold]
    fn poke_slow(&self) {
        let mut list = self.list.lock();
        self.count.fetch_sub(list.len(), Ordering::SeqCst);
        for watched in list.drain(..) {
            // SAFETY: a registered latch is alive until its waiter unregisters it, which
            // needs the lock we hold.
            unsafe { Latch::poke(watched.0) };
        }
    }
}
