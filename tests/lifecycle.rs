//! Lifecycle: no leaked threads after shutdown or after the last handle is dropped;
//! shutdown finishes queued and nested work, also when called from a worker; refused
//! spawns hand their job back; every `BuildError` reachable through the public API.
//!
//! Every test here holds `common::serial()`: some compare the process's thread count with
//! what it was before the pool was built, which any test running beside them would disturb.
//! Workers get test-specific names, so their threads can also be counted by name.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::{serial, settled_thread_count, thread_count, threads_named, wait_until};
use skewer::{Builder, Pool};

const PATIENCE: Duration = Duration::from_secs(20);

/// Counts worker starts and exits through the pool's handlers.
#[derive(Clone, Default)]
struct Lives {
    started: Arc<AtomicUsize>,
    exited: Arc<AtomicUsize>,
}

impl Lives {
    /// Installs the counting handlers and names the workers `{tag}{index}`.
    fn on(&self, builder: Builder, tag: &'static str) -> Builder {
        let (s, e) = (self.started.clone(), self.exited.clone());
        builder
            .thread_name(move |i| format!("{tag}{i}"))
            .start_handler(move |_| {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .exit_handler(move |_| {
                e.fetch_add(1, Ordering::SeqCst);
            })
    }
    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
    fn exited(&self) -> usize {
        self.exited.load(Ordering::SeqCst)
    }
}

/// The workers named `tag*` are gone from `/proc/self/task`, and the process is back to
/// `before` threads (a joined thread may linger there for a moment: wait, bounded).
fn assert_threads_gone(tag: &str, before: usize) {
    assert!(
        wait_until(PATIENCE, || threads_named(tag) == 0),
        "{} worker threads named {tag}* still exist",
        threads_named(tag)
    );
    assert!(
        wait_until(PATIENCE, || thread_count() == before),
        "the process has {} threads, {before} before the pool was built",
        thread_count()
    );
}

common::for_each_backend! {
    /// A short per-backend tag for thread names (`comm` keeps 15 bytes).
    /// A builder of `n` workers whose threads are named after `tag` (for thread counting).
    fn named(tag: &'static str, n: usize) -> skewer::Builder {
        builder()
            .num_threads(n)
            .thread_name(move |i| format!("{tag}{i}"))
    }

    fn tag(base: &'static str) -> &'static str {
        let b = match BACKEND {
            skewer::Backend::Stealing => "s",
            skewer::Backend::Channel => "c",
        };
        Box::leak(format!("{base}{b}-").into_boxed_str())
    }

    #[test]
    fn shutdown_joins_every_worker_and_the_thread_count_returns() {
        let _serial = serial();
        let tag = tag("shut");
        let before = settled_thread_count();
        let lives = Lives::default();
        let pool = lives.on(builder().num_threads(3), tag).build().unwrap();
        assert!(
            wait_until(PATIENCE, || threads_named(tag) == 3),
            "3 workers named {tag}*"
        );
        assert_eq!(thread_count(), before + 3);
        assert_eq!(pool.metrics().live_workers, 3);
        assert_eq!(pool.install(|| common::fib_join(15)), common::fib(15));
        pool.shutdown();
        assert!(pool.is_shut_down());
        assert_eq!(pool.metrics().live_workers, 0);
        assert_eq!((lives.started(), lives.exited()), (3, 3));
        // Idempotent.
        pool.shutdown();
        assert_eq!(pool.metrics().live_workers, 0);
        assert_threads_gone(tag, before);
    }

    #[test]
    fn dropping_the_last_handle_lets_every_worker_finish_and_exit() {
        let _serial = serial();
        let tag = tag("drop");
        let before = settled_thread_count();
        let lives = Lives::default();
        let pool = lives.on(builder().num_threads(2), tag).build().unwrap();
        let clone = pool.clone();
        drop(pool);
        // Not the last handle: the pool still runs.
        assert!(!clone.is_shut_down());
        assert_eq!(clone.metrics().live_workers, 2);
        let (tx, rx) = mpsc::channel();
        clone.spawn(move || tx.send(1).unwrap()).unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE), Ok(1));
        assert_eq!(lives.exited(), 0);
        // The last handle: dropping it closes the pool without waiting; the workers run
        // every queued job, then exit on their own (every exit handler runs).
        let queued = Arc::new(AtomicUsize::new(0));
        for _ in 0..1000 {
            let queued = queued.clone();
            clone
                .spawn(move || {
                    queued.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
        }
        drop(clone);
        assert!(
            wait_until(PATIENCE, || queued.load(Ordering::SeqCst) == 1000),
            "every queued job ran after the drop: {} of 1000",
            queued.load(Ordering::SeqCst)
        );
        assert!(
            wait_until(PATIENCE, || lives.exited() == 2),
            "every worker exited on its own: {} of 2",
            lives.exited()
        );
        assert_eq!(lives.started(), 2);
        assert_threads_gone(tag, before);
    }

    /// rayon-core keeps every worker until the work in the pool is done: a job that, after
    /// the last handle is gone, spawns a job and waits for it needs another worker to run
    /// it. Workers used to leave one by one as soon as they found nothing, and that job
    /// waited for good.
    #[test]
    fn after_the_last_handle_is_dropped_the_workers_stay_while_a_job_runs() {
        let _serial = serial();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        {
            let pool = builder().num_threads(2).build().unwrap();
            pool.spawn(move || {
                go_rx.recv().unwrap();
                let (tx, rx) = mpsc::channel();
                skewer::spawn(move || tx.send(1).unwrap());
                done_tx.send(rx.recv_timeout(PATIENCE)).unwrap();
            })
            .unwrap();
        }
        // The other worker has found nothing for a while.
        std::thread::sleep(Duration::from_millis(50));
        go_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(PATIENCE * 2), Ok(Ok(1)));
    }

    /// A spare thread (started while the pool's only worker waits in another pool) is one
    /// of the pool's own threads: it may shut the pool down without waiting for itself,
    /// and spawn into it afterwards. Its `shutdown` used to wait for every spare to exit,
    /// itself among them, for good, and its spawns went the outside way, refused once the
    /// pool closed.
    #[test]
    fn a_spare_thread_may_shut_its_pool_down_and_spawn_into_it() {
        let _serial = serial();
        let a = builder().num_threads(1).build().unwrap();
        let b = builder().num_threads(1).build().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        a.spawn(move || b.install(move || rx.recv().unwrap())).unwrap();
        let a2 = a.clone();
        // Runs on a spare: `a`'s only worker waits in `b.install` until this job sends.
        a.spawn(move || {
            tx.send(()).unwrap();
            a2.shutdown();
            let (ran_tx, ran_rx) = mpsc::channel();
            let accepted = a2.spawn(move || ran_tx.send(()).unwrap()).is_ok();
            done_tx.send((accepted, ran_rx.recv_timeout(PATIENCE).is_ok())).unwrap();
        })
        .unwrap();
        assert_eq!(done_rx.recv_timeout(PATIENCE), Ok((true, true)));
        a.shutdown();
    }

    #[test]
    fn dropping_the_last_handle_never_waits_for_a_job_that_waits_for_the_dropper() {
        // rayon-core's `termination_while_things_are_executing`, ported: a job waits on a
        // channel, the last handle is dropped, and only then does the test send. A drop that
        // joined the workers would wait for the job, which waits for the send: a hang.
        let _serial = serial();
        let tag = tag("term");
        let before = settled_thread_count();
        let lives = Lives::default();
        let (tx0, rx0) = mpsc::channel::<u32>();
        let (tx1, rx1) = mpsc::channel::<u32>();
        {
            let pool = lives.on(builder().num_threads(2), tag).build().unwrap();
            pool.spawn(move || {
                let data = rx0.recv().unwrap();
                // The last handle is gone, but the pool's own work still spawns more.
                skewer::spawn(move || tx1.send(data).unwrap());
            })
            .unwrap();
            let (done_tx, done_rx) = mpsc::channel();
            std::thread::spawn(move || {
                drop(pool);
                done_tx.send(()).unwrap();
            });
            done_rx
                .recv_timeout(PATIENCE)
                .expect("dropping the last handle returned while a job still waits");
        }
        tx0.send(22).unwrap();
        assert_eq!(rx1.recv_timeout(PATIENCE), Ok(22));
        assert!(
            wait_until(PATIENCE, || lives.exited() == 2),
            "the workers exit once their work is done: {} of 2",
            lives.exited()
        );
        assert_threads_gone(tag, before);
    }

    #[test]
    fn dropping_the_last_handle_inside_a_job_does_not_deadlock() {
        let _serial = serial();
        let tag = tag("jdrop");
        let before = settled_thread_count();
        let lives = Lives::default();
        let pool = lives.on(builder().num_threads(2), tag).build().unwrap();
        let inner = pool.clone();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        pool.spawn(move || {
            go_rx.recv_timeout(PATIENCE).expect("go");
            drop(inner); // the last handle, dropped on a worker
            done_tx.send(()).unwrap();
        })
        .unwrap();
        drop(pool);
        go_tx.send(()).unwrap();
        done_rx
            .recv_timeout(PATIENCE)
            .expect("the drop on a worker returned");
        // Nobody is left to join the workers: they exit on their own.
        assert!(
            wait_until(PATIENCE, || lives.exited() == 2),
            "exited: {}",
            lives.exited()
        );
        assert_threads_gone(tag, before);
    }

    #[test]
    fn shutdown_finishes_queued_and_nested_work() {
        let _serial = serial();
        let tag = tag("drain");
        let before = settled_thread_count();
        let pool = named(tag, 2).build().unwrap();
        // Hold both workers so that everything below is still queued when shutdown starts.
        let gate = Arc::new(AtomicBool::new(false));
        for _ in 0..2 {
            let gate = gate.clone();
            pool.spawn(move || {
                let start = Instant::now();
                while !gate.load(Ordering::SeqCst) && start.elapsed() < PATIENCE {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .unwrap();
        }
        // 200 roots; each spawns 2 children (free `spawn` and `Pool::spawn`), each child a
        // grandchild, and every root also runs a scope of 5 jobs: 200 * (1 + 2 + 2 + 5).
        let done = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        for _ in 0..200 {
            let (p, done, refused) = (pool.clone(), done.clone(), refused.clone());
            pool.spawn(move || {
                for k in 0..2 {
                    let (p2, d2, r2) = (p.clone(), done.clone(), refused.clone());
                    let child = move || {
                        let d3 = d2.clone();
                        let grandchild = move || {
                            d3.fetch_add(1, Ordering::SeqCst);
                        };
                        if p2.spawn(grandchild).is_err() {
                            r2.fetch_add(1, Ordering::SeqCst);
                        }
                        d2.fetch_add(1, Ordering::SeqCst);
                    };
                    if k == 0 {
                        skewer::spawn(child);
                    } else if p.spawn(child).is_err() {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
                skewer::scope(|s| {
                    for _ in 0..5 {
                        s.spawn(|_| {
                            done.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                });
                done.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        let opener = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                gate.store(true, Ordering::SeqCst);
            })
        };
        pool.shutdown();
        assert!(
            gate.load(Ordering::SeqCst),
            "shutdown returned while workers were held"
        );
        assert_eq!(
            refused.load(Ordering::SeqCst),
            0,
            "spawns from the pool's own jobs are accepted"
        );
        assert_eq!(done.load(Ordering::SeqCst), 200 * 10);
        let m = pool.metrics();
        assert_eq!(m.total.jobs_executed, 2 + 200 * 10);
        assert_eq!(m.queued(), 0);
        assert_eq!(m.live_workers, 0);
        opener.join().unwrap();
        assert_threads_gone(tag, before);
    }

    #[test]
    fn shutdown_called_from_a_worker_does_not_deadlock() {
        let _serial = serial();
        let tag = tag("wshut");
        let before = settled_thread_count();
        let lives = Lives::default();
        let pool = lives.on(builder().num_threads(2), tag).build().unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let done = done.clone();
            pool.spawn(move || {
                done.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        // From a detached job.
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        pool.spawn(move || {
            p.shutdown();
            tx.send(p.is_shut_down()).unwrap();
        })
        .unwrap();
        assert_eq!(
            rx.recv_timeout(PATIENCE),
            Ok(true),
            "shutdown on a worker returned"
        );
        // From `install` (the caller blocks on the worker that shuts the pool down).
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        std::thread::spawn(move || {
            p.install(|| p.shutdown());
            tx.send(()).unwrap();
        });
        rx.recv_timeout(PATIENCE)
            .expect("install(shutdown) returned");
        // Workers still drain and exit; the outside call joins them.
        pool.shutdown();
        assert_eq!(done.load(Ordering::SeqCst), 100);
        assert_eq!(pool.metrics().live_workers, 0);
        assert_eq!(lives.exited(), 2);
        assert_threads_gone(tag, before);
    }

    #[test]
    fn shutdown_from_a_scope_job_on_a_worker_does_not_deadlock() {
        let _serial = serial();
        let tag = tag("sshut");
        let before = settled_thread_count();
        let pool = named(tag, 2).build().unwrap();
        let ran = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        let ran = Arc::new(ran);
        let r = ran.clone();
        std::thread::spawn(move || {
            p.install(|| {
                skewer::scope(|s| {
                    s.spawn(|_| p.shutdown());
                    for _ in 0..50 {
                        s.spawn(|_| {
                            r.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            });
            tx.send(()).unwrap();
        });
        rx.recv_timeout(PATIENCE).expect("the scope returned");
        assert_eq!(ran.load(Ordering::SeqCst), 50);
        pool.shutdown();
        assert_eq!(pool.metrics().live_workers, 0);
        assert_threads_gone(tag, before);
    }

    #[test]
    fn spawn_after_shutdown_hands_the_job_back() {
        let _serial = serial();
        let pool = pool(2);
        let handle = pool.clone();
        pool.shutdown();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let err = handle
            .spawn(move || r.store(true, Ordering::SeqCst))
            .expect_err("a shut-down pool refuses outside spawns");
        assert!(err.to_string().contains("shut down"), "{err}");
        assert!(format!("{err:?}").contains("SpawnError"));
        std::thread::sleep(Duration::from_millis(20));
        assert!(!ran.load(Ordering::SeqCst), "the refused job did not run");
        let job = err.into_inner();
        job();
        assert!(ran.load(Ordering::SeqCst), "the handed-back job runs");
        // A boxed error keeps working as a std error.
        let err: Box<dyn std::error::Error> = Box::new(pool.spawn(|| {}).unwrap_err());
        assert!(err.to_string().contains("shut down"));
    }

    #[test]
    fn after_shutdown_install_join_and_scope_run_on_the_caller() {
        let _serial = serial();
        let pool = pool(2);
        pool.shutdown();
        assert_eq!(pool.install(skewer::current_thread_index), None);
        assert_eq!(pool.install(|| 7), 7);
        assert_eq!(
            pool.join(|| common::fib_join(10), || 2),
            (common::fib(10), 2)
        );
        let ran = AtomicUsize::new(0);
        let detached = Arc::new(AtomicUsize::new(0));
        let jobs = common::miri_or(100, 5);
        pool.scope(|s| {
            for _ in 0..jobs {
                let detached = detached.clone();
                s.spawn(|s| {
                    s.spawn(|_| {
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                    ran.fetch_add(1, Ordering::SeqCst);
                    skewer::spawn(move || {
                        detached.fetch_add(1, Ordering::SeqCst);
                    });
                });
            }
        });
        assert_eq!(ran.load(Ordering::SeqCst), 2 * jobs);
        assert!(
            wait_until(PATIENCE, || detached.load(Ordering::SeqCst) == jobs),
            "detached jobs spawned inside a scope after shutdown ran: {}",
            detached.load(Ordering::SeqCst)
        );
        assert_eq!(pool.metrics().live_workers, 0);
    }

    #[test]
    fn spawns_racing_shutdown_are_run_or_handed_back() {
        let _serial = serial();
        let tag = tag("race");
        let before = settled_thread_count();
        for round in 0..5 {
            let pool = named(tag, 2).build().unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let accepted = AtomicUsize::new(0);
            let refused = AtomicUsize::new(0);
            std::thread::scope(|ts| {
                for _ in 0..2 {
                    ts.spawn(|| {
                        let start = Instant::now();
                        let mut closed = false;
                        for _ in 0..1_000_000 {
                            let r = ran.clone();
                            match pool.spawn(move || {
                                r.fetch_add(1, Ordering::SeqCst);
                            }) {
                                Ok(()) => {
                                    assert!(!closed, "accepted after a refusal");
                                    accepted.fetch_add(1, Ordering::SeqCst);
                                }
                                Err(e) => {
                                    closed = true;
                                    refused.fetch_add(1, Ordering::SeqCst);
                                    e.into_inner()(); // run here: counted in `ran` too
                                    if refused.load(Ordering::SeqCst) > 20 {
                                        break;
                                    }
                                }
                            }
                            if start.elapsed() > PATIENCE {
                                break;
                            }
                        }
                    });
                }
                std::thread::sleep(Duration::from_millis(2 + 3 * round));
                pool.shutdown();
            });
            let (a, r) = (
                accepted.load(Ordering::SeqCst),
                refused.load(Ordering::SeqCst),
            );
            assert!(r > 0, "round {round}: the spawners saw the shutdown");
            assert_eq!(
                ran.load(Ordering::SeqCst),
                a + r,
                "round {round}: accepted {a}, refused {r}"
            );
            assert_eq!(pool.metrics().total.jobs_executed, a as u64);
        }
        assert_threads_gone(tag, before);
    }

    #[test]
    fn detached_spawns_from_a_guest_racing_shutdown_are_never_stranded() {
        // Threads outside the pool call `Pool::spawn` from inside `Pool::scope` (where they
        // are guests of the pool) while the pool shuts down: every spawn that returned `Ok`
        // must run, every refused one comes back.
        let _serial = serial();
        let tag = tag("grace");
        let before = settled_thread_count();
        let start = Instant::now();
        for round in 0..50u64 {
            if start.elapsed() > Duration::from_secs(4) {
                break;
            }
            let pool = named(tag, 2).build().unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let accepted = AtomicUsize::new(0);
            let stop = AtomicBool::new(false);
            std::thread::scope(|ts| {
                for _ in 0..2 {
                    ts.spawn(|| {
                        // Until shortly after the shutdown (bounded: while guests keep
                        // spawning, the drain goes on).
                        let t0 = Instant::now();
                        let mut spawned = 0;
                        while !stop.load(Ordering::SeqCst)
                            && spawned < 5000
                            && t0.elapsed() < PATIENCE
                        {
                            spawned += 10;
                            pool.scope(|_| {
                                for _ in 0..10 {
                                    let r = ran.clone();
                                    let job = move || {
                                        r.fetch_add(1, Ordering::SeqCst);
                                    };
                                    match pool.spawn(job) {
                                        Ok(()) => {
                                            accepted.fetch_add(1, Ordering::SeqCst);
                                        }
                                        Err(refused) => refused.into_inner()(),
                                    }
                                }
                            });
                        }
                    });
                }
                std::thread::sleep(Duration::from_micros(200 + round % 10 * 100));
                pool.shutdown();
                stop.store(true, Ordering::SeqCst);
            });
            let accepted = accepted.load(Ordering::SeqCst);
            wait_until(Duration::from_secs(1), || {
                ran.load(Ordering::SeqCst) >= accepted
            });
            let ran = ran.load(Ordering::SeqCst);
            assert!(
                ran >= accepted,
                "round {round}: {} accepted spawns never ran ({accepted} accepted)",
                accepted - ran
            );
        }
        assert_threads_gone(tag, before);
    }

    #[test]
    fn a_worker_thread_the_os_refuses_is_a_build_error() {
        let _serial = serial();
        let tag = tag("huge");
        let before = settled_thread_count();
        let lives = Lives::default();
        // No OS maps a stack of half the address space.
        let err = lives
            .on(builder().num_threads(3).stack_size(usize::MAX / 2), tag)
            .build()
            .expect_err("the OS refuses the stack");
        assert!(err.is_thread_spawn(), "{err}");
        assert_eq!(err.env_var(), None);
        let msg = err.to_string();
        assert!(
            msg.contains("worker thread") && msg.contains("stack_size"),
            "{msg}"
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "the OS error is the source"
        );
        // Whatever started was stopped and joined.
        assert_eq!(lives.started(), lives.exited());
        assert_threads_gone(tag, before);
        // The same builder settings with a sane stack work.
        let pool = lives
            .on(builder().num_threads(3).stack_size(1 << 20), tag)
            .build()
            .unwrap();
        assert_eq!(pool.install(|| 1), 1);
        drop(pool);
        assert_threads_gone(tag, before);
    }
}

#[test]
fn zero_threads_is_a_build_error() {
    let _serial = serial();
    let before = settled_thread_count();
    for backend in common::BACKENDS {
        let err = Pool::builder()
            .backend(backend)
            .num_threads(0)
            .build()
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("num_threads(0)"), "{msg}");
        assert!(!err.is_thread_spawn());
        assert_eq!(err.env_var(), None);
        assert!(std::error::Error::source(&err).is_none());
    }
    assert_eq!(thread_count(), before, "no thread was started");
}

#[test]
fn too_many_threads_is_a_build_error() {
    let _serial = serial();
    let before = settled_thread_count();
    for backend in common::BACKENDS {
        for n in [65_536, 1 << 20, usize::MAX] {
            let err = Pool::builder()
                .backend(backend)
                .num_threads(n)
                .build()
                .unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("num_threads({n})")) && msg.contains("maximum"),
                "{msg}"
            );
            assert!(!err.is_thread_spawn());
            assert_eq!(err.env_var(), None);
        }
    }
    assert_eq!(thread_count(), before, "no thread was started");
}
