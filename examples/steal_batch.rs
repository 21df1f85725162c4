//! Stealing one job at a time against stealing a batch (about half the victim's queue, at
//! most 32), on the workloads where it matters: one job that seeds all the others, and a
//! deep, narrow tree of scope spawns. Prints medians and the ratio; the finding is in
//! `docs/work-stealing.md`.
//!
//! Run: `cargo run --release --example steal_batch [threads]`

use std::hint::black_box;
use std::time::Instant;

use skewer::Pool;

// The benches' workload building blocks: the calibrated spin and its hash.
#[allow(dead_code)] // the example uses the spin and the hash only
#[path = "../benches/support/workloads/mod.rs"]
mod workloads;

use workloads::rng::mix;
use workloads::spin::{iters_for_ns, spin};

/// One job spawns `n` jobs of `iters` spins each into a scope.
fn seeded_by_one(pool: &Pool, n: u64, iters: u64) -> u64 {
    let total = std::sync::atomic::AtomicU64::new(0);
    pool.scope(|s| {
        s.spawn(|s| {
            for i in 0..n {
                let total = &total;
                s.spawn(move |_| {
                    total.fetch_add(spin(iters, i) & 1, std::sync::atomic::Ordering::Relaxed);
                });
            }
        });
    });
    total.into_inner()
}

/// A binomial tree shaped like UTS T3: the root has 2000 children; every other node has 5
/// children with probability 0.19, else none (expected subtree size about 20, with a long
/// tail): deep, narrow and unpredictable, the hard case for load balance.
fn tree(pool: &Pool, iters: u64) -> u64 {
    fn node<'s>(
        s: &skewer::Scope<'s>,
        id: u64,
        depth: u32,
        count: &'s std::sync::atomic::AtomicU64,
        iters: u64,
    ) {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        black_box(spin(iters, id));
        let children = if depth == 0 {
            2000
        } else if mix(id) % 100 < 19 {
            5
        } else {
            0
        };
        if depth < 200 {
            for c in 0..children {
                s.spawn(move |s| {
                    node(
                        s,
                        id.wrapping_mul(31).wrapping_add(c + 1),
                        depth + 1,
                        count,
                        iters,
                    )
                });
            }
        }
    }
    let count = std::sync::atomic::AtomicU64::new(0);
    pool.scope(|s| node(s, 1, 0, &count, iters));
    count.into_inner()
}

fn median(mut f: impl FnMut() -> u64, reps: usize) -> (f64, u64) {
    let mut out = 0;
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            out = black_box(f());
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[reps / 2], out)
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("threads"))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let one = Pool::builder()
        .num_threads(threads)
        .steal_batch(false)
        .build()
        .unwrap();
    let batch = Pool::builder()
        .num_threads(threads)
        .steal_batch(true)
        .build()
        .unwrap();
    println!(
        "threads: {threads}; median of 15 runs; ratio = one / batch (above 1: batch is faster)"
    );
    println!(
        "{:<32} {:>12} {:>12} {:>7}  {:>14} {:>14}",
        "workload", "steal one", "steal batch", "ratio", "steals (one)", "steals (batch)"
    );
    for (name, n, iters) in [
        ("seeded-by-one 50k x ~0.2us", 50_000, iters_for_ns(200.0)),
        ("seeded-by-one 20k x ~2us", 20_000, iters_for_ns(2_000.0)),
    ] {
        let check = seeded_by_one(&one, n, iters);
        assert_eq!(check, seeded_by_one(&batch, n, iters));
        let s0 = one.metrics().total.steal_ops;
        let b0 = batch.metrics().total.steal_ops;
        let (t1, _) = median(|| seeded_by_one(&one, n, iters), 15);
        let (tb, _) = median(|| seeded_by_one(&batch, n, iters), 15);
        let s1 = (one.metrics().total.steal_ops - s0) / 15;
        let b1 = (batch.metrics().total.steal_ops - b0) / 15;
        println!(
            "{name:<32} {:>10.2}ms {:>10.2}ms {:>7.2}  {s1:>14} {b1:>14}",
            t1 * 1e3,
            tb * 1e3,
            t1 / tb
        );
    }
    for (name, iters) in [
        ("binomial tree, ~0.2us/node", iters_for_ns(200.0)),
        ("binomial tree, ~2us/node", iters_for_ns(2_000.0)),
    ] {
        let nodes = tree(&one, iters);
        assert_eq!(nodes, tree(&batch, iters));
        let s0 = one.metrics().total.steal_ops;
        let b0 = batch.metrics().total.steal_ops;
        let (t1, _) = median(|| tree(&one, iters), 15);
        let (tb, _) = median(|| tree(&batch, iters), 15);
        let s1 = (one.metrics().total.steal_ops - s0) / 15;
        let b1 = (batch.metrics().total.steal_ops - b0) / 15;
        println!(
            "{:<32} {:>10.2}ms {:>10.2}ms {:>7.2}  {s1:>14} {b1:>14}",
            format!("{name} ({nodes} nodes)"),
            t1 * 1e3,
            tb * 1e3,
            t1 / tb
        );
    }
}
