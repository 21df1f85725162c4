//! Stress: lost wake-ups (submissions that land just as every worker falls asleep) and
//! storms of concurrent `join`s and `scope`s. Every loop is bounded by a count and by wall
//! time; a job that is not run within seconds fails the test (a parked worker never wakes
//! on its own, so a lost wake-up shows up as a job that never runs).

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc};
use std::time::{Duration, Instant};

use common::{fib, fib_join, spin_for};
use skewer::Pool;

/// Wall-time budget of the main lost-wake-up loop (one outside submitter).
const LONG: Duration = Duration::from_millis(3000);
/// Wall-time budget of the other lost-wake-up loops.
const SHORT: Duration = Duration::from_millis(1500);
/// The count bound of each lost-wake-up loop.
const ROUNDS: usize = 20_000;
/// A job not run within this was lost.
const LOST: Duration = Duration::from_secs(5);

/// Aims submissions at the moment the idle workers fall asleep.
///
/// Every fourth round it measures how long the workers named `tag*` take, from the end of
/// the last job, until `sleepers` of them are blocked in the kernel (state `S`: parked), and
/// submits right then. The other rounds spin for 30%..130% of that time (a running
/// average) before they submit: across rounds, submissions sweep the window in which the
/// workers announce sleep, re-check and park, however loaded the machine is.
struct Aim {
    tag: String,
    sleepers: usize,
    estimate_ns: AtomicU64,
    measured: AtomicUsize,
}

impl Aim {
    fn new(tag: &str, sleepers: usize) -> Aim {
        Aim {
            tag: tag.to_string(),
            sleepers,
            estimate_ns: AtomicU64::new(200_000),
            measured: AtomicUsize::new(0),
        }
    }

    /// Waits before submission `i` (see the type's docs).
    fn pause(&self, i: usize) {
        if i.is_multiple_of(4) {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(20) {
                let states = common::thread_states(&self.tag);
                if states.iter().filter(|&&s| s == 'S').count() >= self.sleepers {
                    let took = start.elapsed().as_nanos() as u64;
                    let old = self.estimate_ns.load(Ordering::Relaxed);
                    self.estimate_ns
                        .store((3 * old + took) / 4, Ordering::Relaxed);
                    self.measured.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                // Leave the CPUs to the workers while they get to sleep.
                std::thread::sleep(Duration::from_micros(20));
            }
        } else {
            let percent = 30 + (i.wrapping_mul(37) % 101) as u64;
            let ns = self.estimate_ns.load(Ordering::Relaxed) * percent / 100;
            spin_for(Duration::from_nanos(ns));
        }
    }
}

/// Runs `round(i)` until `ROUNDS` or `budget`; returns the number of rounds run.
fn rounds(budget: Duration, mut round: impl FnMut(usize)) -> usize {
    let start = Instant::now();
    let mut n = 0;
    while n < ROUNDS && start.elapsed() < budget {
        round(n);
        n += 1;
    }
    n
}

/// The workers were seen asleep before submissions, and did park and wake, often enough for
/// the run to have tested the sleep path (not only the spinning one). The number of rounds
/// is not asserted: on a loaded machine falling asleep takes milliseconds, and fewer rounds
/// fit the budget.
fn assert_slept(pool: &Pool, aim: &Aim) {
    let m = pool.metrics();
    let measured = aim.measured.load(Ordering::Relaxed);
    assert!(
        measured >= 10,
        "workers were seen asleep in only {measured} rounds"
    );
    assert!(m.total.wakeups >= 10, "workers hardly ever slept: {m:?}");
}

/// The lost-wake-up tests need the CPUs to themselves (on a loaded machine the idle
/// workers may not get to park at all): they hold this exclusively, the storms shared.
fn quiet() -> RwLockWriteGuard<'static, ()> {
    LOCK.write().unwrap_or_else(|e| e.into_inner())
}

fn shared() -> RwLockReadGuard<'static, ()> {
    LOCK.read().unwrap_or_else(|e| e.into_inner())
}

static LOCK: RwLock<()> = RwLock::new(());

/// A pool of 2 workers named `{tag}{i}`.
fn named_pool(backend: skewer::Backend, tag: &'static str) -> Pool {
    Pool::builder()
        .backend(backend)
        .num_threads(2)
        .thread_name(move |i| format!("{tag}{i}"))
        .build()
        .unwrap()
}

/// One cell per job of a storm scope; each job takes the next cell and bumps it.
struct Cells {
    cells: Vec<AtomicU64>,
    next: AtomicUsize,
}

impl Cells {
    fn new(n: usize) -> Self {
        Cells {
            cells: (0..n).map(|_| AtomicU64::new(0)).collect(),
            next: AtomicUsize::new(0),
        }
    }
    fn hit(&self) {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.cells[i].fetch_add(1, Ordering::SeqCst);
    }
    fn assert_each_once(&self) {
        assert_eq!(self.next.load(Ordering::SeqCst), self.cells.len());
        assert!(self.cells.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    }
}

/// 4 jobs; each opens a scope of 4 jobs, then spawns 4 more into the outer scope.
fn storm<'s>(s: &skewer::Scope<'s>, cells: &'s Cells) {
    for _ in 0..4 {
        s.spawn(move |outer| {
            cells.hit();
            skewer::scope(|inner| {
                for _ in 0..4 {
                    inner.spawn(|_| cells.hit());
                }
            });
            for _ in 0..4 {
                outer.spawn(|_| cells.hit());
            }
        });
    }
}

common::for_each_backend! {
    /// A per-backend thread-name prefix (`comm` keeps 15 bytes).
    fn tag(base: &'static str) -> &'static str {
        match BACKEND {
            skewer::Backend::Stealing => Box::leak(format!("{base}s-").into_boxed_str()),
            skewer::Backend::Channel => Box::leak(format!("{base}c-").into_boxed_str()),
        }
    }

    #[test]
    fn outside_spawns_as_workers_fall_asleep_are_never_lost() {
        let _lock = quiet();
        let tag = tag("lw1");
        let pool = named_pool(BACKEND, tag);
        let aim = Aim::new(tag, 2);
        let (tx, rx) = mpsc::channel();
        let n = rounds(LONG, |i| {
            aim.pause(i);
            let tx = tx.clone();
            pool.spawn(move || tx.send(i).unwrap()).unwrap();
            match rx.recv_timeout(LOST) {
                Ok(j) => assert_eq!(j, i),
                Err(_) => panic!(
                    "lost wake-up: job {i} not run within {LOST:?}; {:?}",
                    pool.metrics()
                ),
            }
        });
        assert!(n > 0);
        assert_slept(&pool, &aim);
    }

    #[test]
    fn spawns_from_two_outside_threads_as_workers_fall_asleep_are_never_lost() {
        let _lock = quiet();
        let tag = tag("lw2");
        let pool = named_pool(BACKEND, tag);
        // With two submitters both workers are rarely idle at once: aim at one falling asleep.
        let aim = Aim::new(tag, 1);
        let total = std::thread::scope(|ts| {
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    let (pool, aim) = (&pool, &aim);
                    ts.spawn(move || {
                        let (tx, rx) = mpsc::channel();
                        rounds(SHORT, |i| {
                            aim.pause(i * 3 + t);
                            let tx = tx.clone();
                            pool.spawn(move || tx.send(i).unwrap()).unwrap();
                            match rx.recv_timeout(LOST) {
                                Ok(j) => assert_eq!(j, i),
                                Err(_) => {
                                    panic!("lost wake-up: thread {t} job {i}; {:?}", pool.metrics())
                                }
                            }
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<usize>()
        });
        assert!(total > 0);
        assert_slept(&pool, &aim);
    }

    #[test]
    fn jobs_pushed_by_a_worker_wake_a_sleeping_peer() {
        let _lock = quiet();
        // A job spawns another and then blocks its own worker until the other one ran: only
        // the other worker, asleep or falling asleep, can run it. Detached spawns go to the
        // shared queue, scope spawns to the worker's own queue.
        let tag = tag("lw3");
        let pool = named_pool(BACKEND, tag);
        // Measured from the job: the one other worker is the sleeper.
        let aim = Arc::new(Aim::new(tag, 1));
        let (tx, rx) = mpsc::channel();
        let n = rounds(SHORT, |i| {
            let tx = tx.clone();
            let aim2 = aim.clone();
            pool.spawn(move || {
                aim2.pause(i);
                let (ytx, yrx) = mpsc::channel();
                let ok = if i % 2 == 0 {
                    skewer::spawn(move || ytx.send(()).unwrap());
                    yrx.recv_timeout(LOST).is_ok()
                } else {
                    skewer::scope(move |s| {
                        s.spawn(move |_| ytx.send(()).unwrap());
                        yrx.recv_timeout(LOST).is_ok()
                    })
                };
                tx.send(ok).unwrap();
            })
            .unwrap();
            match rx.recv_timeout(2 * LOST) {
                Ok(ok) => assert!(
                    ok,
                    "lost wake-up: the peer never ran round {i}'s job; {:?}",
                    pool.metrics()
                ),
                Err(_) => panic!("round {i} never finished; {:?}", pool.metrics()),
            }
        });
        assert!(n > 0);
        assert_slept(&pool, &aim);
    }

    #[test]
    fn join_storm_from_outside_threads_and_workers() {
        let _lock = shared();
        let pool = pool(2);
        let deadline = Instant::now() + Duration::from_millis(1500);
        let calls = AtomicUsize::new(0);
        std::thread::scope(|ts| {
            for t in 0..3u64 {
                let (pool, calls) = (&pool, &calls);
                ts.spawn(move || {
                    for i in 0..2000u64 {
                        if Instant::now() > deadline {
                            break;
                        }
                        let n = 6 + (i + t) % 8;
                        match i % 3 {
                            0 => assert_eq!(
                                pool.join(|| fib_join(n), || fib_join(n + 1)),
                                (fib(n), fib(n + 1))
                            ),
                            1 => assert_eq!(pool.install(|| fib_join(n + 2)), fib(n + 2)),
                            _ => {
                                let (a, b) = pool.install(|| {
                                    skewer::join(|| fib_join(n), || pool.join(|| 1, || fib_join(n)))
                                });
                                assert_eq!((a, b), (fib(n), (1, fib(n))));
                            }
                        }
                        calls.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(
            calls.load(Ordering::SeqCst) >= 10,
            "{} calls",
            calls.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn scope_storm_runs_every_job_exactly_once() {
        let _lock = shared();
        // Outside threads open scopes whose jobs open scopes of their own and spawn into the
        // outer one; every job bumps its own cell.
        const PER_SCOPE: usize = 4 * (1 + 4 + 4);
        let pool = pool(2);
        let deadline = Instant::now() + Duration::from_millis(1500);
        let scopes = AtomicUsize::new(0);
        std::thread::scope(|ts| {
            for _ in 0..3 {
                let (pool, scopes) = (&pool, &scopes);
                ts.spawn(move || {
                    for round in 0..500 {
                        if Instant::now() > deadline {
                            break;
                        }
                        let cells = Cells::new(PER_SCOPE);
                        if round % 2 == 0 {
                            pool.scope(|s| storm(s, &cells));
                        } else {
                            pool.install(|| skewer::scope(|s| storm(s, &cells)));
                        }
                        cells.assert_each_once();
                        scopes.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(
            scopes.load(Ordering::SeqCst) >= 10,
            "{} scopes",
            scopes.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn detached_spawns_during_a_join_storm_all_run() {
        let _lock = shared();
        let pool = pool(3);
        let ran = Arc::new(AtomicUsize::new(0));
        let spawned = AtomicUsize::new(0);
        let deadline = Instant::now() + Duration::from_millis(1000);
        std::thread::scope(|ts| {
            ts.spawn(|| {
                for _ in 0..200_000 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let ran = ran.clone();
                    pool.spawn(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap();
                    spawned.fetch_add(1, Ordering::SeqCst);
                }
            });
            ts.spawn(|| {
                while Instant::now() < deadline {
                    assert_eq!(pool.install(|| fib_join(16)), fib(16));
                }
            });
        });
        let spawned = spawned.load(Ordering::SeqCst);
        assert_eq!(common::wait_for_count(&ran, spawned, LOST), spawned);
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), spawned);
    }
}
