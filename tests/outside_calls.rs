//! A run of small calls from outside the pool leaves the workers alone: a caller from
//! outside gets a new context per call, and a context shares a fork with a hungry worker
//! only once it ran `FIRST_SHARE_AFTER` (10 µs). Without that rule each call handed the
//! searching workers a piece, which left them searching when the next call came: they
//! never went back to sleep, and every call waited for a stolen piece.
//!
//! One test that goes through both backends in turn, so that no other test of this binary
//! competes for the cores while it counts.

mod common;

use std::time::{Duration, Instant};

use common::BACKENDS;

/// A tree of `2^depth - 1` joins and `2^(depth + 1) - 1` nodes, a few nanoseconds each.
fn tree(depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (a, b) = skewer::join(|| tree(depth - 1), || tree(depth - 1));
    a + b + 1
}

const CALLS: u64 = 3_000;

/// A small call: well within `FIRST_SHARE_AFTER` (10 µs).
const SMALL: Duration = Duration::from_micros(3);

/// The median time of one `pool.join` over two trees of `depth`.
fn call_time(pool: &skewer::Pool, depth: u32) -> Duration {
    let mut times: Vec<Duration> = (0..101)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(pool.join(|| tree(depth), || tree(depth)));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

#[test]
fn a_run_of_small_calls_from_outside_leaves_the_workers_alone() {
    common::within(
        Duration::from_secs(60),
        "small calls from outside",
        small_calls_on_both_backends,
    );
}

fn small_calls_on_both_backends() {
    for backend in BACKENDS {
        let pool = skewer::Pool::builder()
            .backend(backend)
            .num_threads(2)
            .build()
            .expect("build pool");
        // Small: a call well within the first interval in this build (about 1 000 nodes
        // in an optimized one, fewer in a debug one).
        let mut depth = 8;
        while depth > 2 && call_time(&pool, depth) > SMALL {
            depth -= 1;
        }
        let took = call_time(&pool, depth);
        if took > 2 * SMALL {
            // A build or machine this slow (an instrumented build, say) cannot make a call
            // small next to `FIRST_SHARE_AFTER`: there is nothing to check.
            eprintln!("{backend:?}: the smallest call takes {took:?}; not checked here");
            continue;
        }
        eprintln!("{backend:?}: depth {depth}, {took:?} per call");
        // Wake both workers, so that they are searching when the calls begin.
        pool.broadcast(|_| ());
        let before = pool.metrics().total.jobs_executed;
        for _ in 0..CALLS {
            let (a, b) = pool.join(|| tree(depth), || tree(depth));
            assert_eq!(a + b, 2 * ((2 << depth) - 1));
        }
        let ran = pool.metrics().total.jobs_executed - before;
        // Each call used to lose a piece to a worker (one job or more per call). A call
        // preempted for longer than the first interval may still share one.
        assert!(
            ran * 10 < CALLS,
            "{backend:?}: the workers ran {ran} jobs during {CALLS} calls from outside of \
             trees of depth {depth}"
        );
        pool.shutdown();
    }
}
