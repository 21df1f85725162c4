//! The backend seam: where a job goes and where a worker looks for one.
//!
//! A backend knows queues and nothing else. Jobs, latches, join, scope, panics, metrics, the
//! sleep protocol and shutdown are written once above this trait, in `sched/` and the public
//! face. The two implementations are siblings:
//!
//! - [`Stealing`](stealing::Stealing): one crossbeam-deque per worker (LIFO for its owner,
//!   FIFO for thieves) plus a global injector.
//! - [`Channel`](channel::Channel): the classic fan-out, every worker receiving from one
//!   shared crossbeam channel; jobs pushed by running jobs go into the same channel.
//!
//! A backend without queues of its own per worker (the channel) writes only the shared
//! queue's five methods; every local-queue method has a default that says "there is none".

pub(crate) mod channel;
pub(crate) mod job_list;
mod queue;
pub(crate) mod stealing;

use crate::job::JobRef;

/// Tuning of the stealing backend, fixed when the pool is built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    /// Take about half of a victim's queue per steal (true) or a single job (false).
    pub(crate) steal_batch: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { steal_batch: true }
    }
}

/// What one main-loop search (`Queues::find_work`) found. The backend reports; the worker
/// counts.
#[derive(Debug, Default)]
pub(crate) struct Search {
    /// The job to run, if any.
    pub(crate) job: Option<JobRef>,
    /// Jobs the successful steal took, `job` included (the rest went to the thief's own
    /// queue); 0 when the job was not stolen (a backend without steals).
    pub(crate) stolen: usize,
    /// Steals that found their victim empty.
    pub(crate) failed_steals: u32,
    /// Whether `job` came from a peer's queue (its deque or its overflow), not from the
    /// shared queue: only a steal from a peer that may go on pushing starts a thief's wait
    /// (`StealBackoff`).
    pub(crate) from_peer: bool,
}

/// The queues of a scheduling discipline.
///
/// `Local` is the part a worker owns (its deque, and whatever else its search keeps, such
/// as a random-number state); only that worker touches it. Everything else is shared.
pub(crate) trait Queues: Send + Sync + Sized + 'static {
    type Local: Send + 'static;

    /// Whether workers have queues of their own (a waiter can find its forks there).
    const HAS_LOCAL_QUEUES: bool = false;

    /// Builds the shared part and one `Local` per worker.
    fn new(num_workers: usize, tuning: Tuning) -> (Self, Vec<Self::Local>);

    /// Pushes into the shared queue, from any thread.
    fn push_global(&self, job: JobRef);

    /// `push_global` for a push the pool counts in its outside row (a submission from
    /// outside, a guest's or a spare's job). A backend that can count it inside the push
    /// does, and returns its count so far, this push included; otherwise the caller counts
    /// it (`None`).
    fn push_global_counted(&self, job: JobRef) -> Option<u64> {
        self.push_global(job);
        None
    }

    /// How many pushes `push_global_counted` counted itself so far.
    fn counted_global_pushes(&self) -> u64 {
        0
    }

    /// Takes the oldest job of the shared queue.
    fn pop_global(&self) -> Option<JobRef>;

    /// Jobs in the shared queue right now.
    fn global_len(&self) -> usize;

    /// Whether the shared queue is empty.
    fn global_is_empty(&self) -> bool {
        self.global_len() == 0
    }

    /// Pushes from worker `local`'s own thread (a published fork, a scope spawn); returns
    /// the depth of the queue it went to, if the backend knows it cheaply (else 0).
    /// Without local queues: the shared queue.
    fn push_local(&self, _local: &Self::Local, job: JobRef) -> usize {
        self.push_global(job);
        0
    }

    /// The owner's end of its own queue (newest first). Without local queues: `None`.
    fn pop_local(&self, _local: &Self::Local) -> Option<JobRef> {
        None
    }

    /// Whether the owner's queue is empty. Without local queues: always.
    fn local_is_empty(&self, _local: &Self::Local) -> bool {
        true
    }

    /// Takes the oldest job of worker `victim`'s queue (retrying a steal that lost a
    /// race). Without local queues: `None`.
    fn steal_one(&self, _victim: usize) -> Option<JobRef> {
        None
    }

    /// The main-loop search of worker `index`, whose own queue is empty: the shared queue
    /// and the peers, in the backend's order. Without local queues: the shared queue.
    fn find_work(&self, _local: &Self::Local, _index: usize) -> Search {
        Search {
            job: self.pop_global(),
            ..Search::default()
        }
    }

    /// Whether any queue holds a job (the sleep protocol's re-check).
    fn has_work(&self) -> bool {
        !self.global_is_empty()
    }

    /// Whether the queue `push_local` feeds is empty.
    fn publish_target_is_empty(&self, _local: &Self::Local) -> bool {
        self.global_is_empty()
    }

    /// Jobs the backend's locked rings (`job_list.rs`) have room for. Without any (the
    /// channel, which frees its blocks as they empty): 0.
    fn queue_room(&self) -> usize {
        0
    }

    /// Whether one of those rings may hold more room than it keeps when trimmed.
    fn holds_spare_room(&self) -> bool {
        false
    }

    /// Whether one of those rings grew past the room it keeps since the last call; clears
    /// that for every ring (`JobList::take_growth`).
    fn take_growth(&self) -> bool {
        false
    }

    /// Frees the spare room of every empty ring (`JobList::trim`); returns whether some
    /// ring, not empty, kept it.
    fn trim_rings(&self) -> bool {
        false
    }

    /// Jobs in each worker's own queue right now (empty without local queues).
    fn local_lens(&self) -> Vec<usize> {
        Vec::new()
    }
}
