//! Panics: re-raised in the caller of `join`/`scope`/`install` once every job of that call
//! finished; counted (or handed to the panic handler) for detached jobs; never fatal to a
//! worker or to the pool.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use common::{Boom, Watchdog, boom, boom_id, fib, fib_join, quiet_boom, wait_until};
use skewer::{JobPanic, Pool};

const PATIENCE: Duration = Duration::from_secs(20);

/// Catches the panic of `f`, which must panic, and returns its `Boom` id.
fn boom_of<R>(f: impl FnOnce() -> R) -> usize {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => boom_id(&*payload),
    }
}

/// All `n` workers of `pool` are alive and take work: `n` jobs meeting at a barrier can
/// only complete if they run on `n` distinct workers at once.
fn assert_all_workers_serve(pool: &Pool, n: usize) {
    let _watchdog = Watchdog::arm("all workers meet at a barrier", Duration::from_secs(60));
    let barrier = Arc::new(Barrier::new(n));
    let (tx, rx) = mpsc::channel();
    for _ in 0..n {
        let (barrier, tx) = (barrier.clone(), tx.clone());
        pool.spawn(move || {
            barrier.wait();
            tx.send(skewer::current_thread_index()).unwrap();
        })
        .unwrap();
    }
    let mut seen: Vec<usize> = (0..n)
        .map(|_| {
            rx.recv_timeout(PATIENCE)
                .expect("worker")
                .expect("on a worker")
        })
        .collect();
    seen.sort();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
    assert_eq!(pool.metrics().live_workers, n);
}

/// What the panic handler saw of one panic: message, location, worker, and `Display`.
type Seen = (String, Option<String>, Option<usize>, String);

common::for_each_backend! {
    #[test]
    fn join_reraises_the_panic_of_either_half_after_both_ran() {
        quiet_boom();
        let pool = pool(2);
        for from_worker in [false, true] {
            let run = |f: &(dyn Fn() -> usize + Sync)| -> usize {
                if from_worker { pool.install(f) } else { f() }
            };
            // `a` panics: `b` still runs, and has finished when the panic comes out.
            let b_done = AtomicBool::new(false);
            let id = run(&|| {
                boom_of(|| {
                    skewer::join(
                        || -> u32 { boom(1) },
                        || {
                            std::thread::sleep(Duration::from_millis(20));
                            b_done.store(true, Ordering::SeqCst);
                        },
                    )
                })
            });
            assert_eq!(id, 1);
            assert!(
                b_done.swap(false, Ordering::SeqCst),
                "b ran before the re-raise"
            );
            // `b` panics: `a` ran, `b`'s payload comes out.
            let a_done = AtomicBool::new(false);
            let id = run(&|| {
                boom_of(|| {
                    skewer::join(
                        || a_done.store(true, Ordering::SeqCst),
                        || -> u32 { boom(2) },
                    )
                })
            });
            assert_eq!(id, 2);
            assert!(a_done.swap(false, Ordering::SeqCst));
            // Both panic: `a`'s payload wins.
            let id = run(&|| boom_of(|| skewer::join(|| -> u8 { boom(3) }, || -> u8 { boom(4) })));
            assert_eq!(id, 3);
        }
        // `Pool::join` from outside (the caller is a guest).
        let b_done = AtomicBool::new(false);
        let id = boom_of(|| {
            pool.join(
                || -> u8 { boom(5) },
                || b_done.store(true, Ordering::SeqCst),
            )
        });
        assert_eq!(id, 5);
        assert!(b_done.load(Ordering::SeqCst));
        // The pool is fine afterwards.
        let n = common::miri_or(15, 6) as u64;
        assert_eq!(pool.install(|| fib_join(n)), fib(n));
    }

    #[test]
    fn join_panic_deep_in_a_tree_reaches_the_root_and_every_other_leaf_runs() {
        quiet_boom();
        fn tree(depth: u32, id: usize, ran: &AtomicUsize) -> u64 {
            if depth == 0 {
                ran.fetch_add(1, Ordering::SeqCst);
                if id == 777 {
                    boom(id);
                }
                return 1;
            }
            let (a, b) = skewer::join(
                || tree(depth - 1, 2 * id, ran),
                || tree(depth - 1, 2 * id + 1, ran),
            );
            a + b
        }
        let pool = pool(3);
        let ran = AtomicUsize::new(0);
        // Leaves are numbered 1024..2048; leaf 777 does not exist at depth 10, so use depth 9
        // (leaves 512..1024).
        let id = boom_of(|| pool.install(|| tree(9, 1, &ran)));
        assert_eq!(id, 777);
        assert_eq!(
            ran.load(Ordering::SeqCst),
            512,
            "every leaf ran despite the panic"
        );
    }

    #[test]
    fn a_panic_of_a_deep_a_still_runs_every_b_once() {
        // A left spine eight `join`s deep on one worker: past the third, a `join` whose
        // older forks nobody took finds its fork stack full and runs both halves in its
        // caller (`join.rs`, `join_unforked`); the others fork. Either way the panic of
        // the deepest `a` runs every `b` on its way up, once, and reaches the caller.
        quiet_boom();
        fn spine(depth: u32, ran: &AtomicUsize) -> u64 {
            if depth == 0 {
                boom(4242);
            }
            let (a, b) = skewer::join(
                || spine(depth - 1, ran),
                || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    1
                },
            );
            a + b
        }
        let pool = pool(1);
        for from_worker in [true, false] {
            let ran = AtomicUsize::new(0);
            let id = if from_worker {
                boom_of(|| pool.install(|| spine(8, &ran)))
            } else {
                boom_of(|| pool.join(|| spine(8, &ran), || 0))
            };
            assert_eq!(id, 4242);
            assert_eq!(ran.load(Ordering::SeqCst), 8, "every b ran, once");
        }
    }

    #[test]
    fn scope_reraises_after_all_jobs_finished() {
        quiet_boom();
        let pool = pool(2);
        for from_worker in [false, true] {
            let slow_done = AtomicBool::new(false);
            let others = AtomicUsize::new(0);
            let body = || {
                boom_of(|| {
                    skewer::scope(|s| {
                        s.spawn(|_| {
                            std::thread::sleep(Duration::from_millis(50));
                            slow_done.store(true, Ordering::SeqCst);
                        });
                        s.spawn(|_| boom(10));
                        for _ in 0..common::miri_or(20, 3) {
                            s.spawn(|s| {
                                s.spawn(|_| {
                                    others.fetch_add(1, Ordering::SeqCst);
                                });
                                others.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                    })
                })
            };
            let id = if from_worker {
                pool.install(body)
            } else {
                pool.scope(|_| body())
            };
            assert_eq!(id, 10);
            assert!(
                slow_done.load(Ordering::SeqCst),
                "the slow job finished before the re-raise"
            );
            assert_eq!(others.load(Ordering::SeqCst), 2 * common::miri_or(20, 3));
        }
    }

    #[test]
    fn scope_body_panic_wins_and_its_spawned_jobs_still_run() {
        quiet_boom();
        let pool = pool(2);
        let ran = AtomicUsize::new(0);
        let id = boom_of(|| {
            pool.scope(|s| {
                for _ in 0..common::miri_or(50, 4) {
                    s.spawn(|_| {
                        std::thread::sleep(Duration::from_micros(200));
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                }
                s.spawn(|_| boom(21));
                boom(20)
            })
        });
        assert_eq!(id, 20, "the body's own panic is re-raised");
        assert_eq!(ran.load(Ordering::SeqCst), common::miri_or(50, 4));
    }

    #[test]
    fn install_reraises_with_the_payload() {
        quiet_boom();
        let pool = pool(2);
        assert_eq!(boom_of(|| pool.install(|| -> u8 { boom(30) })), 30);
        // A string payload too, unchanged.
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| -> u8 {
                std::panic::resume_unwind(Box::new(String::from("install payload")))
            })
        }))
        .unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("install payload")
        );
        assert_eq!(pool.install(|| 5), 5);
    }

    #[test]
    fn workers_survive_panics_in_joins_and_scopes() {
        quiet_boom();
        let pool = pool(3);
        for i in 0..200 {
            let id = boom_of(|| {
                pool.install(|| {
                    skewer::join(
                        || {
                            skewer::scope(|s| {
                                s.spawn(move |_| boom(i));
                                s.spawn(|_| {
                                    fib_join(8);
                                });
                            })
                        },
                        || fib_join(8),
                    )
                })
            });
            assert_eq!(id, i);
        }
        assert_all_workers_serve(&pool, 3);
        assert_eq!(
            pool.metrics().total.panics,
            0,
            "re-raised panics are not detached panics"
        );
    }

    #[test]
    fn ten_thousand_panicking_detached_jobs_are_counted_and_the_pool_goes_on() {
        quiet_boom();
        // No panic handler: each panic is counted, reported once per location.
        const N: usize = 10_000;
        let pool = pool(2);
        for _ in 0..N {
            pool.spawn(|| panic!("detached job panics on purpose"))
                .unwrap();
        }
        let counted = wait_until(PATIENCE, || pool.metrics().total.panics == N as u64);
        let m = pool.metrics();
        assert!(counted, "{m:?}");
        let per_worker: u64 = m.workers.iter().map(|w| w.panics).sum();
        assert_eq!(per_worker + m.outside.panics, N as u64);
        // Normal jobs still run, on every worker.
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..1000 {
            let done = done.clone();
            pool.spawn(move || {
                done.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        assert_eq!(common::wait_for_count(&done, 1000, PATIENCE), 1000);
        assert_eq!(pool.install(|| fib_join(15)), fib(15));
        assert_all_workers_serve(&pool, 2);
        pool.shutdown();
        let m = pool.metrics();
        assert_eq!(m.total.panics, N as u64);
        assert!(m.total.jobs_executed >= (N + 1000 + 1 + 2) as u64, "{m:?}");
        assert_eq!(m.live_workers, 0);
    }

    #[test]
    fn detached_panics_from_inside_jobs_are_counted() {
        quiet_boom();
        const N: usize = 500;
        let pool = pool(2);
        let p = pool.clone();
        pool.install(move || {
            for i in 0..N {
                if i % 2 == 0 {
                    skewer::spawn(|| panic!("inner free spawn"));
                } else {
                    p.spawn(|| panic!("inner pool spawn")).unwrap();
                }
            }
        });
        assert!(
            wait_until(PATIENCE, || pool.metrics().total.panics == N as u64),
            "{:?}",
            pool.metrics()
        );
        assert_all_workers_serve(&pool, 2);
    }

    #[test]
    fn panic_handler_gets_message_location_worker_and_payload() {
        quiet_boom();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let payloads = Arc::new(Mutex::new(Vec::new()));
        let (sink, psink) = (seen.clone(), payloads.clone());
        let pool = builder()
            .num_threads(2)
            .panic_handler(move |p: JobPanic| {
                let display = p.to_string();
                sink.lock().unwrap().push((
                    p.message().to_string(),
                    p.location().map(String::from),
                    p.worker(),
                    display,
                ));
                if let Some(Boom(id)) = p.into_payload().downcast_ref::<Boom>() {
                    psink.lock().unwrap().push(*id);
                }
            })
            .build()
            .unwrap();
        let line = line!() + 1;
        pool.spawn(|| panic!("handled panic {}", 42)).unwrap();
        pool.spawn(|| std::panic::panic_any(Boom(99))).unwrap();
        pool.shutdown();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        let (message, location, worker, display) = seen
            .iter()
            .find(|s| s.0.starts_with("handled"))
            .expect("string panic seen");
        assert_eq!(message, "handled panic 42");
        let location = location.as_deref().expect("location captured");
        assert!(location.contains("tests/panics.rs"), "{location}");
        assert!(
            location.contains(&format!(":{line}:")),
            "{location} (line {line})"
        );
        assert!(worker.is_some_and(|w| w < 2), "{worker:?}");
        assert!(
            display.contains("handled panic 42") && display.contains(location),
            "{display}"
        );
        let other = seen.iter().find(|s| !s.0.starts_with("handled")).unwrap();
        assert_eq!(other.0, "<non-string panic payload>");
        assert_eq!(*payloads.lock().unwrap(), [99]);
        assert_eq!(pool.metrics().total.panics, 2);
    }

    #[test]
    fn a_panicking_panic_handler_does_not_kill_the_pool() {
        quiet_boom();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let pool = builder()
            .num_threads(2)
            .panic_handler(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
                panic!("the panic handler itself panics");
            })
            .build()
            .unwrap();
        for _ in 0..100 {
            pool.spawn(|| panic!("job panics")).unwrap();
        }
        assert_eq!(common::wait_for_count(&calls, 100, PATIENCE), 100);
        assert!(wait_until(PATIENCE, || pool.metrics().total.panics == 100));
        assert_all_workers_serve(&pool, 2);
        assert_eq!(pool.install(|| fib_join(12)), fib(12));
        pool.shutdown();
        assert_eq!(pool.metrics().live_workers, 0);
    }

    #[test]
    fn panicking_start_and_exit_handlers_do_not_take_workers_down() {
        quiet_boom();
        let pool = builder()
            .num_threads(2)
            .start_handler(|i| panic!("start handler of worker {i} panics"))
            .exit_handler(|i| panic!("exit handler of worker {i} panics"))
            .build()
            .expect("a panicking start handler does not fail the build");
        assert_all_workers_serve(&pool, 2);
        pool.shutdown();
        assert_eq!(pool.metrics().live_workers, 0);
    }
}
