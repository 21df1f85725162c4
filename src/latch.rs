//! Latches: one-shot completion signals that a waiter can sleep on.
//!
//! # Memory ordering
//! `Latch::set` publishes everything its setter wrote before it (a job's result, a scope's
//! side effects) with a release operation on `state`; `Latch::probe` reads `state` with
//! acquire. So once `probe` returns `true`, the waiter sees all of the setter's writes.
//!
//! # Lifetime
//! The waiter usually frees the latch (it lives in the waiter's frame) as soon as it sees it
//! set. A setter that has to wake a sleeper therefore goes through a `NOTIFYING` state and
//! makes its final store to `state` the last access; a waiter that ever slept only leaves
//! once it reads `SET`, never `NOTIFYING`. This is modelled under loom (`loom_latch`).

use std::time::Duration;

use crate::sync::{AtomicU8, AtomicUsize, Condvar, Mutex, Ordering};

/// Not set; nobody sleeps on it.
const UNSET: u8 = 0;
/// Not set; the waiter may be blocked on the condvar and must be woken.
const SLEEPING: u8 = 1;
/// Being set by a thread that is waking the sleeper; the waiter must not leave yet.
const NOTIFYING: u8 = 2;
/// Set. Final.
const SET: u8 = 3;

/// A one-shot latch with an optional sleeping waiter.
#[derive(Debug)]
pub(crate) struct Latch {
    state: AtomicU8,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Latch {
    pub(crate) fn new() -> Self {
        Latch {
            state: AtomicU8::new(UNSET),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Whether the latch is set. Acquire: pairs with the release in `set`.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        self.state.load(Ordering::Acquire) == SET
    }

    /// Sets the latch and wakes the waiter if it sleeps.
    ///
    /// # Safety
    /// `this` must be valid on entry. It may be freed by the waiter as soon as this call's
    /// final store is visible, so the setter must not touch it after `set` returns.
    pub(crate) unsafe fn set(this: *const Self) {
        // SAFETY: valid on entry per the contract.
        let latch = unsafe { &*this };
        let mut current = latch.state.load(Ordering::Relaxed);
        loop {
            let next = if current == SLEEPING { NOTIFYING } else { SET };
            match latch.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) if next == SET => return, // nobody sleeps: done, no further access
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        // The waiter is (or is about to be) blocked and cannot leave while we are NOTIFYING.
        {
            let _guard = latch.lock.lock();
            latch.cvar.notify_all();
        }
        // Last access: after this store the waiter may free the latch.
        latch.state.store(SET, Ordering::Release);
    }

    /// Blocks the calling thread until the latch is set or `timeout` passed. Returns whether
    /// it is set. After a timeout the waiter stays registered as sleeping, which only costs
    /// the setter a lock; a caller that sees `true` here, or from `probe`, may free the latch.
    pub(crate) fn wait_timeout(&self, timeout: Duration) -> bool {
        if self
            .state
            .compare_exchange(UNSET, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
            && self.probe()
        {
            return true;
        }
        let mut guard = self.lock.lock();
        // Under the lock: a setter in NOTIFYING must take the lock to notify, so it cannot
        // slip between this check and the wait.
        if self.state.load(Ordering::Acquire) == SLEEPING {
            guard = self.cvar.wait_timeout(guard, timeout);
        }
        drop(guard);
        self.spin_past_notifying()
    }

    /// A setter in NOTIFYING finishes in a few instructions; wait for its final store so the
    /// caller may free the latch.
    fn spin_past_notifying(&self) -> bool {
        loop {
            match self.state.load(Ordering::Acquire) {
                SET => return true,
                NOTIFYING => crate::sync::spin_hint(),
                _ => return false,
            }
        }
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
        let old = self.count.fetch_add(1, Ordering::Relaxed);
        debug_assert!(old > 0, "count latch incremented after it was set");
    }

    /// # Safety
    /// As [`Latch::set`]: the latch may be freed once the count reached zero.
    pub(crate) unsafe fn decrement(this: *const Self) {
        // SAFETY: valid on entry per the contract.
        let latch = unsafe { &*this };
        if latch.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: forwarded; this is the last access through `latch`.
            unsafe { Latch::set(&latch.latch) };
        }
    }

    pub(crate) fn as_latch(&self) -> &Latch {
        &self.latch
    }
}
