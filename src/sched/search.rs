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
//! On the channel backend the shared queue is the only queue, so it is searched right after
//! the inbox; steps 2 and 3 then only tell whether a worker is anchored at the target.
//!
//! A job taken that turns out unrelated is put back: on the own deque where it came from,
//! into the relocation queue, or into the shared queue.

use crate::backend::Queues;
use crate::job::{Header, JobRef, Kind};
use crate::sched::registry::Registry;
use crate::sched::role::{Role, Worker};
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

/// Steps 0 and 1 alone: a worker's own inbox and the top of its own deque (`yield_local`).
pub(crate) fn find_own<Q: Queues>(
    reg: &Registry<Q>,
    role: &Role<'_, Q>,
    target: Target,
) -> Option<Found> {
    let Role::Worker(w) = role else {
        return None;
    };
    // 0. Our own inbox (a broadcast's share for this worker), normally empty.
    if let Some(job) = reg.take_inbox(w.index) {
        if belongs(role, job, target) {
            return Some(Found::Taken(job));
        }
        reg.put_back_inbox(w.index, job);
    }
    // 1. Our own deque, newest first.
    pop_own(reg, role, w, target).map(Found::Own)
}

/// Step 1 alone: the top of `w`'s own deque if it belongs to `target`; put back if not.
/// Always inline, as the member's `run` after it: the job then stays in registers from the
/// pop to its call (`JobRef::copied_by_words`).
#[inline(always)]
pub(crate) fn pop_own<Q: Queues>(
    reg: &Registry<Q>,
    role: &Role<'_, Q>,
    w: &Worker<'_, Q>,
    target: Target,
) -> Option<JobRef> {
    let job = reg.queues.pop_local(w.local)?;
    if belongs(role, job, target) {
        return Some(job);
    }
    // Older work of an outer frame: back where it was.
    reg.queues.push_local(w.local, job);
    None
}

/// The most jobs `dig_own` looks through.
const MAX_DIG: usize = 32;

/// What `dig_own` found.
pub(crate) enum Dig {
    /// A job of the target, taken out of the deque.
    Own(JobRef),
    /// The deque holds no job of the target.
    Nothing,
    /// None among the `MAX_DIG` jobs from the top, and the deque holds more.
    Hidden,
}

/// Below the top of `w`'s own deque: a job of `target` under jobs that are not. LIFO order
/// puts a waiter's own work above its wait, except when that work itself pushed jobs of an
/// outer frame on top of it (a nested scope's body, or a `join` half, spawning into an
/// outer scope): step 1 then sees only the outer job, and without a free thief nothing
/// reaches the work below. Looks through up to `MAX_DIG` jobs from the top. If one belongs,
/// the jobs above it go to the relocation queue, where their own waiters and every
/// searcher look (step 3), and it is returned. If none does, every job goes back in its
/// order: `Nothing` when that was the whole deque, `Hidden` when more lie below (the
/// usual case is older work of outer frames; but a body that spawned more than `MAX_DIG`
/// jobs into an outer scope hides its own below them, and the waiter's pool then starts a
/// spare, which takes the deque's jobs oldest first: `wait::block`). Costs a pop and a
/// push per job looked at, so a waiter calls it only before it blocks, and the bound keeps
/// that cost fixed however deep the deque.
pub(crate) fn dig_own<Q: Queues>(
    reg: &Registry<Q>,
    role: &Role<'_, Q>,
    w: &Worker<'_, Q>,
    target: Target,
) -> Dig {
    if !Q::HAS_LOCAL_QUEUES {
        return Dig::Nothing;
    }
    let mut above = [None; MAX_DIG];
    let mut n = 0;
    while n < MAX_DIG {
        let Some(job) = reg.queues.pop_local(w.local) else {
            break;
        };
        if belongs(role, job, target) {
            for job in above[..n].iter().rev().flatten() {
                reg.relocate(*job);
            }
            return Dig::Own(job);
        }
        above[n] = Some(job);
        n += 1;
    }
    let deeper = n == MAX_DIG && !reg.queues.local_is_empty(w.local);
    for job in above[..n].iter().rev().flatten() {
        reg.queues.push_local(w.local, *job);
    }
    if deeper { Dig::Hidden } else { Dig::Nothing }
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
    // Without deques the shared queue was searched already, right after the inbox.
    let scan_global = scan_global || !matches!(role, Role::Worker(_));
    let taken = |job| Outcome {
        found: Some(Found::Taken(job)),
        anchored: true,
    };
    let mut anchored = false;
    if let Some(found) = find_own(reg, role, target) {
        return Outcome {
            found: Some(found),
            anchored: true,
        };
    }
    // Without deques (the channel backend) every queued job of the pool, published forks
    // included, is in the shared queue: look there next. Steps 2 and 3 then only find
    // whether a worker is anchored at the target (nothing can be stolen or relocated).
    if !Q::HAS_LOCAL_QUEUES
        && let Some(job) = from_global(reg, role, target)
    {
        return taken(job);
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
    // 4. The shared queue (searched above already where it is the only queue).
    if scan_global
        && Q::HAS_LOCAL_QUEUES
        && let Some(job) = from_global(reg, role, target)
    {
        return taken(job);
    }
    Outcome {
        found: None,
        anchored,
    }
}

/// Takes the next job of the shared queue if `role` may run it for `target`; puts it back
/// (at the tail) if not.
pub(crate) fn from_global<Q: Queues>(
    reg: &Registry<Q>,
    role: &Role<'_, Q>,
    target: Target,
) -> Option<JobRef> {
    let job = reg.queues.pop_global()?;
    if belongs(role, job, target) {
        count_steal(reg, role.index());
        return Some(job);
    }
    reg.put_back_global(job);
    None
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::backend::stealing::Stealing;
    use crate::job::job_ref::Word;
    use crate::sched::role::Worker;
    use crate::sync::Arc;

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("the search only finds jobs; this test runs none");
    }

    fn job(header: &Header) -> JobRef {
        // SAFETY: never executed; the headers outlive the registry's queues in each test.
        unsafe { JobRef::new(header, never) }
    }

    fn registry() -> (Arc<Registry<Stealing>>, Vec<<Stealing as Queues>::Local>) {
        crate::sched::registry::for_tests(2)
    }

    fn header_of(found: &Outcome) -> Option<(*const Header, bool)> {
        match &found.found {
            Some(Found::Own(j)) => Some((j.header(), true)),
            Some(Found::Taken(j)) => Some((j.header(), false)),
            None => None,
        }
    }

    #[test]
    fn a_worker_searches_its_deque_then_anchored_peers_then_relocated_then_shared() {
        let (reg, locals) = registry();
        let target = Header::new(std::ptr::null(), Kind::Stack);
        let t = &target as *const Header;
        let unrelated = Header::new(std::ptr::null(), Kind::Stack);
        let [own, leap, moved, shared] = [(); 4].map(|_| Header::new(t, Kind::Stack));
        let me = Role::Worker(Worker {
            index: 0,
            local: &locals[0],
            registry: &reg,
        });
        let q = &reg.queues;
        // Everything at once: the search takes them in its order, one per call.
        q.push_local(&locals[0], job(&unrelated));
        q.push_local(&locals[0], job(&own));
        reg.anchors[1].set(t);
        q.push_local(&locals[1], job(&leap));
        reg.relocate(job(&moved));
        q.push_global(job(&shared));
        let target = Target::unit(t);
        let order: Vec<_> = (0..4)
            .map(|_| header_of(&find(&reg, &me, target, true)))
            .collect();
        assert_eq!(
            order,
            [
                Some((&own as *const Header, true)),
                Some((&leap as *const Header, false)),
                Some((&moved as *const Header, false)),
                Some((&shared as *const Header, false)),
            ]
        );
        // Only the unrelated job is left, back on the deque where it was.
        let last = find(&reg, &me, target, true);
        assert!(last.found.is_none());
        assert!(last.anchored, "worker 1 still announces the target");
        assert_eq!(
            q.pop_local(&locals[0]).map(|j| j.header()),
            Some(&unrelated as *const Header)
        );
    }

    #[test]
    fn a_stealing_worker_leaves_the_shared_queue_alone_until_told() {
        let (reg, locals) = registry();
        let target = Header::new(std::ptr::null(), Kind::Stack);
        let mine = Header::new(&target, Kind::Stack);
        let me = Role::Worker(Worker {
            index: 0,
            local: &locals[0],
            registry: &reg,
        });
        reg.queues.push_global(job(&mine));
        let unit = Target::unit(&target);
        assert!(find(&reg, &me, unit, false).found.is_none());
        assert!(find(&reg, &me, unit, true).found.is_some());
        // A guest always looks there.
        reg.queues.push_global(job(&mine));
        assert!(find(&reg, &Role::Guest, unit, false).found.is_some());
    }

    #[test]
    fn unrelated_jobs_install_bodies_for_guests_and_the_awaited_install_stay_queued() {
        let (reg, _locals) = registry();
        let target = Header::new(std::ptr::null(), Kind::Install);
        let t = &target as *const Header;
        let unrelated = Header::new(std::ptr::null(), Kind::Stack);
        let inner_install = Header::new(t, Kind::Install);
        let q = &reg.queues;
        q.push_global(job(&unrelated));
        assert!(
            find(&reg, &Role::Guest, Target::unit(t), true)
                .found
                .is_none()
        );
        assert_eq!(
            q.pop_global().map(|j| j.header()),
            Some(&unrelated as *const Header)
        );
        // An install body descending from the target: a spare may run it, a guest may not.
        q.push_global(job(&inner_install));
        assert!(
            find(&reg, &Role::Guest, Target::unit(t), true)
                .found
                .is_none()
        );
        assert!(
            find(&reg, &Role::Spare, Target::unit(t), true)
                .found
                .is_some()
        );
        // The awaited install itself is never run by its waiter.
        q.push_global(job(&target));
        assert!(
            find(&reg, &Role::Spare, Target::install(t), true)
                .found
                .is_none()
        );
        assert!(
            find(&reg, &Role::Spare, Target::unit(t), true)
                .found
                .is_some()
        );
    }
}
