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
use crate::job::{Header, JobRef, Kind};
use crate::latch::Latch;
use crate::registry::Registry;
use crate::sync::{Ordering, fence};
use crate::worker::WorkerThread;

/// Spin iterations (each a search plus a short pause) before yielding the CPU.
const SPINS: u32 = 64;
/// Yields before blocking on the latch.
const YIELDS: u32 = 16;
/// How long a blocked waiter sleeps before it searches again.
const BACKSTOP: Duration = Duration::from_millis(1);

/// What a wait waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    /// The awaited unit: a stack job or a scope frame.
    pub(crate) header: *const Header,
    /// Whether the waiter may run the awaited job itself. Not for `install`: its body runs
    /// on a worker of its pool, so a waiter that has a guest context of that pool must
    /// leave it there (it still helps with the work the body creates).
    pub(crate) may_run_itself: bool,
}

impl Target {
    /// A `join` half or a scope: the waiter may run it and everything below it.
    pub(crate) fn unit(header: *const Header) -> Self {
        Target {
            header,
            may_run_itself: true,
        }
    }

    /// An `install` body: the waiter may run what descends from it, not the body itself.
    pub(crate) fn install(header: *const Header) -> Self {
        Target {
            header,
            may_run_itself: false,
        }
    }
}

/// Who waits.
pub(crate) enum Waiter<'a, Q: Queues> {
    Worker(&'a WorkerThread<Q>),
    /// A thread taking part in the pool's work for the duration of a call.
    Guest,
    /// A spare thread standing in for blocked workers (`spare.rs`).
    Spare,
}

impl<Q: Queues> Waiter<'_, Q> {
    fn index(&self) -> Option<usize> {
        match self {
            Waiter::Worker(w) => Some(w.index),
            Waiter::Guest | Waiter::Spare => None,
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

/// What one search of a pool's queues did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Helped {
    /// It found a job of the target and ran it.
    Ran,
    /// Nothing found, but a worker of the pool is anchored at the target (its next fork is
    /// worth spinning for).
    Anchored,
    /// Nothing found.
    Nothing,
}

/// Waits until `latch` is set, helping with work that descends from `target` in every pool
/// on the thread's chain of contexts (`ctx`, the waiting one, first).
pub(crate) fn wait(ctx: &Ctx, target: Target, latch: &Latch) {
    // An `install` body runs in another pool (or on another thread of this one): what it
    // sends back into our pools arrives in their shared queues, so look there from the start.
    let mut scan_global = !target.may_run_itself;
    let mut spins = 0u32;
    let mut hungry = false;
    let mut slept = false;
    while !latch.probe() {
        let helped = search(ctx, target, scan_global);
        if helped == Helped::Ran {
            if hungry {
                ctx.sleep().stop_waiting();
                hungry = false;
            }
            spins = 0;
            continue;
        }
        // Hungry only while some worker works for our target: its next fork is then
        // published, and we can steal it. Otherwise publishing would help nobody.
        let anchored = helped == Helped::Anchored;
        if anchored && !hungry {
            ctx.sleep().start_waiting();
            hungry = true;
        } else if !anchored && hungry {
            ctx.sleep().stop_waiting();
            hungry = false;
        }
        spins += 1;
        if spins <= SPINS {
            // Pause, looking at the latch every 8 pauses: the waiter returns within about
            // 8 pauses of the latch being set, not after the whole spin.
            for _ in 0..4 {
                for _ in 0..8 {
                    crate::sync::spin_hint();
                }
                if latch.probe() {
                    break;
                }
            }
        } else if spins <= SPINS + YIELDS {
            std::thread::yield_now();
        } else {
            if hungry {
                ctx.sleep().stop_waiting();
                hungry = false;
            }
            slept = true;
            match block(ctx, target, latch) {
                Blocked::Set => return, // seen set under the lock: the setter is done
                Blocked::Ran => {}
                Blocked::Woken => scan_global = true,
            }
            spins = 0;
        }
    }
    if hungry {
        ctx.sleep().stop_waiting();
    }
    if slept {
        latch.leave();
    }
}

/// One search of every pool on the chain: the waiting context's own first, then the others
/// (each made current while it runs what it found there).
fn search(ctx: &Ctx, target: Target, scan_global: bool) -> Helped {
    let helped = ctx.engine().help(ctx, target, scan_global);
    if helped == Helped::Ran {
        return helped;
    }
    let ran_elsewhere = Ctx::find_on_chain(|c| {
        if std::ptr::eq(c, ctx) {
            return None;
        }
        let ran = c.resume(|c| c.engine().help(c, target, true) == Helped::Ran);
        ran.then_some(())
    });
    if ran_elsewhere.is_some() {
        Helped::Ran
    } else {
        helped
    }
}

/// How a blocking round ended.
enum Blocked {
    /// The latch is set (seen under its lock).
    Set,
    /// The search after registering found work and ran it.
    Ran,
    /// Poked, or the backstop passed: search again.
    Woken,
}

/// Blocks on the latch, watched by every pool on the chain so that work arriving in their
/// shared queues pokes us (see `watchers.rs`). Searches once more after registering.
fn block(ctx: &Ctx, target: Target, latch: &Latch) -> Blocked {
    Ctx::find_on_chain(|c| {
        c.engine().watch(latch);
        None::<()>
    });
    fence(Ordering::SeqCst);
    let outcome = if search(ctx, target, true) == Helped::Ran {
        Blocked::Ran
    } else {
        // Every pool this thread is a worker of, other than the one whose work it waits
        // for, loses a worker while it blocks: such a pool may start a spare (`spare.rs`).
        let elsewhere = |c: &Ctx| !(std::ptr::eq(c, ctx) && target.may_run_itself);
        Ctx::find_on_chain(|c| {
            if elsewhere(c) {
                c.engine().blocked_elsewhere(true);
            }
            None::<()>
        });
        let set = latch.wait_timeout(BACKSTOP);
        Ctx::find_on_chain(|c| {
            if elsewhere(c) {
                c.engine().blocked_elsewhere(false);
            }
            None::<()>
        });
        if set { Blocked::Set } else { Blocked::Woken }
    };
    Ctx::find_on_chain(|c| {
        c.engine().unwatch(latch);
        None::<()>
    });
    outcome
}

/// One search of `reg`'s queues for work of `target`, run if found.
pub(crate) fn help<Q: Queues>(
    reg: &Registry<Q>,
    who: Waiter<'_, Q>,
    ctx: &Ctx,
    target: Target,
    scan_global: bool,
) -> Helped {
    let scan_global =
        scan_global || matches!(who, Waiter::Guest | Waiter::Spare) || !Q::HAS_LOCAL_QUEUES;
    match find(reg, &who, target, scan_global) {
        (Some(found), _) => {
            run(reg, &who, ctx, found);
            Helped::Ran
        }
        (None, true) => Helped::Anchored,
        (None, false) => Helped::Nothing,
    }
}

/// Whether the waiter `who` may run `job` for `target`: it descends from the target (and is
/// not the target itself where that is excluded), and it is not an `install` body offered
/// to a guest (an `install` body runs on a worker, or a spare standing in for one).
fn belongs<Q: Queues>(who: &Waiter<'_, Q>, job: JobRef, target: Target) -> bool {
    if !target.may_run_itself && std::ptr::eq(job.header(), target.header) {
        return false;
    }
    // SAFETY: `job` is queued and not yet executed, so its header is alive.
    if matches!(who, Waiter::Guest) && unsafe { (*job.header()).kind } == Kind::Install {
        return false;
    }
    // SAFETY: `job` is queued and not yet executed, so its header and (by the parent-chain
    // invariant of `job.rs`) its whole parent chain are alive.
    unsafe { Header::descends_from(job.header(), target.header) }
}

fn find<Q: Queues>(
    reg: &Registry<Q>,
    who: &Waiter<'_, Q>,
    target: Target,
    scan_global: bool,
) -> (Option<Found>, bool) {
    let q = &reg.queues;
    let mut anchored = false;
    // 1. Our own deque, newest first.
    if let Waiter::Worker(w) = who
        && let Some(job) = q.pop_local(&w.local)
    {
        if belongs(who, job, target) {
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
        let Some(seq) = slot.matches(target.header) else {
            continue;
        };
        anchored = true;
        loop {
            match q.steal_one(victim) {
                Steal::Success(job) => {
                    count_steal(reg, me);
                    if slot.still(seq) && belongs(who, job, target) {
                        return (Some(Found::Taken(job)), true);
                    }
                    // The victim moved on while we stole: the job may be unrelated (or it
                    // is an `install` body, which a guest leaves to the workers). Relocate
                    // it where its owner (and every searcher) will look.
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
        if belongs(who, job, target) {
            count_steal(reg, me);
            return (Some(Found::Taken(job)), true);
        }
        reg.put_back_relocated(job);
    }
    // 4. The shared queue.
    if scan_global && let Some(job) = q.pop_global() {
        if belongs(who, job, target) {
            count_steal(reg, me);
            return (Some(Found::Taken(job)), true);
        }
        reg.put_back_global(job);
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
        (Waiter::Guest | Waiter::Spare, Found::Own(job) | Found::Taken(job)) => {
            reg.counters.outside.jobs_executed.add_shared(1);
            // SAFETY: taken out of a queue: nobody else executes it.
            unsafe { ctx.execute(job) }
        }
    }
}
