//! Settling a scope's count in bulk: a thread that runs one scope's jobs back to back from
//! its main loop, or runs the scope's body, or waits for the scope as its owner, counts
//! completions and advances spawns here and settles them with the scope's count at once,
//! instead of one contended atomic operation per job.
//!
//! A scope's count (`CountLatch`) is its body plus every spawned job not yet finished. The
//! owner spawns, the thieves finish, and both write the one cache line: two transfers
//! between cores per stolen job. The settlement is *armed* with a scope S in two ways: the
//! main loop arms it with the anchor of each job it starts (`Header::anchor`: the scope, for
//! a scope's job), and a scope's owner keeps it armed for that scope from the start of the
//! body to the end of its wait for the scope's jobs (`enter_body` .. `exit_body`). While
//! it is armed with S:
//! - a job of S that finishes on this thread adds one to `pending` instead of subtracting
//!   (`finish`);
//! - a spawn into S on this thread takes one from `pending`, if any, instead of adding to
//!   the count (`spawned`); with nothing pending, it adds a growing batch at once (1, 2, 4,
//!   ... up to `MAX_ADVANCE` units) and keeps the rest in `pending`, so a run of spawns
//!   pays one atomic addition per batch;
//! - before the loop starts a job of another anchor, and before it searches, sleeps or
//!   exits, it settles: subtracts `pending` from S's count (`arm`, `disarm`); a body
//!   settles when it returns or unwinds, before the owner releases the body's unit and
//!   waits (`flush`); a waiting thread settles what the waiting context holds before each
//!   idle step (`flush`, from `wait.rs`; not what is saved in an `Outer` around a nested
//!   scope, nor what other contexts on its chain hold); and when the owner's wait is
//!   over, the settlement armed around the scope is restored as it was (`exit_body`).
//!
//! Why nobody waits for S longer: the count is S's unfinished work plus every thread's
//! `pending`, so it never reaches zero early, and S stays alive while `pending` is held.
//! `pending` is held only while this thread runs a job of S from its main loop, or S's
//! body, or is S's owner waiting for S. S cannot finish before the job or the body does:
//! everything the thread waits for meanwhile is inside them, never S itself. The owner is
//! the one thread that waits for S, and it settles before each idle step of its own wait
//! for S. Units of S it holds while it is inside one of the jobs it runs there (saved
//! around a nested scope, or left in its context while it waits in another pool's) never
//! delay S: every such job descends from S, so S's count still holds that job. Jobs of S
//! run inside a wait of another job (not one of S, nor S's body, nor the owner's wait)
//! find the settlement armed with something else and subtract at once.
//! The release of the bulk subtraction covers the jobs it counts: they ran earlier on the
//! same thread.

use std::cell::Cell;

use crate::job::Header;
use crate::job::latch::CountLatch;

/// The most units a spawn adds to a scope's count at once.
const MAX_ADVANCE: usize = 64;

/// One thread's unsettled completions of, and advances on, one scope's count (see the
/// module docs).
#[derive(Debug)]
pub(crate) struct Settle {
    /// The anchor of the main loop's current job, or the scope whose body runs (null: not
    /// armed).
    armed: Cell<*const Header>,
    /// The count of the scope whose header is `armed`, once something was counted here.
    latch: Cell<*const CountLatch>,
    /// Units the count holds beyond the scope's unfinished work, owed by this thread:
    /// completions counted here plus advanced units no spawn used yet.
    pending: Cell<usize>,
    /// The units the next advance adds.
    advance: Cell<usize>,
}

/// The settlement armed around a scope's body, restored when the body ends.
#[derive(Debug)]
pub(crate) struct Outer {
    armed: *const Header,
    latch: *const CountLatch,
    pending: usize,
    advance: usize,
}

impl Settle {
    pub(crate) const fn new() -> Self {
        Settle {
            armed: Cell::new(std::ptr::null()),
            latch: Cell::new(std::ptr::null()),
            pending: Cell::new(0),
            advance: Cell::new(1),
        }
    }

    /// The main loop is about to start a job whose anchor is `anchor`: settles what was
    /// counted for another anchor, and arms for this one.
    #[inline]
    pub(crate) fn arm(&self, anchor: *const Header) {
        if !std::ptr::eq(anchor, self.armed.get()) {
            self.flush();
            self.armed.set(anchor);
            self.advance.set(1);
        }
    }

    /// The main loop is about to search, sleep or exit: settles and disarms.
    #[inline]
    pub(crate) fn disarm(&self) {
        self.flush();
        self.armed.set(std::ptr::null());
        self.advance.set(1);
    }

    /// The body of the scope whose header is `scope` and whose count is `latch` is about to
    /// run on this thread: arms for it (until the owner's wait for the scope is over), and
    /// returns what was armed (kept as it is, not settled: the scope runs inside whatever
    /// that was) for `exit_body`.
    #[inline]
    pub(crate) fn enter_body(&self, scope: *const Header, latch: *const CountLatch) -> Outer {
        Outer {
            armed: self.armed.replace(scope),
            latch: self.latch.replace(latch),
            pending: self.pending.replace(0),
            advance: self.advance.replace(1),
        }
    }

    /// The scope that `enter_body` armed for is over (its owner's wait returned): settles
    /// what is left and restores `outer`.
    #[inline]
    pub(crate) fn exit_body(&self, outer: Outer) {
        self.flush();
        self.armed.set(outer.armed);
        self.latch.set(outer.latch);
        self.pending.set(outer.pending);
        self.advance.set(outer.advance);
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

    /// A job is about to be spawned into the scope whose header is `scope` and whose count
    /// is `latch`, from this thread. Returns true if the count already holds a unit for it
    /// (a completion counted here, or an advance; made here if needed), false if the caller
    /// adds to the count.
    #[inline]
    pub(crate) fn spawned(&self, scope: *const Header, latch: &CountLatch) -> bool {
        if !std::ptr::eq(scope, self.armed.get()) {
            return false;
        }
        let pending = self.pending.get();
        if pending > 0 {
            self.pending.set(pending - 1);
            return true;
        }
        // Nothing owed here: advance. The first spawn since arming adds its own unit (the
        // caller does), so a scope that spawns once pays nothing extra.
        let n = self.advance.get();
        self.advance.set((n * 2).min(MAX_ADVANCE));
        if n == 1 {
            return false;
        }
        latch.increment_by(n);
        self.latch.set(latch);
        self.pending.set(n - 1);
        true
    }

    /// Subtracts the pending completions from their scope's count and stays armed. A
    /// waiting thread calls it before every idle step (`wait.rs`), so that units its waiting
    /// context holds never keep a scope from finishing while it spins, yields or sleeps.
    #[inline]
    pub(crate) fn flush(&self) {
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
            !settle.spawned(&scope, &latch),
            "nothing pending yet: the caller increments"
        );
        latch.increment();
        assert!(settle.finish(&scope, &latch));
        assert!(
            settle.spawned(&scope, &latch),
            "one pending completion pays for the spawn"
        );
        assert_eq!(latch.count(), 3, "nothing added for it");
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
        assert!(!settle.spawned(&a, &latch_a));
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
        assert!(!settle.spawned(&scope, &latch));
        assert!(!settle.spawned(&scope, &latch));
        assert!(!settle.finish(std::ptr::null(), &latch));
        assert_eq!(latch.count(), 1, "nothing advanced either");
    }

    #[test]
    fn a_run_of_spawns_advances_the_count_in_growing_batches_settled_by_the_body() {
        let outer_anchor = Header::new(std::ptr::null(), Kind::Install);
        let scope = Header::new(&outer_anchor, Kind::ScopeFrame);
        let latch = CountLatch::new(); // the body's unit
        let settle = Settle::new();
        settle.arm(&outer_anchor);
        let outer = settle.enter_body(&scope, &latch);
        let mut added_by_caller = 0;
        let mut counts = Vec::new();
        for _ in 0..200 {
            if !settle.spawned(&scope, &latch) {
                latch.increment();
                added_by_caller += 1;
            }
            counts.push(latch.count());
        }
        assert_eq!(added_by_caller, 1, "only the first spawn adds its own unit");
        // Every spawn is counted before it could run: never fewer units than jobs + body.
        for (i, c) in counts.iter().enumerate() {
            assert!(*c >= i + 2, "spawn {i}: count {c}");
        }
        // Batches of 2, 4, ... 64: a few atomic additions for 200 spawns.
        let additions = counts.windows(2).filter(|w| w[1] > w[0]).count() + 1;
        assert!(additions <= 9, "{additions} additions for 200 spawns");
        assert!(latch.count() > 201, "unused advance still held");
        settle.exit_body(outer);
        assert_eq!(latch.count(), 201, "settled: the 200 jobs and the body");
        // What was armed around the body is back: a spawn into the scope now adds.
        assert!(!settle.spawned(&scope, &latch));
        assert!(!settle.finish(&scope, &latch));
    }

    #[test]
    fn a_scope_owner_subtracts_the_jobs_it_runs_while_it_waits_in_bulk() {
        const JOBS: usize = if cfg!(miri) { 10 } else { 100 };
        let pool = crate::Pool::builder().num_threads(1).build().unwrap();
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let subtractions = pool.install(|| {
            let before = CountLatch::subtractions_on_this_thread();
            crate::scope(|s| {
                for _ in 0..JOBS {
                    s.spawn(|_| {
                        ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    });
                }
            });
            CountLatch::subtractions_on_this_thread() - before
        });
        // The one worker spawned every job in the body and ran every one in its wait.
        assert_eq!(ran.into_inner(), JOBS);
        // What the body settles, the body's own unit, and the wait's settlement before it
        // would idle; one subtraction per job without the owner's bulk count.
        assert!(
            subtractions <= 3,
            "{subtractions} subtractions for {JOBS} jobs run by their scope's owner"
        );
    }

    #[test]
    fn completions_and_advances_inside_a_body_are_settled_when_it_ends() {
        let scope = Header::new(std::ptr::null(), Kind::ScopeFrame);
        let latch = CountLatch::new();
        let settle = Settle::new();
        let outer = settle.enter_body(&scope, &latch);
        assert!(!settle.spawned(&scope, &latch));
        latch.increment();
        assert!(settle.spawned(&scope, &latch), "advanced by 2");
        assert_eq!(latch.count(), 4, "body, two jobs and one unit in advance");
        // Both jobs run on this thread inside the body (a wait in the body ran them).
        assert!(settle.finish(&scope, &latch));
        assert!(settle.finish(&scope, &latch));
        assert_eq!(latch.count(), 4, "nothing subtracted inside the body");
        settle.exit_body(outer);
        assert_eq!(latch.count(), 1, "only the body's own unit is left");
        assert!(!latch.as_latch().probe());
    }
}
