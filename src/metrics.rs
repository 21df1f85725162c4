//! Per-worker counters and the public snapshot.
//!
//! Each worker owns one row of counters in its own cache-padded cell, so counting never
//! shares a cache line between workers. The owner is the only writer of its row and writes
//! with a relaxed load + store (no locked instruction); threads outside the pool share one
//! extra row and use `fetch_add`, except for their pushes into the stealing backend's
//! shared queue, which that queue counts under its own lock (`Registry::metrics` adds them
//! in). Readers sum the rows with relaxed loads: a snapshot is a
//! consistent-enough picture of monotonic counters, not a linearizable one.

use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::builder::Backend;
use crate::sync::{AtomicU64, Ordering};

/// One monotonic counter.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`; only for the single thread that owns the row.
    #[inline]
    pub(crate) fn add_owned(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    /// Adds `n` from any thread; returns the previous value.
    #[inline]
    pub(crate) fn add_shared(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Ordering::Relaxed)
    }

    /// Raises the counter to `v` if it is lower (a peak gauge), from any thread.
    #[inline]
    pub(crate) fn raise_to(&self, v: u64) {
        if v > self.0.load(Ordering::Relaxed) {
            self.0.fetch_max(v, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one worker (or of the outside row).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) jobs_executed: Counter,
    pub(crate) local_pushes: Counter,
    pub(crate) injected: Counter,
    pub(crate) steal_ops: Counter,
    pub(crate) jobs_stolen: Counter,
    pub(crate) failed_steals: Counter,
    pub(crate) parks: Counter,
    pub(crate) wakeups: Counter,
    pub(crate) panics: Counter,
    pub(crate) busy_ns: Counter,
    pub(crate) max_local_depth: Counter,
}

impl Counters {
    fn snapshot(&self) -> WorkerMetrics {
        WorkerMetrics {
            jobs_executed: self.jobs_executed.get(),
            local_pushes: self.local_pushes.get(),
            injected: self.injected.get(),
            steal_ops: self.steal_ops.get(),
            jobs_stolen: self.jobs_stolen.get(),
            failed_steals: self.failed_steals.get(),
            parks: self.parks.get(),
            wakeups: self.wakeups.get(),
            panics: self.panics.get(),
            busy_ns: self.busy_ns.get(),
            max_local_depth: self.max_local_depth.get(),
        }
    }
}

/// All counters of a pool: one row per worker plus one for threads outside the pool.
#[derive(Debug)]
pub(crate) struct PoolCounters {
    pub(crate) workers: Vec<CachePadded<Counters>>,
    pub(crate) outside: CachePadded<Counters>,
    pub(crate) max_injector_depth: Counter,
    /// Spare threads started (see `spare.rs`).
    pub(crate) spares_started: Counter,
}

impl PoolCounters {
    pub(crate) fn new(num_workers: usize) -> Self {
        PoolCounters {
            workers: (0..num_workers).map(|_| CachePadded::default()).collect(),
            outside: CachePadded::default(),
            max_injector_depth: Counter::default(),
            spares_started: Counter::default(),
        }
    }

    pub(crate) fn snapshot(
        &self,
        injector_depth: usize,
        local_depths: Vec<usize>,
        live_workers: usize,
    ) -> Metrics {
        let workers: Vec<WorkerMetrics> = self.workers.iter().map(|c| c.snapshot()).collect();
        let outside = self.outside.snapshot();
        let mut total = outside.clone();
        for w in &workers {
            total.accumulate(w);
        }
        Metrics {
            // The registry's caller (`Pool::metrics`) sets the backend.
            backend: Backend::default(),
            total,
            outside,
            workers,
            injector_depth,
            local_depths,
            max_injector_depth: self.max_injector_depth.get(),
            live_workers,
            spares_started: self.spares_started.get(),
            // The registry's caller (`Registry::metrics`) adds up the rings.
            queue_room: 0,
        }
    }
}

/// A worker's busy-time clock: started when the worker finds work after being idle, stopped
/// when it runs out. Two clock reads per idle period, none per job.
#[derive(Debug, Default)]
pub(crate) struct BusyClock {
    since: Option<Instant>,
}

impl BusyClock {
    pub(crate) fn start(&mut self) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
        }
    }

    /// `start`, at `now` (a clock read the caller already made).
    pub(crate) fn start_at(&mut self, now: Instant) {
        if self.since.is_none() {
            self.since = Some(now);
        }
    }

    pub(crate) fn stop(&mut self, counters: &Counters) {
        self.stop_at(Instant::now(), counters);
    }

    /// `stop`, at `now`.
    pub(crate) fn stop_at(&mut self, now: Instant, counters: &Counters) {
        if let Some(since) = self.since.take() {
            counters
                .busy_ns
                .add_owned(now.saturating_duration_since(since).as_nanos() as u64);
        }
    }
}

/// Counters of one worker (or the sum of all), as read by [`Pool::metrics`](crate::Pool::metrics).
///
/// Every field is monotonic except the `max_*` peaks, which only rise. Some counters mean
/// different things on the two backends, since the channel backend has no per-worker
/// queues and nothing to steal from: each field says what it counts on each.
/// [`Metrics`]' `Display` names them by the pool's backend.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// pool.scope(|s| {
///     for _ in 0..100 {
///         s.spawn(|_| { std::hint::black_box(1 + 1); });
///     }
/// });
/// let m = pool.metrics();
/// assert_eq!(m.total.jobs_executed, 100);
/// assert_eq!(m.workers.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Queued jobs this worker ran (join halves that never left their caller are not jobs).
    pub jobs_executed: u64,
    /// Jobs this worker queued for its own work: published join halves and scope spawns.
    /// **Stealing**: pushed onto its own queue (its deque, or past 2 048 jobs the overflow
    /// behind it). **Channel**: sent into the shared channel
    /// (there is no per-worker queue), and counted here, not in `injected`.
    pub local_pushes: u64,
    /// Detached jobs this worker spawned into the shared queue: the injector (stealing)
    /// or the channel. In [`Metrics::outside`]: every job that threads outside the pool
    /// queued (submissions, `install` bodies, and the join halves and scope jobs of a
    /// thread taking part from outside).
    pub injected: u64,
    /// **Stealing**: successful steal operations (one may take a batch): from the
    /// injector, from a peer's deque, or a job a waiting thread took for its wait.
    /// **Channel**: jobs a thread waiting in `join`, `scope` or `install` took out of the
    /// channel for its wait; a worker receiving its next job is not counted.
    pub steal_ops: u64,
    /// **Stealing**: jobs taken by those steal operations, every job of a batch included.
    /// **Channel**: the same count as `steal_ops` (one job each).
    pub jobs_stolen: u64,
    /// **Stealing**: steal attempts on a peer that came back empty. **Channel**: always 0.
    pub failed_steals: u64,
    /// Times the worker parked because it found no work.
    pub parks: u64,
    /// Times the worker was unparked (by work or shutdown; a park that ended on its own, to
    /// free spare queue room, is counted in `parks` only).
    pub wakeups: u64,
    /// Detached jobs that panicked on this worker.
    pub panics: u64,
    /// Nanoseconds between waking up and parking again (running jobs and searching for
    /// them; a busy-spinning search counts as busy). Booked when the worker parks, exits,
    /// and every 4096 jobs it takes from its own deque.
    pub busy_ns: u64,
    /// **Stealing**: the deepest this worker's own queue (deque and overflow) has been.
    /// **Channel**: always 0.
    pub max_local_depth: u64,
}

impl WorkerMetrics {
    fn accumulate(&mut self, other: &WorkerMetrics) {
        self.jobs_executed += other.jobs_executed;
        self.local_pushes += other.local_pushes;
        self.injected += other.injected;
        self.steal_ops += other.steal_ops;
        self.jobs_stolen += other.jobs_stolen;
        self.failed_steals += other.failed_steals;
        self.parks += other.parks;
        self.wakeups += other.wakeups;
        self.panics += other.panics;
        self.busy_ns += other.busy_ns;
        self.max_local_depth = self.max_local_depth.max(other.max_local_depth);
    }
}

/// A snapshot of a pool's counters: totals, one row per worker, and current queue depths.
///
/// `Display` writes a one-line summary that names the counters as the pool's backend
/// means them (see [`WorkerMetrics`]); `Debug` shows every field.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// pool.spawn(|| {}).unwrap();
/// pool.shutdown();
/// let m = pool.metrics();
/// assert_eq!(m.total.jobs_executed, 1);
/// assert_eq!(m.outside.injected, 1);
/// assert_eq!(m.live_workers, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The backend of the pool: it decides what some counters mean (see [`WorkerMetrics`]).
    pub backend: Backend,
    /// The sum over all workers and the outside row (`max_local_depth`: the largest).
    pub total: WorkerMetrics,
    /// What threads outside the pool did (submissions, steals while they waited).
    pub outside: WorkerMetrics,
    /// One row per worker, by index.
    pub workers: Vec<WorkerMetrics>,
    /// Jobs waiting in the shared queue (injector or channel) right now.
    pub injector_depth: usize,
    /// Jobs waiting in each worker's local queue right now (empty for the channel backend).
    pub local_depths: Vec<usize>,
    /// The deepest the shared queue has been (sampled on push).
    pub max_injector_depth: u64,
    /// Worker threads still running.
    pub live_workers: usize,
    /// Spare threads started so far: each ran the pool's queued work while every worker
    /// was waiting on another pool (see [`Pool::install`](crate::Pool::install)), or while
    /// one waited for work of its own that lay deep in its queue.
    pub spares_started: u64,
    /// Jobs the pool's locked queues have room for right now without allocating, at five
    /// words a job: the shared queue (stealing), the workers' overflows (stealing), the
    /// relocation queue and the `broadcast` inboxes. A queue grows by doubling and keeps
    /// its room while bursts keep coming; once no queue has grown past 2 048 jobs for a
    /// second ([`Builder::trim_queues_after`](crate::Builder::trim_queues_after)), the next
    /// worker to park frees the room beyond that of every empty queue (a parked worker
    /// wakes by then to do it). Not counted: a stealing worker's deque
    /// (at most 2 048 jobs) and the channel backend's channel, which frees its blocks as
    /// they empty.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
    /// // One scope body queues 50 000 jobs before its worker runs one.
    /// let room = pool.install(|| {
    ///     skewer::scope(|s| {
    ///         for _ in 0..50_000 {
    ///             s.spawn(|_| {});
    ///         }
    ///         pool.metrics().queue_room
    ///     })
    /// });
    /// assert!(room >= 40_000);
    /// // No queue grows for a second: the room is given back.
    /// let deadline = Instant::now() + Duration::from_secs(30);
    /// while pool.metrics().queue_room > 16_384 {
    ///     assert!(Instant::now() < deadline, "room not freed: {}", pool.metrics());
    ///     std::thread::sleep(Duration::from_millis(50));
    /// }
    /// ```
    pub queue_room: usize,
}

impl Metrics {
    /// Jobs queued right now in the shared queue and the workers' own queues (not counting
    /// broadcast shares waiting in a worker's inbox, nor the rare job a waiter moved to the
    /// relocation queue).
    pub fn queued(&self) -> usize {
        self.injector_depth + self.local_depths.iter().sum::<usize>()
    }

    /// An upper bound of the most jobs that were queued at once: the shared queue's peak
    /// plus every local queue's peak (the peaks need not have coincided).
    pub fn peak_queued(&self) -> u64 {
        self.max_injector_depth + self.workers.iter().map(|w| w.max_local_depth).sum::<u64>()
    }

    /// Steal operations per 1000 executed jobs: how much balancing the run needed. On the
    /// channel backend, the jobs waiting threads took from the channel per 1000 jobs.
    pub fn steals_per_1000_jobs(&self) -> f64 {
        if self.total.jobs_executed == 0 {
            0.0
        } else {
            self.total.steal_ops as f64 * 1000.0 / self.total.jobs_executed as f64
        }
    }
}

impl std::fmt::Display for Metrics {
    /// One line, with each counter named by what it means on the pool's backend.
    ///
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).backend(skewer::Backend::Channel).build().unwrap();
    /// pool.scope(|s| for _ in 0..10 { s.spawn(|_| {}); });
    /// let line = pool.metrics().to_string();
    /// assert!(line.starts_with("channel pool, 2 workers") && line.contains("10 jobs run"), "{line}");
    /// assert!(!line.contains("steal"), "{line}"); // nothing is stolen from a channel
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.total;
        write!(
            f,
            "{} pool, {} workers ({} live): {} jobs run; ",
            self.backend,
            self.workers.len(),
            self.live_workers,
            t.jobs_executed
        )?;
        let by_workers = t.local_pushes;
        let others = t.injected;
        match self.backend {
            Backend::Stealing => write!(
                f,
                "queued {by_workers} onto own deques and overflows (deepest {}), {others} into the \
                 injector; \
                 {} steals took {} jobs, {} steal attempts found nothing; ",
                t.max_local_depth, t.steal_ops, t.jobs_stolen, t.failed_steals
            )?,
            Backend::Channel => write!(
                f,
                "sent into the channel: {by_workers} join halves and scope jobs by workers, \
                 {others} detached or from outside; {} taken from the channel by waiting \
                 threads; ",
                t.steal_ops
            )?,
        }
        write!(
            f,
            "{} parks, {} wakeups, {} detached panics; busy {:.3} ms; {} queued now",
            t.parks,
            t.wakeups,
            t.panics,
            t.busy_ns as f64 / 1e6,
            self.queued()
        )?;
        if self.spares_started > 0 {
            write!(f, "; {} spare threads started", self.spares_started)?;
        }
        Ok(())
    }
}
