//! A worker thread: its main loop (find a job, run it, count it, sleep when idle).

use std::cell::Cell;
use std::time::Instant;

use crate::backend::Queues;
use crate::job::{Header, JobRef};
use crate::metrics::{BusyClock, Counters};
use crate::sched::context::Ctx;
use crate::sched::member::Membership;
use crate::sched::registry::Registry;
use crate::sched::role::{Role, Worker};
use crate::sched::sleep::Woke;
use crate::sched::sleep::pacing::{
    BUSY_FLUSH_EVERY, Idle, Next, SHARED_QUEUE_EVERY, StealBackoff, spin_for,
};
use crate::sync::{Arc, Ordering};

/// The body of worker thread `index`, which owns `local`.
pub(crate) fn run<Q: Queues>(registry: Arc<Registry<Q>>, index: usize, local: Q::Local) {
    if let Some(handler) = &registry.start_handler {
        run_handler("start", || handler(index));
    }
    {
        let membership = Membership {
            registry: &registry,
            role: Role::Worker(Worker {
                index,
                local: &local,
                registry: &registry,
            }),
        };
        let Role::Worker(worker) = &membership.role else {
            unreachable!("made as a worker just above")
        };
        membership.enter(|ctx| MainLoop::new(worker).run(ctx));
    }
    if let Some(handler) = &registry.exit_handler {
        run_handler("exit", || handler(index));
    }
    registry.live.fetch_sub(1, Ordering::SeqCst);
}

/// Runs a start/exit hook; a panicking hook is reported and does not take the worker down.
fn run_handler(which: &str, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        eprintln!("skewer: the pool's {which} handler panicked; the worker carries on");
    }
}

/// What one search took.
#[derive(Debug)]
struct Taken {
    job: JobRef,
    /// More jobs the same steal moved into the own deque.
    moved: usize,
    /// Whether it came from a peer's queue: only such a steal, from a worker that may go on
    /// pushing, decides the thief's wait (`StealBackoff`). A job from the shared queue, the
    /// own inbox or the relocation queue starts none: a worker that took one small
    /// `install` after another from a caller outside the pool used to wait, up to
    /// `STEAL_BACKOFF_MAX`, before each search that found the next.
    from_peer: bool,
}

impl Taken {
    /// Tells `backoff` what this search took.
    fn tell(&self, backoff: &mut StealBackoff) {
        if self.from_peer {
            backoff.found(self.moved);
        } else {
            backoff.not_stolen();
        }
    }
}

/// The main loop's state.
struct MainLoop<'w, 'a, Q: Queues> {
    worker: &'w Worker<'a, Q>,
    counters: &'w Counters,
    busy: BusyClock,
    ticks: Cell<u32>,
}

impl<'w, 'a, Q: Queues> MainLoop<'w, 'a, Q> {
    fn new(worker: &'w Worker<'a, Q>) -> Self {
        MainLoop {
            worker,
            counters: &worker.registry.counters.workers[worker.index],
            busy: BusyClock::default(),
            ticks: Cell::new(0),
        }
    }

    fn run(mut self, ctx: &Ctx) {
        let reg = &**self.worker.registry;
        let me = self.worker.index;
        self.busy.start();
        // Every worker starts counted as a searcher (see `Sleep::new`).
        let mut searching = true;
        // Whether the search after seeing `terminate` came up empty.
        let mut final_search = false;
        let mut idle = Idle::worker();
        // The wait before a search after a short single steal (`StealBackoff`).
        let mut backoff = StealBackoff::default();
        // Root jobs run since the last idle period began (see `Idle::after_busy`).
        let mut jobs = 0u32;
        // An ancestor of every job in the own deque (null: none known), announced while
        // the worker runs jobs from it, so that a thread waiting for that ancestor may
        // steal them (`anchor.rs`).
        let mut deque_anchor: *const Header = std::ptr::null();
        loop {
            if !searching {
                if let Some((job, from_deque)) = self.next_local() {
                    jobs = jobs.saturating_add(1);
                    let own = Header::anchor(job.header());
                    deque_anchor = self.anchor_for(own, from_deque, deque_anchor);
                    ctx.settle().arm(own);
                    self.worker.run_announcing(ctx, job, deque_anchor);
                    continue;
                }
                // Nothing is owed to a scope while this worker looks for work or sleeps.
                ctx.settle().disarm();
                if let Some(taken) = self.search_before_announcing(&mut backoff) {
                    jobs = jobs.saturating_add(1);
                    self.run_found(ctx, taken, &mut deque_anchor);
                    continue;
                }
                reg.sleep.start_searching();
            }
            loop {
                if let Some(taken) = self.search() {
                    final_search = false;
                    taken.tell(&mut backoff);
                    reg.sleep.found_work(|| reg.has_work_for(me));
                    searching = false;
                    idle.reset();
                    jobs = jobs.saturating_add(1);
                    self.run_found(ctx, taken, &mut deque_anchor);
                    break;
                }
                if reg.terminate.load(Ordering::SeqCst) {
                    if !final_search {
                        // One more full search after seeing the flag, behind a SeqCst
                        // fence: an outside submission that saw the pool still open did its
                        // push and fence before `closed` (and so `terminate`) was stored,
                        // so this search sees its job. Nothing accepted is left behind by
                        // a worker that exits.
                        crate::sync::fence(Ordering::SeqCst);
                        final_search = true;
                        continue;
                    }
                    if !reg.peer_awake(false) {
                        reg.leave_main_loop();
                        self.busy.stop(self.counters);
                        return;
                    }
                    // Another worker runs a job, which may queue more work, or searches and
                    // may hold one: stay, idling and parking as usual, and search again (a
                    // last time behind a fence) when woken.
                    final_search = false;
                }
                if idle.at_start() {
                    idle.after_busy(std::mem::take(&mut jobs));
                }
                // This worker counts as searching: a busy one publishes for it, as long as
                // the rounds it counts show that it runs.
                ctx.searched();
                let peer_busy = || reg.sleep.peek().some_busy(reg.num_threads);
                if idle.pause_or_linger(|| reg.has_work_for(me), peer_busy) == Next::Search {
                    continue;
                }
                // A worker that found nothing for its whole idle budget drains nobody's
                // queue: whatever it steals after this starts without a wait.
                backoff.reset();
                self.sleep(&mut idle);
            }
        }
    }

    /// The first search of a worker whose own queue ran dry, after the wait of `backoff`:
    /// made before it announces itself as a searcher. A worker that finds a job here never
    /// counted as a searcher, which spares the shared sleep state two SeqCst
    /// read-modify-writes, and the last searcher's look at every queue, per steal.
    /// Notifiers meanwhile count it as busy, as they did a moment ago.
    fn search_before_announcing(&self, backoff: &mut StealBackoff) -> Option<Taken> {
        if let Some(wait) = backoff.before_search() {
            spin_for(wait);
        }
        let found = self.search();
        if let Some(taken) = &found {
            taken.tell(backoff);
        }
        found
    }

    /// Runs a job a search found (with the jobs the same steal moved into the own deque),
    /// announcing the anchor it leaves for the deque (`deque_anchor`).
    #[inline]
    fn run_found(&self, ctx: &Ctx, taken: Taken, deque_anchor: &mut *const Header) {
        let Taken { job, moved, .. } = taken;
        let own = Header::anchor(job.header());
        *deque_anchor = if moved > 0 {
            self.worker.batch_anchor(own, moved)
        } else {
            self.anchor_for(own, false, std::ptr::null())
        };
        ctx.settle().arm(own);
        self.worker.run_announcing(ctx, job, *deque_anchor);
    }

    /// The worker found nothing for its whole idle budget: it parks (S1-S5 of the sleep
    /// protocol) and comes back a searcher. Out of line: a park costs microseconds, and
    /// the main loop stays small.
    #[cold]
    #[inline(never)]
    fn sleep(&mut self, idle: &mut Idle) {
        let reg = &**self.worker.registry;
        let me = self.worker.index;
        // A closed pool's worker parks while another worker is awake: that one wakes every
        // sleeper when it leaves (`Registry::leave_main_loop`).
        let recheck = || {
            reg.has_work_for(me) || (reg.terminate.load(Ordering::SeqCst) && !reg.peer_awake(true))
        };
        // The busy clock runs from wake-up to park (searching included): two clock reads
        // per park, none per job or per search. The same two reads time the park.
        let parked_at = Instant::now();
        self.busy.stop_at(parked_at, self.counters);
        // A queue that grew in a burst keeps its room until no queue has grown for
        // `TRIM_AFTER`; this look frees it once that is so, and while it is not yet, the
        // park ends by then (`sched/sleep/trim.rs`).
        let limit = reg.before_park();
        let woke = reg.sleep.try_sleep(self.worker.index, recheck, limit);
        match woke {
            Woke::FoundWork => {}
            Woke::Unparked => {
                self.counters.parks.add_owned(1);
                self.counters.wakeups.add_owned(1);
            }
            // Back to searching; the look before the next park frees the room.
            Woke::TimedOut => self.counters.parks.add_owned(1),
        }
        let now = Instant::now();
        if woke != Woke::FoundWork {
            idle.after_park(now.saturating_duration_since(parked_at));
        }
        self.busy.start_at(now);
    }

    /// The anchor to announce while a job whose own anchor is `own` runs, and to keep for
    /// the own deque after it (the rule of `deque_anchor` in `run`): with an empty deque,
    /// `own`;
    /// for a job from the deque, the deque's anchor; for any other job with jobs still in
    /// the deque, none (what it pushes and what was there share no known ancestor).
    #[inline]
    fn anchor_for(
        &self,
        own: *const Header,
        from_deque: bool,
        deque_anchor: *const Header,
    ) -> *const Header {
        let w = self.worker;
        if w.registry.queues.local_is_empty(w.local) {
            own
        } else if from_deque {
            deque_anchor
        } else {
            std::ptr::null()
        }
    }

    /// One full search: the own inbox, the own queue, the relocation queue, then the
    /// backend's search of the shared queue and the peers. Counts what the backend reports.
    fn search(&self) -> Option<Taken> {
        let w = self.worker;
        let reg = &**w.registry;
        if let Some(job) = reg
            .take_inbox(w.index)
            .or_else(|| reg.queues.pop_local(w.local))
            .or_else(|| reg.pop_relocated())
        {
            return Some(Taken {
                job,
                moved: 0,
                from_peer: false,
            });
        }
        let found = reg.queues.find_work(w.local, w.index);
        let c = self.counters;
        if found.stolen > 0 {
            c.steal_ops.add_owned(1);
            c.jobs_stolen.add_owned(found.stolen as u64);
        }
        if found.failed_steals > 0 {
            c.failed_steals.add_owned(u64::from(found.failed_steals));
        }
        found.job.map(|job| Taken {
            job,
            moved: found.stolen.saturating_sub(1),
            from_peer: found.from_peer,
        })
    }

    /// The next job from the own deque (with `true`), after the own inbox (one relaxed
    /// load when empty), with a look at the shared queue every `SHARED_QUEUE_EVERY` jobs.
    /// Without local queues, the shared queue is where this worker's own pushes went: a
    /// busy worker takes its next job there directly, as one with a deque pops its own,
    /// instead of entering the sleep protocol as a searcher between every two jobs.
    #[inline]
    fn next_local(&mut self) -> Option<(JobRef, bool)> {
        let q = &self.worker.registry.queues;
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t.is_multiple_of(BUSY_FLUSH_EVERY) {
            // Book busy time now and then, so a worker that never parks shows it too.
            self.busy.stop(self.counters);
            self.busy.start();
        }
        if let Some(job) = self.worker.registry.take_inbox(self.worker.index) {
            return Some((job, false));
        }
        if !Q::HAS_LOCAL_QUEUES {
            return q.pop_global().map(|job| (job, false));
        }
        if t.is_multiple_of(SHARED_QUEUE_EVERY)
            && let Some(job) = q.pop_global()
        {
            return Some((job, false));
        }
        q.pop_local(self.worker.local).map(|job| (job, true))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::backend::channel::Channel;
    use crate::backend::stealing::Stealing;
    use crate::job::Kind;
    use crate::job::job_ref::Word;
    use crate::sched::sleep::pacing::StealBackoff;

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("these tests only take jobs; they run none");
    }

    /// What the main loop takes next without searching, with one job in the shared queue.
    fn next_without_searching<Q: Queues>() -> bool {
        let (reg, locals) = crate::sched::registry::for_tests::<Q>(1);
        let header = Header::new(std::ptr::null(), Kind::Stack);
        // SAFETY: never executed; `header` outlives the registry's queue in this test.
        reg.queues
            .push_global(unsafe { JobRef::new(&header, never) });
        let worker = Worker {
            index: 0,
            local: &locals[0],
            registry: &reg,
        };
        let found = MainLoop::new(&worker).next_local();
        let taken = found.is_some_and(|(job, _)| std::ptr::eq(job.header(), &header));
        // Leave nothing queued that points at `header`.
        let _ = reg.queues.pop_global();
        taken
    }

    #[test]
    fn a_worker_out_of_work_takes_a_peers_job_before_it_counts_as_a_searcher() {
        let (reg, locals) = crate::sched::registry::for_tests::<Stealing>(2);
        let header = Header::new(std::ptr::null(), Kind::Stack);
        // SAFETY: never executed; `header` outlives the registry's queues in this test.
        reg.queues
            .push_local(&locals[1], unsafe { JobRef::new(&header, never) });
        let worker = Worker {
            index: 0,
            local: &locals[0],
            registry: &reg,
        };
        let main = MainLoop::new(&worker);
        let mut backoff = StealBackoff::default();
        let searching = reg.sleep.peek().searching();
        let found = main.search_before_announcing(&mut backoff);
        assert!(
            found.is_some_and(|t| std::ptr::eq(t.job.header(), &header)
                && t.moved == 0
                && t.from_peer)
        );
        assert_eq!(
            reg.sleep.peek().searching(),
            searching,
            "the sleep state is not touched"
        );
        // Nothing left: the search comes back empty, still without announcing.
        assert!(main.search_before_announcing(&mut backoff).is_none());
        assert_eq!(reg.sleep.peek().searching(), searching);
    }

    #[test]
    fn a_searching_worker_counts_its_search_rounds() {
        let (reg, mut locals) = crate::sched::registry::for_tests::<Stealing>(1);
        assert_eq!(reg.sleep.search_rounds(), 0);
        // The worker starts as a searcher and searches at least once before it parks.
        let worker = {
            let reg = reg.clone();
            let local = locals.pop().expect("one worker");
            std::thread::spawn(move || super::run(reg, 0, local))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while reg.sleep.search_rounds() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no search round counted in 10 s"
            );
            std::thread::yield_now();
        }
        reg.close();
        worker.join().expect("the worker exits");
    }

    #[test]
    fn a_busy_channel_worker_takes_its_next_job_from_the_shared_queue_without_searching() {
        assert!(next_without_searching::<Channel>());
        // A stealing worker pops its own deque; it reaches the injector by searching (or
        // once every `SHARED_QUEUE_EVERY` jobs).
        assert!(!next_without_searching::<Stealing>());
    }
}
