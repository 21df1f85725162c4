//! The shared-channel backend: the classic fan-out. Every worker receives from one unbounded
//! crossbeam channel, and every push, from outside or from a running job, is a send into it.
//! There are no per-worker queues, hence nothing to steal: balance comes from every idle
//! worker pulling the next job, and so does the contention, since every job crosses the one
//! queue. It writes only the shared queue; the trait's defaults say there is no other.
//!
//! Workers do not block inside `recv`: the pool's own sleep protocol parks them, the same one
//! the stealing backend uses, so shutdown, metrics and wake-ups behave identically.

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::{Queues, Tuning};
use crate::job::JobRef;

/// One channel, shared by all workers.
#[derive(Debug)]
pub(crate) struct Channel {
    sender: Sender<JobRef>,
    receiver: Receiver<JobRef>,
}

impl Queues for Channel {
    type Local = ();

    fn new(num_workers: usize, _tuning: Tuning) -> (Self, Vec<Self::Local>) {
        let (sender, receiver) = crossbeam_channel::unbounded();
        (Channel { sender, receiver }, vec![(); num_workers])
    }

    fn push_global(&self, job: JobRef) {
        self.sender
            .send(job)
            .expect("the pool owns both ends of its channel");
    }

    fn pop_global(&self) -> Option<JobRef> {
        match self.receiver.try_recv() {
            Ok(job) => Some(job),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => unreachable!("the pool owns both ends"),
        }
    }

    fn global_len(&self) -> usize {
        self.receiver.len()
    }

    fn global_is_empty(&self) -> bool {
        self.receiver.is_empty()
    }
}
