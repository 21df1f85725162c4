//! Threads outside the pool spawning many small detached jobs: the shared queue's path
//! (`docs/work-stealing.md`, "The shared queue"). Each round spawns `JOBS` jobs of about
//! 100 ns (or empty ones) from one or four outside threads into a pool of `threads`
//! workers and waits until every job ran; each job marks its own slot, and a round checks
//! that every slot was marked exactly once before its time counts. Prints the median of
//! ten rounds per case, next to the same jobs called in a plain loop.
//!
//! Run: `cargo run --release --example outside_spawns [threads]` (add `perf stat -e
//! page-faults,context-switches` in front to count what the allocator costs).

use std::hint::black_box;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use skewer::Pool;

// The benches' workload building blocks: the calibrated spin.
#[allow(dead_code)] // the example uses the spin only
#[path = "../benches/support/workloads/mod.rs"]
mod workloads;

use workloads::spin::{iters_for_ns, spin};

const JOBS: usize = 1_000_000;
const ROUNDS: usize = 10;
/// Rows of counts for workers; one more for every other thread.
const ROWS: usize = 64;

/// A count on a cache line of its own.
#[repr(align(128))]
struct Row(AtomicU64);

/// One slot per job, and the jobs that ran, counted per worker (a shared count would make
/// every job contend for one cache line, which is not what this measures).
struct Marks {
    slots: Vec<AtomicU8>,
    ran: Vec<Row>,
}

impl Marks {
    /// Leaked, so that a job borrows it for `'static` with one word (no reference count
    /// to touch per job).
    fn new() -> &'static Marks {
        Box::leak(Box::new(Marks {
            slots: (0..JOBS).map(|_| AtomicU8::new(0)).collect(),
            ran: (0..=ROWS).map(|_| Row(AtomicU64::new(0))).collect(),
        }))
    }

    fn hit(&self, i: usize) {
        self.slots[i].fetch_add(1, Ordering::Relaxed);
        let row = skewer::current_thread_index().map_or(ROWS, |w| w.min(ROWS - 1));
        self.ran[row].0.fetch_add(1, Ordering::Release);
    }

    fn ran(&self) -> u64 {
        self.ran.iter().map(|r| r.0.load(Ordering::Acquire)).sum()
    }

    /// Waits (sleeping, so as not to take a core from the workers) for every job, then
    /// checks that each ran once and clears the marks.
    fn wait_and_check(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.ran() < JOBS as u64 {
            assert!(Instant::now() < deadline, "jobs went missing");
            std::thread::sleep(Duration::from_micros(50));
        }
        for slot in &self.slots {
            assert_eq!(
                slot.swap(0, Ordering::Relaxed),
                1,
                "a job ran other than once"
            );
        }
        for row in &self.ran {
            row.0.store(0, Ordering::Relaxed);
        }
    }
}

/// The median time of `ROUNDS` rounds of `round`, each checked.
fn median(marks: &Marks, mut round: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            round();
            marks.wait_and_check();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[ROUNDS / 2]
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("threads"))
        .unwrap_or(2);
    let pool = Pool::builder().num_threads(threads).build().unwrap();
    let marks = Marks::new();
    println!("{threads} workers, {JOBS} jobs per round, median of {ROUNDS} rounds");
    for (label, iters) in [
        ("jobs of about 100 ns", iters_for_ns(100.0)),
        ("empty jobs", 0),
    ] {
        let job = move |i: usize| {
            if iters > 0 {
                black_box(spin(iters, i as u64));
            }
            marks.hit(i);
        };
        let sequential = median(marks, || (0..JOBS).for_each(job));
        println!("  {label}: sequential loop {sequential:.1} ms");
        for producers in [1, 4] {
            let t = median(marks, || {
                std::thread::scope(|s| {
                    for p in 0..producers {
                        let pool = &pool;
                        s.spawn(move || {
                            for i in (p..JOBS).step_by(producers) {
                                // Three words (the marks, `iters`, `i`): carried inline.
                                let spawned = pool.spawn(move || job(i));
                                assert!(spawned.is_ok(), "the pool is open");
                            }
                        });
                    }
                });
            });
            println!(
                "  {label}: {producers} outside thread(s) spawning {t:.1} ms ({:.2}x the loop)",
                t / sequential
            );
        }
    }
}
