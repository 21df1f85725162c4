//! The work-stealing backend: a crossbeam-deque per worker and one global injector.
//!
//! Search order of an idle worker (after its own deque, which the worker loop pops itself):
//! 1. a batch from the injector (outside submissions, detached spawns);
//! 2. the peers, starting at a random victim and visiting each once; a steal that reports
//!    `Retry` (it lost a race) is retried on the same victim, an `Empty` one moves on.
//!
//! A batch steal (`steal_batch_and_pop`) takes about half of the victim's queue, at most 32
//! jobs, into the thief's own deque and runs the first; `Tuning::steal_batch = false` takes
//! one job. `docs/work-stealing.md` has the measurement that chose the default.

use super::queue::{Injector, Steal, Stealer, Worker};
use super::{Queues, Tuning, XorShift};
use crate::job::JobRef;
use crate::metrics::Counters;

/// The shared half of the stealing backend.
#[derive(Debug)]
pub(crate) struct Stealing {
    injector: Injector<JobRef>,
    stealers: Vec<Stealer<JobRef>>,
    tuning: Tuning,
}

impl Stealing {
    fn steal_from(
        &self,
        victim: usize,
        local: &Worker<JobRef>,
        counters: &Counters,
    ) -> Option<JobRef> {
        let stealer = &self.stealers[victim];
        loop {
            let before = if self.tuning.steal_batch {
                local.len()
            } else {
                0
            };
            let result = if self.tuning.steal_batch {
                stealer.steal_batch_and_pop(local)
            } else {
                stealer.steal()
            };
            match result {
                Steal::Success(job) => {
                    let taken = 1 + local.len().saturating_sub(before) as u64;
                    counters.steal_ops.add_owned(1);
                    counters.jobs_stolen.add_owned(taken);
                    return Some(job);
                }
                Steal::Empty => {
                    counters.failed_steals.add_owned(1);
                    return None;
                }
                Steal::Retry => crate::sync::spin_hint(),
            }
        }
    }
}

impl Queues for Stealing {
    type Local = Worker<JobRef>;
    const HAS_LOCAL_QUEUES: bool = true;

    fn new(num_workers: usize, tuning: Tuning) -> (Self, Vec<Self::Local>) {
        let locals: Vec<Worker<JobRef>> = (0..num_workers).map(|_| Worker::new_lifo()).collect();
        let stealers = locals.iter().map(Worker::stealer).collect();
        (
            Stealing {
                injector: Injector::new(),
                stealers,
                tuning,
            },
            locals,
        )
    }

    fn push_local(&self, local: &Self::Local, job: JobRef) -> usize {
        local.push(job);
        local.len()
    }

    fn push_global(&self, job: JobRef) {
        self.injector.push(job);
    }

    fn pop_local(&self, local: &Self::Local) -> Option<JobRef> {
        local.pop()
    }

    fn local_is_empty(&self, local: &Self::Local) -> bool {
        local.is_empty()
    }

    fn steal_one(&self, victim: usize) -> Steal<JobRef> {
        self.stealers[victim].steal()
    }

    fn pop_global(&self) -> Option<JobRef> {
        loop {
            match self.injector.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => crate::sync::spin_hint(),
            }
        }
    }

    fn find_work(
        &self,
        local: &Self::Local,
        index: usize,
        rng: &mut XorShift,
        counters: &Counters,
    ) -> Option<JobRef> {
        // 1. The injector, in batches: one producer feeding many workers must not pay one
        //    contended operation per job.
        loop {
            let before = local.len();
            match self.injector.steal_batch_and_pop(local) {
                Steal::Success(job) => {
                    counters.steal_ops.add_owned(1);
                    counters
                        .jobs_stolen
                        .add_owned(1 + local.len().saturating_sub(before) as u64);
                    return Some(job);
                }
                Steal::Empty => break,
                Steal::Retry => crate::sync::spin_hint(),
            }
        }
        // 2. The peers, from a random first victim, each once.
        let n = self.stealers.len();
        if n > 1 {
            let start = rng.next_below(n);
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == index {
                    continue;
                }
                if let Some(job) = self.steal_from(victim, local, counters) {
                    return Some(job);
                }
            }
        }
        None
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    fn publish_target_is_empty(&self, local: &Self::Local) -> bool {
        local.is_empty()
    }

    fn global_is_empty(&self) -> bool {
        self.injector.is_empty()
    }

    fn global_len(&self) -> usize {
        self.injector.len()
    }

    fn local_lens(&self) -> Vec<usize> {
        self.stealers.iter().map(Stealer::len).collect()
    }
}
