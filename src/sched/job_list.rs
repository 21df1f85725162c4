//! A locked FIFO of jobs with a relaxed length, for queues that are normally empty and
//! looked at often: a look costs one relaxed load. Two uses: the relocation queue (jobs a
//! waiter stole while their worker's anchor changed, see `sched/search.rs`; they may
//! belong to anyone, so they go where every waiter and searching worker looks first) and
//! each worker's inbox (its share of a `broadcast`).

use std::collections::VecDeque;

use crate::job::JobRef;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// See the module docs.
#[derive(Default)]
pub(crate) struct JobList {
    /// Jobs in `queue`; read without the lock to skip it when empty.
    len: AtomicUsize,
    queue: Mutex<VecDeque<JobRef>>,
}

impl std::fmt::Debug for JobList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobList")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl JobList {
    /// Appends a job. The caller then wakes whoever should take it behind a SeqCst fence
    /// (`Registry::relocate`, `Registry::push_to_each_worker`), which makes the new length
    /// visible to a thread that fenced before its last look.
    pub(crate) fn push(&self, job: JobRef) {
        let mut queue = self.queue.lock();
        queue.push_back(job);
        self.len.store(queue.len(), Ordering::Relaxed);
    }

    /// Takes the oldest job, if any.
    #[inline]
    pub(crate) fn pop(&self) -> Option<JobRef> {
        if self.is_empty() {
            return None;
        }
        let mut queue = self.queue.lock();
        let job = queue.pop_front();
        self.len.store(queue.len(), Ordering::Relaxed);
        job
    }

    /// Whether the queue looked empty (one relaxed load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }
}
