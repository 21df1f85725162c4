//! Stalled searchers: whether the searchers a busy thread sees in the sleep state run.
//!
//! A searcher counts as hungry, and a busy thread keeps up to `HUNGRY_FORKS` publishable
//! forks and publishes for it (`publish.rs`). A searcher that waits for a CPU (on a machine
//! with more runnable threads than cores, such as a caller from outside spinning on its
//! latch beside it) takes none of that: the forks cost the busy thread, and each
//! publication comes back to it unclaimed (`docs/work-stealing.md`, "A hungry thread that
//! does not run"). Every search round of a searching worker counts in the sleep state
//! (`Sleep::searched`). While the count, less the thread's own rounds, has not moved for
//! `SEARCH_STALL`, the searchers are *stalled*, and the policy treats the pool as if
//! nobody were hungry; the first round of another thread counted after that ends it. The
//! thread's own rounds do not count: a worker fed one small call at a time searches between
//! the calls, while the searcher it sees during each call may not run at all.
//!
//! The count is on a cache line that the searchers write, so a busy thread reads it only
//! once per `SEARCH_STALL` while they run. While they are stalled nobody writes it, and the
//! policy reads it at every look: a round is noticed at the next look. Only looks less than
//! `SEARCH_STALL` apart judge: a busy thread does not look while the pool is quiet, so a
//! longer gap may hide a searcher that found work and ran out again, and that has not
//! finished a round since (a searcher counts a round only when it found nothing). A quiet
//! stretch shorter than that is not noticed: a searcher back from one may be judged stalled
//! before it searched for `SEARCH_STALL`, until its first round ends it at the next look.
//!
//! Only searchers: a waiter (a thread in `join` or `scope` waiting for work of its own)
//! takes only what descends from what it waits for, so a publication it does not take says
//! nothing about whether it runs, and it counts no rounds.

use std::cell::Cell;
use std::time::Instant;

use crate::sched::sleep::Snapshot;
use crate::sched::sleep::pacing::SEARCH_STALL;

/// A busy thread's view of whether the searchers it sees run.
#[derive(Debug, Default)]
pub(crate) struct Stall {
    /// The pool's search rounds less this thread's own, at the last change seen...
    rounds: Cell<u64>,
    /// ...and when it was seen (`None`: no record: none made yet, or dropped by a look
    /// that found no searcher to judge, by a gap of `SEARCH_STALL` between looks, or by a
    /// reader that cannot count).
    since: Cell<Option<Instant>>,
    /// No change for `SEARCH_STALL` or more at the last read.
    stalled: Cell<bool>,
    /// The previous look at searchers (`None`: the last look found none).
    last_look: Cell<Option<Instant>>,
    /// The search rounds this thread made itself (`own_round`).
    own: Cell<u64>,
}

impl Stall {
    /// This thread made a search round (and counted it in the pool's count).
    #[inline]
    pub(crate) fn own_round(&self) {
        self.own.set(self.own.get().wrapping_add(1));
    }

    /// Whether the hungry threads of `s` are searchers that stalled, at a look at `now`.
    /// `rounds` reads the pool's count of search rounds; `None`: the caller cannot tell
    /// (the searchers count as running).
    pub(crate) fn stalled(
        &self,
        s: Snapshot,
        now: Instant,
        rounds: impl FnOnce() -> Option<u64>,
    ) -> bool {
        if !s.hungry() || s.waiting() > 0 {
            self.nobody_stalls();
            return false;
        }
        // The thread does not look at a quiet pool: after a gap this long the searchers may
        // have found work and run out again meanwhile, without a failed round yet, and a
        // record that old says nothing about them. Only looks closer together judge.
        let previous = self.last_look.replace(Some(now));
        if previous.is_none_or(|p| now.saturating_duration_since(p) >= SEARCH_STALL) {
            self.forget();
        }
        let since = self.since.get();
        if let Some(at) = since
            && !self.stalled.get()
            && now.saturating_duration_since(at) < SEARCH_STALL
        {
            return false;
        }
        let Some(r) = rounds() else {
            self.forget();
            return false;
        };
        let r = r.wrapping_sub(self.own.get());
        match since {
            Some(at) if r == self.rounds.get() => {
                self.stalled
                    .set(now.saturating_duration_since(at) >= SEARCH_STALL);
            }
            _ => {
                self.rounds.set(r);
                self.since.set(Some(now));
                self.stalled.set(false);
            }
        }
        self.stalled.get()
    }

    /// A look found no searcher to judge (nobody hungry, or a waiter): the next look at
    /// searchers starts the record over. Writes only when there is a record to drop: a
    /// pool whose idle threads sleep is looked at often (a call from outside, every few
    /// forks).
    #[inline]
    pub(crate) fn nobody_stalls(&self) {
        if self.last_look.get().is_some() || self.stalled.get() {
            self.forget();
            self.last_look.set(None);
        }
    }

    /// What the last look found (`false` before any).
    #[inline]
    pub(crate) fn last(&self) -> bool {
        self.stalled.get()
    }

    /// Starts over: the next hungry look only records the count.
    fn forget(&self) {
        self.since.set(None);
        self.stalled.set(false);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn searching() -> Snapshot {
        Snapshot::of(1, 0, 0)
    }

    #[test]
    fn searchers_whose_rounds_do_not_move_for_the_stall_time_are_stalled() {
        let stall = Stall::default();
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        // The first look records the count; the next ones before the stall time do not
        // read it.
        assert!(!stall.stalled(searching(), at(0), || Some(7)));
        assert!(!stall.stalled(searching(), at(10), || unreachable!()));
        // No round for the stall time: stalled, and it stays so while nothing moves.
        let stall_us = SEARCH_STALL.as_micros() as u64;
        assert!(stall.stalled(searching(), at(stall_us), || Some(7)));
        assert!(stall.last());
        assert!(stall.stalled(searching(), at(stall_us + 1), || Some(7)));
        // One round ends it at once, and the stall time counts from there.
        assert!(!stall.stalled(searching(), at(stall_us + 2), || Some(8)));
        assert!(!stall.stalled(searching(), at(stall_us + 3), || unreachable!()));
        assert!(stall.stalled(searching(), at(2 * stall_us + 2), || Some(8)));
    }

    #[test]
    fn the_threads_own_search_rounds_do_not_count() {
        let stall = Stall::default();
        let t0 = Instant::now();
        let pool_rounds = Cell::new(3u64);
        let look = |at: Instant| stall.stalled(searching(), at, || Some(pool_rounds.get()));
        assert!(!look(t0));
        // Between two looks this thread searched twice (between two jobs of its own);
        // nobody else did.
        for _ in 0..2 {
            stall.own_round();
            pool_rounds.set(pool_rounds.get() + 1);
        }
        assert!(!look(t0 + SEARCH_STALL / 2));
        assert!(look(t0 + SEARCH_STALL));
        // Nobody else searched: still stalled at the next look.
        assert!(look(t0 + SEARCH_STALL + SEARCH_STALL / 4));
        // Another thread's round counts.
        pool_rounds.set(pool_rounds.get() + 1);
        assert!(!look(t0 + SEARCH_STALL + SEARCH_STALL / 2));
    }

    #[test]
    fn looks_farther_apart_than_the_stall_time_start_over() {
        let stall = Stall::default();
        let t0 = Instant::now();
        let look = |at: Instant| stall.stalled(searching(), at, || Some(5));
        assert!(!look(t0));
        // The pool was quiet, and not looked at, for a while: the old record does not
        // count, however long ago it was made.
        assert!(!look(t0 + SEARCH_STALL * 3));
        assert!(!look(t0 + SEARCH_STALL * 4 - SEARCH_STALL / 2));
        // Looks close together judge again.
        assert!(look(t0 + SEARCH_STALL * 4));
    }

    #[test]
    fn searchers_that_keep_searching_are_never_stalled() {
        let stall = Stall::default();
        let t0 = Instant::now();
        let step = SEARCH_STALL / 2;
        for i in 0..20u32 {
            assert!(!stall.stalled(searching(), t0 + step * i, || Some(u64::from(i))));
        }
    }

    #[test]
    fn waiters_sleepers_and_a_reader_that_cannot_count_are_never_stalled() {
        let t0 = Instant::now();
        let half = t0 + SEARCH_STALL / 2;
        let stall_time = t0 + SEARCH_STALL;
        let after = stall_time + SEARCH_STALL / 4;
        // The control: with searchers alone, the look at the stall time finds them stalled.
        let control = Stall::default();
        assert!(!control.stalled(searching(), t0, || Some(1)));
        assert!(!control.stalled(searching(), half, || Some(1)));
        assert!(control.stalled(searching(), stall_time, || Some(1)));
        for s in [
            Snapshot::of(1, 0, 1),
            Snapshot::of(0, 0, 1),
            Snapshot::of(0, 1, 0),
        ] {
            let stall = Stall::default();
            assert!(!stall.stalled(searching(), t0, || Some(1)));
            assert!(!stall.stalled(searching(), half, || Some(1)));
            // The same look with a waiter (or nobody hungry) judges nothing...
            assert!(!stall.stalled(s, stall_time, || Some(1)), "{s:?}");
            // ...and drops the record: the next searcher look, close by, starts it over
            // instead of finding the count unchanged since `t0`.
            assert!(!stall.stalled(searching(), after, || Some(1)), "{s:?}");
        }
        let stall = Stall::default();
        for at in [t0, half, stall_time, after] {
            assert!(!stall.stalled(searching(), at, || None));
        }
    }
}
