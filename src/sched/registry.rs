//! The registry: everything a pool's threads share (its queues, sleep state, anchors,
//! watchers, counters, lifecycle flags, panic policy) and the operations on that state.
//! It starts no thread: `sched/running.rs` builds it and starts the workers, and spare
//! threads are started through the `start_spare` function it is given.

use std::collections::HashSet;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::backend::job_list::{self, JobList};
use crate::backend::{Queues, Tuning};
use crate::job::JobRef;
use crate::job::unwind::JobPanic;
use crate::metrics::{Metrics, PoolCounters};
use crate::sched::anchor::AnchorSlot;
use crate::sched::context::SharedPool;
use crate::sched::pool_id::PoolId;
use crate::sched::sleep::Sleep;
use crate::sched::sleep::trim::{TrimClock, TrimDue};
use crate::sched::watchers::Watchers;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

pub(crate) type PanicHandler = dyn Fn(JobPanic) + Send + Sync;
pub(crate) type ThreadHandler = dyn Fn(usize) + Send + Sync;

/// What the builder hands to the scheduler.
pub(crate) struct Config {
    pub(crate) num_threads: usize,
    pub(crate) tuning: Tuning,
    pub(crate) thread_names: Vec<String>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) panic_handler: Option<Box<PanicHandler>>,
    pub(crate) start_handler: Option<Box<ThreadHandler>>,
    pub(crate) exit_handler: Option<Box<ThreadHandler>>,
    /// How long no queue may grow before their spare room is freed; `None`: never
    /// (`Builder::trim_queues_after`).
    pub(crate) trim_after: Option<Duration>,
}

/// The shared state of one pool.
pub(crate) struct Registry<Q: Queues> {
    pub(crate) queues: Q,
    pub(crate) sleep: Sleep,
    pub(crate) anchors: Vec<CachePadded<AnchorSlot>>,
    /// Jobs a waiter stole while their worker's anchor changed: they may belong to anyone.
    relocated: JobList,
    /// Each worker's inbox: its share of a `broadcast`, which only it may run.
    inboxes: Vec<CachePadded<JobList>>,
    /// Jobs in all inboxes together (one load for `has_work`).
    inboxed: AtomicUsize,
    /// How long no locked ring may grow before their spare room is freed; `None`: never.
    trim_after: Option<Duration>,
    /// Since when no locked ring has grown: when their spare room is freed. On a line of
    /// its own: its lock is written at parks, and unpadded, among the registry's hot
    /// fields, bursts of outside spawns ran about 5% slower (four alternating pairs; level
    /// with the padding in eight).
    trim_clock: CachePadded<TrimClock>,
    /// Threads blocked in a wait that want a poke when work arrives (see `watchers.rs`).
    pub(crate) watchers: Watchers,
    pub(crate) counters: PoolCounters,
    pub(crate) num_threads: usize,
    /// Set by `close`: outside submissions are refused from then on. A submission that
    /// raced with it and finds it set after pushing drains the shared queue itself (see
    /// `submit`), so an accepted job is never stranded.
    closed: AtomicBool,
    /// Set by `close` after `closed`: workers exit once they find no work and every other
    /// worker sleeps (`peer_awake`).
    pub(crate) terminate: AtomicBool,
    /// Worker threads that have not exited yet.
    pub(crate) live: AtomicUsize,
    /// Workers still in their main loop (`live` also counts one that left it and runs its
    /// exit handler).
    pub(crate) looping: AtomicUsize,
    /// Workers blocked in a wait on another pool, or in one within this pool whose own
    /// work may lie deep in their deque (see `spare.rs`).
    pub(crate) blocked_elsewhere: AtomicUsize,
    /// Spare threads that have not exited yet.
    pub(crate) spares: AtomicUsize,
    /// Spare threads looking for work (not running a job).
    pub(crate) spares_looking: AtomicUsize,
    /// Starts a spare thread if the pool needs one (`spare::maybe_start`, given by the
    /// layer that starts threads).
    pub(crate) start_spare: fn(&Arc<Registry<Q>>),
    /// The name of spare threads.
    pub(crate) spare_name: String,
    /// The stack size of workers and spares.
    pub(crate) stack_size: Option<usize>,
    /// `Pool` handles alive; the last one to go closes the pool.
    handles: AtomicUsize,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    panic_handler: Option<Box<PanicHandler>>,
    pub(crate) start_handler: Option<Box<ThreadHandler>>,
    pub(crate) exit_handler: Option<Box<ThreadHandler>>,
    reported: Mutex<HashSet<String>>,
}

/// A registry with no threads started, for the unit tests of the mechanisms above it.
#[cfg(all(test, not(loom)))]
pub(crate) fn for_tests<Q: Queues>(num_threads: usize) -> (Arc<Registry<Q>>, Vec<Q::Local>) {
    let config = Config {
        num_threads,
        tuning: crate::backend::Tuning::default(),
        thread_names: (0..num_threads).map(|i| format!("test-{i}")).collect(),
        stack_size: None,
        panic_handler: None,
        start_handler: None,
        exit_handler: None,
        trim_after: Some(crate::sched::sleep::pacing::TRIM_AFTER),
    };
    let (reg, locals, _) = Registry::new(config, |_| {});
    (Arc::new(reg), locals)
}

impl<Q: Queues> Registry<Q> {
    /// Builds the shared state of a pool of `config.num_threads` workers, and the part of
    /// the queues each worker will own; starts nothing. Returns the worker names too.
    pub(crate) fn new(
        config: Config,
        start_spare: fn(&Arc<Registry<Q>>),
    ) -> (Self, Vec<Q::Local>, Vec<String>) {
        let n = config.num_threads;
        let (queues, locals) = Q::new(n, config.tuning);
        let registry = Registry {
            queues,
            sleep: Sleep::new(n),
            anchors: (0..n).map(|_| CachePadded::default()).collect(),
            relocated: JobList::default(),
            inboxes: (0..n).map(|_| CachePadded::default()).collect(),
            inboxed: AtomicUsize::new(0),
            trim_after: config.trim_after,
            trim_clock: CachePadded::default(),
            watchers: Watchers::default(),
            counters: PoolCounters::new(n),
            num_threads: n,
            closed: AtomicBool::new(false),
            terminate: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            looping: AtomicUsize::new(0),
            blocked_elsewhere: AtomicUsize::new(0),
            spares: AtomicUsize::new(0),
            spares_looking: AtomicUsize::new(0),
            start_spare,
            spare_name: config
                .thread_names
                .first()
                .map_or_else(|| "skewer-spare".to_string(), |n| format!("{n}-spare")),
            stack_size: config.stack_size,
            handles: AtomicUsize::new(1),
            threads: Mutex::new(Vec::with_capacity(n)),
            panic_handler: config.panic_handler,
            start_handler: config.start_handler,
            exit_handler: config.exit_handler,
            reported: Mutex::new(HashSet::new()),
        };
        (registry, locals, config.thread_names)
    }

    /// The pool's identity.
    pub(crate) fn id(&self) -> PoolId {
        PoolId::of(self)
    }

    /// Pushes a job into the shared queue from `row`'s owner (a worker index, or `None`
    /// for anyone else) and wakes a worker if none is searching; returns whether it woke
    /// one.
    pub(crate) fn push_global(&self, job: JobRef, row: Option<usize>) -> bool {
        let count = match row {
            Some(i) => {
                self.queues.push_global(job);
                let c = &self.counters.workers[i].injected;
                c.add_owned(1);
                c.get()
            }
            // The outside row is shared by every thread outside the pool: counted inside
            // the push where the backend can (a locked instruction less per outside spawn;
            // `metrics` adds those counts back in), else with an atomic add.
            // Either way `count` is the count before this push, so the depth below is
            // sampled at the first push and every 16th after it.
            None => match self.queues.push_global_counted(job) {
                Some(count) => count - 1,
                None => self.counters.outside.injected.add_shared(1),
            },
        };
        // Sample the shared queue's depth every 16 pushes of a row: `len` is not free.
        if count.is_multiple_of(16) {
            self.counters
                .max_injector_depth
                .raise_to(self.queues.global_len() as u64);
        }
        let woke = self.sleep.notify_work();
        self.watchers.poke_all();
        woke
    }

    /// Pushes from worker `index`, which owns `local`, onto its own queue (the shared one
    /// for a backend without local queues) and wakes a worker. The wake-up and the poke
    /// are best effort (`Sleep::notify_local_work`): the pushing worker itself comes back
    /// for the job, so no fence is spent to make them certain.
    pub(crate) fn push_local(&self, index: usize, local: &Q::Local, job: JobRef) {
        let depth = self.queues.push_local(local, job);
        let counters = &self.counters.workers[index];
        counters.local_pushes.add_owned(1);
        counters.max_local_depth.raise_to(depth as u64);
        // Without local queues the push went to the shared queue: sample its depth as
        // `push_global` does.
        if !Q::HAS_LOCAL_QUEUES && counters.local_pushes.get().is_multiple_of(16) {
            self.counters
                .max_injector_depth
                .raise_to(self.queues.global_len() as u64);
        }
        self.sleep.notify_local_work();
        self.watchers.poke_all();
    }

    /// Parks a job whose owner is unknown where every waiter and searcher looks.
    pub(crate) fn relocate(&self, job: JobRef) {
        self.relocated.push(job);
        self.sleep.notify_work();
        self.watchers.poke_all();
    }

    /// Puts back a job a waiter took from the shared queue and may not run. Not new work:
    /// it wakes a sleeper for it but pokes no watcher (a watcher that put it back would
    /// otherwise poke itself awake, over and over).
    pub(crate) fn put_back_global(&self, job: JobRef) {
        self.queues.push_global(job);
        self.sleep.notify_work();
    }

    /// As `put_back_global`, for a job taken from the relocation queue.
    pub(crate) fn put_back_relocated(&self, job: JobRef) {
        self.relocated.push(job);
        self.sleep.notify_work();
    }

    /// Takes a relocated job, if any.
    #[inline]
    pub(crate) fn pop_relocated(&self) -> Option<JobRef> {
        self.relocated.pop()
    }

    /// Whether any queue, the relocation queue and the inboxes included, holds a job.
    pub(crate) fn has_work(&self) -> bool {
        !self.relocated.is_empty()
            || self.inboxed.load(Ordering::SeqCst) != 0
            || self.queues.has_work()
    }

    /// Whether any queue holds a job worker `index` may take: the relocation queue, its
    /// own inbox, or any queue `has_work` looks at but the other workers' inboxes (a share
    /// of a broadcast waits for its own worker, so a worker that looked at them stayed
    /// awake, re-checking, until a busy peer got to its share). A share pushed before
    /// `push_to_each_worker` takes the idle list's lock is seen by a worker that lists
    /// itself after that (S3's re-check); one listed before is woken by that call.
    pub(crate) fn has_work_for(&self, index: usize) -> bool {
        !self.relocated.is_empty() || self.has_inbox(index) || self.queues.has_work()
    }

    /// Puts `job(i)` in worker `i`'s inbox, for every worker, and wakes every sleeper.
    /// Returns false if the pool was closed meanwhile: the caller then takes back, with
    /// `take_inbox`, whatever no worker took (a worker that saw `terminate` looks at its
    /// inbox once more before it exits, so each job is run by exactly one of them).
    pub(crate) fn push_to_each_worker(&self, mut job: impl FnMut(usize) -> JobRef) -> bool {
        for (i, inbox) in self.inboxes.iter().enumerate() {
            self.inboxed.fetch_add(1, Ordering::SeqCst);
            inbox.push(job(i));
        }
        // A worker that listed itself as asleep before we take the list's lock is woken;
        // one that lists itself after re-checks `inboxed` after that, and sees the jobs.
        self.sleep.wake_all();
        crate::sync::fence(Ordering::SeqCst);
        !self.closed.load(Ordering::SeqCst)
    }

    /// Takes a job from worker `index`'s inbox, if any (one relaxed load when empty).
    #[inline]
    pub(crate) fn take_inbox(&self, index: usize) -> Option<JobRef> {
        let job = self.inboxes[index].pop()?;
        self.inboxed.fetch_sub(1, Ordering::SeqCst);
        Some(job)
    }

    /// Whether worker `index`'s inbox looks non-empty (one relaxed load).
    pub(crate) fn has_inbox(&self, index: usize) -> bool {
        !self.inboxes[index].is_empty()
    }

    /// Puts back a job a waiter took from worker `index`'s inbox and may not run.
    pub(crate) fn put_back_inbox(&self, index: usize, job: JobRef) {
        self.inboxed.fetch_add(1, Ordering::SeqCst);
        self.inboxes[index].push(job);
    }

    /// Applies the panic policy to a detached job's panic.
    pub(crate) fn report_panic(&self, panic: JobPanic) {
        match panic.worker() {
            Some(i) => self.counters.workers[i].panics.add_owned(1),
            None => {
                self.counters.outside.panics.add_shared(1);
            }
        }
        if let Some(handler) = &self.panic_handler {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(panic)));
            if caught.is_err() {
                eprintln!("skewer: the pool's panic handler panicked; the panic was dropped");
            }
            return;
        }
        let key = panic.location().unwrap_or("<unknown location>").to_string();
        if self.reported.lock().insert(key) {
            eprintln!(
                "skewer: {panic} (reported once per location; Pool::metrics counts every panic)"
            );
        }
    }

    /// Pushes an outside submission into the shared queue. Callers check `is_closed`
    /// first (to hand a refused job back); a submission racing with `close` still runs.
    /// Returns whether it woke a parked worker (`push_global`).
    pub(crate) fn submit(&self, job: JobRef) -> bool {
        // The push, then `notify_work`'s SeqCst fence, then the look at `closed`. Against
        // `close`'s store of `closed` and the last worker's (or `shutdown`'s) fence and
        // final drain: either this load sees `closed` set, or the drain sees the job.
        let woke = self.push_global(job, None);
        if self.closed.load(Ordering::SeqCst) {
            self.drain_stranded();
        }
        woke
    }

    /// Runs, on the calling thread, every job left in the shared queue once the workers may
    /// be gone: a submission that raced with `close` is not stranded.
    pub(crate) fn drain_stranded(&self) {
        crate::sync::fence(Ordering::SeqCst);
        while let Some(job) = self.queues.pop_global() {
            self.counters.outside.jobs_executed.add_shared(1);
            // SAFETY: taken out of the queue: this is its only execution.
            unsafe { job.execute() };
        }
    }

    /// Refuses outside submissions from now on and tells the workers to exit once they
    /// find no work. Does not wait for them.
    pub(crate) fn close(&self) {
        // 1. Refuse new outside submissions.
        self.closed.store(true, Ordering::SeqCst);
        // 2. Workers drain every queue (nested work included), then exit when they find
        //    nothing. Sleepers are woken so they can see the flag.
        self.terminate.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    /// Whether a worker other than the caller is in its main loop and not asleep: it runs
    /// a job, which may still queue work for the others (and wait for it), or searches,
    /// and may hold a job it just took. After `close` a worker exits only when every other
    /// looping worker sleeps, so the workers stay until the pool's work is done, as
    /// rayon-core's do; until then it parks. `caller_sleeps`: the caller is counted as
    /// sleeping (its re-check before a park), else as searching.
    ///
    /// SeqCst, against a worker that goes to sleep or leaves: a worker announces itself
    /// sleeping (SeqCst) before its re-check reads the counts, and one that leaves the main
    /// loop decrements `looping` before it wakes every sleeper. Of two workers about to
    /// park at once, one sees the other asleep and does not park; the one that parked is
    /// woken when the other leaves (`loom_closed_pool_exit`).
    pub(crate) fn peer_awake(&self, caller_sleeps: bool) -> bool {
        self.sleep
            .others_awake(self.looping.load(Ordering::SeqCst), caller_sleeps)
    }

    /// A worker leaves its main loop for good (it was counted as searching).
    pub(crate) fn leave_main_loop(&self) {
        self.looping.fetch_sub(1, Ordering::SeqCst);
        self.sleep.stop_searching();
        // A worker that parked while this one ran a job, in a closed pool, may exit now.
        self.sleep.wake_all();
    }

    /// Whether `close` was called (a relaxed look, to refuse a submission early).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// The registry's own locked rings: the relocation queue and the inboxes.
    fn own_rings(&self) -> impl Iterator<Item = &JobList> {
        std::iter::once(&self.relocated).chain(self.inboxes.iter().map(|i| &**i))
    }

    /// A worker is about to park: how long it may park for, if a ring holds spare room
    /// (`sched/sleep/trim.rs`). If no ring grew for `trim_after`, frees their spare room
    /// first and returns `None`, as it does when there is none or the pool never trims.
    /// A relaxed load per ring; while some ring holds spare room, a clock read, the
    /// clock's lock, and another load per ring (a swap for a ring that grew).
    pub(crate) fn before_park(&self) -> Option<Duration> {
        let after = self.trim_after?;
        let spare =
            self.queues.holds_spare_room() || self.own_rings().any(JobList::holds_spare_room);
        if !spare {
            return None;
        }
        let grew = || self.queues.take_growth() | job_list::take_growth_of(self.own_rings());
        let now = Instant::now();
        match self.trim_clock.at_park(grew, now, after) {
            TrimDue::After(limit) => Some(limit),
            TrimDue::Now => {
                let kept = self.queues.trim_rings() | job_list::trim_all(self.own_rings());
                if !kept {
                    return None;
                }
                // A ring that held jobs kept its room: the clock starts over, and this
                // park ends in time to look again.
                match self.trim_clock.at_park(|| true, now, after) {
                    TrimDue::After(limit) => Some(limit),
                    TrimDue::Now => None,
                }
            }
        }
    }

    /// A snapshot of the counters and queue depths. Takes the shared queue's lock for the
    /// outside pushes counted under it, and every ring's lock once for its room.
    pub(crate) fn metrics(&self) -> Metrics {
        let mut metrics = self.counters.snapshot(
            self.queues.global_len(),
            self.queues.local_lens(),
            self.live.load(Ordering::SeqCst),
        );
        // The outside pushes the shared queue counted itself (`push_global`).
        let counted = self.queues.counted_global_pushes();
        metrics.outside.injected += counted;
        metrics.total.injected += counted;
        metrics.queue_room =
            self.queues.queue_room() + self.own_rings().map(JobList::capacity).sum::<usize>();
        metrics
    }

    pub(crate) fn add_handle(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns true when the handle released was the last one.
    pub(crate) fn release_handle(&self) -> bool {
        self.handles.fetch_sub(1, Ordering::AcqRel) == 1
    }
}

impl<Q: Queues> SharedPool for Registry<Q> {
    fn id(&self) -> PoolId {
        Registry::id(self)
    }

    fn num_threads(&self) -> usize {
        self.num_threads
    }

    fn is_closed(&self) -> bool {
        Registry::is_closed(self)
    }

    fn push_shared(&self, job: JobRef) {
        self.push_global(job, None);
    }

    fn push_to_each_worker(&self, job: &mut dyn FnMut(usize) -> JobRef) -> bool {
        Registry::push_to_each_worker(self, job)
    }

    fn take_inbox(&self, index: usize) -> Option<JobRef> {
        Registry::take_inbox(self, index)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::backend::channel::Channel;
    use crate::backend::stealing::Stealing;
    use crate::job::Header;
    use crate::job::job_ref::Word;

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("these tests only queue jobs; they run none");
    }

    /// Pushes `n` jobs from outside a pool without workers and returns its metrics.
    fn after_outside_pushes<Q: Queues>(n: usize) -> Metrics {
        let (reg, _locals) = for_tests::<Q>(1);
        let header = Header::new(std::ptr::null(), crate::job::Kind::Stack);
        for _ in 0..n {
            // SAFETY: never executed; `header` outlives the queue's use of it here.
            reg.push_global(unsafe { JobRef::new(&header, never) }, None);
        }
        let metrics = reg.metrics();
        // Leave nothing queued that points at `header`.
        while reg.queues.pop_global().is_some() {}
        metrics
    }

    #[test]
    fn outside_pushes_are_counted_once_and_the_first_samples_the_queue_depth() {
        for m in [
            after_outside_pushes::<Stealing>(1),
            after_outside_pushes::<Channel>(1),
        ] {
            assert_eq!(m.outside.injected, 1, "{m:?}");
            assert_eq!(m.total.injected, 1, "{m:?}");
            assert_eq!(m.max_injector_depth, 1, "{m:?}");
        }
        for m in [
            after_outside_pushes::<Stealing>(20),
            after_outside_pushes::<Channel>(20),
        ] {
            assert_eq!(m.outside.injected, 20, "{m:?}");
            // Sampled at the 1st and the 17th push.
            assert_eq!(m.max_injector_depth, 17, "{m:?}");
        }
    }
}
