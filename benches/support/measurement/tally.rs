//! The result every run produces (`Digest`), and the per-thread tally that jobs write it into.
//!
//! Jobs of flat and nested workloads cannot return values to a `scope` or a detached pool, so
//! each job records its result into a slot owned by the thread that runs it: one cache-padded
//! row per thread, written by that thread alone with relaxed load + store (no locked
//! instruction, no shared line), and summed by the bench thread after the run has finished
//! (the pool's own completion signal orders those reads after the writes), or polled while
//! jobs run (`count`: a row's count is stored last, with release, so whoever has seen every
//! job counted sees their sums too). The cost per job is a few nanoseconds and the same for
//! every contender, sequential included.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};

use crossbeam_utils::CachePadded;

/// What a run computed: compared between every contender and the sequential reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    /// Number of jobs (or tree nodes) that ran.
    pub count: u64,
    /// Wrapping sum of every job's result.
    pub sum: u64,
    /// Largest depth seen (tree workloads; 0 for flat ones).
    pub max_depth: u64,
}

impl Digest {
    /// The digest of one job with result `value` at `depth`.
    pub fn one(value: u64, depth: u64) -> Digest {
        Digest {
            count: 1,
            sum: value,
            max_depth: depth,
        }
    }

    /// Combines two digests (order does not matter).
    pub fn merge(self, other: Digest) -> Digest {
        Digest {
            count: self.count + other.count,
            sum: self.sum.wrapping_add(other.sum),
            max_depth: self.max_depth.max(other.max_depth),
        }
    }
}

#[derive(Debug, Default)]
struct Row {
    count: AtomicU64,
    sum: AtomicU64,
    max_depth: AtomicU64,
}

static ROWS: Mutex<Vec<&'static CachePadded<Row>>> = Mutex::new(Vec::new());

thread_local! {
    static MINE: Cell<Option<&'static CachePadded<Row>>> = const { Cell::new(None) };
}

fn my_row() -> &'static CachePadded<Row> {
    MINE.with(|mine| match mine.get() {
        Some(row) => row,
        None => {
            // One row per thread that ever records, kept for the life of the process (a few
            // hundred rows at most: every pool thread of the run).
            let row: &'static CachePadded<Row> = Box::leak(Box::default());
            ROWS.lock().unwrap().push(row);
            mine.set(Some(row));
            row
        }
    })
}

/// Records one job's result into the calling thread's row.
#[inline]
pub fn record(value: u64, depth: u64) {
    let row = my_row();
    row.sum
        .store(row.sum.load(Relaxed).wrapping_add(value), Relaxed);
    if depth > row.max_depth.load(Relaxed) {
        row.max_depth.store(depth, Relaxed);
    }
    row.count.store(row.count.load(Relaxed) + 1, Release);
}

/// Zeroes every row; call before a run, while no job is running.
pub fn reset() {
    for row in ROWS.lock().unwrap().iter() {
        row.count.store(0, Relaxed);
        row.sum.store(0, Relaxed);
        row.max_depth.store(0, Relaxed);
    }
}

/// Sums every row; call after a run has completed (or once `count` has reached the number
/// of jobs of the run).
pub fn collect() -> Digest {
    ROWS.lock()
        .unwrap()
        .iter()
        .fold(Digest::default(), |acc, row| {
            acc.merge(Digest {
                count: row.count.load(Acquire),
                sum: row.sum.load(Relaxed),
                max_depth: row.max_depth.load(Relaxed),
            })
        })
}

/// The number of jobs recorded since the last `reset`, readable while jobs run.
pub fn count() -> u64 {
    ROWS.lock()
        .unwrap()
        .iter()
        .map(|row| row.count.load(Acquire))
        .sum()
}
