//! `broadcast`, `spawn_broadcast`, `yield_now`, `yield_local` and
//! `current_thread_has_pending_tasks` under their rayon-core names, on both backends.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::within;
use skewer::{Backend, Pool, Yield};

/// Generous bound for work that takes milliseconds: only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(20);

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_string()
}

common::for_each_backend! {
    #[test]
    fn broadcast_runs_once_on_every_worker_in_index_order() {
        let pool = pool(3);
        let seen = within(PATIENCE, "broadcast", move || {
            pool.broadcast(|ctx| {
                (ctx.index(), ctx.num_threads(), skewer::current_thread_index(), thread_name())
            })
        });
        let expected: Vec<_> =
            (0..3).map(|i| (i, 3, Some(i), format!("skewer-{i}"))).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn broadcast_from_a_worker_runs_its_own_share_in_place_and_borrows() {
        let pool = Arc::new(pool(2));
        let p = Arc::clone(&pool);
        let out = within(PATIENCE, "broadcast from a worker", move || {
            let local = [10, 20];
            p.install(|| {
                let me = skewer::current_thread_index().unwrap();
                let shares = p.broadcast(|ctx| (ctx.index(), local[ctx.index()], thread_name()));
                (me, shares)
            })
        });
        let (me, shares) = out;
        assert_eq!(shares[me].2, format!("skewer-{me}"));
        assert_eq!(shares.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), [(0, 10), (1, 20)]);
    }

    #[test]
    fn broadcast_waits_for_a_busy_worker_to_come_back() {
        // Worker 0 is held inside a job; the broadcast completes once it is released.
        let pool = Arc::new(pool(2));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let holding = Arc::new(AtomicBool::new(false));
        let h = Arc::clone(&holding);
        pool.spawn(move || {
            h.store(true, Ordering::SeqCst);
            go_rx.recv().unwrap();
        })
        .unwrap();
        while !holding.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let p = Arc::clone(&pool);
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || done_tx.send(p.broadcast(|ctx| ctx.index())).unwrap());
        assert!(done_rx.recv_timeout(Duration::from_millis(100)).is_err(), "a share ran on a busy worker");
        go_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(PATIENCE).unwrap(), [0, 1]);
    }

    /// The idle worker runs its share and then parks, while the busy worker's share waits
    /// for it. It used to count that share as work of its own and stay awake, re-checking,
    /// until the busy worker came back: a core's worth of CPU for the whole wait.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_worker_goes_idle_while_only_a_busy_peers_share_waits() {
        // A thread's CPU time so far, from its own `/proc/thread-self` link.
        fn cpu_of(task: &std::path::Path) -> Duration {
            let stat = std::fs::read_to_string(task.join("schedstat")).unwrap();
            Duration::from_nanos(stat.split_whitespace().next().unwrap().parse().unwrap())
        }
        let pool = Arc::new(pool(2));
        let tasks: Vec<std::path::PathBuf> =
            pool.broadcast(|_| std::path::Path::new("/proc").join(std::fs::read_link("/proc/thread-self").unwrap()));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let held = Arc::new(AtomicUsize::new(usize::MAX));
        let h = Arc::clone(&held);
        pool.spawn(move || {
            h.store(skewer::current_thread_index().unwrap(), Ordering::SeqCst);
            go_rx.recv().unwrap();
        })
        .unwrap();
        let idle = loop {
            match held.load(Ordering::SeqCst) {
                usize::MAX => std::thread::yield_now(),
                busy => break 1 - busy,
            }
        };
        let p = Arc::clone(&pool);
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || done_tx.send(p.broadcast(|ctx| ctx.index())).unwrap());
        // Its share runs at once; then it lingers (its peer is busy) for at most 0.5 ms.
        std::thread::sleep(Duration::from_millis(50));
        let before = cpu_of(&tasks[idle]);
        let window = Duration::from_millis(300);
        assert!(done_rx.recv_timeout(window).is_err(), "a share ran on a busy worker");
        let used = cpu_of(&tasks[idle]) - before;
        go_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(PATIENCE).unwrap(), [0, 1]);
        assert!(used < window / 10, "the idle worker used {used:?} of CPU in {window:?}");
    }

    /// After the last handle is dropped, the pool's own jobs may still broadcast: the
    /// workers stay while a job runs, and every share runs on its own worker. A detached
    /// broadcast from such a job used to be refused and then hit an `unreachable!`; a
    /// blocking one ran every share on the calling thread.
    #[test]
    fn a_closed_pools_own_job_still_broadcasts_to_every_worker() {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (shares_tx, shares_rx) = mpsc::channel();
        let (detached_tx, detached_rx) = mpsc::channel();
        {
            let pool = pool(2);
            pool.spawn(move || {
                go_rx.recv().unwrap();
                let shares = skewer::broadcast(|ctx| (ctx.index(), skewer::current_thread_index()));
                shares_tx.send(shares).unwrap();
                skewer::spawn_broadcast(move |ctx| {
                    detached_tx.send((ctx.index(), skewer::current_thread_index())).unwrap();
                });
            })
            .unwrap();
        }
        go_tx.send(()).unwrap();
        assert_eq!(shares_rx.recv_timeout(PATIENCE).unwrap(), [(0, Some(0)), (1, Some(1))]);
        let mut detached: Vec<_> = (0..2).map(|_| detached_rx.recv_timeout(PATIENCE).unwrap()).collect();
        detached.sort();
        assert_eq!(detached, [(0, Some(0)), (1, Some(1))]);
    }

    #[test]
    fn broadcast_reraises_a_share_panic_after_every_share_ran() {
        let pool = builder().num_threads(3).panic_handler(|_| {}).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        let caught = within(PATIENCE, "panicking broadcast", move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.broadcast(|ctx| {
                    r.fetch_add(1, Ordering::SeqCst);
                    if ctx.index() == 1 {
                        std::panic::panic_any("share 1 fails");
                    }
                })
            }))
        });
        let payload = caught.expect_err("the panic is re-raised");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"share 1 fails"));
        assert_eq!(ran.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn spawn_broadcast_reaches_every_worker_and_is_refused_after_shutdown() {
        let pool = pool(3);
        let names = Arc::new(Mutex::new(Vec::new()));
        let n = Arc::clone(&names);
        pool.spawn_broadcast(move |ctx| n.lock().unwrap().push((ctx.index(), thread_name())))
            .unwrap();
        pool.shutdown();
        let mut got = names.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, (0..3).map(|i| (i, format!("skewer-{i}"))).collect::<Vec<_>>());
        let refused = pool.spawn_broadcast(|_| {}).unwrap_err();
        let _op = refused.into_inner();
    }

    #[test]
    fn broadcast_after_shutdown_runs_every_share_on_the_caller() {
        let pool = pool(2);
        pool.shutdown();
        let me = thread_name();
        let seen = pool.broadcast(|ctx| (ctx.index(), thread_name()));
        assert_eq!(seen, [(0, me.clone()), (1, me)]);
    }

    #[test]
    fn broadcasts_racing_with_many_spawns_all_complete() {
        let pool = Arc::new(pool(2));
        let p = Arc::clone(&pool);
        within(PATIENCE, "broadcast storm", move || {
            let count = Arc::new(AtomicUsize::new(0));
            for round in 0..common::miri_or(200, 5) {
                let c = Arc::clone(&count);
                p.spawn(move || { c.fetch_add(1, Ordering::SeqCst); }).unwrap();
                let from_a_job = p.install(|| p.broadcast(|ctx| ctx.index() + round));
                assert_eq!(from_a_job, [round, round + 1]);
                assert_eq!(p.broadcast(|ctx| ctx.index()), [0, 1]);
            }
        });
    }

    #[test]
    fn yield_runs_only_work_of_the_job_that_yields() {
        let pool = Arc::new(pool(1));
        let p = Arc::clone(&pool);
        within(PATIENCE, "yield", move || {
            assert_eq!(skewer::yield_now(), None);
            assert_eq!(p.yield_now(), None);
            let unrelated_ran = Arc::new(AtomicBool::new(false));
            let u = Arc::clone(&unrelated_ran);
            p.install(|| {
                // An unrelated detached job waits in the shared queue...
                p.spawn(move || u.store(true, Ordering::SeqCst)).unwrap();
                // ...and a yield does not run it: it is not part of this job's work.
                assert_eq!(skewer::yield_now(), Some(Yield::Idle));
                assert_eq!(p.yield_local(), Some(Yield::Idle));
                let ran = AtomicBool::new(false);
                p.scope(|s| {
                    s.spawn(|_| ran.store(true, Ordering::SeqCst));
                    // A scope job is the worker's own only where workers have deques; on
                    // the channel backend it sits in the shared queue, out of a local yield.
                    if BACKEND == Backend::Stealing {
                        assert_eq!(skewer::yield_local(), Some(Yield::Executed));
                    } else {
                        assert_eq!(skewer::yield_local(), Some(Yield::Idle));
                        // One look at the shared queue takes its oldest job; the unrelated
                        // one ahead of ours goes back to the tail, so a second yield runs ours.
                        let yields: Vec<_> = (0..2).map(|_| skewer::yield_now()).collect();
                        assert!(yields.contains(&Some(Yield::Executed)), "{yields:?}");
                    }
                    assert!(ran.load(Ordering::SeqCst));
                    s.spawn(|_| {});
                    // (Twice at most, for the unrelated job ahead in the channel.)
                    let yields: Vec<_> = (0..2).map(|_| p.yield_now()).collect();
                    assert!(yields.contains(&Some(Yield::Executed)), "{yields:?}");
                    assert_eq!(p.yield_now(), Some(Yield::Idle));
                });
            });
            // Once the job is done, the worker runs the detached job.
            let start = std::time::Instant::now();
            while !unrelated_ran.load(Ordering::SeqCst) {
                assert!(start.elapsed() < PATIENCE);
                std::thread::yield_now();
            }
        });
    }

    #[test]
    fn pending_tasks_are_the_workers_own_queued_jobs_and_private_forks() {
        let pool = Arc::new(pool(1));
        let p = Arc::clone(&pool);
        within(PATIENCE, "pending tasks", move || {
            assert_eq!(p.current_thread_has_pending_tasks(), None);
            assert_eq!(skewer::current_thread_has_pending_tasks(), None);
            p.install(|| {
                assert_eq!(skewer::current_thread_has_pending_tasks(), Some(false));
                p.scope(|s| {
                    s.spawn(|_| {});
                    // Queued on the worker's own deque; the channel backend has none.
                    assert_eq!(
                        p.current_thread_has_pending_tasks(),
                        Some(BACKEND == Backend::Stealing)
                    );
                });
                assert_eq!(p.current_thread_has_pending_tasks(), Some(false));
                // Inside `a` of a join, `b` is a private fork: pending.
                let ((), ()) = skewer::join(
                    || assert_eq!(skewer::current_thread_has_pending_tasks(), Some(true)),
                    || {},
                );
            });
        });
    }

    #[test]
    fn the_b_of_a_join_that_did_not_fork_is_pending_while_a_runs() {
        // A thread keeps at most three private forks (one while the other workers only
        // sleep), so the fourth nested join does not fork. Once the other worker ran some
        // of the forked marks and every fork had time to be published, the fourth join's
        // `b` is still pending inside its `a`.
        let pool = Arc::new(pool(2));
        let p = Arc::clone(&pool);
        let pending = within(PATIENCE, "an unforked join's pending b", move || {
            p.install(|| {
                let me = skewer::current_thread_index();
                let elsewhere = AtomicUsize::new(0);
                let mark = || {
                    if skewer::current_thread_index() != me {
                        elsewhere.fetch_add(1, Ordering::SeqCst);
                    }
                };
                let innermost = || {
                    // Decision points (plain joins): each one publishes the oldest private
                    // fork for a hungry worker or on a heartbeat. Keep making them until
                    // the other worker ran a mark, then a while longer for the rest.
                    while elsewhere.load(Ordering::SeqCst) < 1 {
                        skewer::join(|| {}, || {});
                    }
                    let settle = Instant::now();
                    while settle.elapsed() < Duration::from_millis(20) {
                        skewer::join(|| {}, || {});
                    }
                    skewer::current_thread_has_pending_tasks()
                };
                let mut seen = None;
                skewer::join(
                    || {
                        skewer::join(
                            || {
                                skewer::join(
                                    || {
                                        skewer::join(|| seen = innermost(), || {});
                                    },
                                    mark,
                                );
                            },
                            mark,
                        );
                    },
                    mark,
                );
                seen
            })
        });
        assert_eq!(pending, Some(true));
    }

    #[test]
    fn a_worker_waiting_in_a_broadcast_on_another_pool_composes() {
        // A job of A broadcasts on B, whose shares call back into A.
        let a = Arc::new(pool(2));
        let b = Arc::new(pool(2));
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let out = within(PATIENCE, "cross-pool broadcast", move || {
            a2.install(|| {
                b2.broadcast(|ctx| {
                    let i = ctx.index();
                    a2.install(|| i * 10)
                })
            })
        });
        assert_eq!(out, [0, 10]);
    }
}

#[test]
fn both_backends_are_covered() {
    assert_eq!(common::BACKENDS, [Backend::Stealing, Backend::Channel]);
    let _ = Pool::builder();
}
