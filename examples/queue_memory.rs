//! What a burst of queued jobs leaves behind once the pool is quiet (`docs/work-stealing.md`,
//! "A quiet pool gives back its queues' memory"). A 2-worker pool runs three bursts of
//! `JOBS` small jobs, spawned into a scope from outside (`pool.scope`, so that they queue
//! in the shared queue) or from a job's body (`install` + `scope`, so that they queue in
//! a worker's overflow), with `QUIET` of quiet after each; it prints the round's time, the
//! resident memory (`/proc/self/statm`) and `Metrics::queue_room` just after the burst and
//! after the quiet. Each burst checks that every job ran once before it is reported. The
//! default pool trims its queues once none has grown for a second; the second pool
//! keeps their room (`Builder::trim_queues_after(None)`).
//!
//! Run: `cargo run --release --example queue_memory [jobs]` (Linux: it reads /proc).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use skewer::Pool;

const JOBS: usize = 1_000_000;
const QUIET: Duration = Duration::from_millis(1500);
const BURSTS: usize = 3;

/// Resident memory of this process, in MiB (Linux).
fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// A few dozen nanoseconds of work whose result is kept.
fn work(i: u64) -> u64 {
    let mut x = i;
    for _ in 0..20 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

/// Spawns `jobs` jobs into `s`, each counting itself in `ran` and its result in `sum`.
fn spawn_all<'s>(s: &skewer::Scope<'s>, jobs: usize, ran: &'s AtomicU64, sum: &'s AtomicU64) {
    for i in 0..jobs as u64 {
        s.spawn(move |_| {
            sum.fetch_add(work(i) & 1, Ordering::Relaxed);
            ran.fetch_add(1, Ordering::Relaxed);
        });
    }
}

/// One burst of `jobs` spawns; returns after all ran, having checked they did.
fn burst(pool: &Pool, jobs: usize, from_a_job: bool) {
    let ran = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    if from_a_job {
        pool.install(|| skewer::scope(|s| spawn_all(s, jobs, &ran, &sum)));
    } else {
        pool.scope(|s| spawn_all(s, jobs, &ran, &sum));
    }
    assert_eq!(
        ran.load(Ordering::Relaxed),
        jobs as u64,
        "a job did not run"
    );
    let expected: u64 = (0..jobs as u64).map(|i| work(i) & 1).sum();
    assert_eq!(
        sum.load(Ordering::Relaxed),
        expected,
        "a job ran twice or not at all"
    );
}

fn main() {
    let jobs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("jobs: a number"))
        .unwrap_or(JOBS);
    println!("resident at start: {:.1} MiB", resident_mib());
    for (name, trim) in [
        ("default (trim after 1 s)", true),
        ("trim_queues_after(None)", false),
    ] {
        for (source, from_a_job) in [("outside spawns", false), ("spawns from a job", true)] {
            let mut builder = Pool::builder().num_threads(2);
            if !trim {
                builder = builder.trim_queues_after(None);
            }
            let pool = builder.build().expect("pool");
            println!("{name}, {source}, {jobs} jobs a burst, {QUIET:?} quiet after each:");
            for round in 0..BURSTS {
                let start = Instant::now();
                burst(&pool, jobs, from_a_job);
                let took = start.elapsed();
                let (busy_mib, busy_room) = (resident_mib(), pool.metrics().queue_room);
                std::thread::sleep(QUIET);
                println!(
                    "  burst {round}: {:6.1} ms; just after: {busy_mib:6.1} MiB resident, \
                     room for {busy_room:8} jobs; after the quiet: {:6.1} MiB, room for {:8}",
                    took.as_secs_f64() * 1e3,
                    resident_mib(),
                    pool.metrics().queue_room
                );
            }
            pool.shutdown();
        }
    }
}
