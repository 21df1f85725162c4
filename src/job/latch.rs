//! Latches: one-shot completion signals that a waiter can sleep on.
//!
//! # Memory ordering
//! `Latch::set` publishes everything its setter wrote before it (a job's result, a scope's
//! side effects) with a release operation on `state`; `Latch::probe` reads `state` with
//! acquire. So once `probe` returns `true`, the waiter sees all of the setter's writes.
//!
//! # Lifetime
//! The waiter usually frees the latch (it lives in the waiter's frame) as soon as it sees it
//! set. A setter that has to wake a sleeper therefore holds the latch's lock from *before*
//! it stores `SET` until after it notified; a waiter that ever registered as sleeping leaves
//! only through the lock (`wait_timeout` reads the state under it, and `leave` takes it once
//! after a lock-free `probe`), so it cannot free the latch while the setter still uses it.
//! Neither side ever spins on the other. (An earlier version had the waiter spin while the
//! setter was between its store and its notify; when the woken waiter preempted the setter
//! on its own CPU, the spin lasted a whole time slice, about 1.8 ms per `install`.)
//! Modelled under loom (`loom_latch_hand_off`).

use std::time::Duration;

use crate::sync::{AtomicBool, AtomicU8, AtomicUsize, Condvar, Mutex, Ordering};

/// Not set; nobody sleeps on it.
const UNSET: u8 = 0;
/// Not set; the waiter may be blocked on the condvar and must be woken under the lock.
const SLEEPING: u8 = 1;
/// Set. Final.
const SET: u8 = 2;

/// A one-shot latch with an optional sleeping waiter.
#[derive(Debug)]
pub(crate) struct Latch {
    state: AtomicU8,
    /// Set (under the lock) by a poke not yet seen by `wait_timeout`.
    poked: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Latch {
    pub(crate) fn new() -> Self {
        Latch {
            state: AtomicU8::new(UNSET),
            poked: AtomicBool::new(false),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Whether the latch is set. Acquire: pairs with the release in `set`. A waiter that
    /// called `wait_timeout` before must call `leave` after this returns true.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        self.state.load(Ordering::Acquire) == SET
    }

    /// Sets the latch and wakes the waiter if it sleeps.
    ///
    /// # Safety
    /// `this` must be valid on entry. It may be freed by the waiter as soon as the waiter
    /// can observe `SET` (and, if it slept, take the lock), so the setter must not touch it
    /// after `set` returns.
    pub(crate) unsafe fn set(this: *const Self) {
        // SAFETY: valid on entry per the contract.
        let latch = unsafe { &*this };
        // Nobody sleeps: one CAS, and the waiter may free the latch right after it.
        if latch
            .state
            .compare_exchange(UNSET, SET, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
        // The waiter registered as sleeping (the only other state before `SET`). Take the
        // lock first: the waiter cannot leave while we hold it, since after registering it
        // only leaves through the lock.
        let _guard = latch.lock.lock();
        latch.state.store(SET, Ordering::Release);
        latch.cvar.notify_all();
        // The guard unlocks where it goes out of scope, not through `drop(guard)`: a guard
        // passed by value to a function keeps its reference to the lock protected for that
        // whole call, and the waiter may free the latch as soon as the lock is released,
        // before such a call returns (Miri, Stacked Borrows, reported exactly that).
    }

    /// Blocks the calling thread until the latch is set or `timeout` passed. Returns whether
    /// it is set; if so, the caller may free the latch. After a timeout the waiter stays
    /// registered as sleeping: if it later sees the latch set through `probe`, it calls
    /// `leave` before freeing it.
    pub(crate) fn wait_timeout(&self, timeout: Duration) -> bool {
        // Register (or find ourselves registered by an earlier call, or find it set). In
        // every case the answer is read under the lock: a setter that saw us registered is
        // still inside its critical section until it releases it.
        let _ = self
            .state
            .compare_exchange(UNSET, SLEEPING, Ordering::AcqRel, Ordering::Acquire);
        let mut guard = self.lock.lock();
        if self.state.load(Ordering::Acquire) != SET && !self.poked.swap(false, Ordering::Relaxed) {
            guard = self.cvar.wait_timeout(guard, timeout);
            self.poked.store(false, Ordering::Relaxed);
        }
        let set = self.state.load(Ordering::Acquire) == SET;
        drop(guard);
        set
    }

    /// Wakes the waiter blocked in `wait_timeout` without setting the latch (it returns
    /// false and the waiter searches for work again). A poke that comes before the waiter
    /// blocks makes its next `wait_timeout` return at once.
    ///
    /// # Safety
    /// `this` must be valid for the whole call (see `watchers.rs`: pokes happen under the
    /// watchers' lock, which the waiter takes before its latch may go).
    pub(crate) unsafe fn poke(this: *const Self) {
        // SAFETY: valid for the call per the contract.
        let latch = unsafe { &*this };
        let guard = latch.lock.lock();
        latch.poked.store(true, Ordering::Relaxed);
        latch.cvar.notify_all();
        drop(guard);
    }

    /// For a waiter that slept and then saw the latch set with `probe`: waits until the
    /// setter is done with the lock, so the latch may be freed.
    pub(crate) fn leave(&self) {
        drop(self.lock.lock());
    }
}

/// A counting latch: set when the count drops to zero. Used by scopes (fan-in).
///
/// The count starts at one for the scope's own body, so it cannot reach zero while the body
/// may still spawn. `increment` happens-before the matching `decrement`; the decrement that
/// reaches zero is AcqRel so the setter sees every job's writes and publishes them through
/// the latch.
#[derive(Debug)]
pub(crate) struct CountLatch {
    count: AtomicUsize,
    latch: Latch,
}

impl CountLatch {
    pub(crate) fn new() -> Self {
        CountLatch {
            count: AtomicUsize::new(1),
            latch: Latch::new(),
        }
    }

    pub(crate) fn increment(&self) {
        self.increment_by(1);
    }

    /// Adds `n` units at once (`sched/context/settle.rs`).
    pub(crate) fn increment_by(&self, n: usize) {
        let old = self.count.fetch_add(n, Ordering::Relaxed);
        debug_assert!(old > 0, "count latch incremented after it was set");
    }

    /// # Safety
    /// As [`Latch::set`]: the latch may be freed once the count reached zero.
    pub(crate) unsafe fn decrement(this: *const Self) {
        // SAFETY: forwarded; a live count latch counts at least the unit released here.
        unsafe { Self::decrement_by(this, 1) };
    }

    /// Subtracts `n` units at once (`sched/context/settle.rs`); sets the latch if they were
    /// the last.
    ///
    /// # Safety
    /// As [`Latch::set`]: the latch may be freed once the count reached zero. The count
    /// must be at least `n`.
    pub(crate) unsafe fn decrement_by(this: *const Self, n: usize) {
        // SAFETY: valid on entry per the contract.
        let latch = unsafe { &*this };
        #[cfg(all(test, not(loom)))]
        SUBTRACTIONS.with(|c| c.set(c.get() + 1));
        let old = latch.count.fetch_sub(n, Ordering::AcqRel);
        debug_assert!(old >= n, "count latch decremented below zero");
        if old == n {
            // SAFETY: forwarded; this is the last access through `latch`.
            unsafe { Latch::set(&latch.latch) };
        }
    }

    pub(crate) fn as_latch(&self) -> &Latch {
        &self.latch
    }

    /// The current count (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// How many subtractions from any count latch this thread made (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn subtractions_on_this_thread() -> usize {
        SUBTRACTIONS.with(std::cell::Cell::get)
    }
}

#[cfg(all(test, not(loom)))]
thread_local! {
    /// Subtractions from count latches made by this thread (`decrement_by`).
    static SUBTRACTIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
