//! One search of one pool's queues on behalf of a waiting thread: where the work its wait
//! depends on can be, in the order searched, and the rule for what it may take.
//!
//! A waiting thread runs **only work its wait depends on** — jobs that descend from the
//! awaited unit (`target`) on the parent chain — and never unrelated work (see
//! `docs/design.md`, "What a waiting thread runs"). The places, in order:
//! 1. the top of the waiter's own deque (its own forks, published while it was busy);
//! 2. the deque of a worker whose anchor is `target` (it stole the awaited job, or a job of
//!    the awaited scope, with an empty deque; see `anchor.rs`): leapfrogging;
//! 3. the relocation queue (normally empty);
//! 4. the shared queue: always for guests, spares and the channel backend (their forks go
//!    there), and for stealing workers once `scan_global` is set.
//!
//! A job taken that turns out unrelated is put back: on the own deque where it came from,
//! into the relocation queue, or into the shared queue.

use crate::backend::Queues;
use crate::job::{Header, JobRef, Kind};
use crate::sched::registry::Registry;
use crate::sched::role::Role;
use crate::sched::target::Target;

/// Where a found job came from.
#[derive(Debug)]
pub(crate) enum Found {
    /// The waiter's own deque: part of the work the waiter itself forked.
    Own(JobRef),
    /// Another queue: run it as a new root (announcing its anchor).
    Taken(JobRef),
}

/// What one search found, and whether a worker is anchored at the target (its next fork is
/// worth spinning for).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) found: Option<Found>,
    pub(crate) anchored: bool,
}

/// Whether `role` may run `job` for `target`: it descends from the target (and is not the
/// target itself where that is excluded), and it is not an `install` body offered to a
/// guest (an `install` body runs on a worker, or a spare standing in for one).
fn belongs<Q: Queues>(role: &Role<'_, Q>, job: JobRef, target: Target) -> bool {
    if !target.may_run_itself && std::ptr::eq(job.header(), target.header) {
        return false;
    }
    // SAFETY: `job` is queued and not yet executed, so its header is alive.
    if matches!(role, Role::Guest) && unsafe { (*job.header()).kind } == Kind::Install {
        return false;
    }
    // SAFETY: `job` is queued and not yet executed, so its header and (by the parent-chain
    // invariant of `job/mod.rs`) its whole parent chain are alive.
    unsafe { Header::descends_from(job.header(), target.header) }
}

/// Searches `reg`'s queues once, in the order of the module docs, for a job `role` may run
/// for `target`. The shared queue is searched when `scan_global` is set, and always for a
/// thread or backend without a deque of its own.
pub(crate) fn find<Q: Queues>(
    reg: &Registry<Q>,
    role: &Role<'_, Q>,
    target: Target,
    scan_global: bool,
) -> Outcome {
    let q = &reg.queues;
    let scan_global = scan_global || !matches!(role, Role::Worker(_)) || !Q::HAS_LOCAL_QUEUES;
    let taken = |job| Outcome {
        found: Some(Found::Taken(job)),
        anchored: true,
    };
    let mut anchored = false;
    // 1. Our own deque, newest first.
    if let Role::Worker(w) = role
        && let Some(job) = q.pop_local(w.local)
    {
        if belongs(role, job, target) {
            return Outcome {
                found: Some(Found::Own(job)),
                anchored: true,
            };
        }
        // Older work of an outer frame: back where it was.
        q.push_local(w.local, job);
    }
    // 2. Leapfrogging: workers announcing `target` as their anchor.
    let me = role.index();
    for (victim, slot) in reg.anchors.iter().enumerate() {
        if Some(victim) == me {
            continue;
        }
        let Some(seq) = slot.matches(target.header) else {
            continue;
        };
        anchored = true;
        if let Some(job) = q.steal_one(victim) {
            count_steal(reg, me);
            if slot.still(seq) && belongs(role, job, target) {
                return taken(job);
            }
            // The victim moved on while we stole: the job may be unrelated (or it is an
            // `install` body, which a guest leaves to the workers). Relocate it where its
            // owner (and every searcher) will look.
            reg.relocate(job);
        }
    }
    // 3. Relocated jobs (normally none): ours, or back they go.
    if let Some(job) = reg.pop_relocated() {
        if belongs(role, job, target) {
            count_steal(reg, me);
            return taken(job);
        }
        reg.put_back_relocated(job);
    }
    // 4. The shared queue.
    if scan_global && let Some(job) = q.pop_global() {
        if belongs(role, job, target) {
            count_steal(reg, me);
            return taken(job);
        }
        reg.put_back_global(job);
    }
    Outcome {
        found: None,
        anchored,
    }
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
