//! A worker thread: its main loop (find a job, run it, count it, sleep when idle) and its
//! side of the `Engine` the fast path calls into.

use std::cell::{Cell, RefCell};

use crate::backend::{Queues, XorShift};
use crate::context::{Ctx, Engine};
use crate::job::{Header, JobRef};
use crate::latch::Latch;
use crate::metrics::{BusyClock, Counters};
use crate::registry::Registry;
use crate::sleep::Woke;
use crate::spare;
use crate::sync::{Arc, Ordering};
use crate::unwind::JobPanic;
use crate::wait::{self, Helped, Target};

/// Full searches (shared queue and every peer) before a worker parks. The first half spin
/// on the CPU, the second half yield it: a job arriving within a few microseconds is
/// taken without a wake-up, and an idle pool stops using CPU soon after.
const SEARCH_ROUNDS: u32 = 16;
/// Every this many jobs from its own deque, a worker takes one from the shared queue first,
/// so outside submissions are not starved behind local work (Go uses 61 for the same).
const INJECTOR_EVERY: u32 = 61;

/// Every this many jobs from its own deque, a worker books its busy time (two clock reads).
const BUSY_FLUSH_EVERY: u32 = 4096;

/// The state of one worker thread, living on that thread's stack.
pub(crate) struct WorkerThread<Q: Queues> {
    pub(crate) registry: Arc<Registry<Q>>,
    pub(crate) index: usize,
    pub(crate) local: Q::Local,
    rng: RefCell<XorShift>,
    busy: RefCell<BusyClock>,
    ticks: Cell<u32>,
}

/// The entry point of a worker thread.
pub(crate) fn run<Q: Queues>(registry: Arc<Registry<Q>>, index: usize, local: Q::Local) {
    let worker = WorkerThread {
        registry: Arc::clone(&registry),
        index,
        local,
        rng: RefCell::new(XorShift::new(index as u64 + 1)),
        busy: RefCell::new(BusyClock::default()),
        ticks: Cell::new(0),
    };
    if let Some(handler) = &registry.start_handler {
        run_handler("start", || handler(index));
    }
    {
        let engine: &dyn Engine = &worker;
        // SAFETY: `worker` and the registry outlive `ctx`, which is dropped at the end of
        // this block, before either.
        let mut ctx = unsafe { Ctx::new(engine, &registry.sleep, registry.identity()) };
        ctx.enter(|ctx| worker.main_loop(ctx));
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

impl<Q: Queues> WorkerThread<Q> {
    fn counters(&self) -> &Counters {
        &self.registry.counters.workers[self.index]
    }

    fn main_loop(&self, ctx: &Ctx) {
        let reg = &*self.registry;
        self.busy.borrow_mut().start();
        // Every worker starts counted as a searcher (see `Sleep::new`).
        let mut searching = true;
        // Whether the search after seeing `terminate` came up empty.
        let mut final_search = false;
        loop {
            if !searching {
                if let Some(job) = self.next_local() {
                    self.run_root(ctx, job);
                    continue;
                }
                reg.sleep.start_searching();
            }
            let mut rounds = 0;
            loop {
                let found = reg
                    .queues
                    .pop_local(&self.local)
                    .or_else(|| reg.pop_relocated())
                    .or_else(|| {
                        reg.queues.find_work(
                            &self.local,
                            self.index,
                            &mut self.rng.borrow_mut(),
                            self.counters(),
                        )
                    });
                if let Some(job) = found {
                    final_search = false;
                    reg.sleep.found_work(|| reg.has_work());
                    searching = false;
                    self.run_root(ctx, job);
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
                    reg.sleep.stop_searching();
                    self.busy.borrow_mut().stop(self.counters());
                    return;
                }
                rounds += 1;
                if rounds <= SEARCH_ROUNDS / 2 {
                    // Pause, but look (a few loads) every 8 pauses: a job that arrives now
                    // is taken within about 8 pauses, not after the whole spin.
                    for _ in 0..8 {
                        for _ in 0..8 {
                            crate::sync::spin_hint();
                        }
                        if reg.has_work() {
                            break;
                        }
                    }
                    continue;
                }
                if rounds <= SEARCH_ROUNDS {
                    std::thread::yield_now();
                    continue;
                }
                rounds = 0;
                let recheck = || reg.has_work() || reg.terminate.load(Ordering::SeqCst);
                // The busy clock runs from wake-up to park (searching included): two clock
                // reads per park, none per job or per search.
                self.busy.borrow_mut().stop(self.counters());
                if reg.sleep.try_sleep(self.index, recheck) == Woke::Unparked {
                    self.counters().parks.add_owned(1);
                    self.counters().wakeups.add_owned(1);
                }
                self.busy.borrow_mut().start();
            }
        }
    }

    /// The next job from the own deque, with a look at the shared queue every
    /// `INJECTOR_EVERY` jobs.
    #[inline]
    fn next_local(&self) -> Option<JobRef> {
        let q = &self.registry.queues;
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t.is_multiple_of(BUSY_FLUSH_EVERY) {
            // Book busy time now and then, so a worker that never parks shows it too.
            let mut busy = self.busy.borrow_mut();
            busy.stop(self.counters());
            busy.start();
        }
        if t.is_multiple_of(INJECTOR_EVERY)
            && let Some(job) = q.pop_global()
        {
            return Some(job);
        }
        q.pop_local(&self.local)
    }

    /// Runs a job that did not come from the current wait's own forks: announces its anchor
    /// (if the deque is empty, so everything pushed meanwhile descends from it), runs it,
    /// and restores the previous announcement.
    pub(crate) fn run_root(&self, ctx: &Ctx, job: JobRef) {
        let slot = &self.registry.anchors[self.index];
        let previous = slot.get();
        let anchor = if self.registry.queues.local_is_empty(&self.local) {
            Header::anchor(job.header())
        } else {
            std::ptr::null()
        };
        slot.set(anchor);
        ctx.reset_heartbeat();
        self.counters().jobs_executed.add_owned(1);
        // SAFETY: the job was just taken out of a queue, so nobody else executes it.
        unsafe { ctx.execute(job) };
        slot.set(previous);
    }
}

impl<Q: Queues> Engine for WorkerThread<Q> {
    fn publish(&self, job: JobRef) {
        self.push_scoped(job);
    }

    fn push_scoped(&self, job: JobRef) {
        let reg = &*self.registry;
        let depth = reg.queues.push_local(&self.local, job);
        let counters = self.counters();
        counters.local_pushes.add_owned(1);
        counters.max_local_depth.raise_to(depth as u64);
        reg.sleep.notify_work();
        reg.watchers.poke_all();
    }

    fn push_detached(&self, job: JobRef) {
        self.registry.push_global(job, Some(self.index));
    }

    fn help(&self, ctx: &Ctx, target: Target, scan_global: bool) -> Helped {
        wait::help(
            &*self.registry,
            wait::Waiter::Worker(self),
            ctx,
            target,
            scan_global,
        )
    }

    fn watch(&self, latch: &Latch) {
        self.registry.watchers.watch(latch);
    }

    fn unwatch(&self, latch: &Latch) {
        self.registry.watchers.unwatch(latch);
    }

    fn blocked_elsewhere(&self, blocked: bool) {
        let reg = &self.registry;
        if blocked {
            reg.blocked_elsewhere.fetch_add(1, Ordering::SeqCst);
            spare::maybe_start(reg);
        } else {
            reg.blocked_elsewhere.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn api(&self) -> &dyn crate::registry::PoolApi {
        &*self.registry
    }

    fn num_threads(&self) -> usize {
        self.registry.num_threads
    }

    fn report_panic(&self, panic: JobPanic) {
        self.registry.report_panic(panic);
    }

    fn worker_index(&self) -> Option<usize> {
        Some(self.index)
    }

    fn accepts_publication(&self) -> bool {
        true
    }

    fn publish_target_is_empty(&self) -> bool {
        self.registry.queues.publish_target_is_empty(&self.local)
    }
}
