//! Flat workloads: n independent jobs addressed by index. How each contender runs them is in
//! `contenders/` (one file per library); every one of them runs the same job body (`job`).
//! "One producer" means a single thread creates every job, one spawn per job: the thread that
//! calls the pool (`Producer::Outside`) or one job inside the pool (`Producer::SeededByOne`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::support::measurement::tally;
use crate::support::workloads::fork::{Join, TaskScope};

/// Independent jobs addressed by index.
pub trait FlatJobs: Sync + 'static {
    /// The number of jobs.
    fn len(&self) -> usize;
    /// Runs job `i` and returns its result.
    fn run_job(&self, i: usize) -> u64;
}

/// Where the spawns come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Producer {
    /// The thread that calls the pool spawns every job, one by one.
    Outside,
    /// One job, running inside the pool, spawns all the others.
    SeededByOne,
}

/// Runs job `i` of `w` and records its result into the calling thread's tally row.
#[inline]
pub fn job<W: FlatJobs>(w: &W, i: usize) {
    tally::record(w.run_job(i), 0);
}

/// Every job timed alone, in order, three times over; each job keeps its fastest time
/// (the least disturbed one: on a shared machine a single timing can include a preemption).
pub fn time_each<W: FlatJobs>(w: &W) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; w.len()];
    for _ in 0..3 {
        for (i, b) in best.iter_mut().enumerate() {
            let start = Instant::now();
            black_box(w.run_job(i));
            *b = (*b).min(start.elapsed());
        }
    }
    best
}

/// The most expensive job, timed alone (its fastest of three timings), so that
/// max(T1/P, largest job) stays a true lower bound.
pub fn measure_largest<W: FlatJobs>(w: &W) -> Duration {
    time_each(w).into_iter().max().unwrap_or_default()
}

/// The body of a scope that runs every job of `w` as one task, spawned by the body itself
/// (`Outside`) or by one task (`SeededByOne`).
pub fn spawn_all<'s, S: TaskScope<'s>, W: FlatJobs>(s: &S, w: &'s W, producer: Producer) {
    let n = w.len();
    match producer {
        Producer::Outside => {
            for i in 0..n {
                s.spawn_task(move |_| job(w, i));
            }
        }
        Producer::SeededByOne => s.spawn_task(move |s| {
            for i in 0..n {
                s.spawn_task(move |_| job(w, i));
            }
        }),
    }
}

/// Jobs `lo..hi` of `w` by recursive halving with `J::join`, one job per leaf (what rayon's
/// `par_iter` does, down to single items): a fork-join tree whose leaves are the jobs.
pub fn halves<J: Join, W: FlatJobs>(w: &W, lo: usize, hi: usize) {
    match hi - lo {
        0 => {}
        1 => job(w, lo),
        len => {
            let mid = lo + len / 2;
            J::join(|| halves::<J, W>(w, lo, mid), || halves::<J, W>(w, mid, hi));
        }
    }
}
