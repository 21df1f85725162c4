//! Bounded submission for a pool: with `Builder::queue_capacity(n)`, a `spawn` from outside
//! the pool blocks while `n` of the jobs it submitted wait to start, and `try_spawn` hands
//! the job back instead. A job spawned by one of the pool's own workers is never counted
//! and never blocked: a running job that spawns cannot wait for a queue that only the
//! workers (itself included) drain, so a bounded pool cannot deadlock on its own children.
//!
//! Each counted job frees its place when it starts (the wrapper's first act), so the
//! count is the number of outside jobs submitted and not yet started.

use std::fmt;

use crate::sync::{Condvar, Mutex};

/// The bound on outside submissions of one pool, shared by all its handles.
#[derive(Debug)]
pub(crate) struct Capacity {
    limit: usize,
    state: Mutex<CapacityState>,
    room: Condvar,
}

#[derive(Debug)]
struct CapacityState {
    /// Counted jobs submitted and not yet started.
    waiting: usize,
    /// Set when the pool closes: blocked submitters give up.
    closed: bool,
}

/// Why a place could not be had.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Full,
    Closed,
}

impl Capacity {
    pub(crate) fn new(limit: usize) -> Capacity {
        Capacity {
            limit,
            state: Mutex::new(CapacityState {
                waiting: 0,
                closed: false,
            }),
            room: Condvar::new(),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Counted jobs waiting to start.
    pub(crate) fn waiting(&self) -> usize {
        self.state.lock().waiting
    }

    /// Takes a place, blocking while none is free (`block`), or refusing at once.
    pub(crate) fn acquire(&self, block: bool) -> Result<(), Refused> {
        let mut st = self.state.lock();
        loop {
            if st.closed {
                return Err(Refused::Closed);
            }
            if st.waiting < self.limit {
                st.waiting += 1;
                return Ok(());
            }
            if !block {
                return Err(Refused::Full);
            }
            st = self.room.wait(st);
        }
    }

    /// Frees the place of a job that starts now.
    pub(crate) fn release(&self) {
        let mut st = self.state.lock();
        st.waiting -= 1;
        self.room.notify_one();
    }

    /// Refuses every later and every blocked submission.
    pub(crate) fn close(&self) {
        let mut st = self.state.lock();
        st.closed = true;
        self.room.notify_all();
    }
}

/// A job [`Pool::try_spawn`](crate::Pool::try_spawn) or
/// [`Group::try_spawn`](crate::Group::try_spawn) did not take, handed back unrun.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// pool.shutdown();
/// let (tx, rx) = std::sync::mpsc::channel();
/// let err = pool.try_spawn(move || tx.send(42).unwrap()).unwrap_err();
/// assert!(err.is_shut_down() && !err.is_full());
/// let job = err.into_inner();
/// job(); // nothing lost
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
pub struct TrySpawnError<F> {
    job: F,
    full: bool,
}

impl<F> TrySpawnError<F> {
    pub(crate) fn full(job: F) -> Self {
        TrySpawnError { job, full: true }
    }

    pub(crate) fn shut_down(job: F) -> Self {
        TrySpawnError { job, full: false }
    }

    /// Whether the queue (or the group's limit) was full.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Whether the pool was shut down.
    pub fn is_shut_down(&self) -> bool {
        !self.full
    }

    /// The job, unrun.
    pub fn into_inner(self) -> F {
        self.job
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrySpawnError")
            .field("full", &self.full)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.full {
            f.write_str(
                "the queue is full (its capacity or limit is reached); the job is returned unrun",
            )
        } else {
            f.write_str("the pool is shut down and takes no new jobs; the job is returned unrun")
        }
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

/// Wraps an outside job so that it frees its place in `capacity` when it starts.
pub(crate) fn counted<F: FnOnce() + Send + 'static>(
    capacity: &crate::sync::Arc<Capacity>,
    job: F,
) -> impl FnOnce() + Send + 'static {
    let capacity = crate::sync::Arc::clone(capacity);
    move || {
        capacity.release();
        job()
    }
}
