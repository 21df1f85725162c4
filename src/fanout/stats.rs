//! Observability of one map or group: monotonic counters, in-flight and queued gauges, the
//! items running right now (with how long they have run), a log2 histogram of item
//! durations and the slowest items so far, all read by one snapshot call.
//!
//! Counters are relaxed atomics written by whichever thread finishes an item; a snapshot
//! reads them one by one, so gauges and counters may be a few items apart while the fan-out
//! runs (they agree once it has settled). One order is kept so that "settled" is never seen
//! early: a writer updates the counters of an item before it lowers the `queued` or
//! `in_flight` gauge (a `Release` store or subtraction), and a snapshot reads the gauges
//! first (`Acquire`), so a snapshot that sees a gauge at zero sees every count made before. Running items are tracked in one slot per worker
//! thread plus one for threads outside the pool, written with relaxed stores by the thread
//! running the item: no lock on the per-item path.

use std::time::{Duration, Instant};

use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering};

/// How many of the slowest items a snapshot lists.
pub const SLOWEST_KEPT: usize = 8;
/// Buckets of the duration histogram: bucket `b` counts items that took `[2^b, 2^(b+1))` ns
/// (bucket 0 also takes 0 ns).
pub const HISTOGRAM_BUCKETS: usize = 64;

/// A slot value meaning "no item running here".
const IDLE: usize = usize::MAX;

struct Slot {
    index: AtomicUsize,
    start_ns: AtomicU64,
}

/// The live counters of one fan-out; shared by its jobs and its [`StatsHandle`]s.
pub(crate) struct StatsCell {
    epoch: Instant,
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    retried: AtomicU64,
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    slots: Box<[Slot]>,
    histogram: Box<[AtomicU64]>,
    slowest_floor_ns: AtomicU64,
    slowest: Mutex<Vec<SlowItem>>,
    deadline: Option<Duration>,
}

/// How one started item ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Succeeded,
    Failed,
    Panicked,
    TimedOut,
}

/// Where and when an item started; handed back to [`StatsCell::finish`].
#[derive(Debug)]
pub(crate) struct Mark {
    slot: usize,
    start: Instant,
}

impl Mark {
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl StatsCell {
    pub(crate) fn new(threads: usize, deadline: Option<Duration>) -> StatsCell {
        StatsCell {
            epoch: Instant::now(),
            started: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            slots: (0..threads + 1)
                .map(|_| Slot {
                    index: AtomicUsize::new(IDLE),
                    start_ns: AtomicU64::new(0),
                })
                .collect(),
            histogram: (0..HISTOGRAM_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            slowest_floor_ns: AtomicU64::new(0),
            slowest: Mutex::new(Vec::with_capacity(SLOWEST_KEPT + 1)),
            deadline,
        }
    }

    /// Records the start of an attempt of item `index` on the current thread.
    pub(crate) fn start(&self, index: usize, first_attempt: bool) -> Mark {
        let outside = self.slots.len() - 1;
        let slot = crate::current_thread_index().map_or(outside, |i| i % outside.max(1));
        let start = Instant::now();
        let s = &self.slots[slot];
        s.start_ns
            .store(nanos(start - self.epoch), Ordering::Relaxed);
        s.index.store(index, Ordering::Relaxed);
        if first_attempt {
            self.started.fetch_add(1, Ordering::Relaxed);
        } else {
            self.retried.fetch_add(1, Ordering::Relaxed);
        }
        Mark { slot, start }
    }

    /// Records the end of an attempt: clears its slot and adds its duration. `ending` is
    /// `None` for an attempt that will be retried (the item is not finished).
    pub(crate) fn finish(&self, index: usize, mark: &Mark, ending: Option<Ending>) {
        let took = mark.start.elapsed();
        let s = &self.slots[mark.slot];
        // Leave the slot alone if another item took it meanwhile (a nested map's item on
        // the same thread does not share this cell; an outside thread may).
        if s.index.load(Ordering::Relaxed) == index {
            s.index.store(IDLE, Ordering::Relaxed);
        }
        let ns = nanos(took);
        let bucket = (63 - ns.max(1).leading_zeros()) as usize;
        self.histogram[bucket].fetch_add(1, Ordering::Relaxed);
        if ns > self.slowest_floor_ns.load(Ordering::Relaxed) {
            self.note_slow(index, took);
        }
        if let Some(ending) = ending {
            self.add_ended(ending);
        }
    }

    /// Counts an item's end.
    pub(crate) fn add_ended(&self, ending: Ending) {
        let counter = match ending {
            Ending::Succeeded => &self.succeeded,
            Ending::Failed => &self.failed,
            Ending::Panicked => &self.panicked,
            Ending::TimedOut => &self.timed_out,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn note_slow(&self, index: usize, took: Duration) {
        let mut list = self.slowest.lock();
        match list.iter_mut().find(|s| s.index == index) {
            Some(seen) => seen.duration = seen.duration.max(took),
            None => list.push(SlowItem {
                index,
                duration: took,
            }),
        }
        list.sort_by_key(|s| std::cmp::Reverse(s.duration));
        list.truncate(SLOWEST_KEPT);
        if list.len() == SLOWEST_KEPT {
            let floor = nanos(list[SLOWEST_KEPT - 1].duration);
            self.slowest_floor_ns.store(floor, Ordering::Relaxed);
        }
    }

    /// Counts `n` items that were dropped without running.
    pub(crate) fn add_cancelled(&self, n: usize) {
        if n > 0 {
            self.cancelled.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_queued(&self, n: usize) {
        self.queued.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub_queued(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::Release);
    }

    pub(crate) fn add_in_flight(&self, n: usize) {
        self.in_flight.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub_in_flight(&self, n: usize) {
        self.in_flight.fetch_sub(n, Ordering::Release);
    }

    pub(crate) fn snapshot(&self) -> FanoutStats {
        // Gauges first: see the module docs.
        let in_flight = self.in_flight.load(Ordering::Acquire);
        let queued = self.queued.load(Ordering::Acquire);
        let now = nanos(self.epoch.elapsed());
        let running = self
            .slots
            .iter()
            .filter_map(|s| {
                let index = s.index.load(Ordering::Relaxed);
                (index != IDLE).then(|| {
                    let started = s.start_ns.load(Ordering::Relaxed);
                    let elapsed = Duration::from_nanos(now.saturating_sub(started));
                    RunningItem {
                        index,
                        elapsed,
                        overdue: self.deadline.is_some_and(|d| elapsed > d),
                    }
                })
            })
            .collect();
        let mut buckets = [0u64; HISTOGRAM_BUCKETS];
        for (out, b) in buckets.iter_mut().zip(self.histogram.iter()) {
            *out = b.load(Ordering::Relaxed);
        }
        FanoutStats {
            started: self.started.load(Ordering::Relaxed),
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            panicked: self.panicked.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            in_flight,
            queued,
            running,
            histogram: DurationHistogram { buckets },
            slowest: self.slowest.lock().clone(),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A handle on the live counters of one map or group; usable from any thread, also after
/// the map was dropped or the group returned.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let mut map = pool.map_unordered(0..100u64, |x| x * x);
/// let stats = map.stats_handle();
/// let first = map.next();
/// assert!(first.is_some());
/// let pulled = map.pulled() as u64;
/// drop(map); // the items not started are cancelled
/// let s = stats.wait_settled(std::time::Duration::from_secs(10));
/// assert!(s.is_settled());
/// assert_eq!(s.started + s.cancelled, pulled); // every pulled item ran or was cancelled
/// ```
#[derive(Clone)]
pub struct StatsHandle {
    cell: crate::sync::Arc<StatsCell>,
}

impl StatsHandle {
    pub(crate) fn new(cell: crate::sync::Arc<StatsCell>) -> Self {
        StatsHandle { cell }
    }

    /// A snapshot of every counter and gauge.
    pub fn snapshot(&self) -> FanoutStats {
        self.cell.snapshot()
    }

    /// Polls until no item is running or queued and nothing is in flight, or `timeout`
    /// passed; returns the last snapshot (check [`FanoutStats::is_settled`]).
    pub fn wait_settled(&self, timeout: Duration) -> FanoutStats {
        let until = Instant::now() + timeout;
        loop {
            let s = self.snapshot();
            if s.is_settled() || Instant::now() >= until {
                return s;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl std::fmt::Debug for StatsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StatsHandle")
            .field(&self.snapshot())
            .finish()
    }
}

/// One snapshot of a map's or group's counters and gauges.
///
/// Counters never go down. Each item that is pulled (or spawned) ends in exactly one of
/// `succeeded`, `failed`, `panicked`, `timed_out` (those four after it `started`) or
/// `cancelled` (never started); `retried` counts extra attempts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FanoutStats {
    /// Items whose first attempt started.
    pub started: u64,
    /// Items that returned a value.
    pub succeeded: u64,
    /// Items that returned an error on their last attempt.
    pub failed: u64,
    /// Items whose closure panicked.
    pub panicked: u64,
    /// Items dropped without running because of cancellation.
    pub cancelled: u64,
    /// Items ended by their per-item deadline.
    pub timed_out: u64,
    /// Attempts beyond each item's first.
    pub retried: u64,
    /// Items taken from the input (or spawned) whose result has not been handed out yet.
    pub in_flight: usize,
    /// Items waiting to start (including retries waiting out their backoff).
    pub queued: usize,
    /// The items running now, with how long each has run.
    pub running: Vec<RunningItem>,
    /// Durations of every finished attempt.
    pub histogram: DurationHistogram,
    /// The slowest attempts so far, slowest first (at most [`SLOWEST_KEPT`]).
    pub slowest: Vec<SlowItem>,
}

impl FanoutStats {
    /// Items that reached an end (every outcome counter summed).
    pub fn finished(&self) -> u64 {
        self.succeeded + self.failed + self.panicked + self.timed_out + self.cancelled
    }

    /// Whether nothing runs, waits or is in flight, and every started item has ended.
    pub fn is_settled(&self) -> bool {
        self.in_flight == 0
            && self.queued == 0
            && self.running.is_empty()
            && self.started == self.succeeded + self.failed + self.panicked + self.timed_out
    }

    /// The running items that have run past the per-item deadline (stuck items).
    pub fn overdue(&self) -> impl Iterator<Item = &RunningItem> {
        self.running.iter().filter(|r| r.overdue)
    }
}

/// An item running at the time of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningItem {
    /// The item's position in the input (or the job's spawn order in a group).
    pub index: usize,
    /// How long its current attempt has run.
    pub elapsed: Duration,
    /// Whether it has run past the per-item deadline.
    pub overdue: bool,
}

/// One of the slowest attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowItem {
    /// The item's position in the input (or spawn order in a group).
    pub index: usize,
    /// How long it took.
    pub duration: Duration,
}

/// Counts of attempt durations in power-of-two nanosecond buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationHistogram {
    buckets: [u64; HISTOGRAM_BUCKETS],
}

impl DurationHistogram {
    /// The count of bucket `b`: attempts that took `[2^b, 2^(b+1))` ns.
    ///
    /// # Panics
    /// If `b >= HISTOGRAM_BUCKETS`.
    pub fn bucket(&self, b: usize) -> u64 {
        self.buckets[b]
    }

    /// Every bucket, in order.
    pub fn buckets(&self) -> &[u64] {
        &self.buckets
    }

    /// The number of attempts counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// An upper bound of the `q`-quantile (`0.0..=1.0`) of the durations: the top of the
    /// bucket that holds it. `None` when nothing was counted.
    pub fn quantile_upper_bound(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(Duration::from_nanos(
                    1u64.checked_shl(b as u32 + 1).unwrap_or(u64::MAX),
                ));
            }
        }
        None
    }
}
