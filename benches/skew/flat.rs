//! Flat workloads: n independent jobs, and how each contender runs them.
//!
//! The same job body (`job`) runs under every contender; only the way jobs reach threads
//! differs. "One producer" means a single thread creates every job, one spawn per job: the
//! bench thread itself (`Producer::Outside`) or one job inside the pool
//! (`Producer::SeededByOne`).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::contenders::{Contender, Engine};
use super::tally;
use super::workload::Outcome;

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
    /// The bench thread spawns every job, one by one.
    Outside,
    /// One job, running inside the pool, spawns all the others.
    SeededByOne,
}

/// The cursor hands out about this many chunks per thread: small enough to balance skew,
/// large enough that the shared counter is touched rarely.
const CURSOR_CHUNKS_PER_THREAD: usize = 256;

#[inline]
fn job<W: FlatJobs>(w: &W, i: usize) {
    tally::record(w.run_job(i), 0);
}

/// Runs all jobs of `w` once with `contender`.
pub fn run_flat<W: FlatJobs>(
    w: &'static W,
    engine: &Engine,
    contender: Contender,
    producer: Producer,
) -> Outcome {
    let n = w.len();
    match (contender, producer) {
        (Contender::Sequential, _) => (0..n).for_each(|i| job(w, i)),
        (Contender::SkewerSteal | Contender::SkewerChan, Producer::Outside) => {
            engine.skewer().scope(|s| {
                for i in 0..n {
                    s.spawn(move |_| job(w, i));
                }
            })
        }
        (Contender::SkewerSteal | Contender::SkewerChan, Producer::SeededByOne) => {
            engine.skewer().scope(|s| {
                s.spawn(move |s| {
                    for i in 0..n {
                        s.spawn(move |_| job(w, i));
                    }
                })
            })
        }
        (Contender::RayonSpawn, Producer::Outside) => engine.rayon().scope(|s| {
            for i in 0..n {
                s.spawn(move |_| job(w, i));
            }
        }),
        (Contender::RayonSpawn, Producer::SeededByOne) => engine.rayon().scope(|s| {
            s.spawn(move |s| {
                for i in 0..n {
                    s.spawn(move |_| job(w, i));
                }
            })
        }),
        (Contender::RayonIter, Producer::Outside) => engine
            .rayon()
            .install(|| (0..n).into_par_iter().for_each(|i| job(w, i))),
        (Contender::CbChannel, Producer::Outside) => {
            let pool = engine.channel();
            for i in 0..n {
                pool.execute(move |_| job(w, i));
            }
            pool.wait();
        }
        (Contender::CbChannel, Producer::SeededByOne) => {
            let pool = engine.channel();
            pool.execute(move |h| {
                for i in 0..n {
                    h.execute(move |_| job(w, i));
                }
            });
            pool.wait();
        }
        (Contender::MutexMpsc, Producer::Outside) => {
            let pool = engine.mutex();
            for i in 0..n {
                pool.execute(move |_| job(w, i));
            }
            pool.wait();
        }
        (Contender::MutexMpsc, Producer::SeededByOne) => {
            let pool = engine.mutex();
            pool.execute(move |h| {
                for i in 0..n {
                    h.execute(move |_| job(w, i));
                }
            });
            pool.wait();
        }
        (Contender::StaticRr, Producer::Outside) => {
            let gang = engine.gang();
            let p = gang.threads();
            gang.run(Arc::new(move |t| (t..n).step_by(p).for_each(|i| job(w, i))));
        }
        (Contender::Cursor, Producer::Outside) => {
            let gang = engine.gang();
            let chunk = n.div_ceil(gang.threads() * CURSOR_CHUNKS_PER_THREAD).max(1);
            let cursor = Arc::new(AtomicUsize::new(0));
            gang.run(Arc::new(move |_| {
                loop {
                    let start = cursor.fetch_add(chunk, Ordering::Relaxed);
                    if start >= n {
                        break;
                    }
                    (start..(start + chunk).min(n)).for_each(|i| job(w, i));
                }
            }));
        }
        (c, p) => panic!("{c} does not apply to a flat workload with producer {p:?}"),
    }
    Outcome::Tallied
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
