//! The backend seam: where a job goes and where a worker looks for one.
//!
//! A backend knows queues and nothing else. Jobs, latches, join, scope, panics, metrics, the
//! sleep protocol and shutdown are written once above this trait, in `registry.rs` and the
//! modules it uses. The two implementations:
//!
//! - [`Stealing`](stealing::Stealing): one crossbeam-deque per worker (LIFO for its owner,
//!   FIFO for thieves) plus a global injector.
//! - [`Channel`](channel::Channel): the classic fan-out, every worker receiving from one
//!   shared crossbeam channel; jobs pushed by running jobs go into the same channel.

pub(crate) mod channel;
pub(crate) mod queue;
pub(crate) mod stealing;

use crate::job::JobRef;
use crate::metrics::Counters;
pub(crate) use queue::Steal;

/// Which scheduling discipline a [`Pool`](crate::Pool) uses.
///
/// Chosen with [`Builder::backend`](crate::Builder::backend) or the `SKEWER_BACKEND`
/// environment variable (`stealing` or `channel`). The API and every guarantee are the same
/// for both; only where jobs wait and who takes them differs.
///
/// # Examples
/// ```
/// use skewer::{Backend, Pool};
/// let pool = Pool::builder().backend(Backend::Channel).num_threads(2).build().unwrap();
/// assert_eq!(pool.backend(), Backend::Channel);
/// assert_eq!("stealing".parse::<Backend>(), Ok(Backend::Stealing));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Work stealing: per-worker deques, a global injector, idle workers steal from peers.
    #[default]
    Stealing,
    /// One shared channel read by every worker (the classic fan-out).
    Channel,
}

impl Backend {
    /// The name used by `SKEWER_BACKEND` and `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Stealing => "stealing",
            Backend::Channel => "channel",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    /// Parses `stealing` or `channel` (ASCII case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stealing" => Ok(Backend::Stealing),
            "channel" => Ok(Backend::Channel),
            other => Err(format!(
                "unknown backend {other:?}: expected \"stealing\" or \"channel\""
            )),
        }
    }
}

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

/// Cheap per-worker xorshift, for picking a random first victim.
#[derive(Debug)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 32) as usize * n) >> 32
    }
}

/// The queues of a scheduling discipline.
///
/// `Local` is the part a worker owns (its deque); only that worker touches it. Everything
/// else is shared. Implementations count steals in the `Counters` they are given.
pub(crate) trait Queues: Send + Sync + Sized + 'static {
    type Local: Send + 'static;

    /// Whether workers have queues of their own (a waiter can find its forks there).
    const HAS_LOCAL_QUEUES: bool;

    /// Builds the shared part and one `Local` per worker.
    fn new(num_workers: usize, tuning: Tuning) -> (Self, Vec<Self::Local>);

    /// Pushes from worker `local`'s own thread (a published fork, a scope spawn).
    fn push_local(&self, local: &Self::Local, job: JobRef) -> usize;

    /// Pushes into the shared queue, from any thread. Returns the queue's depth if sampled.
    fn push_global(&self, job: JobRef);

    /// The owner's end of its own queue (newest first). `None` when the backend has none.
    fn pop_local(&self, local: &Self::Local) -> Option<JobRef>;

    /// Whether the owner's queue is empty.
    fn local_is_empty(&self, local: &Self::Local) -> bool;

    /// Takes the oldest job of worker `victim`'s queue. `Empty` when the backend has none.
    fn steal_one(&self, victim: usize) -> Steal<JobRef>;

    /// Takes the oldest job of the shared queue.
    fn pop_global(&self) -> Option<JobRef>;

    /// The main-loop search of worker `index`, whose own queue is empty: the shared queue
    /// and the peers, in the backend's order.
    fn find_work(
        &self,
        local: &Self::Local,
        index: usize,
        rng: &mut XorShift,
        counters: &Counters,
    ) -> Option<JobRef>;

    /// Whether any queue holds a job (the sleep protocol's re-check).
    fn has_work(&self) -> bool;

    /// Whether the queue `push_local` feeds is empty.
    fn publish_target_is_empty(&self, local: &Self::Local) -> bool;

    /// Whether the shared queue is empty.
    fn global_is_empty(&self) -> bool;

    /// Jobs in the shared queue right now.
    fn global_len(&self) -> usize;

    /// Jobs in each worker's own queue right now.
    fn local_lens(&self) -> Vec<usize>;
}
