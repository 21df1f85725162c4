//! Conformance: the behaviour every backend must share. Each test runs once per backend
//! (`stealing::*` and `channel::*`, see `common::for_each_backend!`).

mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use common::{Watchdog, fib, fib_join, wait_for_count};
use skewer::Pool;

/// Generous bound for work that takes milliseconds: only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long a test that could deadlock may take before it fails as hung.
const HANG_LIMIT: Duration = Duration::from_secs(10);

/// Sums `v` with nested `skewer::join`s.
fn tree_sum(v: &[u64]) -> u64 {
    if v.len() <= 16 {
        return v.iter().sum();
    }
    let (l, r) = v.split_at(v.len() / 2);
    let (a, b) = skewer::join(|| tree_sum(l), || tree_sum(r));
    a + b
}

/// Counts each id's runs in its own cell; checks every id ran exactly once.
struct Tally(Vec<AtomicU8>);

impl Tally {
    fn new(n: usize) -> Self {
        Tally((0..n).map(|_| AtomicU8::new(0)).collect())
    }
    fn hit(&self, id: usize) {
        self.0[id].fetch_add(1, Ordering::SeqCst);
    }
    fn assert_exactly_once(&self) {
        let wrong: Vec<(usize, u8)> = self
            .0
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .enumerate()
            .filter(|&(_, runs)| runs != 1)
            .take(10)
            .collect();
        assert!(
            wrong.is_empty(),
            "(id, runs) not run exactly once: {wrong:?}"
        );
    }
}

common::for_each_backend! {
    #[test]
    fn detached_spawns_from_outside_run_exactly_once() {
        const N: usize = 10_000;
        let pool = pool(2);
        let tally = Arc::new(Tally::new(N));
        let done = Arc::new(AtomicUsize::new(0));
        for id in 0..N {
            let (tally, done) = (tally.clone(), done.clone());
            pool.spawn(move || {
                tally.hit(id);
                done.fetch_add(1, Ordering::SeqCst);
            })
            .expect("pool is open");
        }
        assert_eq!(wait_for_count(&done, N, PATIENCE), N);
        pool.shutdown();
        tally.assert_exactly_once();
        let m = pool.metrics();
        assert_eq!(m.total.jobs_executed, N as u64);
        assert_eq!(m.outside.injected, N as u64);
        assert_eq!(m.total.panics, 0);
    }

    #[test]
    fn the_peak_of_queued_jobs_counts_spawns_from_inside_the_pool() {
        // One worker runs the scope body, so its 1000 jobs all wait in a queue until the
        // body returns: the worker's deque (stealing) or the shared channel (channel), whose
        // depth is sampled every 16 pushes. The `install` job itself waited in the shared
        // queue before it ran (the peak is a sum of each queue's peak).
        const N: u64 = 1000;
        let pool = pool(1);
        let ran = AtomicUsize::new(0);
        pool.install(|| {
            skewer::scope(|s| {
                for _ in 0..N {
                    s.spawn(|_| {
                        ran.fetch_add(1, Ordering::Relaxed);
                    });
                }
            })
        });
        assert_eq!(ran.load(Ordering::Relaxed), N as usize);
        let peak = pool.metrics().peak_queued();
        assert!(
            (N - 16..=N + 1).contains(&peak),
            "peak queued {peak} for {N} queued jobs"
        );
    }

    #[test]
    fn spawns_from_inside_jobs_run_exactly_once() {
        // Every job spawns two children (through `Pool::spawn` and the free `spawn`) until
        // depth 10: 2^11 - 1 jobs in all.
        fn node(pool: Pool, id: usize, depth: u32, tally: Arc<Tally>, done: Arc<AtomicUsize>) {
            tally.hit(id);
            assert_eq!(
                skewer::current_num_threads(),
                3,
                "free fns must see this pool"
            );
            if depth < 10 {
                let (p, t, d) = (pool.clone(), tally.clone(), done.clone());
                pool.spawn(move || node(p, 2 * id + 1, depth + 1, t, d))
                    .expect("spawns from the pool's own jobs are accepted");
                let (p, t, d) = (pool.clone(), tally.clone(), done.clone());
                skewer::spawn(move || node(p, 2 * id + 2, depth + 1, t, d));
            }
            done.fetch_add(1, Ordering::SeqCst);
        }
        const N: usize = (1 << 11) - 1;
        let pool = pool(3);
        let tally = Arc::new(Tally::new(N));
        let done = Arc::new(AtomicUsize::new(0));
        let (p, t, d) = (pool.clone(), tally.clone(), done.clone());
        pool.spawn(move || node(p, 0, 0, t, d)).unwrap();
        assert_eq!(wait_for_count(&done, N, PATIENCE), N);
        tally.assert_exactly_once();
        assert_eq!(pool.metrics().total.jobs_executed, N as u64);
    }

    #[test]
    fn join_returns_both_results_from_outside_and_inside() {
        let pool = pool(2);
        // From outside: the caller takes part as a guest.
        assert_eq!(pool.join(|| 6 * 7, || "right"), (42, "right"));
        // From a worker.
        assert_eq!(pool.install(|| skewer::join(|| 1u8, || 2u64)), (1, 2));
        // Nested and parallel enough to be stolen.
        let n = common::miri_or(20, 7) as u64;
        assert_eq!(pool.install(|| fib_join(n)), fib(n));
        assert_eq!(
            pool.join(|| fib_join(n - 2), || fib_join(n - 3)),
            (fib(n - 2), fib(n - 3))
        );
        let v: Vec<u64> = (0..common::miri_or(100_000, 200) as u64).collect();
        assert_eq!(pool.install(|| tree_sum(&v)), v.iter().sum::<u64>());
        let half = v.len() / 2;
        assert_eq!(
            pool.join(|| tree_sum(&v[..half]), || tree_sum(&v[half..])).0,
            (0..half as u64).sum()
        );
    }

    #[test]
    fn join_halves_borrow_and_mutate_the_callers_stack() {
        let pool = pool(2);
        let mut left = vec![0u32; common::miri_or(1000, 50)];
        let mut right = vec![0u32; common::miri_or(1000, 50)];
        let ten = 10u32;
        pool.join(
            || {
                left.iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x = i as u32 + ten)
            },
            || {
                right
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x = i as u32 * ten)
            },
        );
        assert!(left.iter().enumerate().all(|(i, &x)| x == i as u32 + 10));
        assert!(right.iter().enumerate().all(|(i, &x)| x == i as u32 * 10));
    }

    #[test]
    fn scope_returns_the_body_value_after_all_jobs_finished() {
        let pool = pool(3);
        let finished = AtomicUsize::new(0);
        let out = pool.scope(|s| {
            for _ in 0..200 {
                s.spawn(|_| {
                    std::thread::sleep(Duration::from_micros(50));
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            "body"
        });
        assert_eq!(out, "body");
        // Not "eventually": every job has finished when `scope` returns.
        assert_eq!(finished.load(Ordering::SeqCst), 200);
    }

    #[test]
    fn scope_jobs_borrow_mutably_from_the_stack() {
        let pool = pool(2);
        let mut slots = vec![0usize; common::miri_or(10_000, 40)];
        let offset = 7;
        pool.scope(|s| {
            for (i, slot) in slots.iter_mut().enumerate() {
                s.spawn(move |_| *slot = i + offset);
            }
        });
        assert!(slots.iter().enumerate().all(|(i, &x)| x == i + 7));
        // The same from a worker, through the free function.
        pool.install(|| {
            skewer::scope(|s| {
                for slot in slots.iter_mut() {
                    s.spawn(move |_| *slot *= 2);
                }
            })
        });
        assert!(slots.iter().enumerate().all(|(i, &x)| x == 2 * (i + 7)));
    }

    #[test]
    fn nested_scope_spawns_belong_to_the_outer_scope() {
        // Jobs spawn jobs into the same scope, 4 levels deep, fan-out 4: 4 + 16 + 64 + 256.
        fn fan<'s>(s: &skewer::Scope<'s>, depth: u32, tally: &'s Tally, next: &'s AtomicUsize) {
            for _ in 0..4 {
                s.spawn(move |s| {
                    tally.hit(next.fetch_add(1, Ordering::SeqCst));
                    if depth < 4 {
                        fan(s, depth + 1, tally, next);
                    }
                });
            }
        }
        const N: usize = 4 + 16 + 64 + 256;
        let pool = pool(3);
        for from_worker in [false, true] {
            let tally = Tally::new(N);
            let next = AtomicUsize::new(0);
            let run = || skewer::scope(|s| fan(s, 1, &tally, &next));
            if from_worker {
                pool.install(run);
            } else {
                pool.scope(|s| fan(s, 1, &tally, &next));
            }
            assert_eq!(next.load(Ordering::SeqCst), N);
            tally.assert_exactly_once();
        }
    }

    #[test]
    fn scopes_joins_and_installs_nest() {
        // Every worker ends up waiting in a scope opened inside the first half of a join
        // whose second half is still private: the scope's jobs must still be found.
        common::within(HANG_LIMIT, "scopes_joins_and_installs_nest", || {
            let pool = pool(3);
            let total = AtomicU64::new(0);
            let r = pool.scope(|s| {
                for i in 0..8u64 {
                    let total = &total;
                    s.spawn(move |_| {
                        let inner = AtomicU64::new(0);
                        let (a, b) = skewer::join(
                            || {
                                skewer::scope(|s2| {
                                    s2.spawn(|_| {
                                        inner.fetch_add(i, Ordering::SeqCst);
                                    });
                                    s2.spawn(|_| {
                                        inner.fetch_add(fib_join(10), Ordering::SeqCst);
                                    });
                                    fib_join(12)
                                })
                            },
                            || fib_join(11),
                        );
                        // The scope waited for both of its jobs.
                        assert_eq!(inner.load(Ordering::SeqCst), i + fib(10));
                        total.fetch_add(a + b + i, Ordering::SeqCst);
                    });
                }
                pool.install(|| fib_join(15))
            });
            assert_eq!(r, fib(15));
            let expected: u64 = (0..8).map(|i| fib(12) + fib(11) + i).sum();
            assert_eq!(total.load(Ordering::SeqCst), expected);
        });
    }

    #[test]
    fn scope_inside_the_first_half_of_a_join_on_one_worker() {
        // The smallest form of the case above: one worker, a join whose first half opens a
        // scope that spawns one job. The join's second half is still a private fork when the
        // scope starts waiting.
        common::within(
            HANG_LIMIT,
            "install(join(scope(spawn), _)) on 1 worker",
            || {
                let pool = pool(1);
                let ran = AtomicUsize::new(0);
                let r = pool.install(|| {
                    skewer::join(
                        || {
                            skewer::scope(|s| {
                                s.spawn(|_| {
                                    ran.fetch_add(1, Ordering::SeqCst);
                                });
                                1
                            })
                        },
                        || 2,
                    )
                });
                assert_eq!(r, (1, 2));
                assert_eq!(ran.load(Ordering::SeqCst), 1);
            },
        );
    }

    #[test]
    fn scope_spawn_from_a_thread_outside_the_pool() {
        // The scope is handed to a plain thread, which spawns into it: the scope still waits.
        let pool = pool(2);
        let ran = AtomicUsize::new(0);
        pool.scope(|s| {
            std::thread::scope(|ts| {
                for _ in 0..4 {
                    ts.spawn(|| {
                        for _ in 0..25 {
                            s.spawn(|_| {
                                ran.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                    });
                }
            });
        });
        assert_eq!(ran.load(Ordering::SeqCst), 100);
        // The same with the scope opened on a worker.
        let ran = AtomicUsize::new(0);
        pool.install(|| {
            skewer::scope(|s| {
                std::thread::scope(|ts| {
                    ts.spawn(|| {
                        for _ in 0..50 {
                            s.spawn(|_| {
                                ran.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                    });
                });
            })
        });
        assert_eq!(ran.load(Ordering::SeqCst), 50);
    }

    #[test]
    fn install_runs_on_a_worker_and_routes_free_functions_to_the_pool() {
        let pool = pool(3);
        assert_eq!(skewer::current_thread_index(), None);
        let (index, threads, name) = pool.install(|| {
            (
                skewer::current_thread_index(),
                skewer::current_num_threads(),
                std::thread::current().name().map(String::from),
            )
        });
        let index = index.expect("install runs on a worker");
        assert!(index < 3);
        assert_eq!(threads, 3);
        assert_eq!(name.as_deref(), Some(format!("skewer-{index}").as_str()));
        // Called on one of the pool's own workers, install runs in place.
        let (outer, inner) = pool.install(|| {
            let outer = skewer::current_thread_index();
            (outer, pool.install(skewer::current_thread_index))
        });
        assert_eq!(outer, inner);
        // A detached job spawned by free `spawn` inside install lands in this pool.
        let (tx, rx) = mpsc::channel();
        pool.install(|| {
            skewer::spawn(move || {
                tx.send((
                    skewer::current_thread_index(),
                    skewer::current_num_threads(),
                ))
                .unwrap();
            })
        });
        let (i, n) = rx.recv_timeout(PATIENCE).expect("the job ran");
        assert!(i.is_some_and(|i| i < 3));
        assert_eq!(n, 3);
    }

    #[test]
    fn every_worker_has_a_distinct_index_and_its_handlers_run() {
        const N: usize = 3;
        let started = Arc::new(Mutex::new(Vec::new()));
        let exited = Arc::new(Mutex::new(Vec::new()));
        let (s2, e2) = (started.clone(), exited.clone());
        let pool = builder()
            .num_threads(N)
            .thread_name(|i| format!("conf-{i}"))
            .stack_size(1 << 20)
            .start_handler(move |i| s2.lock().unwrap().push(i))
            .exit_handler(move |i| e2.lock().unwrap().push(i))
            .build()
            .unwrap();
        // N detached jobs meeting at a barrier must run on N distinct workers at once.
        let _watchdog = Watchdog::arm("barrier of all workers", Duration::from_secs(60));
        let barrier = Arc::new(Barrier::new(N));
        let (tx, rx) = mpsc::channel();
        for _ in 0..N {
            let (barrier, tx) = (barrier.clone(), tx.clone());
            pool.spawn(move || {
                barrier.wait();
                let name = std::thread::current().name().map(String::from);
                tx.send((skewer::current_thread_index().unwrap(), name))
                    .unwrap();
            })
            .unwrap();
        }
        let mut seen = BTreeSet::new();
        for _ in 0..N {
            let (i, name) = rx.recv_timeout(PATIENCE).expect("all workers meet");
            assert_eq!(name, Some(format!("conf-{i}")));
            seen.insert(i);
        }
        assert_eq!(seen, (0..N).collect());
        pool.shutdown();
        let sorted = |v: &Mutex<Vec<usize>>| {
            let mut v = v.lock().unwrap().clone();
            v.sort();
            v
        };
        assert_eq!(sorted(&started), (0..N).collect::<Vec<_>>());
        assert_eq!(sorted(&exited), (0..N).collect::<Vec<_>>());
    }

    #[test]
    fn free_functions_follow_the_current_context() {
        let a = pool(2);
        let b = pool(3);
        // Outside any pool: the global pool; the caller is no worker.
        assert_eq!(skewer::current_thread_index(), None);
        assert!(skewer::current_num_threads() >= 1);
        assert_eq!(skewer::join(|| 1, || 2), (1, 2));
        let mut hits = [0u8; 4];
        skewer::scope(|s| {
            for h in hits.iter_mut() {
                s.spawn(move |_| *h += 1);
            }
        });
        assert_eq!(hits, [1; 4]);
        // A worker of `a` joining on `b` is a guest of `b` for the call: free functions in
        // there use `b`, and `a` again afterwards.
        let (inside_b, after) = a.install(|| {
            let (x, y) = b.join(skewer::current_num_threads, skewer::current_num_threads);
            let z = b.scope(|_| skewer::current_num_threads());
            ((x, y, z), skewer::current_num_threads())
        });
        assert_eq!(inside_b, (3, 3, 3));
        assert_eq!(after, 2);
        // `install` into another pool from a worker runs on that pool's worker.
        assert_eq!(a.install(|| b.install(skewer::current_num_threads)), 3);
        // The scope and join of a guest run their work in the right pool too.
        let counts = Mutex::new(HashSet::new());
        b.scope(|s| {
            for _ in 0..20 {
                s.spawn(|_| {
                    counts.lock().unwrap().insert(skewer::current_num_threads());
                });
            }
        });
        assert_eq!(counts.into_inner().unwrap(), HashSet::from([3]));
    }

    #[test]
    fn clones_share_one_pool() {
        let pool = pool(2);
        let clone = pool.clone();
        assert_eq!(clone.backend(), BACKEND);
        assert_eq!(clone.current_num_threads(), 2);
        let debug = format!("{pool:?}");
        assert!(debug.contains(&format!("{BACKEND:?}")), "{debug}");
        drop(pool);
        // Dropping one handle does not shut the pool down.
        assert!(!clone.is_shut_down());
        assert_eq!(clone.join(|| 1, || 2), (1, 2));
        let (tx, rx) = mpsc::channel();
        clone.spawn(move || tx.send(5).unwrap()).unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE), Ok(5));
        let other = clone.clone();
        other.shutdown();
        assert!(clone.is_shut_down());
        assert_eq!(clone.metrics().live_workers, 0);
    }

    #[test]
    fn metrics_count_jobs_and_submissions() {
        let pool = pool(2);
        let m = pool.metrics();
        assert_eq!(m.workers.len(), 2);
        assert_eq!(m.total.jobs_executed, 0);
        assert_eq!(m.live_workers, 2);
        assert_eq!(m.queued(), 0);
        match BACKEND {
            skewer::Backend::Stealing => assert_eq!(m.local_depths.len(), 2),
            skewer::Backend::Channel => assert!(m.local_depths.is_empty()),
        }

        // A scope from outside: 100 jobs.
        pool.scope(|s| {
            for _ in 0..100 {
                s.spawn(|_| {
                    std::hint::black_box(0);
                });
            }
        });
        let m = pool.metrics();
        assert_eq!(m.total.jobs_executed, 100);
        assert!(m.outside.injected >= 100, "{m:?}");

        // A scope on a worker: 50 jobs pushed from the worker, plus the install job.
        pool.install(|| {
            skewer::scope(|s| {
                for _ in 0..50 {
                    s.spawn(|_| {
                        std::hint::black_box(0);
                    });
                }
            })
        });
        let m = pool.metrics();
        assert_eq!(m.total.jobs_executed, 151);
        assert!(m.total.local_pushes >= 50, "{m:?}");

        // Detached jobs; shutdown drains them.
        for _ in 0..10 {
            pool.spawn(|| {}).unwrap();
        }
        pool.shutdown();
        let m = pool.metrics();
        assert_eq!(m.total.jobs_executed, 161);
        assert_eq!(m.total.panics, 0);
        assert_eq!(m.live_workers, 0);
        assert_eq!(m.queued(), 0);
        assert!(m.total.jobs_stolen >= m.total.steal_ops, "{m:?}");
        let per_worker: u64 = m.workers.iter().map(|w| w.jobs_executed).sum();
        assert_eq!(per_worker + m.outside.jobs_executed, m.total.jobs_executed);
        assert!(m.steals_per_1000_jobs().is_finite());
    }

    #[test]
    fn metrics_count_parks_and_wakeups() {
        // An idle worker parks; the next job wakes it. Retry while the machine is too
        // busy for the workers to have gone to sleep (bounded by count and time).
        let pool = pool(2);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut woke = false;
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(20));
            let (tx, rx) = mpsc::channel();
            pool.spawn(move || tx.send(()).unwrap()).unwrap();
            rx.recv_timeout(PATIENCE).expect("job ran");
            let m = pool.metrics();
            if m.total.wakeups >= 1 && m.total.parks >= 1 {
                woke = true;
                break;
            }
            if std::time::Instant::now() > deadline {
                break;
            }
        }
        assert!(woke, "{:?}", pool.metrics());
        let m = pool.metrics();
        assert!(m.total.busy_ns > 0, "{m:?}");
    }

    #[test]
    fn join_and_scope_from_many_outside_threads_at_once() {
        let pool = pool(2);
        std::thread::scope(|ts| {
            for t in 0..4u64 {
                let pool = &pool;
                ts.spawn(move || {
                    for i in 0..50u64 {
                        let (a, b) = pool.join(|| fib_join(8 + (i % 5)), || t * i);
                        assert_eq!((a, b), (fib(8 + (i % 5)), t * i));
                        let n = AtomicU64::new(0);
                        pool.scope(|s| {
                            for k in 0..8 {
                                let n = &n;
                                s.spawn(move |_| {
                                    n.fetch_add(k, Ordering::SeqCst);
                                });
                            }
                        });
                        assert_eq!(n.into_inner(), 28);
                    }
                });
            }
        });
    }
}
