//! The publication policy: when a thread's fork stops being private (lazy publication,
//! after heartbeat scheduling).
//!
//! - Everybody busy (the quiet snapshot): nothing to publish for, nothing to look at, except
//!   in the ahead mode below. This is the common case of a loaded pool, and costs one
//!   relaxed load per fork.
//! - Somebody is *hungry* (a worker searches, or a waiter spins for work of its own;
//!   searchers whose search rounds stopped for `SEARCH_STALL`, waiting for a CPU, count as
//!   nobody: `stall.rs`): the oldest private fork is published once `HUNGRY_INTERVAL`
//!   passed since the last such
//!   publication, or once `HUNGRY_TICKS` forks were made since that publication, or,
//!   with fine forks, since the last attempt that could not publish. The fork count is
//!   noticed at the next look at the clock if the thread became hungry after the last
//!   one, so up to one stride later. A searcher spins for microseconds, and publishing at
//!   every fork meanwhile
//!   hands out work too small to be worth the trip. A context's first such publication
//!   waits for `FIRST_SHARE_AFTER` after its first look at the clock, whatever the fork
//!   count: a caller from outside gets a new context per call, and a run of small calls
//!   must not keep the workers fed.
//! - Otherwise, while workers sleep, the thread publishes one fork (which wakes one
//!   sleeper) once it ran `HEARTBEAT` since its first look at the clock that found workers
//!   asleep in its root job, or since its last heartbeat.
//!   A worker's root job that follows a coarse one (*eager start*) publishes at its first
//!   look instead: the heartbeat is noticed only at a fork or a return, so a tree whose
//!   first leaf is long would keep its sleepers asleep for that whole leaf. Coarse means
//!   that the previous root job that looked at the clock with workers asleep ran
//!   `EAGER_AFTER` or more from that first look to its end (a job run inside it, while it
//!   waits, is a root job of its own and leaves its period running); a shorter one ends the
//!   eager start. A small tree after a coarse one thus wastes one wake-up, and a run of
//!   small trees wakes nobody: `EAGER_AFTER` is long enough that a small tree which waited
//!   for the half a woken worker took does not count as coarse. A caller from outside gets
//!   a new context per call, so it never starts eagerly.
//! - Everybody busy, but this thread's forked `join`s return `AHEAD_GAP` or more apart (the
//!   *ahead* mode): while the pool is quiet, every `AHEAD_SAMPLE`-th return of a forked
//!   `join` looks at the clock, the gap shared among the forked returns since the previous
//!   look (a quiet pool counts nothing else; forks and returns counted before the pool
//!   turned quiet share it too, so the first look after a stretch with workers asleep
//!   may read as fine). A coarse one starts the mode; in it, every
//!   forked return looks, and at each one that came `AHEAD_GAP` or more after the
//!   previous look the thread publishes its oldest private fork, if that is not the
//!   `join`'s own `b`, the pool has another worker, and the queue is empty. The first
//!   worker to run out then finds a fork at once; otherwise it would wait, hungry, for
//!   this thread's next fork or return, up to a whole leaf. `AHEAD_FINE_LOOKS` finer looks
//!   in a row end the mode. Forks, and the returns of `join`s that did not fork (nearly
//!   all of a fine tree's), keep their one-load path in a quiet pool; a forked return
//!   calls out of line.
//!
//! Time, not a fork count, decides: the thread looks at the clock about every
//! `LOOK_INTERVAL`, and the number of forks between two looks (the *stride*) adapts to the
//! time forks take, from 1 (coarse forks: a clock read is nothing next to a fork's work)
//! up to `MAX_LOOK_STRIDE` (fine forks: one read per a few hundred forks). Forks and the
//! returns of `a` both count (`on_fork`, `on_return`). The descent of a tree to its first
//! leaf is a burst of forks however coarse the leaves are, and the stride may grow on it;
//! so the first return since the root job began (the end of the first leaf) always looks,
//! and a coarse first leaf scales the stride back to 1 there. A tree of 0.4 ms leaves thus
//! shares out at the end of its first leaf after one heartbeat, and a small tree reads
//! the clock a few times, not at every fork of its descent. Each new root job starts over
//! from a stride of 1. The looks of the ahead mode may shrink the stride, never grow it:
//! each covers one forked return, not `stride` forks.
//!
//! Each look also records whether the pool's idle threads all slept (`Sharing::Drowsy`): until the
//! next look, or a heartbeat before it, the thread keeps one publishable fork instead of
//! three (`forks.rs`). The record is kept across root jobs (the first fork of each looks). Since a
//! `join` that did not fork under that bound may run below a single fork, the policy also
//! keeps `lowered` (the bound was low since the fork stack was last empty) for
//! `current_thread_has_pending_tasks`. A look that finds somebody hungry sets `Sharing::Hungry`
//! instead: until the next look the thread keeps up to 64 publishable forks, so that what
//! it can share stays large.
//!
//! The policy only decides; the context publishes (if the queue it would go to holds no
//! unclaimed job) and reports back with `published_for_hungry`, or with `not_published`
//! when it could not: with fine forks the next attempt then waits for the next look at the
//! clock instead of coming at every fork.

use std::cell::Cell;
use std::time::Instant;

use super::stall::Stall;
use crate::sched::sleep::Snapshot;
#[cfg(all(test, not(loom)))]
use crate::sched::sleep::pacing::SEARCH_STALL;
use crate::sched::sleep::pacing::{
    AHEAD_FINE_LOOKS, AHEAD_GAP, AHEAD_SAMPLE, EAGER_AFTER, FINE_STRIDE, FIRST_SHARE_AFTER,
    HEARTBEAT, HUNGRY_INTERVAL, HUNGRY_TICKS, LOOK_INTERVAL, MAX_LOOK_GROWTH, MAX_LOOK_STRIDE,
};

/// What a look at the clock reads besides the sleep state's snapshot: the clock, and the
/// count of the pool's search rounds (`stall.rs`). Each is read only when a look needs it.
pub(crate) trait Reads {
    /// The time now.
    fn now(&mut self) -> Instant;
    /// The search rounds the pool's searchers made so far (`Sleep::search_rounds`);
    /// `None` when this reader cannot tell, and searchers count as running.
    fn search_rounds(&mut self) -> Option<u64>;
}

/// A bare clock: searchers count as running.
impl<F: FnMut() -> Instant> Reads for F {
    fn now(&mut self) -> Instant {
        self()
    }
    fn search_rounds(&mut self) -> Option<u64> {
        None
    }
}

/// What the fork just pushed asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Stay private.
    Keep,
    /// Publish the oldest fork for a hungry thread.
    ForHungry,
    /// Publish the oldest fork: the heartbeat is due.
    Heartbeat,
    /// Publish the oldest fork if the queue it goes to is empty: everybody is busy and the
    /// forks are coarse (the ahead mode).
    Ahead,
}

/// When the root job that a job started inside (`Policy::start_root_job`) first looked at
/// the clock with workers asleep, kept for it until that job returns.
#[derive(Debug)]
#[must_use]
pub(crate) struct OuterJob(Option<Instant>);

/// A context's publications for hungry threads so far.
#[derive(Clone, Copy, Debug)]
enum Shared {
    /// It never looked at the clock while somebody was hungry.
    Never,
    /// It first did at this time, and published nothing for a hungry thread since: only
    /// the clock decides the first publication (`FIRST_SHARE_AFTER`).
    FirstLook(Instant),
    /// Its last publication for a hungry thread: at this fork count and this time. The
    /// fork budget (`HUNGRY_TICKS`) and `HUNGRY_INTERVAL` count from here.
    Last { tick: u32, time: Instant },
}

/// A thread's publication state.
#[derive(Debug)]
pub(crate) struct Policy {
    ticks: Cell<u32>,
    /// The tick of the next look at the clock...
    next_look: Cell<u32>,
    /// ...the forks between two looks...
    stride: Cell<u32>,
    /// ...and when the last look happened (`None`: none since the root job began)...
    last_look: Cell<Option<Instant>>,
    /// ...and whether no `a` has returned since the root job began (its forks so far are
    /// the descent to the first leaf; the first return looks whatever the stride).
    descending: Cell<bool>,
    /// Where the context stands with hungry threads.
    shared: Cell<Shared>,
    /// When the heartbeat is due; `None` until the current period's first look.
    deadline: Cell<Option<Instant>>,
    /// When the current root job first looked with workers asleep (`None`: it did not).
    slept_since: Cell<Option<Instant>>,
    /// The eager start (module docs): the last root job that looked with workers asleep ran
    /// `EAGER_AFTER` or more from that look to its end. Kept across root jobs.
    eager: Cell<bool>,
    /// The ahead mode (module docs): forked returns were seen coarse in a quiet pool, so
    /// each one looks. Kept across root jobs.
    ahead: Cell<bool>,
    /// The tick of the last look: the forks and returns counted since are what a gap is
    /// shared among.
    last_look_tick: Cell<u32>,
    /// Forked returns in a quiet pool with the ahead mode off: every `AHEAD_SAMPLE`-th looks.
    quiet_returns: Cell<u32>,
    /// Looks in a row in a quiet pool that found the forked returns finer than
    /// `AHEAD_GAP`: `AHEAD_FINE_LOOKS` of them end the ahead mode.
    fine_looks: Cell<u8>,
    /// What the last look found, for the fork stack's bound (`forks.rs`); it holds until
    /// the next look, and a heartbeat ends `Drowsy`. A sleeper woken by other work is seen
    /// only at that next look, and a busy pool looks only at sampled forked returns, so the
    /// drowsy bound of one may last a while after the pool got busy: a cost in forks
    /// published, never in what is tracked.
    sharing: Cell<Sharing>,
    /// Whether the searchers the last looks saw run (`stall.rs`): stalled ones count as
    /// nobody hungry.
    stall: Stall,
    /// Whether the bound was `Drowsy` since the thread's fork stack was last empty: a `join`
    /// that did not fork under the drowsy bound may be running below any fork on it.
    lowered: Cell<bool>,
    /// Calls of `not_published` (for tests).
    #[cfg(all(test, not(loom)))]
    unpublished: Cell<u32>,
}

/// What the policy's last look at the clock found, which sets how many publishable forks
/// the thread keeps (`forks.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// Nobody idle, or a heartbeat since: the usual bound.
    Busy,
    /// The pool's idle threads all asleep (nobody searching or waiting): the low bound.
    Drowsy,
    /// Somebody hungry (searching, or waiting for work of its own): the high bound.
    Hungry,
}

impl Policy {
    pub(crate) fn new() -> Self {
        Policy {
            ticks: Cell::new(0),
            next_look: Cell::new(0),
            stride: Cell::new(1),
            last_look: Cell::new(None),
            descending: Cell::new(true),
            shared: Cell::new(Shared::Never),
            deadline: Cell::new(None),
            slept_since: Cell::new(None),
            eager: Cell::new(false),
            ahead: Cell::new(false),
            last_look_tick: Cell::new(0),
            quiet_returns: Cell::new(0),
            fine_looks: Cell::new(0),
            sharing: Cell::new(Sharing::Busy),
            stall: Stall::default(),
            lowered: Cell::new(false),
            #[cfg(all(test, not(loom)))]
            unpublished: Cell::new(0),
        }
    }

    /// This thread made a search round, counted in its pool's count (`stall.rs`: its own
    /// rounds do not tell whether the searchers it sees run).
    #[inline]
    pub(crate) fn searched(&self) {
        self.stall.own_round();
    }

    /// What the last look at the clock found (see `sharing`).
    #[inline]
    pub(crate) fn sharing(&self) -> Sharing {
        self.sharing.get()
    }

    /// Whether the last look at the clock found only sleepers idle and no heartbeat came
    /// since.
    #[inline]
    pub(crate) fn drowsy(&self) -> bool {
        self.sharing.get() == Sharing::Drowsy
    }

    /// Whether the drowsy bound may have applied since the fork stack was last empty.
    pub(crate) fn lowered(&self) -> bool {
        self.lowered.get()
    }

    /// The thread's fork stack became empty: no `join` that did not fork is running below
    /// a fork any more, and one may start again only while the bound is low.
    #[inline]
    pub(crate) fn stack_emptied(&self) {
        self.lowered.set(self.drowsy());
    }

    /// A fork was pushed while the pool looked like `s`; `reads` reads the clock and the
    /// searchers' rounds (only when the policy looks at them).
    #[inline]
    pub(crate) fn on_fork(&self, s: Snapshot, reads: impl Reads) -> Decision {
        if s.is_quiet() {
            return Decision::Keep;
        }
        self.tick(false, s, reads)
    }

    /// A `join`'s `a` returned while the pool looked like `s`: counts as a fork does, and
    /// the first return since the root job began always looks at the clock.
    #[inline]
    pub(crate) fn on_return(&self, s: Snapshot, reads: impl Reads) -> Decision {
        if s.is_quiet() {
            return Decision::Keep;
        }
        self.returned(s, reads)
    }

    /// `on_return` for a `join` that forked: the one point where the ahead mode looks at a
    /// quiet pool. A fine tree's `join`s rarely fork (`forks.rs`: at most three private
    /// forks), so the check costs nearly nothing there; a coarse tree's leaves return
    /// through forked `join`s.
    #[inline]
    pub(crate) fn on_forked_return(&self, s: Snapshot, reads: impl Reads) -> Decision {
        if s.is_quiet() {
            return self.quiet_forked_return(s, reads);
        }
        self.returned(s, reads)
    }

    /// A forked return in a quiet pool, out of line: forked returns are few in a fine tree,
    /// and this code inline made every `join` larger (3 instructions per `join` on fib,
    /// callgrind).
    #[cold]
    #[inline(never)]
    fn quiet_forked_return(&self, s: Snapshot, reads: impl Reads) -> Decision {
        if !self.ahead.get() {
            // A sample, to find out whether the mode pays: the forks and unforked returns
            // of a quiet pool are not counted, so the gap between two sampled looks is
            // shared among the forked returns alone.
            let n = self.quiet_returns.get().wrapping_add(1);
            self.quiet_returns.set(n);
            if !n.is_multiple_of(AHEAD_SAMPLE) {
                return Decision::Keep;
            }
            // The returns skipped since the last sample count as ticks: the look shares
            // its gap among all `AHEAD_SAMPLE` of them.
            self.ticks
                .set(self.ticks.get().wrapping_add(AHEAD_SAMPLE - 1));
        }
        // In the mode every forked return looks, whatever the stride: fine returns in
        // between (a subtree unwinding) must not make the next coarse one skip its look.
        self.descending.set(false);
        self.tick(true, s, reads)
    }

    #[inline]
    fn returned(&self, s: Snapshot, reads: impl Reads) -> Decision {
        let first_leaf = self.descending.get();
        if first_leaf {
            self.descending.set(false);
        }
        self.tick(first_leaf, s, reads)
    }

    /// Counts a fork or a return; looks at the clock when its turn came (or `look_now`).
    #[inline]
    fn tick(&self, look_now: bool, s: Snapshot, reads: impl Reads) -> Decision {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        // Signed distance: something is due once `t` reached `next_look` (wrapping). While
        // somebody is hungry, `look` brings `next_look` no later than the fork that
        // exhausts the fork budget.
        if !look_now && (t.wrapping_sub(self.next_look.get()) as i32) < 0 {
            return Decision::Keep;
        }
        self.due(t, s, reads)
    }

    /// The fork budget for hungry threads, then the clock.
    #[cold]
    fn due(&self, t: u32, s: Snapshot, reads: impl Reads) -> Decision {
        if s.hungry() && !self.stall.last() && self.budget_left(t) == Some(0) {
            // The context publishes; if it cannot, coarse forks ask again at the next
            // fork and fine ones at the next look (`not_published`).
            self.next_look.set(t.wrapping_add(1));
            return Decision::ForHungry;
        }
        self.look(t, s, reads)
    }

    /// Forks left before the fork budget for hungry threads runs out; `None` before the
    /// first publication for one.
    fn budget_left(&self, t: u32) -> Option<u32> {
        match self.shared.get() {
            Shared::Last { tick, .. } => Some(HUNGRY_TICKS.saturating_sub(t.wrapping_sub(tick))),
            Shared::Never | Shared::FirstLook(_) => None,
        }
    }

    #[cold]
    fn look(&self, t: u32, s: Snapshot, mut reads: impl Reads) -> Decision {
        let now = reads.now();
        // Searchers that do not run count as nobody hungry (`stall.rs`). A look that finds
        // nobody hungry starts the stall's record over.
        let hungry = if s.hungry() {
            !self.stall.stalled(s, now, || reads.search_rounds())
        } else {
            self.stall.nobody_stalls();
            false
        };
        let sharing = if s.only_sleepers() {
            self.lowered.set(true);
            Sharing::Drowsy
        } else if hungry {
            Sharing::Hungry
        } else {
            Sharing::Busy
        };
        self.sharing.set(sharing);
        let stride = self.stride.get();
        // Whether the forks and returns counted since the last look came `AHEAD_GAP` or
        // more apart, on average.
        let mut coarse = false;
        if let Some(prev) = self.last_look.get() {
            let gap = now.saturating_duration_since(prev);
            let counted = t.wrapping_sub(self.last_look_tick.get()).max(1);
            coarse = gap >= AHEAD_GAP * counted;
            // A stride grown on the descent of a coarse tree (a burst of forks before its
            // first long leaf) is scaled back at the first return, which always looks.
            let next = if gap < LOOK_INTERVAL {
                // Grow toward the stride that spaces looks `LOOK_INTERVAL` apart: at least
                // twice, at most `MAX_LOOK_GROWTH` times per look, and no more than the
                // forks and returns the gap covered.
                let gap_ns = (gap.as_nanos() as u64).max(1);
                let most = MAX_LOOK_GROWTH.min(u64::from(counted)).max(2);
                let growth = (LOOK_INTERVAL.as_nanos() as u64 / gap_ns).clamp(2, most);
                stride.saturating_mul(growth as u32).min(MAX_LOOK_STRIDE)
            } else if gap > LOOK_INTERVAL * 4 {
                // Scale down in one step: forks just became coarse.
                let scaled = u128::from(stride) * LOOK_INTERVAL.as_nanos() / gap.as_nanos();
                scaled.max(1) as u32
            } else {
                stride
            };
            if s.is_quiet() {
                // A quiet pool's looks (forked returns only) may shrink the stride, never
                // grow it: their gaps do not cover `stride` forks, and a stride grown here
                // would delay the looks of the hungry pool that may follow.
                self.stride.set(next.min(stride));
                self.track_ahead(coarse);
            } else {
                self.stride.set(next);
            }
        }
        self.last_look.set(Some(now));
        self.last_look_tick.set(t);
        let mut until_next = self.stride.get();
        if hungry && let Some(left) = self.budget_left(t) {
            until_next = until_next.min(left.max(1));
        }
        self.next_look.set(t.wrapping_add(until_next));
        if s.is_quiet() {
            // Only a forked return looks at a quiet pool: sampled, or in the ahead mode.
            return if coarse && self.ahead.get() {
                Decision::Ahead
            } else {
                Decision::Keep
            };
        }
        if hungry {
            let (since, interval) = match self.shared.get() {
                Shared::Never => {
                    // The context's first look at a hungry pool starts its first interval:
                    // a thread that just came in (a caller from outside the pool, once per
                    // call) shares nothing for `FIRST_SHARE_AFTER`, however many forks it
                    // makes. Otherwise a run of small calls from outside feeds the workers
                    // a piece of each, and they never go to sleep: each piece leaves them
                    // searching when the next call comes.
                    self.shared.set(Shared::FirstLook(now));
                    return Decision::Keep;
                }
                Shared::FirstLook(at) => (at, FIRST_SHARE_AFTER),
                Shared::Last { time, .. } => (time, HUNGRY_INTERVAL),
            };
            let due = now.saturating_duration_since(since) >= interval;
            return if due {
                Decision::ForHungry
            } else {
                Decision::Keep
            };
        }
        if s.sleeping() == 0 {
            return Decision::Keep;
        }
        match self.deadline.get() {
            Some(deadline) if now >= deadline => {
                self.deadline.set(Some(now + HEARTBEAT));
                self.heartbeat()
            }
            Some(_) => Decision::Keep,
            None => {
                self.deadline.set(Some(now + HEARTBEAT));
                // The root job's first look with workers asleep, unless a job run inside it
                // reset the heartbeat since: that one is no start.
                if self.slept_since.get().is_some() {
                    return Decision::Keep;
                }
                self.slept_since.set(Some(now));
                if self.eager.get() {
                    self.heartbeat()
                } else {
                    Decision::Keep
                }
            }
        }
    }

    /// A heartbeat asks the context to publish and wake a sleeper (it does when the queue
    /// holds no unclaimed fork and a publishable fork exists), which then searches and
    /// works: the pool is no longer drowsy, and a busy pool does not look again before a
    /// forked return is sampled, so the bound goes back to three here rather than at the
    /// next look.
    fn heartbeat(&self) -> Decision {
        if self.drowsy() {
            self.sharing.set(Sharing::Busy);
        }
        Decision::Heartbeat
    }

    /// Starts or ends the ahead mode after a look at a quiet pool that found the forked
    /// returns since the previous look `coarse` or not. Only looks at a quiet pool count:
    /// the mode acts only there, and there the gap is shared among the forked returns,
    /// whose looks and publications the mode pays for.
    fn track_ahead(&self, coarse: bool) {
        if coarse {
            self.fine_looks.set(0);
            self.ahead.set(true);
        } else {
            let n = self.fine_looks.get().saturating_add(1);
            self.fine_looks.set(n);
            if n >= AHEAD_FINE_LOOKS {
                self.fine_looks.set(0);
                self.ahead.set(false);
            }
        }
    }

    /// The context published a fork for a hungry thread at `now`.
    #[cold]
    pub(crate) fn published_for_hungry(&self, now: Instant) {
        self.shared.set(Shared::Last {
            tick: self.ticks.get(),
            time: now,
        });
    }

    /// The context could not publish for a hungry thread when asked: the queue it publishes
    /// to still held a job nobody took, or no fork was publishable. With fine forks (a
    /// stride of `FINE_STRIDE` or more) the fork budget starts over while the interval
    /// still counts from the last publication, so the next attempt comes at the next look
    /// at the clock, a stride of forks later, instead of at every fork. Coarser forks
    /// leave the budget as it is, but the interval has run out long before it would (2 µs
    /// against 256 forks of 30 ns or more), so they too ask again at the next look, a
    /// stride of forks later: at the next fork where the stride is 1 (forks 1 µs or more
    /// apart), and up to 63 forks later below that. At a leaf's end the forks and returns
    /// come in a burst, which an attempt deferred by a stride may miss.
    #[cold]
    pub(crate) fn not_published(&self) {
        #[cfg(all(test, not(loom)))]
        self.unpublished.set(self.unpublished.get() + 1);
        if self.stride.get() < FINE_STRIDE {
            return;
        }
        if let Shared::Last { time, .. } = self.shared.get() {
            self.shared.set(Shared::Last {
                tick: self.ticks.get(),
                time,
            });
        }
    }

    /// The thread picked up a new root job: starts a new heartbeat period (the first fork
    /// looks at the clock, and the stride adapts from 1). Returns the eager start's record
    /// of the root job this one runs inside, if any, for `end_root_job`.
    #[inline]
    pub(crate) fn start_root_job(&self) -> OuterJob {
        let outer = OuterJob(self.slept_since.take());
        self.reset_heartbeat();
        outer
    }

    /// The root job started by `start_root_job` returned: if it looked at the clock with
    /// workers asleep, `now` (read only then) decides whether the next one starts eagerly.
    /// The root job it ran inside, if any, goes on with its own record. The time after a
    /// job is not the job's: a small tree followed by an idle pool is not coarse.
    #[inline]
    pub(crate) fn end_root_job(&self, outer: OuterJob, now: impl FnOnce() -> Instant) {
        if let Some(since) = self.slept_since.get() {
            self.end_sleeping_job(since, now());
        }
        self.slept_since.set(outer.0);
    }

    /// A root job that first looked at the clock with workers asleep at `since` ends at
    /// `now`: the next one starts eagerly if this one ran `EAGER_AFTER` or more.
    #[cold]
    fn end_sleeping_job(&self, since: Instant, now: Instant) {
        self.eager
            .set(now.saturating_duration_since(since) >= EAGER_AFTER);
    }

    /// Starts a new heartbeat period: the first fork looks at the clock, and the stride
    /// adapts from 1.
    #[inline]
    fn reset_heartbeat(&self) {
        self.deadline.set(None);
        self.last_look.set(None);
        self.descending.set(true);
        self.stride.set(1);
        self.next_look.set(self.ticks.get().wrapping_add(1));
    }

    /// The current stride (for tests).
    #[cfg(all(test, not(loom)))]
    fn stride(&self) -> u32 {
        self.stride.get()
    }

    /// How many times the context reported an attempt that could not publish (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn unpublished(&self) -> u32 {
        self.unpublished.get()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `n` forks, each `step` after the previous one (the clock is simulated).
    fn forks(
        policy: &Policy,
        s: Snapshot,
        n: u32,
        start: Instant,
        step: Duration,
    ) -> Vec<Decision> {
        steps(n, start, step, |at| policy.on_fork(s, || at))
    }

    /// `point` called `n` times, at `start` and then each `step` after the previous call.
    fn steps(
        n: u32,
        start: Instant,
        step: Duration,
        point: impl Fn(Instant) -> Decision,
    ) -> Vec<Decision> {
        (0..n).map(|i| point(start + step * i)).collect()
    }

    const FINE: Duration = Duration::from_nanos(5);
    const COARSE: Duration = Duration::from_micros(400);

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
    fn the_stride_follows_the_time_forks_take() {
        let policy = Policy::new();
        let asleep = Snapshot::of(0, 1, 0);
        let t0 = Instant::now();
        let mut reads = 0;
        let mut at = t0;
        for _ in 0..100_000 {
            at += FINE;
            policy.on_fork(asleep, || {
                reads += 1;
                at
            });
        }
        assert_eq!(
            policy.stride(),
            MAX_LOOK_STRIDE,
            "fine forks: few clock reads"
        );
        // The stride grows at every look until it reaches its bound.
        assert!(
            reads < 10 + 100_000 / MAX_LOOK_STRIDE,
            "{reads} clock reads for 100 000 fine forks"
        );
        // Forks become coarse: the next look scales the stride down in one step.
        let _ = forks(&policy, asleep, MAX_LOOK_STRIDE + 1, at, COARSE);
        assert_eq!(policy.stride(), 1, "coarse forks: every fork looks");
    }

    /// The forks and returns of a `join` tree of `depth` levels whose leaves take `leaf`,
    /// walked the way `join` walks it; returns the decisions and counts the clock reads.
    fn walk(
        policy: &Policy,
        s: Snapshot,
        depth: u32,
        clock: &Cell<Instant>,
        leaf: Duration,
        reads: &Cell<u32>,
    ) -> Vec<Decision> {
        let now = || {
            reads.set(reads.get() + 1);
            clock.get()
        };
        if depth == 0 {
            clock.set(clock.get() + leaf);
            return Vec::new();
        }
        let mut d = vec![policy.on_fork(s, now)];
        d.extend(walk(policy, s, depth - 1, clock, leaf, reads));
        d.push(policy.on_return(s, now));
        d.extend(walk(policy, s, depth - 1, clock, leaf, reads));
        d
    }

    /// Forks while the pool looks like `s` until one of them looks at the clock, which
    /// reads `now`.
    fn look_at(policy: &Policy, s: Snapshot, now: Instant) {
        let mut read = false;
        while !read {
            policy.on_fork(s, || {
                read = true;
                now
            });
        }
    }

    #[test]
    fn a_look_at_a_pool_of_sleepers_lowers_the_bound_until_the_next_look() {
        let policy = Policy::new();
        let at = Instant::now();
        assert!(!policy.drowsy() && !policy.lowered());
        // The first fork looks: only sleepers idle.
        policy.on_fork(Snapshot::of(0, 1, 0), || at);
        assert!(policy.drowsy() && policy.lowered());
        // A heartbeat wakes a sleeper: the bound is three again at once.
        let mut d = Decision::Keep;
        while d != Decision::Heartbeat {
            d = policy.on_return(Snapshot::of(0, 1, 0), || at + HEARTBEAT);
        }
        assert!(!policy.drowsy() && policy.lowered());
        // The next look that finds only sleepers lowers it again.
        let look = |s: Snapshot| look_at(&policy, s, at + HEARTBEAT);
        look(Snapshot::of(0, 1, 0));
        assert!(policy.drowsy());
        // The stack empties while the bound is low: it stays lowered.
        policy.stack_emptied();
        assert!(policy.lowered());
        // A look at a hungry pool restores the bound; a `join` left unforked before may
        // still run, until the stack empties.
        look(Snapshot::of(1, 0, 0));
        assert!(!policy.drowsy() && policy.lowered());
        policy.stack_emptied();
        assert!(!policy.lowered());
    }

    #[test]
    fn a_look_at_a_hungry_pool_raises_the_bound_until_the_next_look() {
        let policy = Policy::new();
        let at = Instant::now();
        assert!(!(policy.sharing() == Sharing::Hungry));
        let look = |s: Snapshot| look_at(&policy, s, at + HEARTBEAT);
        // A searcher, then a waiter: hungry.
        look(Snapshot::of(1, 1, 0));
        assert!((policy.sharing() == Sharing::Hungry) && !policy.drowsy());
        look(Snapshot::of(0, 1, 1));
        assert!((policy.sharing() == Sharing::Hungry));
        // Only sleepers idle: the drowsy bound instead.
        look(Snapshot::of(0, 1, 0));
        assert!(!(policy.sharing() == Sharing::Hungry) && policy.drowsy());
        look(Snapshot::of(1, 0, 0));
        assert!((policy.sharing() == Sharing::Hungry));
        // A look at a quiet pool (a sampled forked return) finds nobody hungry.
        let mut read = false;
        while !read {
            policy.on_forked_return(Snapshot::of(0, 0, 0), || {
                read = true;
                at + HEARTBEAT
            });
        }
        assert!(!(policy.sharing() == Sharing::Hungry) && !policy.drowsy());
    }

    #[test]
    fn a_small_tree_reads_the_clock_a_few_times_not_at_every_fork_of_its_descent() {
        // 512 leaves of 1 ns (a 1023-node tree sum), the workers asleep.
        let policy = Policy::new();
        let reads = Cell::new(0);
        let clock = Cell::new(Instant::now());
        let d = walk(&policy, Snapshot::of(0, 1, 0), 9, &clock, FINE, &reads);
        assert!(d.iter().all(|d| *d == Decision::Keep));
        assert!(
            reads.get() <= 9,
            "{} clock reads for 1022 forks and returns",
            reads.get()
        );
    }

    #[test]
    fn a_look_that_covers_many_fine_forks_grows_the_stride_by_more_than_double() {
        // A call from outside starts at a stride of 1 with each call. Doubling at every
        // look took nine looks to reach the bound, each a clock read (about 27 ns on the
        // project's VMs, against about 2 ns per fork of a small tree).
        let policy = Policy::new();
        let asleep = Snapshot::of(0, 1, 0);
        let mut at = Instant::now();
        let mut reads = 0;
        while policy.stride() < MAX_LOOK_STRIDE {
            at += FINE;
            policy.on_fork(asleep, || {
                reads += 1;
                at
            });
            assert!(reads <= 6, "{reads} looks, stride {}", policy.stride());
        }
        // A look that covered one fork only doubles it, however fine: in a coarse tree
        // the fork after a leaf's return comes at once, and the leaves after it must not
        // go unlooked at (`a_burst_of_forks_before_a_coarse_first_leaf_...` walks that).
        let policy = Policy::new();
        let at = Instant::now();
        for _ in 0..2 {
            policy.on_fork(asleep, || at);
        }
        assert_eq!(policy.stride(), 2);
    }

    #[test]
    fn a_burst_of_forks_before_a_coarse_first_leaf_is_scaled_back_at_its_return() {
        let policy = Policy::new();
        let _job = policy.start_root_job();
        let asleep = Snapshot::of(0, 1, 0);
        let t0 = Instant::now();
        // The descent: ten forks within a few nanoseconds (the stride may grow)...
        let _ = forks(&policy, asleep, 10, t0, FINE);
        // ...then the first leaf of 0.4 ms returns: that return looks whatever the
        // stride, publishes (one heartbeat has passed) and scales the stride back to 1.
        let mut reads = 0;
        let d = policy.on_return(asleep, || {
            reads += 1;
            t0 + COARSE
        });
        assert_eq!((d, reads), (Decision::Heartbeat, 1));
        assert_eq!(policy.stride(), 1, "coarse leaves: every fork looks");
        // The same shape as a tree: 64 leaves of 0.4 ms publish at the first leaf's return
        // and at most leaves after it (not all: the fork that follows a return comes no
        // later on the clock, which grows the stride for a look).
        let policy = Policy::new();
        let reads = Cell::new(0);
        let clock = Cell::new(t0);
        let d = walk(&policy, asleep, 6, &clock, COARSE, &reads);
        let beats = d.iter().filter(|d| **d == Decision::Heartbeat).count();
        assert!(beats >= 32, "{beats} heartbeats over 64 leaves of 0.4 ms");
        assert_eq!(d[..6], [Decision::Keep; 6], "nothing during the descent");
        assert_eq!(
            d[6],
            Decision::Heartbeat,
            "the first leaf's return publishes"
        );
    }

    #[test]
    fn coarse_forks_publish_for_sleepers_after_one_heartbeat() {
        let policy = Policy::new();
        let _job = policy.start_root_job();
        let asleep = Snapshot::of(0, 1, 0);
        let d = forks(&policy, asleep, 3, Instant::now(), COARSE);
        // The first fork starts the period; the next one, a leaf later, is past it.
        assert_eq!(
            d,
            [Decision::Keep, Decision::Heartbeat, Decision::Heartbeat]
        );
    }

    /// A policy whose last root job was coarse: four forks a leaf (0.4 ms) apart with the
    /// workers asleep, returning 10 µs after its last fork; and when that job returned.
    fn after_a_coarse_root_job() -> (Policy, Instant) {
        let policy = Policy::new();
        let t0 = Instant::now();
        let job = policy.start_root_job();
        forks(&policy, Snapshot::of(0, 1, 0), 4, t0, COARSE);
        let end = t0 + COARSE * 3 + Duration::from_micros(10);
        policy.end_root_job(job, || end);
        (policy, end)
    }

    #[test]
    fn a_root_job_after_a_coarse_one_publishes_for_sleepers_at_its_first_fork() {
        let policy = Policy::new();
        let asleep = Snapshot::of(0, 1, 0);
        let t0 = Instant::now();
        let job = policy.start_root_job();
        assert_eq!(
            forks(&policy, asleep, 4, t0, COARSE),
            [
                Decision::Keep,
                Decision::Heartbeat,
                Decision::Heartbeat,
                Decision::Heartbeat
            ],
            "without a history, the first fork waits for the heartbeat"
        );
        // That root job returns 10 µs after its last look and 1.21 ms after its first:
        // coarse, counted from its first look.
        let t1 = t0 + COARSE * 3 + Duration::from_micros(10);
        policy.end_root_job(job, || t1);
        let job = policy.start_root_job();
        assert_eq!(
            forks(&policy, asleep, 2, t1, FINE),
            [Decision::Heartbeat, Decision::Keep],
            "after a coarse root job, the first fork publishes"
        );
        // This one returns 0.5 ms after its first look (a small tree that waited for the
        // half a woken worker took): the eager start ends with it.
        let t2 = t1 + Duration::from_micros(500);
        policy.end_root_job(job, || t2);
        let _job = policy.start_root_job();
        assert_eq!(
            forks(&policy, asleep, 2, t2, FINE),
            [Decision::Keep, Decision::Keep],
            "after a short root job, the first fork waits again"
        );
    }

    #[test]
    fn the_idle_time_after_a_small_root_job_does_not_make_it_coarse() {
        let (policy, t0) = after_a_coarse_root_job();
        let asleep = Snapshot::of(0, 1, 0);
        // A small root job: it starts eagerly and returns 10 µs after its first look.
        let job = policy.start_root_job();
        assert_eq!(forks(&policy, asleep, 3, t0, FINE)[0], Decision::Heartbeat);
        policy.end_root_job(job, || t0 + Duration::from_micros(10));
        // The next root job starts 50 ms later and does not look before it returns: it
        // records nothing of its own, and carries nothing of the one before.
        let job = policy.start_root_job();
        policy.end_root_job(job, || unreachable!("the root job before it already ended"));
        let _job = policy.start_root_job();
        assert_eq!(
            policy.on_fork(asleep, || t0 + Duration::from_millis(50)),
            Decision::Keep,
            "a small tree before an idle pool is not coarse"
        );
    }

    #[test]
    fn a_job_run_inside_a_root_job_leaves_that_root_job_its_own_start() {
        let (policy, t1) = after_a_coarse_root_job();
        let asleep = Snapshot::of(0, 1, 0);
        let outer = policy.start_root_job();
        assert_eq!(policy.on_fork(asleep, || t1), Decision::Heartbeat);
        // 5 ms in, while it waits, its thread runs a job taken from a queue, which forks
        // nothing: a root job of its own, which records nothing...
        let inner = policy.start_root_job();
        policy.end_root_job(inner, || unreachable!("the inner job never looked"));
        // ...and the outer job goes on: its next look, after the reset the inner job made,
        // is no start (the eager start is still on)...
        let t2 = t1 + Duration::from_millis(5);
        assert_eq!(
            policy.on_fork(asleep, || t2),
            Decision::Keep,
            "no eager start in the middle of a root job"
        );
        // ...and when it returns 0.1 ms later, it is judged from its own first look.
        policy.end_root_job(outer, || t2 + Duration::from_micros(100));
        let _job = policy.start_root_job();
        assert_eq!(
            policy.on_fork(asleep, || t2 + Duration::from_millis(1)),
            Decision::Heartbeat,
            "the outer root job, 5.1 ms long, decides"
        );
    }

    #[test]
    fn only_a_root_job_that_looked_with_workers_asleep_decides_the_eager_start() {
        let (policy, t1) = after_a_coarse_root_job();
        let asleep = Snapshot::of(0, 1, 0);
        // A root job in a quiet pool, then one that only saw a hungry thread: neither
        // looked with workers asleep, so neither reads the clock at its end or changes
        // the eager start, however short.
        let job = policy.start_root_job();
        forks(&policy, Snapshot::of(0, 0, 0), 3, t1, FINE);
        policy.end_root_job(job, || unreachable!("the quiet root job never looked"));
        let job = policy.start_root_job();
        forks(&policy, Snapshot::of(1, 0, 0), 3, t1, FINE);
        policy.end_root_job(job, || {
            unreachable!("the hungry root job saw nobody asleep")
        });
        let _job = policy.start_root_job();
        assert_eq!(
            policy.on_fork(asleep, || t1 + FINE * 6),
            Decision::Heartbeat,
            "the coarse root job before them still decides"
        );
    }

    #[test]
    fn fine_forks_publish_for_sleepers_about_once_per_heartbeat() {
        let policy = Policy::new();
        let _job = policy.start_root_job();
        let asleep = Snapshot::of(0, 1, 0);
        // 1 ms of 5 ns forks: about 10 heartbeats, give or take the stride's granularity.
        let n = (Duration::from_millis(1).as_nanos() / FINE.as_nanos()) as u32;
        let d = forks(&policy, asleep, n, Instant::now(), FINE);
        let beats = d.iter().filter(|d| **d == Decision::Heartbeat).count();
        assert!((8..=10).contains(&beats), "{beats} heartbeats in 1 ms");
    }

    #[test]
    fn a_hungry_thread_is_served_once_per_interval_and_per_tick_budget() {
        let policy = Policy::new();
        let hungry = Snapshot::of(1, 0, 0);
        let t0 = Instant::now();
        // The first look starts the first interval...
        assert_eq!(policy.on_fork(hungry, || t0), Decision::Keep);
        let t1 = t0 + FIRST_SHARE_AFTER;
        let d = forks(&policy, hungry, MAX_LOOK_STRIDE, t1, Duration::ZERO);
        assert!(d.contains(&Decision::ForHungry));
        policy.published_for_hungry(t1);
        let t0 = t1;
        // Within the interval the clock says no...
        let d = forks(&policy, hungry, HUNGRY_TICKS - 1, t0, Duration::ZERO);
        assert!(d.iter().all(|d| *d == Decision::Keep));
        // ...until the fork budget runs out.
        assert_eq!(policy.on_fork(hungry, || t0), Decision::ForHungry);
        policy.published_for_hungry(t0);
        // Once the interval passed, the next look serves it: within fewer forks than the
        // budget, so the interval is what serves it.
        let later = t0 + HUNGRY_INTERVAL;
        let d = forks(&policy, hungry, HUNGRY_TICKS - 1, later, Duration::ZERO);
        assert!(d.contains(&Decision::ForHungry));
    }

    /// Forks after a publication for a hungry thread that the context could not make,
    /// forks `step` apart, until the policy asks again.
    fn forks_until_asked_again(step: Duration) -> usize {
        let policy = Policy::new();
        let hungry = Snapshot::of(1, 0, 0);
        let mut at = Instant::now();
        policy.on_fork(hungry, || at);
        at += FIRST_SHARE_AFTER;
        let asked = (0..MAX_LOOK_STRIDE * 4).find(|_| {
            at += step;
            policy.on_fork(hungry, || at) == Decision::ForHungry
        });
        assert!(asked.is_some(), "the first interval passed");
        policy.published_for_hungry(at);
        // Forks past the interval and the budget: every one of them may ask...
        let asked = (0..HUNGRY_TICKS * 2).find(|_| {
            at += step;
            policy.on_fork(hungry, || at) == Decision::ForHungry
        });
        assert!(asked.is_some(), "the budget ran out");
        // ...but the queue still holds the last publication.
        policy.not_published();
        (1..=HUNGRY_TICKS as usize * 2)
            .find(|_| {
                at += step;
                policy.on_fork(hungry, || at) == Decision::ForHungry
            })
            .expect("asked again")
    }

    #[test]
    fn a_publication_that_could_not_be_made_is_asked_for_again_at_the_next_look() {
        // Fine forks: a stride of them later, not at the next fork.
        let fine = forks_until_asked_again(FINE);
        assert!(fine > 1 && fine <= MAX_LOOK_STRIDE as usize, "{fine}");
        // Coarse forks look at every fork, and ask at the next one.
        assert_eq!(forks_until_asked_again(COARSE), 1);
    }

    /// A clock and a count of search rounds set by the test.
    struct Sim<'a> {
        at: Instant,
        rounds: &'a Cell<u64>,
    }

    impl Reads for Sim<'_> {
        fn now(&mut self) -> Instant {
            self.at
        }
        fn search_rounds(&mut self) -> Option<u64> {
            Some(self.rounds.get())
        }
    }

    #[test]
    fn searchers_that_make_no_search_rounds_are_not_published_for() {
        let policy = Policy::new();
        let hungry = Snapshot::of(1, 0, 0);
        let rounds = Cell::new(0u64);
        let t0 = Instant::now();
        // Coarse forks, 1 µs apart: every one looks at the clock.
        let fork = |i: u32| {
            let at = t0 + Duration::from_micros(u64::from(i));
            let d = policy.on_fork(
                hungry,
                Sim {
                    at,
                    rounds: &rounds,
                },
            );
            if d == Decision::ForHungry {
                policy.published_for_hungry(at);
            }
            d
        };
        // A searcher that searches is published for, and the bound is the hungry one.
        let running: Vec<_> = (0..40)
            .map(|i| {
                rounds.set(u64::from(i));
                fork(i)
            })
            .collect();
        assert!(running.contains(&Decision::ForHungry));
        assert_eq!(policy.sharing(), Sharing::Hungry);
        // Its rounds stop: within two stall times nothing more is published for it, not
        // even once the fork budget (`HUNGRY_TICKS`) ran out, and the bound is the usual
        // one.
        let stall = SEARCH_STALL.as_micros() as u32;
        let stopped: Vec<_> = (40..40 + 3 * stall + HUNGRY_TICKS).map(fork).collect();
        assert!(
            stopped[2 * stall as usize..]
                .iter()
                .all(|d| *d == Decision::Keep)
        );
        assert_eq!(policy.sharing(), Sharing::Busy);
        // One round: published for again at once.
        rounds.set(rounds.get() + 1);
        let again = 40 + 3 * stall + HUNGRY_TICKS;
        assert_eq!(fork(again), Decision::ForHungry);
        assert_eq!(policy.sharing(), Sharing::Hungry);
    }

    #[test]
    fn a_look_that_finds_nobody_hungry_starts_the_searchers_record_over() {
        let policy = Policy::new();
        let rounds = Cell::new(5u64);
        let t0 = Instant::now();
        let look = |s: Snapshot, us: u64| {
            let at = t0 + Duration::from_micros(us);
            policy.on_fork(
                s,
                Sim {
                    at,
                    rounds: &rounds,
                },
            )
        };
        // A searcher is seen (the record starts), then only sleepers: the searcher parked.
        let stall = SEARCH_STALL.as_micros() as u64;
        look(Snapshot::of(1, 0, 0), 0);
        look(Snapshot::of(0, 1, 0), stall / 3);
        // A searcher again, one that has not failed a round yet: its count has not moved
        // since the first record, but that record says nothing about it. The looks are
        // close together, so only the look in between can tell.
        look(Snapshot::of(1, 0, 0), 2 * stall / 3);
        look(Snapshot::of(1, 0, 0), stall + 5);
        assert_eq!(policy.sharing(), Sharing::Hungry);
    }

    #[test]
    fn a_waiter_spinning_for_its_own_work_counts_as_hungry() {
        let policy = Policy::new();
        let waiter = Snapshot::of(0, 0, 1);
        let t0 = Instant::now();
        assert_eq!(policy.on_fork(waiter, || t0), Decision::Keep);
        let d = forks(&policy, waiter, 2, t0 + FIRST_SHARE_AFTER, Duration::ZERO);
        assert_eq!(d[0], Decision::ForHungry);
    }

    #[test]
    fn a_new_context_shares_for_hungry_threads_only_after_one_interval() {
        let policy = Policy::new();
        let hungry = Snapshot::of(1, 0, 0);
        let t0 = Instant::now();
        // A small call from outside: more forks than the fork budget, all within the
        // interval, share nothing...
        let n = 4 * HUNGRY_TICKS;
        let step = FIRST_SHARE_AFTER / (n + 1);
        let d = forks(&policy, hungry, n, t0, step);
        assert!(d.iter().all(|d| *d == Decision::Keep));
        // ...and once the first interval passed, the next look shares.
        let d = forks(
            &policy,
            hungry,
            MAX_LOOK_STRIDE,
            t0 + FIRST_SHARE_AFTER,
            step,
        );
        assert!(d.contains(&Decision::ForHungry));
    }

    /// A policy in the ahead mode, started by two samples of forked returns a leaf apart in
    /// a quiet pool, and the time of its last look.
    fn in_ahead_mode() -> (Policy, Instant) {
        let policy = Policy::new();
        let quiet = Snapshot::of(0, 0, 0);
        let t0 = Instant::now();
        let n = 2 * AHEAD_SAMPLE;
        let d = steps(n, t0, COARSE, |at| policy.on_forked_return(quiet, || at));
        assert_eq!(
            d[n as usize - 1],
            Decision::Ahead,
            "the second sample starts the mode"
        );
        (policy, t0 + COARSE * (n - 1))
    }

    /// The forked returns of a quiet pool up to the next sample: none reads the clock (the
    /// last sample was the latest one).
    fn assert_next_returns_unsampled(policy: &Policy) {
        let quiet = Snapshot::of(0, 0, 0);
        let unreachable = || -> Instant { unreachable!("not a sampled forked return") };
        for _ in 1..AHEAD_SAMPLE {
            assert_eq!(policy.on_forked_return(quiet, unreachable), Decision::Keep);
        }
    }

    #[test]
    fn coarse_forks_are_published_ahead_in_a_quiet_pool_until_they_turn_fine() {
        let policy = Policy::new();
        let quiet = Snapshot::of(0, 0, 0);
        let t0 = Instant::now();
        let unreachable = || -> Instant { unreachable!("the quiet path reads no clock") };
        // Forks and unforked returns of a quiet pool never look.
        assert_eq!(policy.on_fork(quiet, unreachable), Decision::Keep);
        assert_eq!(policy.on_return(quiet, unreachable), Decision::Keep);
        // Forked returns a leaf apart: one in `AHEAD_SAMPLE` looks; the second sample
        // finds them coarse, starts the mode and asks (nothing is published before)...
        let mut reads = 0;
        let n = 2 * AHEAD_SAMPLE;
        for i in 0..n {
            let d = policy.on_forked_return(quiet, || {
                reads += 1;
                t0 + COARSE * i
            });
            let expected = if i == n - 1 {
                Decision::Ahead
            } else {
                Decision::Keep
            };
            assert_eq!(d, expected, "forked return {i}");
        }
        assert_eq!(reads, 2);
        // ...from there each coarse forked return looks and asks for a publication.
        let d = steps(4, t0 + COARSE * n, COARSE, |at| {
            policy.on_forked_return(quiet, || at)
        });
        assert_eq!(d, [Decision::Ahead; 4]);
        // A new root job keeps the mode (a thief's stolen half is coarse too); its first
        // look has no gap to measure.
        let _job = policy.start_root_job();
        let d = steps(3, t0 + COARSE * (n + 8), COARSE, |at| {
            policy.on_forked_return(quiet, || at)
        });
        assert_eq!(d, [Decision::Keep, Decision::Ahead, Decision::Ahead]);
        // Fine forked returns: nothing is published, and after `AHEAD_FINE_LOOKS` of them
        // the mode ends...
        let start = t0 + COARSE * (n + 10) + FINE;
        let mut reads = 0;
        for i in 0..u32::from(AHEAD_FINE_LOOKS) {
            let d = policy.on_forked_return(quiet, || {
                reads += 1;
                start + FINE * i
            });
            assert_eq!(d, Decision::Keep);
        }
        assert_eq!(reads, u32::from(AHEAD_FINE_LOOKS));
        // ...so only one forked return in `AHEAD_SAMPLE` reads the clock again.
        let mut reads = 0;
        let later = start + FINE * 100;
        for i in 0..100 * AHEAD_SAMPLE {
            let d = policy.on_forked_return(quiet, || {
                reads += 1;
                later + FINE * i
            });
            assert_eq!(d, Decision::Keep);
        }
        assert_eq!(reads, 100);
    }

    #[test]
    fn a_descent_of_fine_forks_between_coarse_leaves_asks_for_nothing_ahead() {
        let (policy, last) = in_ahead_mode();
        let quiet = Snapshot::of(0, 0, 0);
        // A leaf's return a leaf after the last look asks; returns right after it do not
        // (nor do they grow the stride)...
        let at = last + COARSE;
        assert_eq!(policy.on_forked_return(quiet, || at), Decision::Ahead);
        let d = steps(3, at + FINE, FINE, |at| {
            policy.on_forked_return(quiet, || at)
        });
        assert_eq!(d, [Decision::Keep; 3]);
        assert_eq!(
            policy.stride(),
            1,
            "a quiet pool's looks do not grow the stride"
        );
        // ...and the next leaf's return still looks, and asks.
        let next = at + FINE * 3 + COARSE;
        assert_eq!(policy.on_forked_return(quiet, || next), Decision::Ahead);
    }

    #[test]
    fn looks_at_a_pool_that_is_not_quiet_do_not_start_the_ahead_mode() {
        let policy = Policy::new();
        let _job = policy.start_root_job();
        let hungry = Snapshot::of(1, 0, 0);
        let t0 = Instant::now();
        // Fine forks while somebody searches, then 5 ms with every worker busy (a quiet
        // pool counts nothing), then the searcher is back: the first look finds 5 ms
        // among the few forks it counted...
        forks(&policy, hungry, 10_000, t0, FINE);
        let later = t0 + FINE * 10_000 + Duration::from_millis(5);
        let (mut reads, mut i) = (0, 0);
        while reads < 1 {
            let d = policy.on_fork(hungry, || {
                reads += 1;
                later + FINE * i
            });
            assert_ne!(d, Decision::Ahead);
            i += 1;
        }
        // ...which starts nothing: a quiet pool's forked returns are sampled as before.
        assert_next_returns_unsampled(&policy);
    }

    #[test]
    fn a_sample_shares_its_gap_among_every_forked_return_since_the_last() {
        let quiet = Snapshot::of(0, 0, 0);
        let t0 = Instant::now();
        let n = 2 * AHEAD_SAMPLE;
        // Forked returns just under `AHEAD_GAP` apart: the gap between two samples, shared
        // among the `AHEAD_SAMPLE` returns it covers, is fine (shared among fewer, it would
        // read as coarse). The mode does not start...
        let policy = Policy::new();
        let step = AHEAD_GAP * 19 / 20;
        let d = steps(n, t0, step, |at| policy.on_forked_return(quiet, || at));
        assert!(d.iter().all(|d| *d == Decision::Keep));
        // ...so the next returns up to the next sample read no clock.
        assert_next_returns_unsampled(&policy);
        // The control: just over `AHEAD_GAP` apart, the second sample starts it.
        let policy = Policy::new();
        let step = AHEAD_GAP * 21 / 20;
        let d = steps(n, t0, step, |at| policy.on_forked_return(quiet, || at));
        assert_eq!(d[n as usize - 1], Decision::Ahead);
    }

    #[test]
    fn only_fine_looks_in_a_row_end_the_ahead_mode() {
        let (policy, last) = in_ahead_mode();
        let quiet = Snapshot::of(0, 0, 0);
        let at = Cell::new(last);
        // A forked return `gap` after the previous one: its decision and clock reads.
        let forked_return = |gap: Duration| {
            at.set(at.get() + gap);
            let mut reads = 0;
            let d = policy.on_forked_return(quiet, || {
                reads += 1;
                at.get()
            });
            (d, reads)
        };
        // In the mode every forked return looks: one fine look short of the end...
        for _ in 1..AHEAD_FINE_LOOKS {
            assert_eq!(forked_return(FINE), (Decision::Keep, 1));
        }
        // ...then a coarse one, which starts the count over...
        assert_eq!(forked_return(COARSE), (Decision::Ahead, 1));
        // ...so as many fine looks again still look: the mode is on.
        for _ in 1..AHEAD_FINE_LOOKS {
            assert_eq!(forked_return(FINE), (Decision::Keep, 1));
        }
    }

    #[test]
    fn in_the_ahead_mode_every_forked_return_looks_whatever_the_stride() {
        let (policy, last) = in_ahead_mode();
        let asleep = Snapshot::of(0, 1, 0);
        let quiet = Snapshot::of(0, 0, 0);
        // Fine forks while a worker sleeps grow the stride (looks at a pool that is not
        // quiet leave the mode as it is)...
        forks(&policy, asleep, 4_000, last, FINE);
        assert_eq!(policy.stride(), MAX_LOOK_STRIDE);
        // ...and a forked return a leaf later in a quiet pool still looks. Its gap is
        // shared among the forks counted since the last look at the sleeping pool too,
        // so it reads as fine; the next one, a leaf later, asks.
        let at = last + FINE * 4_000 + COARSE;
        let mut reads = 0;
        policy.on_forked_return(quiet, || {
            reads += 1;
            at
        });
        assert_eq!(reads, 1, "a forked return in the mode looks");
        let next = at + COARSE;
        assert_eq!(policy.on_forked_return(quiet, || next), Decision::Ahead);
    }

    #[test]
    fn the_end_of_the_ahead_mode_leaves_the_stride_to_a_hungry_pool() {
        let (policy, last) = in_ahead_mode();
        let quiet = Snapshot::of(0, 0, 0);
        let hungry = Snapshot::of(1, 0, 0);
        // Fine forked returns end the mode without growing the stride...
        let start = last + FINE;
        let d = steps(u32::from(AHEAD_FINE_LOOKS), start, FINE, |at| {
            policy.on_forked_return(quiet, || at)
        });
        assert!(d.iter().all(|d| *d == Decision::Keep));
        assert_eq!(policy.stride(), 1);
        // ...so coarse forks in a pool that turns hungry look at the next fork.
        let mut reads = 0;
        let at = start + COARSE;
        policy.on_fork(hungry, || {
            reads += 1;
            at
        });
        assert_eq!(reads, 1);
    }
}
