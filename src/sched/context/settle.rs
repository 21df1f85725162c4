//! Settling a scope's count in bulk: a worker that runs one scope's jobs back to back from
//! its main loop counts their completions here and subtracts them from the scope's count
//! once, instead of one contended atomic subtraction per job.
//!
//! A scope's count (`CountLatch`) is its body plus every spawned job not yet finished. The
//! owner spawns, the thieves finish, and both write the one cache line: two transfers
//! between cores per stolen job. The main loop *arms* the settlement with the anchor of
//! each job it starts (`Header::anchor`: the scope, for a scope's job). While it is armed
//! with scope S:
//! - a job of S that finishes on this thread adds one to `pending` instead of subtracting
//!   (`finish`);
//! - a spawn into S on this thread takes one back from `pending`, if any, instead of adding
//!   to the count (`spawned`);
//! - before the loop starts a job of another anchor, and before it searches, sleeps or
//!   exits, it subtracts `pending` from S's count (`arm`, `disarm`).
//!
//! Why nobody waits for S longer: the count is S's unfinished work plus every thread's
//! `pending`, so it never reaches zero early, and S stays alive while `pending` is held.
//! `pending` is held only while the main loop's current job is a job of S (it is settled
//! before any other job starts), and S cannot finish before that job does. Jobs of S run
//! inside a wait of another job (not one of S) find the settlement armed with that job's
//! anchor, not S, and subtract at once; so does every thread other than a worker in its
//! main loop (nothing arms their settlement). The release of the bulk subtraction covers
//! the jobs it counts: they ran earlier on the same thread.

use std::cell::Cell;

use crate::job::Header;
use crate::job::latch::CountLatch;

/// One thread's unsettled completions of one scope's jobs (see the module docs).
#[derive(Debug)]
pub(crate) struct Settle {
    /// The anchor of the main loop's current job (null: not armed).
    armed: Cell<*const Header>,
    /// The count of the scope whose header is `armed`, once a job of it finished here.
    latch: Cell<*const CountLatch>,
    /// Completions counted here and not yet subtracted from `latch`.
    pending: Cell<usize>,
}

impl Settle {
    pub(crate) const fn new() -> Self {
        Settle {
            armed: Cell::new(std::ptr::null()),
            latch: Cell::new(std::ptr::null()),
            pending: Cell::new(0),
        }
    }

    /// The main loop is about to start a job whose anchor is `anchor`: settles what was
    /// counted for another anchor, and arms for this one.
    #[inline]
    pub(crate) fn arm(&self, anchor: *const Header) {
        if !std::ptr::eq(anchor, self.armed.get()) {
            self.settle();
            self.armed.set(anchor);
        }
    }

    /// The main loop is about to search, sleep or exit: settles and disarms.
    #[inline]
    pub(crate) fn disarm(&self) {
        self.settle();
        self.armed.set(std::ptr::null());
    }

    /// A job of the scope whose header is `scope` and whose count is `latch` finished on
    /// this thread. Returns true if it was counted here (the caller must then not subtract
    /// it), false if the caller subtracts it now.
    #[inline]
    pub(crate) fn finish(&self, scope: *const Header, latch: *const CountLatch) -> bool {
        if scope.is_null() || !std::ptr::eq(scope, self.armed.get()) {
            return false;
        }
        self.latch.set(latch);
        self.pending.set(self.pending.get() + 1);
        true
    }

    /// A job is about to be spawned into the scope whose header is `scope`, from this
    /// thread. Returns true if a completion counted here pays for it (the caller must then
    /// not add to the count), false if the caller adds to the count.
    #[inline]
    pub(crate) fn spawned(&self, scope: *const Header) -> bool {
        let pending = self.pending.get();
        if pending == 0 || !std::ptr::eq(scope, self.armed.get()) {
            return false;
        }
        self.pending.set(pending - 1);
        true
    }

    /// Subtracts the pending completions from their scope's count.
    fn settle(&self) {
        let pending = self.pending.replace(0);
        if pending > 0 {
            // SAFETY: the scope's count includes `pending` (module docs), so it is above
            // zero and the scope, its count included, is alive; this may be the last access.
            unsafe { CountLatch::decrement_by(self.latch.get(), pending) };
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::job::Kind;

    #[test]
    fn completions_of_the_armed_scope_are_subtracted_once_when_disarmed() {
        let scope = Header::new(std::ptr::null(), Kind::ScopeFrame);
        let latch = CountLatch::new(); // the body's unit
        for _ in 0..3 {
            latch.increment();
        }
        let settle = Settle::new();
        settle.arm(&scope);
        assert!(settle.finish(&scope, &latch));
        assert!(settle.finish(&scope, &latch));
        assert_eq!(latch.count(), 4, "nothing subtracted while armed");
        settle.disarm();
        assert_eq!(latch.count(), 2);
        assert!(!latch.as_latch().probe());
    }

    #[test]
    fn a_spawn_is_paid_by_a_pending_completion_and_never_goes_below_zero() {
        let scope = Header::new(std::ptr::null(), Kind::ScopeFrame);
        let latch = CountLatch::new();
        latch.increment();
        let settle = Settle::new();
        settle.arm(&scope);
        assert!(
            !settle.spawned(&scope),
            "nothing pending yet: the caller increments"
        );
        latch.increment();
        assert!(settle.finish(&scope, &latch));
        assert!(
            settle.spawned(&scope),
            "one pending completion pays for the spawn"
        );
        assert!(!settle.spawned(&scope));
        settle.disarm();
        assert_eq!(latch.count(), 3);
    }

    #[test]
    fn another_scope_or_another_anchor_settles_at_once() {
        let a = Header::new(std::ptr::null(), Kind::ScopeFrame);
        let b = Header::new(std::ptr::null(), Kind::ScopeFrame);
        let latch_a = CountLatch::new();
        latch_a.increment();
        let latch_b = CountLatch::new();
        let settle = Settle::new();
        settle.arm(&a);
        assert!(!settle.finish(&b, &latch_b), "not the armed scope");
        assert!(settle.finish(&a, &latch_a));
        settle.arm(&a);
        assert_eq!(
            latch_a.count(),
            2,
            "re-arming the same anchor keeps what is pending"
        );
        settle.arm(&b);
        assert_eq!(latch_a.count(), 1, "a job of another anchor settles first");
        assert!(!settle.spawned(&a));
        // The last unit: settling it sets the latch.
        assert!(settle.finish(&b, &latch_b));
        settle.disarm();
        assert!(latch_b.as_latch().probe());
    }

    #[test]
    fn an_unarmed_settlement_counts_nothing() {
        let scope = Header::new(std::ptr::null(), Kind::ScopeFrame);
        let latch = CountLatch::new();
        let settle = Settle::new();
        assert!(!settle.finish(&scope, &latch));
        assert!(!settle.spawned(&scope));
        assert!(!settle.finish(std::ptr::null(), &latch));
    }
}
