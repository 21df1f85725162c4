//! One producer spawning many tiny jobs into a scope (the shape of the skew bench's
//! uniform-tiny, whose jobs take about 100 ns; these take about 80): what skewer's scope
//! costs next to a minimal scheme on the deque it is built on (`docs/work-stealing.md`,
//! "Tiny scope jobs: what skewer adds to the deque").
//!
//! Each round runs `JOBS` jobs of about 80 ns four ways, and checks the count and the sum of
//! the jobs' results before its time counts:
//! - a plain loop on one thread;
//! - skewer: `pool.install(|| scope(|s| for i in .. { s.spawn(..) }))`, the body on a worker;
//! - rayon, written the same way;
//! - a bare crossbeam-deque scheme, a minimal scheduler on that deque: thread 0 pushes
//!   every job onto its own LIFO deque and then pops them, the other threads steal batches
//!   (`steal_batch_and_pop`) into their own deques and pop those. Its jobs are five-word
//!   records, the size of skewer's queued job, and it has no sleep, no scope count, no
//!   waiting rule and no metrics: its threads spin until the round is done. Its threads and
//!   deques are kept from round to round, as a pool keeps its workers (a new thread per
//!   round would also start from new allocator state).
//!
//! Prints the median of `ROUNDS` rounds per case, for pools of 1 thread and of `threads`.
//!
//! Run: `cargo run --release --example tiny_scope_jobs [threads]` (add `perf stat -e
//! page-faults` in front to count what the deques' buffers cost the allocator).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crossbeam_deque::{Steal, Stealer, Worker};
use skewer::Pool;

// The benches' workload building blocks: the calibrated spin.
#[allow(dead_code)] // the example uses the spin only
#[path = "../benches/support/workloads/mod.rs"]
mod workloads;

use workloads::spin::{iters_for_ns, spin};

const JOBS: usize = 200_000;
const ROUNDS: usize = 15;

/// One thread's tally, on cache lines of its own: jobs run and the sum of their results.
#[repr(align(128))]
#[derive(Default)]
struct Row {
    count: AtomicU64,
    sum: AtomicU64,
}

/// Rows of tallies: one per thread index below `ROWS - 1`, the last for every other thread.
const ROWS: usize = 64;

/// What every round must produce, counted per thread: each job adds its own result to the
/// row of the thread that ran it with a plain load and store, as the skew bench's jobs do
/// (a shared count, or a read-modify-write per job, would add a cost of its own to every
/// job, which is not what this measures). A round checks the count and the sum: a job lost
/// or run twice changes both.
struct Tally {
    rows: Vec<Row>,
    expected_sum: u64,
}

impl Tally {
    /// A tally whose rounds must sum to `expected_sum`.
    fn new(expected_sum: u64) -> &'static Tally {
        Box::leak(Box::new(Tally {
            rows: (0..ROWS).map(|_| Row::default()).collect(),
            expected_sum,
        }))
    }

    /// A job's result `value`, on the thread that counts in `row`.
    fn record(&self, value: u64, row: usize) {
        let row = &self.rows[row.min(ROWS - 1)];
        // One writer per row: a load and a store, no read-modify-write.
        row.sum.store(
            row.sum.load(Ordering::Relaxed).wrapping_add(value),
            Ordering::Relaxed,
        );
        row.count
            .store(row.count.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    fn ran(&self) -> u64 {
        self.rows
            .iter()
            .map(|r| r.count.load(Ordering::Acquire))
            .sum()
    }

    /// Checks the round's count and sum, and clears the rows.
    fn check(&self) {
        assert_eq!(self.ran(), JOBS as u64, "jobs went missing or ran twice");
        let sum = self.rows.iter().fold(0u64, |acc, r| {
            acc.wrapping_add(r.sum.load(Ordering::Relaxed))
        });
        assert_eq!(
            sum, self.expected_sum,
            "a job's result went missing or counted twice"
        );
        for row in &self.rows {
            row.count.store(0, Ordering::Relaxed);
            row.sum.store(0, Ordering::Relaxed);
        }
    }
}

/// The median time of `ROUNDS` rounds of `round`, each checked.
fn median(tally: &Tally, mut round: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            round();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            tally.check();
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[ROUNDS / 2]
}

/// A queued job of the bare scheme: a function and four words, the size of skewer's
/// queued job (a header pointer, a function and a three-word closure).
#[derive(Clone, Copy)]
struct Record {
    run: fn(&Record, usize),
    tally: &'static Tally,
    iters: u64,
    index: usize,
    _pad: usize,
}

fn run_record(r: &Record, row: usize) {
    r.tally
        .record(black_box(spin(r.iters, r.index as u64)), row);
}

/// The bare scheme's threads and deques (the module docs say how a round runs).
struct Bare {
    start: Arc<Barrier>,
    end: Arc<Barrier>,
    quit: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Bare {
    fn new(threads: usize, tally: &'static Tally, iters: u64) -> Bare {
        let deques: Vec<Worker<Record>> = (0..threads).map(|_| Worker::new_lifo()).collect();
        let stealers: Arc<Vec<Stealer<Record>>> =
            Arc::new(deques.iter().map(Worker::stealer).collect());
        let start = Arc::new(Barrier::new(threads + 1));
        let end = Arc::new(Barrier::new(threads + 1));
        let quit = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let threads = deques
            .into_iter()
            .enumerate()
            .map(|(me, deque)| {
                let (stealers, start, end) = (stealers.clone(), start.clone(), end.clone());
                let (quit, done) = (quit.clone(), done.clone());
                std::thread::spawn(move || {
                    loop {
                        start.wait();
                        if quit.load(Ordering::Acquire) {
                            return;
                        }
                        Bare::round(me, &deque, &stealers, &done, tally, iters);
                        // Every thread has seen the round done before any clears the flag.
                        end.wait();
                        done.store(false, Ordering::Release);
                        end.wait();
                    }
                })
            })
            .collect();
        Bare {
            start,
            end,
            quit,
            threads,
        }
    }

    /// Thread `me`'s part of one round.
    fn round(
        me: usize,
        deque: &Worker<Record>,
        stealers: &[Stealer<Record>],
        done: &AtomicBool,
        tally: &'static Tally,
        iters: u64,
    ) {
        if me == 0 {
            for index in 0..JOBS {
                deque.push(Record {
                    run: run_record,
                    tally,
                    iters,
                    index,
                    _pad: 0,
                });
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut victim = me;
        while !done.load(Ordering::Acquire) {
            if let Some(r) = deque.pop() {
                (r.run)(&r, me);
                continue;
            }
            victim = (victim + 1) % stealers.len();
            if victim != me
                && let Steal::Success(r) = stealers[victim].steal_batch_and_pop(deque)
            {
                (r.run)(&r, me);
                continue;
            }
            if tally.ran() == JOBS as u64 {
                done.store(true, Ordering::Release);
            }
            if Instant::now() > deadline {
                // A panic here would leave `main` waiting at the round's barrier.
                eprintln!("the bare scheme lost jobs");
                std::process::exit(1);
            }
            std::hint::spin_loop();
        }
    }

    /// Runs one round on every thread and returns when all are done.
    fn run_round(&self) {
        self.start.wait();
        self.end.wait();
        self.end.wait();
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Release);
        self.start.wait();
        for t in self.threads.drain(..) {
            t.join().expect("a bare thread panicked");
        }
    }
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("threads"))
        .unwrap_or(2);
    // Each thread counts in a row of its own (`Tally::record`).
    assert!(
        (1..ROWS).contains(&threads),
        "threads must be between 1 and {}",
        ROWS - 1
    );
    let iters = iters_for_ns(80.0);
    let expected = (0..JOBS).fold(0u64, |acc, i| acc.wrapping_add(spin(iters, i as u64)));
    let tally = Tally::new(expected);
    let job = move |i: usize, row: usize| tally.record(black_box(spin(iters, i as u64)), row);
    println!("{JOBS} jobs of about 80 ns per round, median of {ROUNDS} rounds");
    let sequential = median(tally, || (0..JOBS).for_each(|i| job(i, 0)));
    println!("  plain loop: {sequential:.2} ms");
    let mut sizes = vec![1, threads];
    sizes.dedup();
    for p in sizes {
        let pool = Pool::builder().num_threads(p).build().unwrap();
        let rayon_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(p)
            .build()
            .unwrap();
        let bare = Bare::new(p, tally, iters);
        let row = || skewer::current_thread_index().unwrap_or(ROWS - 1);
        let rayon_row = || rayon::current_thread_index().unwrap_or(ROWS - 1);
        let cases: [(&str, &dyn Fn()); 3] = [
            ("skewer scope", &|| {
                pool.install(|| {
                    skewer::scope(|s| {
                        for i in 0..JOBS {
                            s.spawn(move |_| job(i, row()));
                        }
                    })
                })
            }),
            ("rayon scope", &|| {
                rayon_pool.install(|| {
                    rayon::scope(|s| {
                        for i in 0..JOBS {
                            s.spawn(move |_| job(i, rayon_row()));
                        }
                    })
                })
            }),
            ("bare deque", &|| bare.run_round()),
        ];
        for (name, case) in cases {
            let t = median(tally, case);
            println!(
                "  {p} thread(s), {name}: {t:.2} ms ({:.2}x the loop's speed)",
                sequential / t
            );
        }
    }
}
