//! Waiting by helping: what a thread does between the end of its own part of a `join` or
//! `scope` and the moment the rest is done.
//!
//! A waiting thread runs **only work its wait depends on** — jobs that descend from the
//! awaited unit (`target`) on the parent chain — and never unrelated work. This rules out
//! the deadlock of rayon#592 (a thread waiting inside a lock picks up a job that takes the
//! same lock) and keeps the stack bounded: a wait adds only frames of the work it waits
//! for, as plain recursion would.
//!
//! Where that work can be, in the order searched:
//! 1. on top of the waiter's own deque (its own forks, published while it was busy);
//! 2. in the deque of a worker whose anchor is `target` (it stole the awaited job, or a job
//!    of the awaited scope, with an empty deque; see `anchor.rs`): leapfrogging;
//! 3. in the shared queue: always for guests and the channel backend (their forks go
//!    there), and for stealing workers after a backstop timeout (jobs relocated there).
//!
//! A job taken that turns out unrelated is put back: on the own deque where it came from,
//! or into the shared queue. When nothing is found the thread spins briefly — counted as
//! *waiting*, which makes busy threads publish their private forks — and then blocks on the
//! latch with a timeout, after which it searches again (liveness never depends on the
//! timeout for jobs that stay where they were queued; it rescues relocated ones).

use std::time::Duration;

use crate::backend::{Queues, Steal};
use crate::context::Ctx;
use crate::job::{Header, JobRef};
use crate::latch::Latch;
use crate::registry::Registry;
use crate::worker::WorkerThread;

/// Spin iterations (each a search plus a short pause) before yielding the CPU.
const SPINS: u32 = 64;
/// Yields before blocking on the latch.
const YIELDS: u32 = 16;
/// How long a blocked waiter sleeps before it searches again.
const BACKSTOP: Duration = Duration::from_millis(1);

/// Who waits.
pub(crate) enum Waiter<'a, Q: Queues> {
    Worker(&'a WorkerThread<Q>),
    Guest,
}

impl<Q: Queues> Waiter<'_, Q> {
    fn index(&self) -> Option<usize> {
        match self {
            Waiter::Worker(w) => Some(w.index),
            Waiter::Guest => None,
        }
    }
}

/// Where a found job came from.
enum Found {
    /// The waiter's own deque: part of the work the waiter itself forked.
    Own(JobRef),
    /// Another queue: run it as a new root (announcing its anchor).
    Taken(JobRef),
}

/// Waits until `latch` is set, helping with work that descends from `target`.
pub(crate) fn wait<Q: Queues>(
    reg: &Registry<Q>,
    who: Waiter<'_, Q>,
    ctx: &Ctx,
    target: *const Header,
    latch: &Latch,
) {
    let mut scan_global = matches!(who, Waiter::Guest) || !Q::HAS_LOCAL_QUEUES;
    let mut spins = 0u32;
    let mut hungry = false;
    let mut slept = false;
    while !latch.probe() {
        let (found, anchored) = find(reg, &who, target, scan_global);
        if let Some(found) = found {
            if hungry {
                reg.sleep.stop_waiting();
                hungry = false;
            }
            run(reg, &who, ctx, found);
            spins = 0;
            continue;
        }
        // Hungry only while some worker works for our target: its next fork is then
        // published, and we can steal it. Otherwise publishing would help nobody.
        if anchored && !hungry {
            reg.sleep.start_waiting();
            hungry = true;
        } else if !anchored && hungry {
            reg.sleep.stop_waiting();
            hungry = false;
        }
        spins += 1;
        if spins <= SPINS {
            for _ in 0..32 {
                crate::sync::spin_hint();
            }
        } else if spins <= SPINS + YIELDS {
            std::thread::yield_now();
        } else {
            if hungry {
                reg.sleep.stop_waiting();
                hungry = false;
            }
            slept = true;
            if latch.wait_timeout(BACKSTOP) {
                return; // seen set under the lock: the setter is done with the latch
            }
            scan_global = true;
            spins = 0;
        }
    }
    if hungry {
        reg.sleep.stop_waiting();
    }
    if slept {
        latch.leave();
    }
}

fn belongs(job: JobRef, target: *const Header) -> bool {
    // SAFETY: `job` is queued and not yet executed, so its header and (by the parent-chain
    // invariant of `job.rs`) its whole parent chain are alive.
    unsafe { Header::descends_from(job.header(), target) }
}

fn find<Q: Queues>(
    reg: &Registry<Q>,
    who: &Waiter<'_, Q>,
    target: *const Header,
    scan_global: bool,
) -> (Option<Found>, bool) {
    let q = &reg.queues;
    let mut anchored = false;
    // 1. Our own deque, newest first.
    if let Waiter::Worker(w) = who
        && let Some(job) = q.pop_local(&w.local)
    {
        if belongs(job, target) {
            return (Some(Found::Own(job)), true);
        }
        // Older work of an outer frame: back where it was.
        q.push_local(&w.local, job);
    }
    // 2. Leapfrogging: workers announcing `target` as their anchor.
    let me = who.index();
    for (victim, slot) in reg.anchors.iter().enumerate() {
        if Some(victim) == me {
            continue;
        }
        let Some(seq) = slot.matches(target) else {
            continue;
        };
        anchored = true;
        loop {
            match q.steal_one(victim) {
                Steal::Success(job) => {
                    count_steal(reg, me);
                    if slot.still(seq) {
                        return (Some(Found::Taken(job)), true);
                    }
                    // The victim moved on while we stole: the job may be unrelated.
                    // Relocate it where its owner (and every searcher) will look.
                    reg.relocate(job);
                    break;
                }
                Steal::Empty => break,
                Steal::Retry => crate::sync::spin_hint(),
            }
        }
    }
    // 3. Relocated jobs (normally none): ours, or back they go.
    if let Some(job) = reg.pop_relocated() {
        if belongs(job, target) {
            count_steal(reg, me);
            return (Some(Found::Taken(job)), true);
        }
        reg.relocate(job);
    }
    // 4. The shared queue.
    if scan_global && let Some(job) = q.pop_global() {
        if belongs(job, target) {
            count_steal(reg, me);
            return (Some(Found::Taken(job)), true);
        }
        reg.push_global(job, me);
    }
    (None, anchored)
}

fn count_steal<Q: Queues>(reg: &Registry<Q>, me: Option<usize>) {
    match me {
        Some(i) => {
            let c = &reg.counters.workers[i];
            c.steal_ops.add_owned(1);
            c.jobs_stolen.add_owned(1);
        }
        None => {
            let c = &reg.counters.outside;
            c.steal_ops.add_shared(1);
            c.jobs_stolen.add_shared(1);
        }
    }
}

fn run<Q: Queues>(reg: &Registry<Q>, who: &Waiter<'_, Q>, ctx: &Ctx, found: Found) {
    match (who, found) {
        (Waiter::Worker(w), Found::Taken(job)) => w.run_root(ctx, job),
        (Waiter::Worker(w), Found::Own(job)) => {
            reg.counters.workers[w.index].jobs_executed.add_owned(1);
            // SAFETY: popped from our own deque: nobody else executes it.
            unsafe { ctx.execute(job) }
        }
        (Waiter::Guest, Found::Own(job) | Found::Taken(job)) => {
            reg.counters.outside.jobs_executed.add_shared(1);
            // SAFETY: taken out of a queue: nobody else executes it.
            unsafe { ctx.execute(job) }
        }
    }
}
