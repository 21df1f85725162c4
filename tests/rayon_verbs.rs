//! rayon-core's verbs under their rayon-core names: FIFO spawning and FIFO scopes, in-place
//! scopes, `join_context`, `Pool::current_thread_index`; and the frictions a program
//! switching from rayon-core meets (`?` on a refused job, metrics named by backend). Each
//! test runs once per backend.

mod common;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{boom, boom_id, quiet_boom, within};
use skewer::{Backend, Pool};

/// Generous bound for work that takes milliseconds: only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Enough FIFO jobs to cross every place where the queues reorder work: batch steals from
/// the shared queue, the worker's periodic look at the shared queue, put-backs by waiters.
const MANY: usize = common::miri_or(2_000, 40);

/// A list of what ran, in the order it started.
#[derive(Default)]
struct Order(Mutex<Vec<usize>>);

impl Order {
    fn push(&self, id: usize) {
        self.0.lock().unwrap().push(id);
    }
    fn take(&self) -> Vec<usize> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A little work with a `join` in it, so that FIFO jobs also fork, publish and wait.
fn busy(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = skewer::join(|| busy(n - 1), || busy(n - 2));
    a + b
}

fn refuse<F: FnOnce() + Send + 'static>(
    pool: &Pool,
    job: F,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The `?` under test: the error must be `Send + Sync + 'static` for any `Send` job.
    pool.spawn(job)?;
    Ok(())
}

common::for_each_backend! {
    #[test]
    fn spawn_fifo_from_one_job_runs_in_submission_order_on_one_worker() {
        let pool = pool(1);
        let order = Arc::new(Order::default());
        let done = Arc::new(AtomicUsize::new(0));
        {
            let (order, done) = (order.clone(), done.clone());
            pool.install(move || {
                for id in 0..MANY {
                    let (order, done) = (order.clone(), done.clone());
                    skewer::spawn_fifo(move || {
                        order.push(id);
                        // Forks, publications and waits in between must not reorder.
                        assert_eq!(busy(8), 21);
                        done.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
        }
        assert_eq!(common::wait_for_count(&done, MANY, PATIENCE), MANY);
        assert_eq!(order.take(), (0..MANY).collect::<Vec<_>>());
    }

    #[test]
    fn pool_spawn_fifo_from_outside_and_from_a_job_keeps_each_threads_order() {
        let pool = pool(1);
        let order = Arc::new(Order::default());
        let done = Arc::new(AtomicUsize::new(0));
        // From outside: ids 0..MANY.
        for id in 0..MANY {
            let (order, done) = (order.clone(), done.clone());
            pool.spawn_fifo(move || {
                order.push(id);
                done.fetch_add(1, Ordering::SeqCst);
            })
            .expect("pool is open");
        }
        assert_eq!(common::wait_for_count(&done, MANY, PATIENCE), MANY);
        assert_eq!(order.take(), (0..MANY).collect::<Vec<_>>());
        // From a job, through the pool handle it captured.
        let handle = pool.clone();
        let (o, d) = (order.clone(), done.clone());
        pool.spawn(move || {
            for id in 0..MANY {
                let (order, done) = (o.clone(), d.clone());
                handle
                    .spawn_fifo(move || {
                        order.push(id);
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                    .expect("a pool's own job is never refused");
            }
        })
        .unwrap();
        assert_eq!(common::wait_for_count(&done, 2 * MANY, PATIENCE), 2 * MANY);
        assert_eq!(order.take(), (0..MANY).collect::<Vec<_>>());
    }

    #[test]
    fn spawn_fifo_on_many_workers_runs_every_job_once() {
        let pool = pool(4);
        let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..2 * MANY).map(|_| AtomicUsize::new(0)).collect());
        let done = Arc::new(AtomicUsize::new(0));
        let spawn_range = |ids: std::ops::Range<usize>| {
            for id in ids {
                let (runs, done) = (runs.clone(), done.clone());
                skewer::spawn_fifo(move || {
                    runs[id].fetch_add(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
        };
        // Two spawning threads at once: a worker, and the test thread through the pool.
        pool.install(|| spawn_range(0..MANY));
        for id in MANY..2 * MANY {
            let (runs, done) = (runs.clone(), done.clone());
            pool.spawn_fifo(move || {
                runs[id].fetch_add(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        assert_eq!(common::wait_for_count(&done, 2 * MANY, PATIENCE), 2 * MANY);
        pool.shutdown();
        let wrong: Vec<usize> = (0..2 * MANY).filter(|&i| runs[i].load(Ordering::SeqCst) != 1).collect();
        assert!(wrong.is_empty(), "not run exactly once: {wrong:?}");
        assert_eq!(pool.metrics().total.panics, 0);
    }

    #[test]
    fn spawn_fifo_after_shutdown_hands_the_job_back_and_panics_go_to_the_handler() {
        quiet_boom();
        let (tx, rx) = mpsc::channel();
        let pool = builder()
            .num_threads(2)
            .panic_handler(move |panic| tx.send(boom_id(&*panic.into_payload())).unwrap())
            .build()
            .unwrap();
        pool.spawn_fifo(|| boom(7)).unwrap();
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 7);
        pool.shutdown();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let err = pool
            .spawn_fifo(move || flag.store(true, Ordering::SeqCst))
            .expect_err("refused after shutdown");
        assert!(!ran.load(Ordering::SeqCst));
        (err.into_inner())();
        assert!(ran.load(Ordering::SeqCst), "the job came back unrun");
    }

    #[test]
    fn scope_fifo_runs_each_threads_jobs_oldest_first_breadth_first_on_one_worker() {
        const WIDTH: usize = 50;
        let pool = pool(1);
        let order = Order::default();
        pool.install(|| {
            skewer::scope_fifo(|s| {
                for i in 0..WIDTH {
                    let order = &order;
                    s.spawn_fifo(move |s| {
                        order.push(i);
                        for j in 0..2 {
                            s.spawn_fifo(move |_| order.push(WIDTH + 2 * i + j));
                        }
                    });
                }
            })
        });
        // Every job's children enter the one worker's lane after all jobs spawned before
        // them: breadth first. A plain scope on the stealing backend runs newest first.
        assert_eq!(order.take(), (0..3 * WIDTH).collect::<Vec<_>>());
    }

    #[test]
    fn pool_scope_fifo_from_outside_runs_everything_and_borrows() {
        let pool = pool(3);
        let mut out = vec![0u64; MANY];
        let r = within(PATIENCE, "scope_fifo from outside", move || {
            pool.scope_fifo(|s| {
                for (i, slot) in out.iter_mut().enumerate() {
                    s.spawn_fifo(move |_| *slot = busy(6) * i as u64);
                }
            });
            out
        });
        assert_eq!(r, (0..MANY as u64).map(|i| 8 * i).collect::<Vec<_>>());
    }

    #[test]
    fn scope_fifo_reraises_a_jobs_panic_after_every_job_ran() {
        quiet_boom();
        let pool = pool(2);
        let ran = AtomicUsize::new(0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                skewer::in_place_scope_fifo(|s| {
                    for i in 0..100 {
                        let ran = &ran;
                        s.spawn_fifo(move |_| {
                            ran.fetch_add(1, Ordering::SeqCst);
                            if i == 10 {
                                boom(10);
                            }
                        });
                    }
                })
            })
        }));
        assert_eq!(boom_id(&*result.expect_err("the job's panic")), 10);
        assert_eq!(ran.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn in_place_scope_runs_the_body_on_the_calling_thread() {
        let pool = pool(2);
        let caller = std::thread::current().id();
        // From outside: the body stays on the caller, which is no worker.
        let (body_thread, index) = pool.in_place_scope(|s| {
            s.spawn(|_| {});
            (std::thread::current().id(), skewer::current_thread_index())
        });
        assert_eq!((body_thread, index), (caller, None));
        let free = skewer::in_place_scope(|_| std::thread::current().id());
        assert_eq!(free, caller);
        // From a worker: the body stays on that worker.
        let (outer, inner) = pool.install(|| {
            let outer = skewer::current_thread_index();
            let inner = skewer::in_place_scope(|s| {
                s.spawn(|_| {});
                skewer::current_thread_index()
            });
            (outer, inner)
        });
        assert!(outer.is_some());
        assert_eq!(outer, inner);
    }

    /// As in rayon-core, an in-place scope's body and result need not be `Send`: the body
    /// runs on the caller, and only the jobs it spawns cross threads. This test is the
    /// compile-time check; it asserts what the bodies did.
    #[test]
    fn in_place_scope_bodies_and_results_need_not_be_send() {
        use std::cell::Cell;
        use std::rc::Rc;
        let pool = pool(2);
        let seen = Cell::new(0);
        let shared = Rc::new(7);
        let r: Rc<i32> = pool.in_place_scope(|s| {
            seen.set(seen.get() + 1);
            s.spawn(|_| {});
            Rc::clone(&shared)
        });
        let f: Rc<i32> = pool.in_place_scope_fifo(|s| {
            seen.set(seen.get() + 1);
            s.spawn_fifo(|_| {});
            Rc::clone(&shared)
        });
        // The free functions, on a worker: the body borrows the worker's own `Cell`.
        let (g, h) = pool.install(|| {
            let count = Cell::new(0);
            let g = skewer::in_place_scope(|s| {
                count.set(count.get() + 1);
                s.spawn(|_| {});
                Rc::new(1)
            });
            let h = skewer::in_place_scope_fifo(|_| Rc::new(count.get() + 1));
            (*g, *h)
        });
        assert_eq!((seen.get(), *r + *f, g, h), (2, 14, 1, 2));
    }

    #[test]
    fn join_context_reports_migration() {
        // One worker: nobody can take `b`.
        let one = pool(1);
        let (a, b) = one.install(|| skewer::join_context(|c| c.migrated(), |c| c.migrated()));
        assert!(!a && !b);
        // Two workers: `a` waits until `b` started, so another thread must have taken it.
        let two = pool(2);
        let (a, (b, b_thread, caller)) = within(PATIENCE, "join_context with a stolen b", move || {
            two.install(|| {
                let caller = std::thread::current().id();
                let started = AtomicBool::new(false);
                skewer::join_context(
                    |c| {
                        let deadline = Instant::now() + PATIENCE;
                        while !started.load(Ordering::SeqCst) {
                            assert!(Instant::now() < deadline, "nobody took b");
                            // Forking lets the heartbeat publish `b` for the idle worker.
                            skewer::join(|| (), || ());
                        }
                        c.migrated()
                    },
                    |c| {
                        started.store(true, Ordering::SeqCst);
                        (c.migrated(), std::thread::current().id(), caller)
                    },
                )
            })
        });
        assert!(!a);
        assert!(b, "b ran on another thread");
        assert_ne!(b_thread, caller);
    }

    #[test]
    fn pool_current_thread_index_is_this_pools_worker_index() {
        const N: usize = 3;
        let other = pool(1);
        let pool = pool(N);
        assert_eq!(pool.current_thread_index(), None);
        // On each worker: its own index. `N` jobs meeting at a barrier run on `N` workers.
        let seen = within(PATIENCE, "one job per worker", {
            let pool = pool.clone();
            move || {
                let barrier = Barrier::new(N);
                let seen = Mutex::new(BTreeSet::new());
                pool.install(|| {
                    skewer::scope(|s| {
                        for _ in 0..N {
                            s.spawn(|_| {
                                barrier.wait();
                                let mine = pool.current_thread_index();
                                assert_eq!(mine, skewer::current_thread_index());
                                seen.lock().unwrap().insert(mine.expect("a worker of pool"));
                            });
                        }
                    })
                });
                seen.into_inner().unwrap()
            }
        });
        assert_eq!(seen, (0..N).collect::<BTreeSet<_>>());
        // A worker of another pool, and a worker inside another pool's call.
        assert_eq!(other.install(|| pool.current_thread_index()), None);
        let nested = pool.install(|| other.install(|| (pool.current_thread_index(), other.current_thread_index())));
        // `other`'s only worker runs the inner call: no worker of `pool`.
        assert_eq!(nested, (None, Some(0)));
        // A thread taking part in `join` from outside is no worker.
        let (a, _) = pool.join(|| pool.current_thread_index(), || ());
        assert_eq!(a, None);
    }

    #[test]
    fn question_mark_on_a_refused_job_that_is_not_sync() {
        let pool = pool(1);
        let cell = Cell::new(1); // `Send`, not `Sync`
        assert!(refuse(&pool, move || cell.set(2)).is_ok());
        pool.shutdown();
        let cell = Cell::new(1);
        let err = refuse(&pool, move || cell.set(cell.get() + 1)).unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        // The job is still there to be had back.
        let err = pool.spawn(move || ()).unwrap_err();
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
        assert!(boxed.to_string().contains("returned unrun"));
    }

    #[test]
    fn metrics_name_their_counters_by_backend() {
        let pool = pool(2);
        let total = pool.install(|| {
            let mut v = vec![1u64; 4096];
            skewer::scope(|s| {
                for chunk in v.chunks_mut(64) {
                    s.spawn(move |_| chunk.iter_mut().for_each(|x| *x = busy(5)));
                }
            });
            v.iter().sum::<u64>()
        });
        assert_eq!(total, 4096 * 5);
        pool.shutdown();
        let m = pool.metrics();
        assert_eq!(m.backend, BACKEND);
        assert!(m.total.local_pushes >= 64, "scope spawns of a worker: {m:?}");
        let line = m.to_string();
        assert!(line.starts_with(&format!("{BACKEND} pool, 2 workers (0 live)")), "{line}");
        assert!(line.contains(&format!("{} jobs run", m.total.jobs_executed)), "{line}");
        match BACKEND {
            Backend::Stealing => {
                assert!(line.contains("onto own deques") && line.contains("steals took"), "{line}");
            }
            Backend::Channel => {
                // Nothing to steal from and no per-worker queue: those counters stay 0,
                // and the summary does not speak of them.
                assert_eq!(m.total.failed_steals, 0);
                assert_eq!(m.total.max_local_depth, 0);
                assert_eq!(m.total.jobs_stolen, m.total.steal_ops);
                assert!(m.local_depths.is_empty());
                assert!(!line.contains("steal") && !line.contains("deque"), "{line}");
                assert!(
                    line.contains(&format!("sent into the channel: {} join halves and scope jobs", m.total.local_pushes)),
                    "{line}"
                );
            }
        }
    }
}
