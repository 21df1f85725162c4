//! The one door to synchronisation primitives.
//!
//! Every other module imports atomics, `Arc`, mutexes and condvars from here, never from
//! `std::sync` or `parking_lot` directly. Under `cfg(loom)` the same names resolve to loom's
//! model-checked types, so the sleep protocol and the latches can be explored exhaustively
//! without changing a line of the code that uses them.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
};
/// Reference counting is not part of any modelled protocol: std's `Arc` in both builds.
pub(crate) use std::sync::{Arc, Weak};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
};

/// A mutex without poisoning: parking_lot's normally, std's under Miri (poisoning
/// ignored), loom's under loom. Under Miri, parking_lot_core's word lock, which parks the
/// threads that contend for a lock, casts integers to pointers, and Tree Borrows then
/// reported a dangling reference inside it on one thread schedule
/// (`backend::job_list::tests::concurrent_pushers_and_takers_run_every_job_once`); the lock
/// is not skewer's code, and std's is modelled by Miri itself (`docs/design.md`, "Checked
/// by tools").
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(all(not(loom), not(miri)))]
    inner: parking_lot::Mutex<T>,
    #[cfg(all(not(loom), miri))]
    inner: std::sync::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

/// The guard of [`Mutex`].
#[cfg(all(not(loom), not(miri)))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(all(not(loom), miri))]
pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(all(not(loom), not(miri)))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(all(not(loom), miri))]
            inner: std::sync::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(all(not(loom), not(miri)))]
        {
            self.inner.lock()
        }
        #[cfg(all(not(loom), miri))]
        {
            self.inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
        #[cfg(loom)]
        {
            self.inner.lock().unwrap()
        }
    }
}

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
pub(crate) struct Condvar {
    #[cfg(all(not(loom), not(miri)))]
    inner: parking_lot::Condvar,
    #[cfg(all(not(loom), miri))]
    inner: std::sync::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Blocks until notified (spurious wake-ups are possible; callers loop on a condition).
    /// A thread that blocked clears its vector registers' upper halves on the way back
    /// (`vector_state`).
    #[cfg(all(not(loom), not(miri)))]
    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner.wait(&mut guard);
        crate::vector_state::after_block();
        guard
    }

    #[cfg(all(not(loom), miri))]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner
            .wait(guard)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[cfg(loom)]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner.wait(guard).unwrap()
    }

    /// Blocks until notified or until `timeout` passed. Loom has no clock: there it is a
    /// plain wait, which is the stronger condition for a model (no rescue by timeout).
    #[cfg(all(not(loom), not(miri)))]
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        let _ = self.inner.wait_for(&mut guard, timeout);
        crate::vector_state::after_block();
        guard
    }

    #[cfg(all(not(loom), miri))]
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        self.inner
            .wait_timeout(guard, timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
    }

    #[cfg(loom)]
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        _timeout: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        self.wait(guard)
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// A one-token parker: `unpark` before `park` makes the next `park` return at once, so a
/// wake-up sent while its target is still on the way to sleep is never lost.
#[derive(Debug, Default)]
pub(crate) struct Parker {
    notified: Mutex<bool>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Blocks until a token is available, then consumes it.
    pub(crate) fn park(&self) {
        let mut notified = self.notified.lock();
        while !*notified {
            notified = self.cvar.wait(notified);
        }
        *notified = false;
    }

    /// Blocks until a token is available or `timeout` has passed. Returns whether a token
    /// came (and was consumed). Loom has no clock: there the time is up at once, which
    /// lets a model explore a timeout against every ordering of the wake-ups around it.
    #[cfg(not(loom))]
    pub(crate) fn park_timeout(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut notified = self.notified.lock();
        while !*notified {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            notified = self.cvar.wait_timeout(notified, deadline - now);
        }
        *notified = false;
        true
    }

    #[cfg(loom)]
    pub(crate) fn park_timeout(&self, _timeout: std::time::Duration) -> bool {
        let mut notified = self.notified.lock();
        std::mem::replace(&mut *notified, false)
    }

    /// Makes a token available and wakes the parked thread, if any.
    pub(crate) fn unpark(&self) {
        let mut notified = self.notified.lock();
        *notified = true;
        self.cvar.notify_one();
    }
}

/// Busy-wait hint, a yield point under loom.
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
