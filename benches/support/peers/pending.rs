//! The "wait until every submitted job has finished" counter of the two channel peers.
//!
//! This is what `threadpool::ThreadPool::join` does: count jobs submitted and not yet
//! finished; the worker that brings the count to zero wakes the waiters. A job that submits
//! more jobs increments the count before it finishes itself, so nested work never lets the
//! count touch zero early.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Jobs submitted and not yet finished, with a condition variable to wait for zero.
#[derive(Debug, Default)]
pub struct Pending {
    count: AtomicUsize,
    lock: Mutex<()>,
    zero: Condvar,
}

impl Pending {
    /// One more job is on its way.
    pub fn add(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    /// One job has finished; wakes the waiters when it was the last.
    pub fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _guard = self.lock.lock().unwrap();
            self.zero.notify_all();
        }
    }

    /// Blocks until no job is pending.
    pub fn wait(&self) {
        let mut guard = self.lock.lock().unwrap();
        while self.count.load(Ordering::Acquire) != 0 {
            guard = self.zero.wait(guard).unwrap();
        }
    }
}
