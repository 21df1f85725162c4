//! Pools that compose: `install`, `join`, `scope` and `Scope::spawn` nested across two and
//! three pools complete on both backends, also when every worker of every pool is inside the
//! chain at once; a waiting thread helps only with work its wait depends on (rayon#592 stays
//! ruled out across pools); nesting deeper than `MAX_CROSS_POOL_NESTING` is refused with a
//! panic that names the limit; shutting a pool down mid-composition loses nothing.
//!
//! Every test runs under `common::within`, which fails it after a time limit instead of
//! letting a deadlock hang the run.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use common::{fib, fib_join, within};
use skewer::Pool;

/// Generous: a deadlock is the failure under test, not slowness on a loaded machine.
const LIMIT: Duration = Duration::from_secs(if cfg!(miri) { 3600 } else { 60 });

/// The size of the small trees the tests run at the far end of a chain.
const FIB: u64 = common::miri_or(12, 5) as u64;

/// Runs `jobs` as detached spawns into `pool` (one per worker, so that with a barrier
/// inside every worker holds one) and collects their results, bounded by `LIMIT`.
fn on_every_worker<R: Send + 'static>(
    pool: &Pool,
    jobs: Vec<Box<dyn FnOnce() -> R + Send>>,
) -> Vec<R> {
    let (tx, rx) = mpsc::channel();
    let n = jobs.len();
    for job in jobs {
        let tx = tx.clone();
        pool.spawn(move || tx.send(job()).unwrap()).unwrap();
    }
    (0..n)
        .map(|i| {
            rx.recv_timeout(LIMIT)
                .unwrap_or_else(|_| panic!("job {i} of {n} did not finish"))
        })
        .collect()
}

common::for_each_backend! {
    #[test]
    fn a_job_of_a_waits_in_b_install_while_b_calls_back_into_a() {
        within(LIMIT, "A -> B -> A, one thread each", || {
            let (a, b) = (pool(1), pool(1));
            // From outside, and from a job of A.
            assert_eq!(a.install(|| b.install(|| a.install(|| 1) + 1)), 2);
            let (a2, b2) = (a.clone(), b.clone());
            let out = on_every_worker(
                &a,
                vec![Box::new(move || b2.install(|| a2.install(|| fib_join(FIB))))],
            );
            assert_eq!(out, [fib(FIB)]);
        });
    }

    #[test]
    fn every_worker_of_a_inside_b_install_calling_back_into_a() {
        for n in [1, 2, 3] {
            within(LIMIT, "A -> B -> A, every A worker inside", move || {
                let (a, b) = (pool(n), pool(n));
                let inside = Arc::new(Barrier::new(n));
                let jobs = (0..n)
                    .map(|i| {
                        let (a, b, inside) = (a.clone(), b.clone(), inside.clone());
                        Box::new(move || {
                            inside.wait(); // every worker of A holds one of these jobs
                            b.install(|| a.install(|| skewer::join(|| i, || fib_join(FIB))))
                        }) as Box<dyn FnOnce() -> (usize, u64) + Send>
                    })
                    .collect();
                let mut out = on_every_worker(&a, jobs);
                out.sort();
                assert_eq!(out, (0..n).map(|i| (i, fib(FIB))).collect::<Vec<_>>());
            });
        }
    }

    #[test]
    fn a_b_c_a_with_every_worker_of_every_pool_inside_the_chain() {
        for n in [1, 2] {
            within(LIMIT, "A -> B -> C -> A, every worker inside", move || {
                let (a, b, c) = (pool(n), pool(n), pool(n));
                // One barrier per pool: the chain goes on only once every worker of that
                // pool holds a link of it.
                let at: Arc<[Barrier; 3]> =
                    Arc::new([Barrier::new(n), Barrier::new(n), Barrier::new(n)]);
                let jobs = (0..n)
                    .map(|i| {
                        let (a, b, c, at) = (a.clone(), b.clone(), c.clone(), at.clone());
                        Box::new(move || {
                            at[0].wait();
                            b.install(|| {
                                at[1].wait();
                                c.install(|| {
                                    at[2].wait();
                                    a.install(|| {
                                        let (x, y) = skewer::join(|| fib_join(FIB), || i as u64);
                                        x + y
                                    })
                                })
                            })
                        }) as Box<dyn FnOnce() -> u64 + Send>
                    })
                    .collect();
                let mut out = on_every_worker(&a, jobs);
                out.sort();
                let want: Vec<u64> = (0..n as u64).map(|i| fib(FIB) + i).collect();
                assert_eq!(out, want);
            });
        }
    }

    #[test]
    fn independent_roots_crossing_pools_in_opposite_directions_complete() {
        // Every worker of A waits in `B.install` while every worker of B waits in
        // `A.install`, and each waits for a job queued behind the other pool's roots: none
        // of the queued jobs descends from any waiter's target, so no waiter may run it. A
        // pool whose workers all block on another pool starts a spare thread for its
        // queued work (rayon-core instead runs it on the waiting threads).
        for n in [1, 2] {
            within(LIMIT, "A -> B and B -> A at once", move || {
                let (a, b) = (pool(n), pool(n));
                let everyone = Arc::new(Barrier::new(2 * n));
                let (tx, rx) = mpsc::channel();
                for i in 0..n {
                    for (here, there) in [(&a, &b), (&b, &a)] {
                        let (there, everyone, tx) = (there.clone(), everyone.clone(), tx.clone());
                        here.spawn(move || {
                            everyone.wait();
                            tx.send(there.install(|| i + 1)).unwrap();
                        })
                        .unwrap();
                    }
                }
                let mut got: Vec<usize> = (0..2 * n)
                    .map(|_| rx.recv_timeout(LIMIT).expect("every root finishes"))
                    .collect();
                got.sort();
                let mut want: Vec<usize> = (0..n).flat_map(|i| [i + 1, i + 1]).collect();
                want.sort();
                assert_eq!(got, want);
                assert!(
                    a.metrics().spares_started + b.metrics().spares_started >= 1,
                    "a spare thread ran the queued work"
                );
                // Shutdown waits for spares as for workers.
                a.shutdown();
                b.shutdown();
            });
        }
    }

    #[test]
    fn three_pools_in_a_ring_each_waiting_on_the_next_complete() {
        within(LIMIT, "A -> B, B -> C, C -> A at once", || {
            let pools = [pool(1), pool(1), pool(1)];
            let everyone = Arc::new(Barrier::new(3));
            let (tx, rx) = mpsc::channel();
            for k in 0..3 {
                let (next, everyone, tx) = (pools[(k + 1) % 3].clone(), everyone.clone(), tx.clone());
                pools[k]
                    .spawn(move || {
                        everyone.wait();
                        tx.send(next.install(|| skewer::join(|| k, || FIB).0)).unwrap();
                    })
                    .unwrap();
            }
            let mut got: Vec<usize> =
                (0..3).map(|_| rx.recv_timeout(LIMIT).expect("every root finishes")).collect();
            got.sort();
            assert_eq!(got, [0, 1, 2]);
        });
    }

    #[test]
    fn scope_jobs_go_through_another_pool_and_back() {
        within(LIMIT, "scope -> B -> A join/scope", || {
            let shapes: &[(usize, usize)] = if cfg!(miri) { &[(1, 1)] } else { &[(1, 1), (2, 1), (1, 2), (2, 2)] };
            for &(na, nb) in shapes {
                let (a, b) = (pool(na), pool(nb));
                let jobs = common::miri_or(24, 3);
                let mut out = vec![0u64; jobs];
                a.install(|| {
                    skewer::scope(|s| {
                        for (i, slot) in out.iter_mut().enumerate() {
                            let (a, b) = (&a, &b);
                            s.spawn(move |_| {
                                *slot = b.install(|| {
                                    // Back into A, both as a guest (join/scope) and as a
                                    // submission (install).
                                    let (x, y) = a.join(|| fib_join(FIB), || i as u64);
                                    let z = AtomicU64::new(0);
                                    a.scope(|s| {
                                        for k in 0..3u64 {
                                            let z = &z;
                                            s.spawn(move |_| {
                                                z.fetch_add(k, Ordering::Relaxed);
                                            });
                                        }
                                    });
                                    x + y + z.into_inner() + a.install(|| 1)
                                });
                            });
                        }
                    })
                });
                let want: Vec<u64> = (0..jobs as u64).map(|i| fib(FIB) + i + 3 + 1).collect();
                assert_eq!(out, want, "{na} and {nb} threads");
            }
        });
    }

    #[test]
    fn joins_alternate_between_two_pools() {
        fn alternate(depth: u32, here: &Pool, there: &Pool) -> u64 {
            if depth == 0 {
                return 1;
            }
            let (x, y) = here.join(
                || alternate(depth - 1, there, here),
                || alternate(depth - 1, there, here),
            );
            x + y
        }
        within(LIMIT, "joins alternating between A and B", || {
            let depth = common::miri_or(9, 3) as u32;
            for n in [1, 2] {
                let (a, b) = (pool(n), pool(n));
                assert_eq!(alternate(depth, &a, &b), 1 << depth);
                assert_eq!(a.install(|| alternate(depth, &b, &a)), 1 << depth);
                assert_eq!(b.install(|| a.install(|| alternate(depth, &a, &b))), 1 << depth);
            }
        });
    }

    #[test]
    fn a_waiter_across_pools_never_runs_a_job_that_takes_its_lock() {
        // rayon#592 across two pools: a job of A holds a lock while it waits in
        // `b.install`, whose body sends work back into A. Takers of the same lock are
        // queued in A beside it. The waiting A worker runs the work sent back (it descends
        // from its wait) and never a taker (that would deadlock on its own lock).
        within(LIMIT, "rayon#592 across pools", || {
            for n in [1, 2] {
                let (a, b) = (pool(n), pool(n));
                let lock = Arc::new(Mutex::new(0u64));
                let (tx, rx) = mpsc::channel();
                let mut expected = 0;
                for k in 0..12u64 {
                    let (a2, b2, lock, tx) = (a.clone(), b.clone(), lock.clone(), tx.clone());
                    if k % 3 == 0 {
                        expected += 1000;
                        a.spawn(move || {
                            let mut guard = lock.lock().unwrap();
                            let got = b2.install(|| {
                                a2.install(|| fib_join(12)) + a2.join(|| 1, || 2).1
                            });
                            assert_eq!(got, fib(12) + 2);
                            *guard += 1000;
                            drop(guard);
                            tx.send(()).unwrap();
                        })
                        .unwrap();
                    } else {
                        expected += 1;
                        a.spawn(move || {
                            *lock.lock().unwrap() += 1;
                            tx.send(()).unwrap();
                        })
                        .unwrap();
                    }
                }
                for _ in 0..12 {
                    rx.recv_timeout(LIMIT).expect("every locker and taker finishes");
                }
                assert_eq!(*lock.lock().unwrap(), expected);
            }
        });
    }

    #[test]
    fn nesting_within_the_limit_completes_and_beyond_it_is_refused() {
        fn alternate(levels: usize, here: &Pool, there: &Pool) -> usize {
            if levels == 0 {
                return 0;
            }
            here.install(|| alternate(levels - 1, there, here)) + 1
        }
        within(LIMIT, "deep alternation of installs", || {
            let big = || builder().num_threads(1).stack_size(16 << 20).build().unwrap();
            let (a, b) = (big(), big());
            // Each thread holds every other level: twice the per-thread limit fits.
            let fits = 2 * skewer::MAX_CROSS_POOL_NESTING;
            assert_eq!(alternate(fits, &a, &b), fits);
            let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                alternate(10_000, &a, &b)
            }))
            .expect_err("10 000 nested cross-pool installs are refused");
            let message = refused
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert!(
                message.contains("MAX_CROSS_POOL_NESTING"),
                "the panic names the limit: {message:?}"
            );
            // Both pools are still usable.
            assert_eq!(alternate(10, &a, &b), 10);
        });
    }

    #[test]
    fn a_broadcast_past_the_nesting_limit_is_refused_before_any_share_is_queued() {
        fn alternate(levels: usize, here: &Pool, there: &Pool, bottom: &(dyn Fn() + Sync)) {
            if levels == 0 {
                return bottom();
            }
            here.install(|| alternate(levels - 1, there, here, bottom))
        }
        within(LIMIT, "a broadcast at the nesting limit", || {
            let big = || builder().num_threads(1).stack_size(16 << 20).build().unwrap();
            let (a, b, c) = (big(), big(), pool(2));
            let ran = AtomicUsize::new(0);
            // 2 * MAX + 1 levels: the first is entered from outside every pool, and the two
            // threads hold MAX of the others each; the broadcast into a third pool is one
            // level too many for the thread at the bottom.
            let bottom = || {
                c.broadcast(|_| {
                    ran.fetch_add(1, Ordering::SeqCst);
                });
            };
            let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                alternate(2 * skewer::MAX_CROSS_POOL_NESTING + 1, &a, &b, &bottom)
            }))
            .expect_err("the broadcast is one nested level too many");
            let message = refused
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert!(message.contains("MAX_CROSS_POOL_NESTING"), "{message:?}");
            // Nothing of it was queued: no share runs, now or later.
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(ran.load(Ordering::SeqCst), 0, "a share of the refused broadcast ran");
            // The pool is still usable.
            assert_eq!(c.broadcast(|ctx| ctx.index()).len(), 2);
        });
    }

    #[test]
    fn shutting_b_down_while_a_waits_on_it_loses_nothing() {
        within(LIMIT, "B shut down mid-composition", || {
            for n in [1, 2] {
                let (a, b) = (pool(n), pool(n));
                let done = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = mpsc::channel();
                const JOBS: usize = 16;
                for i in 0..JOBS {
                    let (a2, b2, done, tx) = (a.clone(), b.clone(), done.clone(), tx.clone());
                    a.spawn(move || {
                        // Accepted by B, or (once B is closed) run here: never lost.
                        let v = b2.install(|| {
                            std::thread::sleep(Duration::from_millis(1));
                            a2.install(|| i * 2)
                        });
                        assert_eq!(v, i * 2);
                        done.fetch_add(1, Ordering::SeqCst);
                        tx.send(()).unwrap();
                    })
                    .unwrap();
                }
                std::thread::sleep(Duration::from_millis(2));
                b.shutdown();
                assert!(b.is_shut_down());
                for _ in 0..JOBS {
                    rx.recv_timeout(LIMIT).expect("every job of A finishes");
                }
                assert_eq!(done.load(Ordering::SeqCst), JOBS);
                assert_eq!(b.metrics().live_workers, 0);
            }
        });
    }

    #[test]
    fn an_install_body_sent_back_to_a_guest_still_runs_on_a_worker() {
        within(LIMIT, "install body never runs on a helping guest", || {
            let (a, b) = (pool(1), pool(1));
            for _ in 0..20 {
                // The outside thread takes part in `a.join` as a guest, and waits in
                // `b.install` for a body that installs back into `a`: that body descends
                // from what the guest waits for, but it is an `install` body, so one of
                // `a`'s workers runs it, never the guest.
                let (index, ()) = a.join(|| b.install(|| a.install(skewer::current_thread_index)), || ());
                assert_eq!(index, Some(0));
            }
        });
    }

    #[test]
    fn a_worker_of_a_inside_b_join_calling_a_install_runs_it_in_place() {
        within(LIMIT, "A worker, B guest, A install", || {
            let (a, b) = (pool(2), pool(2));
            let out = a.install(|| {
                let me = skewer::current_thread_index();
                b.join(
                    || a.install(|| (skewer::current_thread_index(), me)),
                    || 0,
                )
                .0
            });
            assert!(out.0.is_some());
            assert_eq!(out.0, out.1, "the A worker ran its own install in place");
        });
    }
}

/// A random program over a few pools: leaves count their runs, the rest nest.
#[derive(Clone, Debug)]
enum Op {
    Leaf,
    Install(usize, Box<Op>),
    Join(usize, Box<Op>, Box<Op>),
    FreeJoin(Box<Op>, Box<Op>),
    Scope(usize, Vec<Op>),
}

mod programs {
    use super::*;
    use proptest::prelude::*;

    fn op(pools: usize) -> impl Strategy<Value = Op> {
        let leaf = Just(Op::Leaf);
        // Installs weigh most: chains of them across pools are what could deadlock.
        leaf.prop_recursive(6, 48, 4, move |inner| {
            prop_oneof![
                4 => (0..pools, inner.clone()).prop_map(|(p, o)| Op::Install(p, Box::new(o))),
                2 => (0..pools, inner.clone(), inner.clone())
                    .prop_map(|(p, x, y)| Op::Join(p, Box::new(x), Box::new(y))),
                1 => (inner.clone(), inner.clone())
                    .prop_map(|(x, y)| Op::FreeJoin(Box::new(x), Box::new(y))),
                2 => (0..pools, prop::collection::vec(inner, 0..4))
                    .prop_map(|(p, v)| Op::Scope(p, v)),
            ]
        })
    }

    /// Numbers the leaves in order; returns how many there are.
    fn count_leaves(op: &Op) -> usize {
        match op {
            Op::Leaf => 1,
            Op::Install(_, o) => count_leaves(o),
            Op::Join(_, x, y) | Op::FreeJoin(x, y) => count_leaves(x) + count_leaves(y),
            Op::Scope(_, v) => v.iter().map(count_leaves).sum(),
        }
    }

    /// Runs `op`; leaf `first` and the following ones tick their own counter.
    fn run(op: &Op, first: usize, pools: &[Pool], hits: &[AtomicUsize]) {
        match op {
            Op::Leaf => {
                hits[first].fetch_add(1, Ordering::SeqCst);
            }
            Op::Install(p, o) => pools[*p].install(|| run(o, first, pools, hits)),
            Op::Join(p, x, y) => {
                let mid = first + count_leaves(x);
                pools[*p].join(|| run(x, first, pools, hits), || run(y, mid, pools, hits));
            }
            Op::FreeJoin(x, y) => {
                let mid = first + count_leaves(x);
                skewer::join(|| run(x, first, pools, hits), || run(y, mid, pools, hits));
            }
            Op::Scope(p, v) => pools[*p].scope(|s| {
                let mut at = first;
                for o in v {
                    s.spawn(move |_| run(o, at, pools, hits));
                    at += count_leaves(o);
                }
            }),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any program over 2-3 pools of 1-3 threads, on either backend, completes and runs
        /// every leaf exactly once, called from outside, installed into a pool, spawned into
        /// one and waited for from outside, or installed twice at once (the program into
        /// the first pool and a twin over shifted pools into the second).
        #[test]
        fn random_programs_over_several_pools_complete_exactly_once(
            sizes in prop::collection::vec(1usize..=3, 2..=3),
            channel in prop::collection::vec(any::<bool>(), 3),
            program in op(3),
            start in 0..4u8,
        ) {
            let pools: Vec<Pool> = sizes
                .iter()
                .zip(&channel)
                .map(|(&n, &c)| {
                    let backend = if c { skewer::Backend::Channel } else { skewer::Backend::Stealing };
                    Pool::builder().backend(backend).num_threads(n).build().unwrap()
                })
                .collect();
            // Pool indices in the program may exceed the pools drawn: wrap them.
            let program = wrap(program, pools.len());
            let leaves = count_leaves(&program);
            let tally = || -> Arc<Vec<AtomicUsize>> {
                Arc::new((0..leaves).map(|_| AtomicUsize::new(0)).collect())
            };
            let (hits, twin_hits) = (tally(), tally());
            let (p2, h2, prog) = (pools.clone(), hits.clone(), program.clone());
            let (twin, t2) = (shift(program.clone(), pools.len()), twin_hits.clone());
            within(LIMIT, "random cross-pool program", move || match start {
                // Called from outside any pool.
                0 => run(&prog, 0, &p2, &h2),
                // From inside the first pool.
                1 => p2[0].install(|| run(&prog, 0, &p2, &h2)),
                // Two independent roots at once: the program installed into the first
                // pool, and its twin (every pool index shifted by one) into the second.
                3 => std::thread::scope(|ts| {
                    ts.spawn(|| p2[1].install(|| run(&twin, 0, &p2, &t2)));
                    p2[0].install(|| run(&prog, 0, &p2, &h2));
                }),
                // Spawned into the first pool and waited for by the outside thread.
                _ => {
                    let (tx, rx) = mpsc::channel();
                    let pools = p2.clone();
                    p2[0]
                        .spawn(move || {
                            run(&prog, 0, &pools, &h2);
                            tx.send(()).unwrap();
                        })
                        .unwrap();
                    rx.recv_timeout(LIMIT).expect("the spawned program finished");
                }
            });
            for (i, h) in hits.iter().enumerate() {
                prop_assert_eq!(h.load(Ordering::SeqCst), 1, "leaf {} of {}", i, leaves);
            }
            let twin_runs = usize::from(start == 3);
            for (i, h) in twin_hits.iter().enumerate() {
                prop_assert_eq!(h.load(Ordering::SeqCst), twin_runs, "twin leaf {} of {}", i, leaves);
            }
        }
    }

    /// `op` with every pool index moved to the next pool.
    fn shift(op: Op, n: usize) -> Op {
        match op {
            Op::Leaf => Op::Leaf,
            Op::Install(p, o) => Op::Install((p + 1) % n, Box::new(shift(*o, n))),
            Op::Join(p, x, y) => {
                Op::Join((p + 1) % n, Box::new(shift(*x, n)), Box::new(shift(*y, n)))
            }
            Op::FreeJoin(x, y) => Op::FreeJoin(Box::new(shift(*x, n)), Box::new(shift(*y, n))),
            Op::Scope(p, v) => Op::Scope((p + 1) % n, v.into_iter().map(|o| shift(o, n)).collect()),
        }
    }

    fn wrap(op: Op, n: usize) -> Op {
        match op {
            Op::Leaf => Op::Leaf,
            Op::Install(p, o) => Op::Install(p % n, Box::new(wrap(*o, n))),
            Op::Join(p, x, y) => Op::Join(p % n, Box::new(wrap(*x, n)), Box::new(wrap(*y, n))),
            Op::FreeJoin(x, y) => Op::FreeJoin(Box::new(wrap(*x, n)), Box::new(wrap(*y, n))),
            Op::Scope(p, v) => Op::Scope(p % n, v.into_iter().map(|o| wrap(o, n)).collect()),
        }
    }
}

#[test]
fn both_halves_of_a_join_panicking_raise_the_first_outside_any_unwinding() {
    common::quiet_boom();
    within(LIMIT, "join with two panics", || {
        for backend in common::BACKENDS {
            let pool = Pool::builder()
                .backend(backend)
                .num_threads(2)
                .build()
                .unwrap();
            let b_saw_unwinding = AtomicBool::new(true);
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.join(
                    || common::boom(1),
                    || {
                        b_saw_unwinding.store(std::thread::panicking(), Ordering::SeqCst);
                        common::boom(2)
                    },
                )
            }))
            .expect_err("the join re-raises");
            assert_eq!(
                common::boom_id(&*caught),
                1,
                "a's panic is the one re-raised"
            );
            assert!(
                !b_saw_unwinding.load(Ordering::SeqCst),
                "b ran inside a destructor during unwinding"
            );
        }
    });
}
