//! When a pool's queues give back the room a burst grew them to (`backend/job_list.rs`).
//!
//! Each ring says whether it may hold spare room and whether it grew past `RING_KEEP`
//! since it was last asked. A worker about to park while some ring holds spare room asks
//! the pool's [`TrimClock`], which takes the rings' growth under its lock. The clock
//! starts at a look that finds it stopped (at first, and after a trim) and starts over at
//! every look that finds growth; once it has run for the pool's `trim_after`
//! (`pacing::TRIM_AFTER` unless the builder set another), the worker frees the room. So a
//! pool whose workers keep parking and waking (a trickle of jobs) frees the room at its
//! first park a second after the last growth, and a pool gone quiet frees it when a
//! worker's park, limited to the time left, runs out and that worker looks again.

use std::time::{Duration, Instant};

use crate::sync::Mutex;

/// What a look before a park decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrimDue {
    /// No ring grew for the pool's `trim_after`: free the spare room now.
    Now,
    /// Park for at most this long, then look again.
    After(Duration),
}

/// Since when no ring has grown (see the module docs); one per pool.
#[derive(Debug, Default)]
pub(crate) struct TrimClock {
    quiet_since: Mutex<Option<Instant>>,
}

impl TrimClock {
    /// A look at `now` that found spare room; `grew` takes the rings' growth since the
    /// previous look, under the clock's lock, so that no two looks split one growth. The
    /// room is freed once no ring grew for `after` (the pool's `trim_after`). Called only
    /// while some ring holds spare room.
    pub(crate) fn at_park(
        &self,
        grew: impl FnOnce() -> bool,
        now: Instant,
        after: Duration,
    ) -> TrimDue {
        let mut since = self.quiet_since.lock();
        let start = match *since {
            Some(start) if !grew() => start,
            _ => *since.insert(now),
        };
        let quiet = now.saturating_duration_since(start);
        if quiet >= after {
            *since = None;
            TrimDue::Now
        } else {
            TrimDue::After(after - quiet)
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sched::sleep::pacing::TRIM_AFTER;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_room_is_freed_a_quiet_second_after_the_first_look() {
        let clock = TrimClock::default();
        let t0 = Instant::now();
        assert_eq!(
            clock.at_park(|| true, t0, TRIM_AFTER),
            TrimDue::After(TRIM_AFTER)
        );
        // Parks of a trickle: the wait left shrinks, then the trim is due.
        assert_eq!(
            clock.at_park(|| false, t0 + 300 * MS, TRIM_AFTER),
            TrimDue::After(TRIM_AFTER - 300 * MS)
        );
        assert_eq!(
            clock.at_park(|| false, t0 + TRIM_AFTER, TRIM_AFTER),
            TrimDue::Now
        );
        // After a trim the clock starts over at the next look.
        let t1 = t0 + 5 * TRIM_AFTER;
        assert_eq!(
            clock.at_park(|| false, t1, TRIM_AFTER),
            TrimDue::After(TRIM_AFTER)
        );
    }

    #[test]
    fn growth_restarts_the_clock() {
        let clock = TrimClock::default();
        let t0 = Instant::now();
        clock.at_park(|| true, t0, TRIM_AFTER);
        assert_eq!(
            clock.at_park(|| true, t0 + 900 * MS, TRIM_AFTER),
            TrimDue::After(TRIM_AFTER)
        );
        assert_eq!(
            clock.at_park(|| false, t0 + 1500 * MS, TRIM_AFTER),
            TrimDue::After(TRIM_AFTER - 600 * MS)
        );
        assert_eq!(
            clock.at_park(|| false, t0 + 1900 * MS, TRIM_AFTER),
            TrimDue::Now
        );
    }
}
