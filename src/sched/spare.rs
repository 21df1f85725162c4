//! Spare threads: a pool whose workers all wait on *other* pools keeps running its own
//! queued work.
//!
//! A worker of pool A that waits in `B.install` (or as B's guest in `B.join`/`B.scope`)
//! helps only with work its wait depends on (`wait.rs`). If every worker of A waits like
//! that while A's shared queue or deques hold jobs that descend from none of their waits,
//! those jobs would wait until a worker of A is free, and a worker may only become free
//! once those very jobs ran: two independent roots that cross A and B in opposite
//! directions at the same moment wait for each other. rayon-core avoids this by letting
//! the waiting worker run any job, which is what makes it deadlock on rayon#592 and grow
//! stacks without bound. skewer instead *compensates*, as Java's ForkJoinPool does for a
//! blocked worker: it starts a spare thread that takes A's queued jobs, on a fresh stack
//! that holds no lock of anyone's.
//!
//! A wait within A needs one too in one shape: a worker whose own deque may hide a job of
//! what it waits for below more jobs than its look below the top goes through
//! (`search::dig_own`), say a nested scope whose body spawned 40 jobs into its outer scope
//! after one of its own. Taking the deque's jobs oldest first, a spare reaches it.
//!
//! When: a worker of A is about to block in a wait on another pool, or in such a wait
//! within A (`wait::block`), A holds queued work, no worker of A is searching or asleep
//! and no spare of A is looking for work (either would take it), and A runs fewer than
//! `MAX_SPARES` spares. A spare busy with a
//! job does not count as available: the job may block (on a lock held by a waiting worker,
//! say) while the work the waiters need sits behind it in a blocked worker's deque, and
//! only another spare would then reach it.
//!
//! A spare is one of the pool's own threads for `Pool::spawn` (accepted while the pool
//! drains, as a worker's) and for `shutdown` (which it may call without waiting for
//! itself). It takes part like a guest (its forks and scope spawns go to the shared queue), takes
//! jobs from the relocation queue, the shared queue and any worker's deque, and exits once
//! it found nothing for `SPARE_LINGER` or no worker is blocked that way any more.
//! `shutdown` waits for spares as it does for workers.

use std::time::Instant;

use crate::backend::Queues;
use crate::job::JobRef;
use crate::sched::member::Membership;
use crate::sched::registry::Registry;
use crate::sched::role::Role;
use crate::sched::sleep::pacing::{SPARE_LINGER, SPARE_POLL};
use crate::sync::{Arc, Ordering};

/// The most spare threads one pool runs at once.
pub(crate) const MAX_SPARES: usize = 64;

/// A worker of `reg` is about to block in a wait on another pool: starts a spare if the
/// pool would otherwise leave queued work with nobody to run it.
pub(crate) fn maybe_start<Q: Queues>(reg: &Arc<Registry<Q>>) {
    if reg.terminate.load(Ordering::Relaxed) || !reg.has_work() {
        return;
    }
    let s = reg.sleep.peek();
    if s.searching() > 0 || s.sleeping() > 0 {
        return; // an idle worker takes the work (a sleeper was woken when it was pushed)
    }
    if reg.spares_looking.load(Ordering::SeqCst) > 0 {
        return; // a spare looking for work takes it
    }
    let mut spares = reg.spares.load(Ordering::SeqCst);
    loop {
        if spares >= MAX_SPARES {
            return;
        }
        match reg
            .spares
            .compare_exchange(spares, spares + 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => break,
            Err(now) => spares = now,
        }
    }
    let mut builder = std::thread::Builder::new().name(reg.spare_name.clone());
    if let Some(size) = reg.stack_size {
        builder = builder.stack_size(size);
    }
    // A new spare starts out looking for work.
    reg.spares_looking.fetch_add(1, Ordering::SeqCst);
    let r = Arc::clone(reg);
    if builder.spawn(move || run(r)).is_err() {
        // The OS refused a thread: no compensation this time; the waiters' backstop retries.
        reg.spares_looking.fetch_sub(1, Ordering::SeqCst);
        reg.spares.fetch_sub(1, Ordering::SeqCst);
    } else {
        reg.counters.spares_started.add_shared(1);
    }
}

/// The body of a spare thread.
fn run<Q: Queues>(reg: Arc<Registry<Q>>) {
    let mut looking = true;
    let membership = Membership {
        registry: &*reg,
        role: Role::Spare,
    };
    membership.enter(|ctx| {
        let mut idle_since = None;
        loop {
            if let Some(job) = take(&reg) {
                idle_since = None;
                if looking {
                    reg.spares_looking.fetch_sub(1, Ordering::SeqCst);
                    looking = false;
                }
                reg.counters.outside.jobs_executed.add_shared(1);
                // SAFETY: taken out of a queue: this is its only execution.
                unsafe { ctx.execute(job) };
                continue;
            }
            if !looking {
                reg.spares_looking.fetch_add(1, Ordering::SeqCst);
                looking = true;
            }
            let now = Instant::now();
            let since = *idle_since.get_or_insert(now);
            if reg.blocked_elsewhere.load(Ordering::SeqCst) == 0 || now - since >= SPARE_LINGER {
                return;
            }
            std::thread::sleep(SPARE_POLL);
        }
    });
    if looking {
        reg.spares_looking.fetch_sub(1, Ordering::SeqCst);
    }
    reg.spares.fetch_sub(1, Ordering::SeqCst);
}

/// Any queued job of the pool: relocated, shared, or the oldest of a worker's deque.
fn take<Q: Queues>(reg: &Registry<Q>) -> Option<JobRef> {
    reg.pop_relocated()
        .or_else(|| reg.queues.pop_global())
        .or_else(|| (0..reg.num_threads).find_map(|victim| reg.queues.steal_one(victim)))
}
