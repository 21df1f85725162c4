//! Pacing: how long an idle thread spins, yields and sleeps, and how often a busy one looks
//! at the clock. Every tuned time and count of the scheduler is here, with the reason for
//! its value in the table of `README.md` ("Pacing") next to this file.
//!
//! [`Idle`] is the one spin-then-park sequence: a worker's main loop that found nothing and
//! a thread waiting in `join`/`scope`/`install` that found nothing of its own both step
//! through it, and differ only in their budgets.

use std::time::{Duration, Instant};

/// Pauses between two probes while spinning (a probe is a few loads: "is there work?", "is
/// my latch set?"). A job or a latch that arrives is noticed within about this many pauses.
pub(crate) const PROBE_EVERY: u32 = 8;

/// A worker's search rounds spent spinning before it starts yielding the CPU...
pub(crate) const WORKER_SPIN_ROUNDS: u32 = 8;
/// ...the probes per spinning round...
pub(crate) const WORKER_PROBES: u32 = 8;
/// ...and the rounds spent yielding before it parks.
pub(crate) const WORKER_YIELD_ROUNDS: u32 = 8;

/// A waiter's search rounds spent spinning before it starts yielding...
pub(crate) const WAIT_SPIN_ROUNDS: u32 = 64;
/// ...the probes per spinning round...
pub(crate) const WAIT_PROBES: u32 = 4;
/// ...the rounds spent yielding before it blocks on its latch...
pub(crate) const WAIT_YIELD_ROUNDS: u32 = 16;
/// ...and how long it blocks before it searches again if nobody pokes it.
pub(crate) const WAIT_BACKSTOP: Duration = Duration::from_millis(1);

/// How long a thread outside every pool spins on the latch of its `install` before it
/// blocks, when the submission found a worker awake (`wait::wait_outside`): about one
/// wake-up of a blocked thread on the project's VMs (10-20 µs back to back). A small call
/// then returns without blocking, and the worker that ran it, still searching, takes the
/// next call without being woken; a long one costs this much spinning once.
pub(crate) const OUTSIDE_SPIN: Duration = Duration::from_micros(20);

/// How long a worker out of work keeps yielding, past its spin-and-yield budget, while
/// another worker is busy, before it parks: a busy worker publishes a private fork at its
/// next fork or return once it sees a searcher, which comes within one leaf of its tree,
/// while a parked worker is woken only by the heartbeat and then takes a wake-up's latency
/// (about 0.5 ms on the project's VMs) to start.
pub(crate) const PEER_LINGER: Duration = Duration::from_micros(500);

/// A worker woken this soon after it parked would have spent less staying awake than the
/// park and the wake-up cost: its next idle periods stay awake, yielding, for twice the
/// park's length after their budget is spent (`Idle::after_park`), up to this long. On the
/// project's VMs a blocked thread takes 15-40 µs to run again after its wake-up, while a
/// worker's spin-and-yield budget lasts 5-10 µs, so a caller that blocks in every call
/// found every worker parked at every call and paid two wake-ups per call
/// (`docs/work-stealing.md`, "A budget shorter than a wake-up"). Work that comes this often
/// keeps a worker awake all the time: with 100 µs, one spawn every 95 µs cost 113-119% of
/// a core against 31-36% with parks, hence about one wake-up's length.
pub(crate) const SHORT_PARK: Duration = Duration::from_micros(50);

/// How long a thread may run private forks while workers sleep before it publishes one.
pub(crate) const HEARTBEAT: Duration = Duration::from_micros(100);
/// A worker's root job that ran this long (from its first look at the clock with workers
/// asleep to its end) makes the worker's next root job publish at its first look (the
/// eager start, `sched/context/publish.rs`). Ten heartbeats: a small tree that started
/// eagerly and waited for the half a woken worker took runs for that worker's wake-up
/// (0.05-0.25 ms on the project's VMs), and must not count as coarse.
pub(crate) const EAGER_AFTER: Duration = Duration::from_millis(1);
/// How far apart in time a forking thread looks at the clock, about (while the pool is not
/// quiet). The number of forks between two looks adapts to keep this spacing...
pub(crate) const LOOK_INTERVAL: Duration = Duration::from_micros(1);
/// ...between one fork (coarse forks: every fork looks) and this many (fine forks)...
pub(crate) const MAX_LOOK_STRIDE: u32 = 256;
/// ...growing by up to this factor per look, and by no more than the forks the look's gap
/// covered (at least double): a caller from outside starts at 1 with each call, and a clock
/// read costs about as much as ten fine forks.
pub(crate) const MAX_LOOK_GROWTH: u64 = 16;
/// A stride of at least this many forks (forks about `LOOK_INTERVAL` / 64 = 16 ns apart or
/// closer) counts as fine: a publication for a hungry thread that cannot be made is asked
/// for again at the next look, not at every fork (`Policy::not_published`). Coarser forks
/// keep the budget; they ask again at the next look too, which is the next fork where the
/// stride is 1 (the stride grows within the burst of forks and returns at a leaf's end, up
/// to 16 there).
pub(crate) const FINE_STRIDE: u32 = 64;
/// Forks after which a hungry thread is served, whatever the clock says (checked at the
/// policy's looks, so up to one stride later if the thread became hungry between two).
pub(crate) const HUNGRY_TICKS: u32 = 256;
/// A thread whose forked `join`s return at least this far apart while every worker is busy
/// publishes ahead (the ahead mode, `sched/context/publish.rs`): a fork older than the one it
/// is about to take back stays queued, so that a worker that runs out takes it at once
/// instead of waiting for this thread's next fork or return, up to one leaf later. A
/// publication and its take-back cost 0.1-0.2 µs, under 2% of this gap...
pub(crate) const AHEAD_GAP: Duration = Duration::from_micros(10);
/// ...this many looks in a row that find the forked returns closer end the mode...
pub(crate) const AHEAD_FINE_LOOKS: u8 = 8;
/// ...and with the mode off, every this many forked returns in a quiet pool look at the
/// clock to find out whether to start it.
pub(crate) const AHEAD_SAMPLE: u32 = 16;
/// Searchers that made no search round for this long do not run (they wait for a CPU):
/// a busy thread treats its pool as if nobody were hungry (the usual bound of forks, no
/// publication for them) until they do (`sched/context/stall.rs`). A searcher that runs
/// makes a round every few microseconds.
pub(crate) const SEARCH_STALL: Duration = Duration::from_micros(50);
/// A hungry thread is served once this long passed since the last publication for one.
pub(crate) const HUNGRY_INTERVAL: Duration = Duration::from_micros(2);
/// A context serves its first hungry thread once it ran this long (from its first look at
/// the clock while somebody was hungry). A call from outside gets a new context, and one
/// that has run this long likely has about as much left: enough that a piece of it is
/// worth a steal's round trip (1-2 µs on the project's machines). A shorter call shares
/// nothing, so the workers a previous call fed go back to sleep.
pub(crate) const FIRST_SHARE_AFTER: Duration = Duration::from_micros(10);

/// A worker whose last search brought a single job, and which ran out of work again within
/// this long, waits before its next search (`StealBackoff`)...
pub(crate) const SHORT_STEAL: Duration = Duration::from_micros(4);
/// ...first this long, doubling with each such steal in a row...
pub(crate) const STEAL_BACKOFF_FIRST: Duration = Duration::from_nanos(500);
/// ...up to this long.
pub(crate) const STEAL_BACKOFF_MAX: Duration = Duration::from_micros(64);

/// Every this many jobs from its own deque, a worker takes one from the shared queue first.
pub(crate) const SHARED_QUEUE_EVERY: u32 = 61;
/// Every this many jobs from its own deque, a worker books its busy time.
pub(crate) const BUSY_FLUSH_EVERY: u32 = 4096;

/// How long a spare thread looks for work after its last job before it exits...
pub(crate) const SPARE_LINGER: Duration = Duration::from_millis(2);
/// ...sleeping this long between two looks.
pub(crate) const SPARE_POLL: Duration = Duration::from_micros(50);

/// How long no queue may have grown past the room it keeps before a worker about to park
/// frees their spare room (`job_list.rs`, `trim.rs`); a worker parks for no longer than
/// what is left of it while there is spare room. The default of
/// `Builder::trim_queues_after`.
pub(crate) const TRIM_AFTER: Duration = Duration::from_secs(1);

/// What an idle thread does next, after a search that found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// It paused (spun or yielded): search again.
    Search,
    /// Its budget is spent: sleep (a worker parks, a waiter blocks on its latch). The
    /// sequence starts over afterwards.
    Sleep,
}

/// The spin-then-yield-then-sleep sequence of one idle period.
///
/// A worker's budget adapts: an idle period that ends in sleep halves the next one's spin
/// and yield rounds (down to one each), and a period in which spinning paid off (work
/// arrived during it), or a busy period of more than one job, restores them. An idle pool
/// fed one job now and then (each wake-up finds one job) thus stops spinning for nothing
/// after each, while a pool whose work comes in bursts keeps its full spin.
#[derive(Debug)]
pub(crate) struct Idle {
    round: u32,
    spin_rounds: u32,
    probes: u32,
    yield_rounds: u32,
    /// The full budget, and whether the budget adapts and lingers (workers) or not
    /// (waiters).
    full_spin: u32,
    full_yield: u32,
    adaptive: bool,
    /// How long this idle period may linger (`PEER_LINGER`, adapted; zero for waiters),
    /// and when it began to (or to stay), if it did.
    linger: Duration,
    lingering_since: Option<Instant>,
    /// How long an idle period stays awake past its budget, busy peer or not: twice the
    /// last park, if that was shorter than `SHORT_PARK` (zero for waiters).
    stay: Duration,
}

impl Idle {
    /// A worker's main loop out of work.
    pub(crate) const fn worker() -> Self {
        Idle {
            round: 0,
            spin_rounds: WORKER_SPIN_ROUNDS,
            probes: WORKER_PROBES,
            yield_rounds: WORKER_YIELD_ROUNDS,
            full_spin: WORKER_SPIN_ROUNDS,
            full_yield: WORKER_YIELD_ROUNDS,
            adaptive: true,
            linger: PEER_LINGER,
            lingering_since: None,
            stay: Duration::ZERO,
        }
    }

    /// A thread waiting for its own work.
    pub(crate) const fn waiter() -> Self {
        Idle {
            round: 0,
            spin_rounds: WAIT_SPIN_ROUNDS,
            probes: WAIT_PROBES,
            yield_rounds: WAIT_YIELD_ROUNDS,
            full_spin: WAIT_SPIN_ROUNDS,
            full_yield: WAIT_YIELD_ROUNDS,
            adaptive: false,
            linger: Duration::ZERO,
            lingering_since: None,
            stay: Duration::ZERO,
        }
    }

    /// Work was found: the next idle period starts from the beginning. If it was found
    /// while idling (spinning or yielding), idling paid off: the full budget comes back.
    #[inline]
    pub(crate) fn reset(&mut self) {
        if self.round > 0 {
            self.restore();
        }
        self.round = 0;
        self.lingering_since = None;
    }

    /// An idle period begins after a busy one of `jobs` root jobs: a burst (more than
    /// one) restores the full budget.
    #[inline]
    pub(crate) fn after_busy(&mut self, jobs: u32) {
        if jobs > 1 {
            self.restore();
        }
    }

    /// The worker was woken `parked` after it parked: a park shorter than `SHORT_PARK`
    /// makes the idle periods that follow stay awake for twice as long past their budget,
    /// so that work arriving at that interval finds the worker awake; a longer one ends
    /// that. Waiters do not park this way and never stay.
    pub(crate) fn after_park(&mut self, parked: Duration) {
        if self.adaptive {
            self.stay = if parked < SHORT_PARK {
                (parked * 2).min(SHORT_PARK)
            } else {
                Duration::ZERO
            };
        }
    }

    fn restore(&mut self) {
        self.spin_rounds = self.full_spin;
        self.yield_rounds = self.full_yield;
        if self.adaptive {
            self.linger = PEER_LINGER;
        }
    }

    /// Whether the sequence has not paused yet in this idle period.
    #[inline]
    pub(crate) fn at_start(&self) -> bool {
        self.round == 0
    }

    /// Whether the sequence is still spinning (has not yielded yet).
    #[cfg(test)]
    fn spinning(&self) -> bool {
        self.round < self.spin_rounds
    }

    /// After a search that found nothing: spins (calling `probe` every `PROBE_EVERY`
    /// pauses and stopping early when it returns true), or yields, or says it is time to
    /// sleep.
    pub(crate) fn pause(&mut self, probe: impl FnMut() -> bool) -> Next {
        self.pause_or_linger(probe, || false)
    }

    /// `pause` for a worker's main loop: once the budget is spent, it keeps yielding while
    /// `peer_busy` says another worker is busy, for up to `PEER_LINGER` (a waiter never
    /// lingers: what it waits for wakes it through its latch).
    ///
    /// The linger adapts as the budget does: one that runs out with the peer still busy
    /// bought nothing (the peer runs a job that does not fork, or is blocked), so the next
    /// one is half as long, and there is none after a sixteenth of `PEER_LINGER`; work found
    /// while idling, or a busy period of more than one job, restores it.
    ///
    /// After a short park (`after_park`) it also keeps yielding for the stay, busy peer or
    /// not; the linger and the stay count from the same moment, the end of the budget.
    pub(crate) fn pause_or_linger(
        &mut self,
        mut probe: impl FnMut() -> bool,
        peer_busy: impl FnOnce() -> bool,
    ) -> Next {
        self.round = self.round.saturating_add(1);
        if self.round <= self.spin_rounds {
            for _ in 0..self.probes {
                for _ in 0..PROBE_EVERY {
                    crate::sync::spin_hint();
                }
                if probe() {
                    break;
                }
            }
            return Next::Search;
        }
        if self.round <= self.spin_rounds + self.yield_rounds {
            std::thread::yield_now();
            return Next::Search;
        }
        let lingers = !self.linger.is_zero() && peer_busy();
        if lingers || !self.stay.is_zero() {
            let now = Instant::now();
            let since = *self.lingering_since.get_or_insert(now);
            let idled = now.duration_since(since);
            if idled < self.stay || (lingers && idled < self.linger) {
                std::thread::yield_now();
                return Next::Search;
            }
            if lingers {
                let half = self.linger / 2;
                self.linger = if half < PEER_LINGER / 16 {
                    Duration::ZERO
                } else {
                    half
                };
            }
        }
        self.round = 0;
        self.lingering_since = None;
        if self.adaptive {
            self.spin_rounds = (self.spin_rounds / 2).max(1);
            self.yield_rounds = (self.yield_rounds / 2).max(1);
        }
        Next::Sleep
    }
}

/// A worker's wait between stealing one short job and its next search.
///
/// Many workers fed by one producer that spawns jobs one by one, each shorter than a steal's
/// round trip, take them as fast as they appear: every steal finds the producer's queue
/// holding one or two jobs and brings back one, and every visit (a steal, or a look at the
/// queue while spinning) costs the producer cache misses on its queue's lines on its next
/// push. On 16 workers that slowed the producer to 0.4-1.8 µs per job, below the speed of one
/// thread (`docs/work-stealing.md`, "One producer, many thieves"). A worker whose last search
/// stole a single job from a peer's queue, and which ran out again within `SHORT_STEAL`,
/// therefore waits before it searches again,
/// without touching shared memory: `STEAL_BACKOFF_FIRST`, doubled with each such steal in a
/// row, up to `STEAL_BACKOFF_MAX`. Meanwhile the producer's queue grows, and the next steal
/// takes half of it. A steal that brings several jobs halves the wait; a stolen job that
/// ran longer ends it, so a worker fed coarse jobs one at a time never waits; a job from
/// the shared queue, the inbox or the relocation queue starts no wait (`not_stolen`: a
/// worker fed one small `install` at a time from outside waited up to `STEAL_BACKOFF_MAX`
/// before finding each); and a worker about to sleep forgets it (`reset`).
#[derive(Debug, Default)]
pub(crate) struct StealBackoff {
    /// When the worker started the single job its last search brought (none: the last
    /// search brought a batch, or the wait was already decided).
    single_since: Option<Instant>,
    /// The wait before the next search after a short single steal; zero: none yet.
    wait: Duration,
}

impl StealBackoff {
    /// A search found a job and `more` others with it.
    #[inline]
    pub(crate) fn found(&mut self, more: usize) {
        self.found_at(more, Instant::now());
    }

    /// `found`, at `now`.
    #[inline]
    fn found_at(&mut self, more: usize, now: Instant) {
        if more == 0 {
            self.single_since = Some(now);
        } else {
            self.single_since = None;
            self.wait /= 2;
        }
    }

    /// A search found a job that was not stolen from a peer (the shared queue, the own
    /// inbox or the relocation queue): no wait before the next search. The wait reached so
    /// far stays for the next single steal from a peer.
    #[inline]
    pub(crate) fn not_stolen(&mut self) {
        self.single_since = None;
    }

    /// The worker is about to sleep: it found nothing for its whole idle budget, so its
    /// steals were not draining a producer, and the wait starts over. Without this, a pool
    /// fed one short job now and then (each wake-up finds one job) grew the wait to its
    /// maximum and spun it after every job: 7% of a core with one empty spawn per ms,
    /// against 1% without the wait.
    #[inline]
    pub(crate) fn reset(&mut self) {
        *self = StealBackoff::default();
    }

    /// The worker ran out of work and is about to search: how long to wait first, if at
    /// all (the decision of the type's docs, for the steal before this moment).
    #[inline]
    pub(crate) fn before_search(&mut self) -> Option<Duration> {
        // Only after a single-job search: a clock read then and none otherwise.
        self.single_since?;
        self.before_search_at(Instant::now())
    }

    /// `before_search`, at `now`.
    #[inline]
    fn before_search_at(&mut self, now: Instant) -> Option<Duration> {
        let since = self.single_since.take()?;
        self.wait = next_wait(self.wait, now.saturating_duration_since(since));
        (!self.wait.is_zero()).then_some(self.wait)
    }
}

/// The wait after a single stolen job that, with what it led to, ran for `ran`, when the
/// previous wait was `wait`.
fn next_wait(wait: Duration, ran: Duration) -> Duration {
    if ran >= SHORT_STEAL {
        Duration::ZERO
    } else {
        (wait * 2).clamp(STEAL_BACKOFF_FIRST, STEAL_BACKOFF_MAX)
    }
}

/// Waits `wait` on the clock, with spin hints between reads: the waiting thread touches no
/// shared memory.
pub(crate) fn spin_for(wait: Duration) {
    spin_until(wait, || false);
}

/// Spins for up to `wait`, calling `done` and reading the clock after every `PROBE_EVERY`
/// spin hints; returns whether `done` said so before the time was up.
pub(crate) fn spin_until(wait: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + wait;
    loop {
        for _ in 0..PROBE_EVERY {
            crate::sync::spin_hint();
        }
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_period_spins_then_yields_then_sleeps_then_starts_over() {
        for mut idle in [Idle::worker(), Idle::waiter()] {
            let (spins, yields) = (idle.spin_rounds, idle.yield_rounds);
            let mut probes = 0;
            for _ in 0..spins {
                assert!(idle.spinning());
                assert_eq!(
                    idle.pause(|| {
                        probes += 1;
                        false
                    }),
                    Next::Search
                );
            }
            assert_eq!(probes, spins * idle.probes);
            for _ in 0..yields {
                assert!(!idle.spinning());
                assert_eq!(
                    idle.pause(|| unreachable!("yield rounds do not probe")),
                    Next::Search
                );
            }
            assert_eq!(idle.pause(|| false), Next::Sleep);
            assert!(idle.spinning(), "after sleeping the sequence starts over");
        }
    }

    fn rounds_until_sleep(idle: &mut Idle) -> u32 {
        let mut rounds = 1;
        while idle.pause(|| false) == Next::Search {
            rounds += 1;
        }
        rounds
    }

    #[test]
    fn a_worker_fed_one_job_per_wake_up_spins_less_and_less() {
        let mut idle = Idle::worker();
        let full = WORKER_SPIN_ROUNDS + WORKER_YIELD_ROUNDS + 1;
        assert_eq!(rounds_until_sleep(&mut idle), full);
        // Woken, found one job at once, ran it: the next period is shorter...
        idle.reset();
        idle.after_busy(1);
        assert_eq!(
            rounds_until_sleep(&mut idle),
            WORKER_SPIN_ROUNDS / 2 + WORKER_YIELD_ROUNDS / 2 + 1
        );
        // ...down to one spin and one yield.
        for _ in 0..8 {
            idle.reset();
            idle.after_busy(1);
            rounds_until_sleep(&mut idle);
        }
        assert_eq!(rounds_until_sleep(&mut idle), 3);
        // A burst of jobs restores the full budget.
        idle.after_busy(5);
        assert_eq!(rounds_until_sleep(&mut idle), full);
    }

    #[test]
    fn work_found_while_spinning_restores_the_budget() {
        let mut idle = Idle::worker();
        rounds_until_sleep(&mut idle);
        rounds_until_sleep(&mut idle);
        idle.pause(|| false);
        idle.reset(); // found during the spin
        assert!(idle.at_start());
        assert_eq!(
            rounds_until_sleep(&mut idle),
            WORKER_SPIN_ROUNDS + WORKER_YIELD_ROUNDS + 1
        );
    }

    #[test]
    fn a_worker_lingers_past_its_budget_while_a_peer_is_busy_and_then_sleeps() {
        let mut idle = Idle::worker();
        let budget = WORKER_SPIN_ROUNDS + WORKER_YIELD_ROUNDS;
        // The budget is spent, but a peer is busy: yield on, for `PEER_LINGER`.
        let (lingered, pauses) = awake_past_budget(&mut idle, budget, true);
        assert!(pauses > 1, "never lingered");
        assert!(lingered >= PEER_LINGER, "slept before the linger ran out");
        assert_eq!(
            idle.linger,
            PEER_LINGER / 2,
            "a linger that ran out halves the next"
        );
        // With no busy peer the spent budget means sleep at once (halved, as always).
        for _ in 0..WORKER_SPIN_ROUNDS / 2 + WORKER_YIELD_ROUNDS / 2 {
            assert_eq!(idle.pause_or_linger(|| false, || false), Next::Search);
        }
        assert_eq!(idle.pause_or_linger(|| false, || false), Next::Sleep);
        // A waiter never lingers: its latch wakes it.
        let mut waiter = Idle::waiter();
        for _ in 0..WAIT_SPIN_ROUNDS + WAIT_YIELD_ROUNDS {
            waiter.pause_or_linger(|| false, || true);
        }
        assert_eq!(waiter.pause_or_linger(|| false, || true), Next::Sleep);
    }

    /// The time from the end of `idle`'s budget (spent with a peer busy or not) to
    /// `Next::Sleep`, and the pauses it took past the budget (the one that said `Sleep`
    /// included).
    fn awake_past_budget(idle: &mut Idle, budget: u32, peer_busy: bool) -> (Duration, u32) {
        for _ in 0..budget {
            assert_eq!(idle.pause_or_linger(|| false, || peer_busy), Next::Search);
        }
        let start = Instant::now();
        let mut pauses = 1;
        while idle.pause_or_linger(|| false, || peer_busy) == Next::Search {
            pauses += 1;
            // Generous: one yield on a loaded machine may take milliseconds.
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "still awake after {:?}",
                start.elapsed()
            );
        }
        (start.elapsed(), pauses)
    }

    #[test]
    fn a_short_park_keeps_the_next_idle_periods_awake_for_twice_its_length() {
        let mut idle = Idle::worker();
        let full = WORKER_SPIN_ROUNDS + WORKER_YIELD_ROUNDS;
        // Never parked: the spent budget means sleep, at once.
        assert_eq!(awake_past_budget(&mut idle, full, false).1, 1);
        let half = WORKER_SPIN_ROUNDS / 2 + WORKER_YIELD_ROUNDS / 2;
        // Woken 20 µs after it parked: it stays awake, yielding, for 40 µs past its
        // budget, in every idle period until the next park.
        idle.after_park(Duration::from_micros(20));
        assert_eq!(idle.stay, Duration::from_micros(40));
        assert!(awake_past_budget(&mut idle, half, false).0 >= Duration::from_micros(40));
        assert!(awake_past_budget(&mut idle, half / 2, false).0 >= Duration::from_micros(40));
        // Never longer than `SHORT_PARK`.
        idle.after_park(SHORT_PARK * 3 / 4);
        assert_eq!(idle.stay, SHORT_PARK);
        // A long park ends the stay.
        idle.after_park(SHORT_PARK);
        assert_eq!(idle.stay, Duration::ZERO);
        // A waiter never stays: its latch wakes it.
        let mut waiter = Idle::waiter();
        waiter.after_park(Duration::from_micros(20));
        assert_eq!(waiter.stay, Duration::ZERO);
    }

    #[test]
    fn lingers_that_run_out_shrink_to_none_and_work_found_while_idling_restores_them() {
        let mut idle = Idle::worker();
        // A peer that stays busy and never publishes: each idle period lingers, runs out,
        // and sleeps; the lingers shrink and stop.
        let mut lingers = Vec::new();
        for _ in 0..8 {
            lingers.push(idle.linger);
            while idle.pause_or_linger(|| false, || true) == Next::Search {}
        }
        assert_eq!(
            &lingers[..6],
            &[
                PEER_LINGER,
                PEER_LINGER / 2,
                PEER_LINGER / 4,
                PEER_LINGER / 8,
                PEER_LINGER / 16,
                Duration::ZERO
            ]
        );
        assert!(lingers[6..].iter().all(|l| l.is_zero()));
        // Without a linger, the spent budget means sleep, busy peer or not.
        let budget = idle.spin_rounds + idle.yield_rounds;
        for _ in 0..budget {
            assert_eq!(idle.pause_or_linger(|| false, || true), Next::Search);
        }
        assert_eq!(idle.pause_or_linger(|| false, || true), Next::Sleep);
        // Work found while idling restores the full linger.
        idle.pause_or_linger(|| false, || true);
        idle.reset();
        assert_eq!(idle.linger, PEER_LINGER);
    }

    #[test]
    fn a_waiter_keeps_its_budget() {
        let mut idle = Idle::waiter();
        let full = WAIT_SPIN_ROUNDS + WAIT_YIELD_ROUNDS + 1;
        assert_eq!(rounds_until_sleep(&mut idle), full);
        assert_eq!(rounds_until_sleep(&mut idle), full);
    }

    #[test]
    fn a_probe_that_succeeds_ends_the_spin_early() {
        let mut idle = Idle::waiter();
        let mut probes = 0;
        idle.pause(|| {
            probes += 1;
            true
        });
        assert_eq!(probes, 1);
    }

    #[test]
    fn reset_restarts_the_spin() {
        let mut idle = Idle::worker();
        for _ in 0..WORKER_SPIN_ROUNDS + 1 {
            idle.pause(|| false);
        }
        assert!(!idle.spinning());
        idle.reset();
        assert!(idle.spinning());
    }

    #[test]
    fn short_single_steals_in_a_row_double_the_wait_up_to_the_cap() {
        let short = SHORT_STEAL / 2;
        let mut wait = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..10 {
            wait = next_wait(wait, short);
            seen.push(wait);
        }
        assert_eq!(seen[0], STEAL_BACKOFF_FIRST);
        assert_eq!(seen[1], STEAL_BACKOFF_FIRST * 2);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*seen.last().unwrap(), STEAL_BACKOFF_MAX);
        // A stolen job that ran long ends the wait.
        assert_eq!(next_wait(STEAL_BACKOFF_MAX, SHORT_STEAL), Duration::ZERO);
    }

    /// The backoff driven on a clock of its own: each call happens `dt` after the last.
    struct Clocked {
        b: StealBackoff,
        now: Instant,
    }

    impl Clocked {
        fn new() -> Self {
            Clocked {
                b: StealBackoff::default(),
                now: Instant::now(),
            }
        }
        fn found(&mut self, more: usize) {
            self.b.found_at(more, self.now);
        }
        /// The worker runs out `ran` after its last search found a job.
        fn ran_out_after(&mut self, ran: Duration) -> Option<Duration> {
            self.now += ran;
            self.b.before_search_at(self.now)
        }
    }

    #[test]
    fn a_batch_halves_the_wait_and_a_coarse_single_job_ends_it() {
        let short = SHORT_STEAL / 4;
        let mut c = Clocked::new();
        assert_eq!(c.ran_out_after(short), None, "nothing stolen yet: no wait");
        c.found(0);
        assert_eq!(c.ran_out_after(short), Some(STEAL_BACKOFF_FIRST));
        assert_eq!(c.ran_out_after(short), None, "decided once per steal");
        c.found(0);
        assert_eq!(c.ran_out_after(short), Some(STEAL_BACKOFF_FIRST * 2));
        c.found(5);
        assert_eq!(c.ran_out_after(short), None, "a batch brings no wait");
        c.found(0);
        assert_eq!(
            c.ran_out_after(short),
            Some(STEAL_BACKOFF_FIRST * 2),
            "half, then doubled"
        );
        c.found(0);
        assert_eq!(
            c.ran_out_after(SHORT_STEAL),
            None,
            "a job that ran long ends it"
        );
        c.found(0);
        assert_eq!(c.ran_out_after(short), Some(STEAL_BACKOFF_FIRST));
    }

    #[test]
    fn a_job_not_stolen_from_a_peer_starts_no_wait_and_keeps_the_one_reached() {
        let short = SHORT_STEAL / 4;
        let mut c = Clocked::new();
        c.found(0);
        assert_eq!(c.ran_out_after(short), Some(STEAL_BACKOFF_FIRST));
        c.found(0);
        assert_eq!(c.ran_out_after(short), Some(STEAL_BACKOFF_FIRST * 2));
        // One small `install` after another from outside: no wait before the next search.
        for _ in 0..4 {
            c.b.not_stolen();
            assert_eq!(c.ran_out_after(short), None);
        }
        c.found(0);
        assert_eq!(
            c.ran_out_after(short),
            Some(STEAL_BACKOFF_FIRST * 4),
            "the next single steal from a peer doubles the wait reached before"
        );
    }

    #[test]
    fn a_reset_forgets_the_wait() {
        let short = SHORT_STEAL / 4;
        let mut c = Clocked::new();
        for _ in 0..5 {
            c.found(0);
            c.ran_out_after(short);
        }
        c.found(0);
        c.b.reset();
        assert_eq!(
            c.ran_out_after(short),
            None,
            "the pending steal is forgotten too"
        );
        c.found(0);
        assert_eq!(c.ran_out_after(short), Some(STEAL_BACKOFF_FIRST));
    }

    #[test]
    fn without_a_single_job_search_no_wait_comes() {
        let mut b = StealBackoff::default();
        assert_eq!(b.before_search(), None);
        b.found(3);
        assert_eq!(b.before_search(), None);
    }

    #[test]
    fn spin_for_waits_at_least_its_time() {
        let start = Instant::now();
        spin_for(Duration::from_micros(50));
        assert!(start.elapsed() >= Duration::from_micros(50));
    }
}
