//! The sleep/wake protocol: idle workers spin briefly, then park; new work wakes as few of
//! them as it needs. The protocol, its states and the argument that no wake-up is lost are in
//! `README.md` next to this file; the code below follows it step by step.

pub(crate) mod pacing;
pub(crate) mod trim;

use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Mutex, Ordering, Parker, fence};

/// Layout of the packed state word (one `AtomicU64`):
///
/// | bits   | field      | meaning                                                   |
/// |--------|------------|-----------------------------------------------------------|
/// | 0..16  | searching  | workers out of local work, looking for more (not parked)  |
/// | 16..32 | sleeping   | workers parked in the main loop, listed in `idle`         |
/// | 32..48 | waiting    | threads spinning in `join`/`scope` for work of their own  |
const SEARCH_ONE: u64 = 1;
const SLEEP_ONE: u64 = 1 << 16;
const WAIT_ONE: u64 = 1 << 32;
const FIELD: u64 = 0xFFFF;

/// The largest pool the packing allows (a 16-bit field per count).
pub(crate) const MAX_WORKERS: usize = FIELD as usize;

/// A decoded view of the state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot(u64);

impl Snapshot {
    pub(crate) fn searching(self) -> u64 {
        self.0 & FIELD
    }
    pub(crate) fn sleeping(self) -> u64 {
        (self.0 >> 16) & FIELD
    }
    pub(crate) fn waiting(self) -> u64 {
        (self.0 >> 32) & FIELD
    }
    /// A snapshot with the given counts, for unit tests of policies that read one.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn of(searching: u64, sleeping: u64, waiting: u64) -> Self {
        Snapshot(searching * SEARCH_ONE + sleeping * SLEEP_ONE + waiting * WAIT_ONE)
    }
    /// No thread searches, sleeps or waits: every worker is busy.
    #[inline]
    pub(crate) fn is_quiet(self) -> bool {
        self.0 == 0
    }

    /// Whether some of a pool's `workers` neither search nor sleep: they run a job (and
    /// may be about to publish a fork for a searcher).
    #[inline]
    pub(crate) fn some_busy(self, workers: usize) -> bool {
        (workers as u64) > self.searching() + self.sleeping()
    }

    /// Some threads sleep and nobody else is idle: nobody takes a fork before the next
    /// heartbeat.
    #[inline]
    pub(crate) fn only_sleepers(self) -> bool {
        self.0 & (FIELD | (FIELD << 32)) == 0 && self.0 != 0
    }

    /// Someone would take a job right now if it were published: a searcher, or a waiter
    /// spinning for work of its own. Busy threads publish their oldest private fork then.
    #[inline]
    pub(crate) fn hungry(self) -> bool {
        self.0 & (FIELD | (FIELD << 32)) != 0
    }
}

/// What `try_sleep` ended with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Woke {
    /// The re-check after announcing sleep found work: the worker never parked.
    FoundWork,
    /// The worker parked and was woken (by new work or by shutdown).
    Unparked,
    /// The worker parked with a timeout, nobody woke it before the time was up, and it
    /// took itself off the list of sleepers: it is a searcher again.
    TimedOut,
}

/// Sleep state shared by all workers of a pool.
#[derive(Debug)]
pub(crate) struct Sleep {
    state: CachePadded<AtomicU64>,
    /// Search rounds made by searching workers so far (`searched`): a busy thread that
    /// sees searchers tells by it whether they run (`sched/context/stall.rs`).
    /// On a line of its own, away from `state`, which every fork reads.
    search_rounds: CachePadded<AtomicU64>,
    /// Indices of parked workers, most recent last (woken first: its cache is warmest).
    idle: Mutex<Vec<usize>>,
    parkers: Vec<CachePadded<Parker>>,
}

impl Sleep {
    /// All workers start as searchers: each looks for work once before it first sleeps.
    pub(crate) fn new(num_workers: usize) -> Self {
        assert!(num_workers <= MAX_WORKERS);
        Sleep {
            state: CachePadded::new(AtomicU64::new(num_workers as u64 * SEARCH_ONE)),
            search_rounds: CachePadded::new(AtomicU64::new(0)),
            idle: Mutex::new(Vec::with_capacity(num_workers)),
            parkers: (0..num_workers)
                .map(|_| CachePadded::new(Parker::new()))
                .collect(),
        }
    }

    /// Whether some of the `looping` workers (those still in their main loop) other than
    /// the caller are awake: running a job, waiting in one, or searching (a searcher may
    /// hold a job it just took and not yet count as active). `caller_sleeps`: the caller
    /// is counted as sleeping (in its re-check before a park), else as searching. A SeqCst
    /// look, for a decision a wake-up depends on: whether a worker of a closed pool may
    /// exit (`Registry::peer_awake`, `loom_closed_pool_exit`).
    pub(crate) fn others_awake(&self, looping: usize, caller_sleeps: bool) -> bool {
        let s = Snapshot(self.state.load(Ordering::SeqCst));
        let others_asleep = s.sleeping().saturating_sub(u64::from(caller_sleeps));
        (looping as u64).saturating_sub(1) > others_asleep
    }

    /// A relaxed look at the counters, for decisions that tolerate staleness (whether to
    /// publish a private fork). Never used to decide that a wake-up is unnecessary.
    #[inline]
    pub(crate) fn peek(&self) -> Snapshot {
        Snapshot(self.state.load(Ordering::Relaxed))
    }

    /// A searching worker finished a search round that found nothing. Relaxed: the count
    /// only tells whether searchers ran lately, and orders nothing.
    #[inline]
    pub(crate) fn searched(&self) {
        self.search_rounds.fetch_add(1, Ordering::Relaxed);
    }

    /// The search rounds made so far (`searched`).
    #[inline]
    pub(crate) fn search_rounds(&self) -> u64 {
        self.search_rounds.load(Ordering::Relaxed)
    }

    /// Steps N1-N3 of the README: called after a job was made visible to other workers.
    /// Returns whether a sleeper was woken.
    pub(crate) fn notify_work(&self) -> bool {
        // N2: the job's publication is ordered before the read of the counters (pairs
        // with S2 and F2). A load, not a read-modify-write: the fence does the ordering,
        // and a load keeps this cache line shared by the workers that peek at it on every
        // fork.
        fence(Ordering::SeqCst);
        let s = Snapshot(self.state.load(Ordering::SeqCst));
        // N3: a searcher is responsible for the job (see `found_work`); else wake one.
        s.sleeping() > 0 && s.searching() == 0 && self.wake_one()
    }

    /// N3 without N2's fence, for a job a worker pushed onto its own queue (or, without
    /// local queues, into the shared one from inside a job it runs). The pusher is awake
    /// and goes back to that queue before it could ever sleep, so the job is never
    /// stranded: a sleeper missed in the race with its announcement costs parallelism until
    /// the next push, never liveness (README, "Posting work"). rayon-core's internal pushes
    /// make the same trade. Saves a full fence per fork published and per scope spawn.
    #[inline]
    pub(crate) fn notify_local_work(&self) -> bool {
        let s = Snapshot(self.state.load(Ordering::SeqCst));
        s.sleeping() > 0 && s.searching() == 0 && self.wake_one()
    }

    /// Wakes one parked worker, which becomes a searcher. Returns false if none was parked.
    pub(crate) fn wake_one(&self) -> bool {
        let index = {
            let mut idle = self.idle.lock();
            let Some(index) = idle.pop() else {
                return false;
            };
            self.state
                .fetch_add(SEARCH_ONE.wrapping_sub(SLEEP_ONE), Ordering::SeqCst);
            index
        };
        self.parkers[index].unpark();
        true
    }

    /// Wakes every parked worker (shutdown).
    pub(crate) fn wake_all(&self) {
        while self.wake_one() {}
    }

    /// An active worker ran out of local work and starts searching.
    pub(crate) fn start_searching(&self) {
        self.state.fetch_add(SEARCH_ONE, Ordering::SeqCst);
    }

    /// Steps F1-F3 of the README: a searcher found work and becomes active. The last
    /// searcher to leave looks at the queues once more (`more_work`) and wakes a sleeper if
    /// work is left: notifiers that saw it searching left their jobs to it.
    pub(crate) fn found_work(&self, more_work: impl FnOnce() -> bool) {
        // F1
        let old = Snapshot(self.state.fetch_sub(SEARCH_ONE, Ordering::SeqCst));
        debug_assert!(old.searching() > 0);
        if old.searching() == 1 {
            // F2: our update is ordered before the look at the queues (pairs with N2).
            fence(Ordering::SeqCst);
            // F3
            if more_work() {
                self.notify_work();
            }
        }
    }

    /// A searcher leaves the protocol for good (shutdown).
    pub(crate) fn stop_searching(&self) {
        self.state.fetch_sub(SEARCH_ONE, Ordering::SeqCst);
    }

    /// Steps S1-S5 of the README. `recheck` looks at every queue (and the shutdown flag)
    /// once more *after* the worker is listed as sleeping; if it finds something the worker
    /// stays a searcher. With a `timeout`, the park ends after it if nobody wakes the worker
    /// first (S5).
    pub(crate) fn try_sleep(
        &self,
        index: usize,
        recheck: impl FnOnce() -> bool,
        timeout: Option<Duration>,
    ) -> Woke {
        {
            // S1: list ourselves, then turn from searcher into sleeper.
            let mut idle = self.idle.lock();
            idle.push(index);
            self.state
                .fetch_add(SLEEP_ONE.wrapping_sub(SEARCH_ONE), Ordering::SeqCst);
        }
        // S2: our announcement is ordered before the re-check (pairs with N2).
        fence(Ordering::SeqCst);
        // S3: the re-check. Still listed: back to searching. No longer listed: a waker
        // already took us off the list and counted us as a searcher; its unpark token is on
        // its way, and the park below consumes it so it cannot cut a later sleep short.
        if recheck() && self.unlist(index) {
            return Woke::FoundWork;
        }
        // S4: park until a waker hands us a token (it also did the accounting).
        if let Some(timeout) = timeout {
            if self.parkers[index].park_timeout(timeout) {
                return Woke::Unparked;
            }
            // S5: the time is up. Still listed: nobody will wake us, take ourselves off as
            // S3 does. Not listed: a waker took us and its token is on its way.
            if self.unlist(index) {
                return Woke::TimedOut;
            }
        }
        self.parkers[index].park();
        Woke::Unparked
    }

    /// Takes worker `index` off the list of sleepers and counts it as a searcher again, if
    /// it is still listed; false if a waker took it off first (and counted it).
    fn unlist(&self, index: usize) -> bool {
        let mut idle = self.idle.lock();
        let Some(pos) = idle.iter().rposition(|&i| i == index) else {
            return false;
        };
        idle.remove(pos);
        self.state
            .fetch_add(SEARCH_ONE.wrapping_sub(SLEEP_ONE), Ordering::SeqCst);
        true
    }

    /// A thread starts spinning in `join`/`scope`, hungry for work its wait depends on.
    pub(crate) fn start_waiting(&self) {
        self.state.fetch_add(WAIT_ONE, Ordering::Relaxed);
    }

    /// The waiting thread stops spinning (its work arrived, or it blocks on its latch).
    pub(crate) fn stop_waiting(&self) {
        self.state.fetch_sub(WAIT_ONE, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_sleepers_means_some_sleep_and_nobody_else_is_idle() {
        assert!(Snapshot::of(0, 1, 0).only_sleepers());
        assert!(Snapshot::of(0, 15, 0).only_sleepers());
        assert!(!Snapshot::of(0, 0, 0).only_sleepers(), "quiet");
        assert!(!Snapshot::of(1, 1, 0).only_sleepers(), "a searcher");
        assert!(!Snapshot::of(0, 1, 1).only_sleepers(), "a waiter");
        for s in [(0, 0, 0), (0, 3, 0), (2, 1, 0), (0, 2, 1), (1, 0, 0)] {
            let s = Snapshot::of(s.0, s.1, s.2);
            // Exactly one of: quiet, hungry, only sleepers.
            let kinds = [s.is_quiet(), s.hungry(), s.only_sleepers()];
            assert_eq!(kinds.iter().filter(|&&k| k).count(), 1, "{s:?}");
        }
    }

    #[test]
    fn packing_round_trips_and_fields_do_not_bleed() {
        let sleep = Sleep::new(3);
        assert_eq!(sleep.peek().searching(), 3);
        sleep.start_waiting();
        sleep.start_waiting();
        assert_eq!(sleep.peek().waiting(), 2);
        assert!(sleep.peek().hungry());
        sleep.stop_waiting();
        sleep.stop_waiting();
        // Three searchers all go to sleep (the re-check finds nothing): no borrow across fields.
        for i in 0..3 {
            let sleep = &sleep;
            // Announce only; we cannot park in a unit test, so wake right after.
            let mut idle = sleep.idle.lock();
            idle.push(i);
            sleep
                .state
                .fetch_add(SLEEP_ONE.wrapping_sub(SEARCH_ONE), Ordering::SeqCst);
        }
        let s = sleep.peek();
        assert_eq!((s.searching(), s.sleeping(), s.waiting()), (0, 3, 0));
        assert!(!s.hungry());
        assert!(
            sleep.notify_work(),
            "a sleeper must be woken when nobody searches"
        );
        let s = sleep.peek();
        assert_eq!((s.searching(), s.sleeping()), (1, 2));
        // With a searcher present, a second notify leaves the job to it...
        assert!(!sleep.notify_work());
        assert_eq!(sleep.peek().sleeping(), 2);
        // ...and the last searcher, finding work with more left, wakes the next sleeper.
        sleep.found_work(|| true);
        let s = sleep.peek();
        assert_eq!((s.searching(), s.sleeping()), (1, 1));
        // With nothing left, it wakes nobody.
        sleep.found_work(|| false);
        let s = sleep.peek();
        assert_eq!((s.searching(), s.sleeping()), (0, 1));
    }

    #[test]
    fn a_worker_is_busy_while_it_neither_searches_nor_sleeps() {
        let sleep = Sleep::new(2);
        // Both start as searchers: nobody is busy.
        assert!(!sleep.peek().some_busy(2));
        // One finds work: the other, still searching, sees a busy peer (it lingers).
        sleep.found_work(|| false);
        assert!(sleep.peek().some_busy(2));
        // A waiter spinning in `join` is a busy worker too: it is inside a job.
        sleep.start_waiting();
        assert!(sleep.peek().some_busy(2));
        sleep.stop_waiting();
        // It runs dry and searches again: nobody is busy, the other parks as before.
        sleep.start_searching();
        assert!(!sleep.peek().some_busy(2));
    }

    #[test]
    fn recheck_that_finds_work_keeps_the_worker_awake() {
        let sleep = Sleep::new(1);
        assert_eq!(sleep.try_sleep(0, || true, None), Woke::FoundWork);
        assert_eq!(sleep.peek().searching(), 1);
        assert_eq!(sleep.peek().sleeping(), 0);
        assert!(sleep.idle.lock().is_empty());
    }

    #[test]
    fn a_timed_park_nobody_ends_leaves_the_worker_a_searcher() {
        let sleep = Sleep::new(1);
        let t = std::time::Instant::now();
        let woke = sleep.try_sleep(0, || false, Some(Duration::from_millis(20)));
        assert_eq!(woke, Woke::TimedOut);
        assert!(
            t.elapsed() >= Duration::from_millis(20),
            "parked the whole timeout"
        );
        assert_eq!(sleep.peek().searching(), 1);
        assert_eq!(sleep.peek().sleeping(), 0);
        assert!(sleep.idle.lock().is_empty());
        // Nothing is left behind: a wake-up now finds nobody to wake.
        assert!(!sleep.wake_one());
    }

    #[test]
    fn a_wake_up_ends_a_timed_park_early() {
        let sleep = Sleep::new(1);
        std::thread::scope(|s| {
            s.spawn(|| {
                // Wait until the worker is listed, then wake it.
                while !sleep.wake_one() {
                    std::thread::yield_now();
                }
            });
            let woke = sleep.try_sleep(0, || false, Some(Duration::from_secs(60)));
            assert_eq!(woke, Woke::Unparked);
        });
        // The waker did the accounting, once.
        assert_eq!(sleep.peek().searching(), 1);
        assert_eq!(sleep.peek().sleeping(), 0);
        // No token is left over to cut the next park short.
        let woke = sleep.try_sleep(0, || false, Some(Duration::from_millis(5)));
        assert_eq!(woke, Woke::TimedOut);
    }

    #[test]
    fn max_workers_matches_field_width() {
        assert_eq!(MAX_WORKERS, 65535);
    }
}
