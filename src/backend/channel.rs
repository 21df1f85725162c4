//! The shared-channel backend: the classic fan-out. Every worker receives from one unbounded
//! crossbeam channel, and every push, from outside or from a running job, is a send into it.
//! There are no per-worker queues, hence nothing to steal: balance comes from every idle
//! worker pulling the next job, and so does the contention, since every job crosses the one
//! queue.
//!
//! Workers do not block inside `recv`: the pool's own sleep protocol parks them, the same one
//! the stealing backend uses, so shutdown, metrics and wake-ups behave identically.

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::{Queues, Steal, Tuning, XorShift};
use crate::job::JobRef;
use crate::metrics::Counters;

/// One channel, shared by all workers.
#[derive(Debug)]
pub(crate) struct Channel {
    sender: Sender<JobRef>,
    receiver: Receiver<JobRef>,
}

impl Channel {
    fn recv(&self) -> Option<JobRef> {
        match self.receiver.try_recv() {
            Ok(job) => Some(job),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => unreachable!("the pool owns both ends"),
        }
    }
}

impl Queues for Channel {
    type Local = ();
    const HAS_LOCAL_QUEUES: bool = false;

    fn new(num_workers: usize, _tuning: Tuning) -> (Self, Vec<Self::Local>) {
        let (sender, receiver) = crossbeam_channel::unbounded();
        (Channel { sender, receiver }, vec![(); num_workers])
    }

    fn push_local(&self, _local: &(), job: JobRef) -> usize {
        self.push_global(job);
        0
    }

    fn push_global(&self, job: JobRef) {
        self.sender
            .send(job)
            .expect("the pool owns both ends of its channel");
    }

    fn pop_local(&self, _local: &()) -> Option<JobRef> {
        None
    }

    fn local_is_empty(&self, _local: &()) -> bool {
        true
    }

    fn steal_one(&self, _victim: usize) -> Steal<JobRef> {
        Steal::Empty
    }

    fn pop_global(&self) -> Option<JobRef> {
        self.recv()
    }

    fn find_work(
        &self,
        _local: &(),
        _index: usize,
        _rng: &mut XorShift,
        _counters: &Counters,
    ) -> Option<JobRef> {
        self.recv()
    }

    fn has_work(&self) -> bool {
        !self.receiver.is_empty()
    }

    fn publish_target_is_empty(&self, _local: &()) -> bool {
        self.receiver.is_empty()
    }

    fn global_is_empty(&self) -> bool {
        self.receiver.is_empty()
    }

    fn global_len(&self) -> usize {
        self.receiver.len()
    }

    fn local_lens(&self) -> Vec<usize> {
        Vec::new()
    }
}
