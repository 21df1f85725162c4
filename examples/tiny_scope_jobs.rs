//! One producer spawning many tiny jobs into a scope (the skew bench's uniform-tiny shape):
//! what skewer's scope costs next to the bare deque it is built on
//! (`docs/work-stealing.md`, "Tiny scope jobs: what skewer adds to the deque").
//!
//! Each round runs `JOBS` jobs of about 80 ns four ways, and checks that every job ran
//! exactly once before its time counts:
//! - a plain loop on one thread;
//! - skewer: `pool.install(|| scope(|s| for i in .. { s.spawn(..) }))`, the body on a worker;
//! - rayon, written the same way;
//! - a bare crossbeam-deque scheme, the floor of any scheduler on that deque: thread 0 pushes
//!   every job onto its own LIFO deque and then pops them, the other threads steal batches
//!   (`steal_batch_and_pop`) into their own deques and pop those. Its jobs are five-word
//!   records, the size of skewer's queued job, and it has no sleep, no scope count, no
//!   waiting rule and no metrics: its threads spin until the round is done.
//!
//! Prints the median of `ROUNDS` rounds per case, for pools of 1 thread and of `threads`.
//!
//! Run: `cargo run --release --example tiny_scope_jobs [threads]` (add `perf stat -e
//! page-faults` in front to count what the deques' buffers cost the allocator).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
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

/// A count on a cache line of its own.
#[repr(align(128))]
struct Row(AtomicU64);

/// One slot per job, and the jobs that ran, counted per thread (a shared count would make
/// every job contend for one cache line, which is not what this measures).
struct Marks {
    slots: Vec<AtomicU8>,
    ran: Vec<Row>,
}

/// Rows of counts: one per thread index below `ROWS - 1`, the last for every other thread.
const ROWS: usize = 64;

impl Marks {
    fn new() -> &'static Marks {
        Box::leak(Box::new(Marks {
            slots: (0..JOBS).map(|_| AtomicU8::new(0)).collect(),
            ran: (0..ROWS).map(|_| Row(AtomicU64::new(0))).collect(),
        }))
    }

    /// Job `i` ran on the thread that counts in `row`.
    fn hit(&self, i: usize, row: usize) {
        self.slots[i].fetch_add(1, Ordering::Relaxed);
        let row = &self.ran[row.min(ROWS - 1)].0;
        // One writer per row: a load and a store, no read-modify-write.
        row.store(row.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    fn ran(&self) -> u64 {
        self.ran.iter().map(|r| r.0.load(Ordering::Acquire)).sum()
    }

    /// Checks that every job ran once and clears the marks.
    fn check(&self) {
        assert_eq!(self.ran(), JOBS as u64, "jobs went missing");
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
            let ms = t.elapsed().as_secs_f64() * 1e3;
            marks.check();
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
    marks: &'static Marks,
    iters: u64,
    index: usize,
    _pad: usize,
}

fn run_record(r: &Record, row: usize) {
    black_box(spin(r.iters, r.index as u64));
    r.marks.hit(r.index, row);
}

/// The bare scheme's threads and deques, kept from round to round as a pool keeps its
/// workers (a new thread per round would also get new allocator state); see the module
/// docs.
struct Bare {
    start: Arc<Barrier>,
    end: Arc<Barrier>,
    quit: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Bare {
    fn new(threads: usize, marks: &'static Marks, iters: u64) -> Bare {
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
                        Bare::round(me, &deque, &stealers, &done, marks, iters);
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
        marks: &'static Marks,
        iters: u64,
    ) {
        if me == 0 {
            for index in 0..JOBS {
                deque.push(Record {
                    run: run_record,
                    marks,
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
            if marks.ran() == JOBS as u64 {
                done.store(true, Ordering::Release);
            }
            assert!(Instant::now() < deadline, "the bare scheme lost jobs");
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
    let marks = Marks::new();
    let iters = iters_for_ns(80.0);
    let job = move |i: usize, row: usize| {
        black_box(spin(iters, i as u64));
        marks.hit(i, row);
    };
    println!("{JOBS} jobs of about 80 ns per round, median of {ROUNDS} rounds");
    let sequential = median(marks, || (0..JOBS).for_each(|i| job(i, 0)));
    println!("  plain loop: {sequential:.2} ms");
    let mut sizes = vec![1, threads];
    sizes.dedup();
    for p in sizes {
        let pool = Pool::builder().num_threads(p).build().unwrap();
        let rayon_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(p)
            .build()
            .unwrap();
        let bare = Bare::new(p, marks, iters);
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
            let t = median(marks, case);
            println!(
                "  {p} thread(s), {name}: {t:.2} ms ({:.2}x the loop's speed)",
                sequential / t
            );
        }
    }
}
