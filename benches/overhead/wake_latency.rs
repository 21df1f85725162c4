//! `wake_latency` (not criterion): the time from a sleeping pool's first fork to a second
//! thread starting published work, for skewer (Stealing), rayon and chili.
//!
//! Each round lets the pool go idle (its workers asleep), then runs one fork tree: a
//! recursive halving `join` over `LEAVES` leaves of about `LEAF_NS` each (a calibrated spin).
//! The thread that runs the root notes the instant it starts forking; every leaf that starts
//! on another thread lowers "the first instant a second thread started a leaf". The delay
//! between the two is one sample; the table gives the median over `ROUNDS` rounds, with the
//! 10th and 90th percentiles, the slowest round, and the number of rounds in which no second
//! thread took part (skewer starts a root job eagerly after a coarse one, so its rounds
//! without that history show in the slowest). A scheduler that publishes forks on a timer
//! (chili's heartbeat) should show about one heartbeat whatever the leaf size; one that
//! publishes only on demand shows how long its first fork stays private. Every round's sum
//! is checked against the sequential one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use skewer::Backend;

use crate::support::measurement::machine::available_threads;
use crate::support::measurement::stats::median_f64;
use crate::support::peers::pools;
use crate::support::reporting::units::fmt_ns;
use crate::support::workloads::fork::{RayonJoin, SkewerJoin};
use crate::support::workloads::spin::{iters_for_ns, spin};
use crate::workloads::{Leaves, halves, halves_chili};

/// Leaves of the fork tree.
const LEAVES: usize = 64;
/// The cost of one leaf, in nanoseconds.
const LEAF_NS: f64 = 400_000.0;
/// Rounds per pool.
const ROUNDS: usize = 30;
/// How long the pool is left alone before each round: long enough for every worker to have
/// gone to sleep.
const IDLE_BEFORE: Duration = Duration::from_millis(20);

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static THREAD: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

fn this_thread() -> usize {
    THREAD.with(|t| *t)
}

/// One round's clock: where and when the root started, and the first leaf elsewhere.
struct Probe {
    root: usize,
    start: Instant,
    first_other_ns: AtomicU64,
    leaf_iters: u64,
}

impl Probe {
    /// Called by the root's thread just before its first fork.
    fn start(leaf_iters: u64) -> Probe {
        Probe {
            root: this_thread(),
            start: Instant::now(),
            first_other_ns: AtomicU64::new(u64::MAX),
            leaf_iters,
        }
    }

    /// The delay, or `None` if no other thread ran a leaf.
    fn delay_ns(&self) -> Option<u64> {
        Some(self.first_other_ns.load(Ordering::Relaxed)).filter(|&ns| ns != u64::MAX)
    }
}

impl Leaves for Probe {
    /// Leaf `i`: notes the start if another thread runs it, then spins.
    fn leaf(&self, i: usize) -> u64 {
        if this_thread() != self.root {
            let ns = self.start.elapsed().as_nanos() as u64;
            self.first_other_ns.fetch_min(ns, Ordering::Relaxed);
        }
        spin(self.leaf_iters, i as u64)
    }
}

/// `ROUNDS` rounds of `run` (which returns the tree's sum and its probe); prints one row.
fn measure(name: &str, threads: usize, expected: u64, run: &dyn Fn() -> (u64, Probe)) {
    let mut delays = Vec::new();
    let mut alone = 0;
    for _ in 0..ROUNDS {
        thread::sleep(IDLE_BEFORE);
        let (sum, probe) = run();
        assert_eq!(sum, expected, "wake_latency: {name} computed a wrong sum");
        match probe.delay_ns() {
            Some(ns) => delays.push(ns as f64),
            None => alone += 1,
        }
    }
    delays.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * q).round() as usize)
            .map_or("-".to_string(), |&ns| fmt_ns(ns))
    };
    let median = if delays.is_empty() {
        "-".to_string()
    } else {
        fmt_ns(median_f64(&delays))
    };
    println!(
        "  {name:<26} {threads:>7} {median:>12} {:>12} {:>12} {:>12} {alone:>14}",
        pct(0.1),
        pct(0.9),
        pct(1.0)
    );
}

/// Measures and prints the table.
pub fn wake_latency() {
    let p = available_threads().max(2);
    let leaf_iters = iters_for_ns(LEAF_NS);
    let expected = (0..LEAVES).fold(0u64, |acc, i| acc.wrapping_add(spin(leaf_iters, i as u64)));
    println!();
    println!(
        "wake_latency: from a sleeping pool's first fork to a second thread starting published \
         work; a halving join over {LEAVES} leaves of {} each, after {} idle; {ROUNDS} rounds",
        fmt_ns(LEAF_NS),
        fmt_ns(IDLE_BEFORE.as_nanos() as f64)
    );
    println!(
        "  {:<26} {:>7} {:>12} {:>12} {:>12} {:>12} {:>14}",
        "pool", "threads", "median", "p10", "p90", "slowest", "rounds alone"
    );
    let skewer = pools::skewer(p, Backend::Stealing);
    measure("skewer stealing", p, expected, &|| {
        skewer.install(|| {
            let probe = Probe::start(leaf_iters);
            (halves::<SkewerJoin, _>(&probe, 0, LEAVES), probe)
        })
    });
    skewer.shutdown();
    let rayon = pools::rayon(p);
    measure("rayon", p, expected, &|| {
        rayon.install(|| {
            let probe = Probe::start(leaf_iters);
            (halves::<RayonJoin, _>(&probe, 0, LEAVES), probe)
        })
    });
    drop(rayon);
    let chili = pools::chili(p);
    measure("chili (caller + workers)", p, expected, &|| {
        let mut s = chili.scope();
        let probe = Probe::start(leaf_iters);
        (halves_chili(&mut s, &probe, 0, LEAVES), probe)
    });
}
