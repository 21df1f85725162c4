//! The publication policy: when a thread's fork stops being private (lazy publication,
//! after heartbeat scheduling).
//!
//! - Somebody is *hungry* (a worker searches, or a waiter spins for work of its own): the
//!   oldest private fork is published, but at most once per `HUNGRY_TICKS` forks, or once
//!   `HUNGRY_INTERVAL` passed since the last such publication (looked up every
//!   `HUNGRY_CLOCK_TICKS` forks): a searcher spins for microseconds, and publishing at
//!   every fork meanwhile hands out work too small to be worth the trip.
//! - Otherwise, every `HEARTBEAT_TICKS` forks while workers sleep the thread looks at the
//!   clock, and once it ran `HEARTBEAT` since its period began it publishes one fork (which
//!   wakes one sleeper).
//! - Everybody busy (the quiet snapshot): nothing to publish for, nothing to look at.
//!
//! The policy only decides; the context publishes (if the queue it would go to holds no
//! unclaimed fork) and reports back with `published_for_hungry`.

use std::cell::Cell;
use std::time::Instant;

use crate::sched::sleep::Snapshot;
use crate::sched::sleep::pacing::{
    HEARTBEAT, HEARTBEAT_TICKS, HUNGRY_CLOCK_TICKS, HUNGRY_INTERVAL, HUNGRY_TICKS,
};

/// What the fork just pushed asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Stay private.
    Keep,
    /// Publish the oldest fork for a hungry thread.
    ForHungry,
    /// Publish the oldest fork: the heartbeat is due.
    Heartbeat,
}

/// A thread's publication state.
#[derive(Debug)]
pub(crate) struct Policy {
    ticks: Cell<u32>,
    /// `ticks` at the last publication for a hungry thread...
    published_at: Cell<u32>,
    /// ...and when it happened.
    published_time: Cell<Option<Instant>>,
    /// When the heartbeat is due; `None` until the current period's first look.
    deadline: Cell<Option<Instant>>,
}

impl Policy {
    pub(crate) fn new() -> Self {
        Policy {
            ticks: Cell::new(0),
            published_at: Cell::new(0),
            published_time: Cell::new(None),
            deadline: Cell::new(None),
        }
    }

    /// A fork was pushed while the pool looked like `s`; `now` reads the clock (called only
    /// when the policy needs the time).
    #[inline]
    pub(crate) fn on_fork(&self, s: Snapshot, now: impl FnOnce() -> Instant) -> Decision {
        if s.is_quiet() {
            return Decision::Keep;
        }
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if s.hungry() {
            let since = t.wrapping_sub(self.published_at.get());
            if since >= HUNGRY_TICKS
                || (since.is_multiple_of(HUNGRY_CLOCK_TICKS) && self.hungry_clock_due(now))
            {
                return Decision::ForHungry;
            }
            return Decision::Keep;
        }
        if t.is_multiple_of(HEARTBEAT_TICKS) && s.sleeping() > 0 {
            return self.heartbeat(now());
        }
        Decision::Keep
    }

    #[cold]
    fn heartbeat(&self, now: Instant) -> Decision {
        match self.deadline.get() {
            Some(deadline) if now >= deadline => {
                self.deadline.set(Some(now + HEARTBEAT));
                Decision::Heartbeat
            }
            Some(_) => Decision::Keep,
            None => {
                self.deadline.set(Some(now + HEARTBEAT));
                Decision::Keep
            }
        }
    }

    /// Whether `HUNGRY_INTERVAL` passed since the last publication for a hungry thread: a
    /// thread whose forks are far apart (coarse nodes) should not make a searcher wait
    /// `HUNGRY_TICKS` forks.
    #[cold]
    fn hungry_clock_due(&self, now: impl FnOnce() -> Instant) -> bool {
        match self.published_time.get() {
            Some(at) => now().duration_since(at) >= HUNGRY_INTERVAL,
            None => true,
        }
    }

    /// The context published a fork for a hungry thread at `now`.
    #[cold]
    pub(crate) fn published_for_hungry(&self, now: Instant) {
        self.published_at.set(self.ticks.get());
        self.published_time.set(Some(now));
    }

    /// Starts a new heartbeat period (the thread just picked up a new root job).
    #[inline]
    pub(crate) fn reset_heartbeat(&self) {
        self.deadline.set(None);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn forks(policy: &Policy, s: Snapshot, n: u32, now: Instant) -> Vec<Decision> {
        (0..n).map(|_| policy.on_fork(s, || now)).collect()
    }

    #[test]
    fn a_busy_pool_never_publishes_nor_reads_the_clock() {
        let policy = Policy::new();
        for _ in 0..10_000 {
            let d = policy.on_fork(Snapshot::of(0, 0, 0), || {
                unreachable!("the quiet path reads no clock")
            });
            assert_eq!(d, Decision::Keep);
        }
    }

    #[test]
    fn a_hungry_thread_gets_the_first_fork_then_one_per_interval() {
        let policy = Policy::new();
        let t0 = Instant::now();
        let hungry = Snapshot::of(1, 0, 0);
        // The first look at the clock (fork 16) finds no earlier publication.
        let first = forks(&policy, hungry, HUNGRY_CLOCK_TICKS, t0);
        assert_eq!(first.last(), Some(&Decision::ForHungry));
        assert!(
            first[..first.len() - 1]
                .iter()
                .all(|d| *d == Decision::Keep)
        );
        policy.published_for_hungry(t0);
        // Within the interval, the clock says no; at HUNGRY_TICKS forks it is due anyway.
        let burst = forks(&policy, hungry, HUNGRY_TICKS, t0);
        assert_eq!(burst.iter().filter(|d| **d != Decision::Keep).count(), 1);
        assert_eq!(burst.last(), Some(&Decision::ForHungry));
        policy.published_for_hungry(t0);
        // Once the interval passed, the next clock look publishes.
        let later = t0 + HUNGRY_INTERVAL;
        let next = forks(&policy, hungry, HUNGRY_CLOCK_TICKS, later);
        assert_eq!(next.last(), Some(&Decision::ForHungry));
    }

    #[test]
    fn a_waiter_spinning_for_its_own_work_counts_as_hungry() {
        let policy = Policy::new();
        let d = forks(
            &policy,
            Snapshot::of(0, 0, 1),
            HUNGRY_CLOCK_TICKS,
            Instant::now(),
        );
        assert_eq!(d.last(), Some(&Decision::ForHungry));
    }

    #[test]
    fn the_heartbeat_fires_after_a_period_only_while_workers_sleep() {
        let policy = Policy::new();
        let t0 = Instant::now();
        let asleep = Snapshot::of(0, 1, 0);
        // First look starts the period.
        let d = forks(&policy, asleep, HEARTBEAT_TICKS, t0);
        assert!(d.iter().all(|d| *d == Decision::Keep));
        // Before the deadline: keep.
        let d = forks(&policy, asleep, HEARTBEAT_TICKS, t0 + HEARTBEAT / 2);
        assert!(d.iter().all(|d| *d == Decision::Keep));
        // At the deadline: publish, once per look.
        let d = forks(&policy, asleep, HEARTBEAT_TICKS, t0 + HEARTBEAT);
        assert_eq!(d.last(), Some(&Decision::Heartbeat));
        assert_eq!(d.iter().filter(|d| **d != Decision::Keep).count(), 1);
        // A new root job starts a new period.
        policy.reset_heartbeat();
        let d = forks(
            &policy,
            asleep,
            HEARTBEAT_TICKS,
            t0 + Duration::from_secs(1),
        );
        assert!(d.iter().all(|d| *d == Decision::Keep));
    }
}
