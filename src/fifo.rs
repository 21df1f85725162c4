//! FIFO spawning above the queues, as rayon-core does it: `spawn_fifo` jobs of one thread
//! start in the order that thread spawned them, whatever order the queues hand out work in.
//!
//! The queues do not keep that order by themselves: a worker pops its own deque newest
//! first, a batch stolen from the shared queue lands in the thief's deque while later jobs
//! stay behind in the shared queue, and a waiting thread that takes an unrelated job out of
//! the shared queue puts it back at the end. So a FIFO spawn queues its job in a *lane* of
//! the spawning thread and spawns, through the ordinary path, an *indirection*: a job that
//! runs the oldest job of that lane. One indirection per queued job, all alike, so whatever
//! order the indirections run in, the lane's jobs start oldest first.
//!
//! A detached job's lane belongs to the spawning thread and the pool (a thread-local table,
//! see `detached`); a `ScopeFifo` has one lane per worker of its pool and one for every
//! other thread (see `scope_fifo.rs`).

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::sched::pool_id::PoolId;
use crate::sync::{Arc, Mutex, Weak};

/// Jobs of one spawning thread, oldest first. Pushed by that thread, popped by whichever
/// thread runs an indirection.
#[derive(Debug)]
pub(crate) struct Lane<T> {
    jobs: Mutex<VecDeque<T>>,
}

impl<T> Lane<T> {
    pub(crate) fn new() -> Self {
        Lane {
            jobs: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, job: T) {
        self.jobs.lock().push_back(job);
    }

    /// The oldest job. Every indirection pops one job of a lane that received one job per
    /// indirection, and pushes happen before their indirection is spawned: never empty for
    /// an indirection.
    pub(crate) fn pop_oldest(&self) -> T {
        self.jobs
            .lock()
            .pop_front()
            .expect("a FIFO lane holds one job per indirection not yet run")
    }
}

/// A detached FIFO job waiting in its lane.
type DetachedJob = Box<dyn FnOnce() + Send>;

/// A thread's lane of one pool, weakly held, by the pool's identity.
type LaneEntry = (PoolId, Weak<Lane<DetachedJob>>);

thread_local! {
    /// This thread's lanes for detached FIFO jobs, by pool identity. A lane lives as long
    /// as indirections hold it: a weak entry whose lane is gone is dropped at the next
    /// insertion, so the table holds only pools with FIFO jobs of this thread in flight.
    ///
    /// A live entry's pool identity cannot have been reused by a newer pool: its
    /// indirections are queued in (or running on) that pool, which keeps the pool alive.
    static DETACHED_LANES: RefCell<Vec<LaneEntry>> =
        const { RefCell::new(Vec::new()) };
}

/// This thread's lane for detached FIFO jobs of the pool `pool`.
fn detached_lane(pool: PoolId) -> Arc<Lane<DetachedJob>> {
    let lookup = DETACHED_LANES.try_with(|lanes| {
        let mut lanes = lanes.borrow_mut();
        if let Some(lane) = lanes
            .iter()
            .find(|(id, _)| *id == pool)
            .and_then(|(_, lane)| lane.upgrade())
        {
            return lane;
        }
        lanes.retain(|(_, lane)| lane.strong_count() > 0);
        let lane = Arc::new(Lane::new());
        lanes.push((pool, Arc::downgrade(&lane)));
        lane
    });
    // Once this thread's locals are being destroyed the table is gone: a spawn from a
    // thread-local destructor gets a lane of its own. It runs, but in no particular order
    // relative to the thread's other FIFO spawns.
    lookup.unwrap_or_else(|_| Arc::new(Lane::new()))
}

/// Queues `job` in this thread's lane of the pool `pool` and returns the indirection to
/// spawn in its place, on that pool and nowhere else.
pub(crate) fn detached<F>(pool: PoolId, job: F) -> impl FnOnce() + Send + 'static
where
    F: FnOnce() + Send + 'static,
{
    let lane = detached_lane(pool);
    lane.push(Box::new(job));
    move || (lane.pop_oldest())()
}
