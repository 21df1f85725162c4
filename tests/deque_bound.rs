//! A stealing worker's deque holds a bounded number of jobs; later pushes go to the
//! worker's overflow list, the newest part of its queue (`backend/stealing.rs`;
//! `docs/work-stealing.md`, "A deep deque overflows into a list"). Every job still runs
//! once, a thief reaches the overflow while its owner is busy, and a nested scope's wait
//! completes over a full queue.

mod common;

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Watchdog;
use skewer::{Backend, Pool};

/// Jobs per scope: several times the bound (2 048).
const JOBS: usize = 20_000;
/// How long a scope of `JOBS` empty jobs may take before the test counts as hung.
const HANG_LIMIT: Duration = Duration::from_secs(20);

fn stealing_pool(threads: usize) -> Pool {
    Pool::builder()
        .num_threads(threads)
        .backend(Backend::Stealing)
        .build()
        .expect("pool")
}

#[test]
fn a_scope_past_the_bound_runs_every_job_once() {
    for threads in [1, 2] {
        let pool = stealing_pool(threads);
        let runs: Vec<AtomicU8> = (0..JOBS).map(|_| AtomicU8::new(0)).collect();
        let _dog = Watchdog::arm("a scope past the bound", HANG_LIMIT);
        pool.install(|| {
            skewer::scope(|s| {
                for i in 0..JOBS {
                    let runs = &runs;
                    s.spawn(move |_| {
                        runs[i].fetch_add(1, Ordering::Relaxed);
                    });
                }
            })
        });
        let wrong: Vec<_> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.load(Ordering::Relaxed) != 1)
            .take(5)
            .collect();
        assert!(
            wrong.is_empty(),
            "{threads} workers: jobs that did not run exactly once: {wrong:?}"
        );
        let m = pool.metrics();
        assert_eq!(m.total.local_pushes, JOBS as u64, "{threads} workers");
        assert!(
            m.total.max_local_depth > 2048,
            "{threads} workers: the queue never passed the bound ({}), so this tested nothing",
            m.total.max_local_depth
        );
    }
}

#[test]
fn an_overflowed_job_runs_while_its_spawner_blocks() {
    let pool = stealing_pool(2);
    let _dog = Watchdog::arm("an overflowed job while its spawner blocks", HANG_LIMIT * 2);
    let (tx, rx) = mpsc::channel();
    let ran = pool.install(move || {
        skewer::scope(move |s| {
            for _ in 0..JOBS {
                s.spawn(|_| {});
            }
            // Most likely past the bound (the other worker takes jobs more slowly than
            // this loop spawns them): this one waits in the overflow, where the other
            // worker must reach it while this body blocks outside the pool's view.
            s.spawn(move |_| tx.send(()).expect("the body waits"));
            rx.recv_timeout(HANG_LIMIT).is_ok()
        })
    });
    assert!(ran, "the last job did not run while its spawner blocked");
    let deepest = pool.metrics().total.max_local_depth;
    assert!(
        deepest > 2048,
        "the queue never passed the bound ({deepest}), so this tested nothing"
    );
}

#[test]
fn a_nested_scope_finds_its_jobs_on_top_of_a_full_queue() {
    // One worker, so that nobody else runs anything: the inner scope's jobs, pushed after
    // the outer scope's thousands, are the newest, and its wait runs only them. The order
    // itself is checked at the backend (`backend/stealing.rs`, unit tests); this checks
    // that the whole path completes with jobs past the bound on both sides.
    let pool = stealing_pool(1);
    let _dog = Watchdog::arm("a nested scope over a full queue", HANG_LIMIT);
    let outer_ran = AtomicUsize::new(0);
    let inner_before_outer = pool.install(|| {
        skewer::scope(|s| {
            for _ in 0..JOBS {
                s.spawn(|_| {
                    outer_ran.fetch_add(1, Ordering::Relaxed);
                });
            }
            let inner_ran = AtomicUsize::new(0);
            let started = Instant::now();
            skewer::scope(|inner| {
                for _ in 0..10 {
                    inner.spawn(|_| {
                        inner_ran.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
            // Ten empty jobs: only a wait that cannot find them takes this long.
            let waited = started.elapsed();
            assert!(waited < HANG_LIMIT / 4, "the inner scope took {waited:?}");
            assert_eq!(inner_ran.load(Ordering::Relaxed), 10);
            outer_ran.load(Ordering::Relaxed)
        })
    });
    assert_eq!(
        inner_before_outer, 0,
        "the inner scope's wait ran jobs of the outer scope"
    );
    assert_eq!(outer_ran.load(Ordering::Relaxed), JOBS);
}
