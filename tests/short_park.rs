//! A worker woken soon after it parked stays awake past its budget for the next call
//! (`SHORT_PARK`, `docs/work-stealing.md`, "A budget shorter than a wake-up"). Calls from
//! outside 20 µs apart outlast a worker's spin-and-yield budget (5-10 µs), so without the
//! stay every call finds the worker parked and wakes it; with it, the worker is still awake.
//!
//! One test in its own binary, so that no other test competes for the cores while it counts.

use std::time::{Duration, Instant};

/// The pause between two calls: longer than a worker's budget, shorter than `SHORT_PARK`.
const GAP: Duration = Duration::from_micros(20);
const CALLS: u64 = 200;
/// Rounds of `CALLS` tried: a preempted caller (a loaded machine) turns a gap into a long
/// park, so one quiet round is enough.
const ROUNDS: usize = 5;

#[test]
fn calls_20us_apart_find_the_worker_awake() {
    let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut per_round = Vec::new();
    for _ in 0..ROUNDS {
        let before = pool.metrics().total.wakeups;
        for i in 0..CALLS {
            assert_eq!(pool.install(move || i + 1), i + 1);
            let gap = Instant::now();
            while gap.elapsed() < GAP {
                std::hint::spin_loop();
            }
        }
        assert!(Instant::now() < deadline, "calls took over 60 s");
        let wakeups = pool.metrics().total.wakeups - before;
        per_round.push(wakeups);
        if wakeups <= CALLS / 5 {
            return;
        }
    }
    panic!("the worker was woken for most calls in every round: {per_round:?} of {CALLS}");
}
