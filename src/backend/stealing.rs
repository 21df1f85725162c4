//! The work-stealing backend: a crossbeam-deque per worker and one shared queue, the
//! *injector* (a locked ring, `job_list.rs`, which says why it is not crossbeam's
//! lock-free `Injector`).
//!
//! Search order of an idle worker (after its own deque, which the worker loop pops itself):
//! 1. a batch from the injector (outside submissions, detached spawns): its oldest half,
//!    at most [`INJECTOR_BATCH`] jobs, run oldest first;
//! 2. the peers, starting at a random victim and visiting each once; a steal that reports
//!    `Retry` (it lost a race) is retried on the same victim, an `Empty` one moves on.
//!
//! A batch steal (`steal_batch_and_pop`) takes about half of the victim's queue, at most 32
//! jobs, into the thief's own deque and runs the first; `Tuning::steal_batch = false` takes
//! one job. `docs/work-stealing.md` has the measurement that chose the default.

use std::cell::Cell;

use crossbeam_utils::CachePadded;

use super::job_list::JobList;
use super::queue::{Steal, Stealer, Worker};
use super::{Queues, Search, Tuning};
use crate::job::JobRef;

/// The most jobs a worker takes from the injector at once, the one it runs included
/// (crossbeam-deque's limit for its own `Injector`, `MAX_BATCH + 1`).
pub(crate) const INJECTOR_BATCH: usize = 33;

/// The shared half of the stealing backend.
#[derive(Debug)]
pub(crate) struct Stealing {
    /// On a cache line of its own: every push writes it, every steal reads `stealers`.
    injector: CachePadded<JobList>,
    stealers: Vec<Stealer<JobRef>>,
    tuning: Tuning,
}

/// What one worker owns: its deque and the state of its choice of first victim.
#[derive(Debug)]
pub(crate) struct Local {
    deque: Worker<JobRef>,
    rng: Cell<XorShift>,
}

/// Cheap per-worker xorshift, for picking a random first victim.
#[derive(Clone, Copy, Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 32) as usize * n) >> 32
    }
}

/// Retries `steal` while it reports a lost race.
fn retrying(mut steal: impl FnMut() -> Steal<JobRef>) -> Steal<JobRef> {
    loop {
        match steal() {
            Steal::Retry => crate::sync::spin_hint(),
            done => return done,
        }
    }
}

impl Stealing {
    /// One steal from `victim` into `local`, by the configured tuning.
    fn steal_from(&self, victim: usize, local: &Worker<JobRef>, search: &mut Search) -> bool {
        let stealer = &self.stealers[victim];
        let before = local.len();
        let result = retrying(|| {
            if self.tuning.steal_batch {
                stealer.steal_batch_and_pop(local)
            } else {
                stealer.steal()
            }
        });
        match result {
            Steal::Success(job) => {
                search.job = Some(job);
                search.stolen = 1 + local.len().saturating_sub(before);
                true
            }
            _ => {
                search.failed_steals += 1;
                false
            }
        }
    }
}

impl Queues for Stealing {
    type Local = Local;
    const HAS_LOCAL_QUEUES: bool = true;

    fn new(num_workers: usize, tuning: Tuning) -> (Self, Vec<Self::Local>) {
        let deques: Vec<Worker<JobRef>> = (0..num_workers).map(|_| Worker::new_lifo()).collect();
        let stealers = deques.iter().map(Worker::stealer).collect();
        let locals = deques
            .into_iter()
            .enumerate()
            .map(|(i, deque)| Local {
                deque,
                rng: Cell::new(XorShift::new(i as u64 + 1)),
            })
            .collect();
        (
            Stealing {
                injector: CachePadded::new(JobList::with_capacity(256)),
                stealers,
                tuning,
            },
            locals,
        )
    }

    fn push_global(&self, job: JobRef) {
        self.injector.push(job);
    }

    fn push_global_counted(&self, job: JobRef) -> Option<u64> {
        Some(self.injector.push_counted(job))
    }

    fn counted_global_pushes(&self) -> u64 {
        self.injector.counted_pushes()
    }

    fn pop_global(&self) -> Option<JobRef> {
        self.injector.pop()
    }

    fn global_len(&self) -> usize {
        self.injector.len()
    }

    fn global_is_empty(&self) -> bool {
        self.injector.is_empty()
    }

    fn push_local(&self, local: &Local, job: JobRef) -> usize {
        local.deque.push(job);
        local.deque.len()
    }

    fn pop_local(&self, local: &Local) -> Option<JobRef> {
        local.deque.pop()
    }

    fn local_is_empty(&self, local: &Local) -> bool {
        local.deque.is_empty()
    }

    fn steal_one(&self, victim: usize) -> Option<JobRef> {
        match retrying(|| self.stealers[victim].steal()) {
            Steal::Success(job) => Some(job),
            _ => None,
        }
    }

    fn find_work(&self, local: &Local, index: usize) -> Search {
        let mut search = Search::default();
        // 1. The injector, in batches: one producer feeding many workers must not pay one
        //    contended operation per job.
        //    The batch is copied out under the injector's lock and pushed after it.
        if !self.injector.is_empty() {
            let mut rest = [None; INJECTOR_BATCH - 1];
            if let Some((job, n)) = self.injector.pop_batch(&mut rest) {
                // Newest first, as crossbeam's batch does: the owner pops the oldest of
                // them first, and a thief takes the newest.
                for extra in rest[..n].iter().rev().flatten() {
                    local.deque.push(*extra);
                }
                search.job = Some(job);
                search.stolen = 1 + n;
                return search;
            }
        }
        // 2. The peers, from a random first victim, each once.
        let n = self.stealers.len();
        if n > 1 {
            let mut rng = local.rng.get();
            let start = rng.next_below(n);
            local.rng.set(rng);
            for k in 0..n {
                let victim = (start + k) % n;
                if victim != index && self.steal_from(victim, &local.deque, &mut search) {
                    break;
                }
            }
        }
        search
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    fn publish_target_is_empty(&self, local: &Local) -> bool {
        local.deque.is_empty()
    }

    fn local_lens(&self) -> Vec<usize> {
        self.stealers.iter().map(Stealer::len).collect()
    }
}
