//! `end_idle` (not criterion): how long a thread that took part in a coarse fork tree sits
//! idle at its end, for skewer (Stealing), rayon and chili.
//!
//! Each round runs one fork tree right after the previous one (the workers busy or still
//! looking for work, as in a loop of calls): a recursive halving `join` over `LEAVES` leaves
//! of skewed cost, `LEAF_MIN_NS` to 32 times that (a calibrated spin), the costly ones in a
//! bump left of the middle (`leaf_iters`). Every leaf notes when it
//! ended on the thread that ran it. A round's sample is the longest wait at the end: the
//! last leaf's end minus the earliest "last leaf" of the threads that ran any. The table
//! gives the median and the 90th percentile over `ROUNDS` rounds, and the round time over
//! the lower bound (the sequential tree's best time over P, or the longest leaf). A
//! scheduler that keeps its forks private until somebody is hungry makes the thread that
//! runs out wait for the busy one's next fork or return, up to a leaf; one that keeps a
//! fork in its deque does not. Every round's sum is checked against the sequential one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use skewer::Backend;

use crate::support::measurement::machine::available_threads;
use crate::support::measurement::stats::median_f64;
use crate::support::peers::pools;
use crate::support::reporting::units::fmt_ns;
use crate::support::workloads::fork::{RayonJoin, SkewerJoin};
use crate::support::workloads::spin::{iters_for_ns, spin};
use crate::workloads::{Leaves, halves, halves_chili};

/// Leaves of the fork tree.
const LEAVES: usize = 256;
/// The cheapest leaf, in nanoseconds; the dearest costs 32 times as much.
const LEAF_MIN_NS: f64 = 10_000.0;
/// Rounds per pool.
const ROUNDS: usize = 40;
/// Slots for the threads that run leaves (thread numbers are taken modulo this).
const SLOTS: usize = 64;

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed) % SLOTS;
}

/// One round's clock: when it started, and when each thread's last leaf ended.
struct Probe<'a> {
    start: Instant,
    last_end_ns: [AtomicU64; SLOTS],
    leaf_iters: &'a [u64],
}

impl<'a> Probe<'a> {
    fn start(leaf_iters: &'a [u64]) -> Probe<'a> {
        Probe {
            start: Instant::now(),
            last_end_ns: std::array::from_fn(|_| AtomicU64::new(0)),
            leaf_iters,
        }
    }

    /// The longest wait at the end, and the number of threads that ran a leaf.
    fn end_idle_ns(&self) -> (u64, usize) {
        let ends: Vec<u64> = self
            .last_end_ns
            .iter()
            .map(|e| e.load(Ordering::Relaxed))
            .filter(|&e| e != 0)
            .collect();
        let last = ends.iter().copied().max().unwrap_or(0);
        let first = ends.iter().copied().min().unwrap_or(0);
        (last - first, ends.len())
    }
}

impl Leaves for Probe<'_> {
    fn leaf(&self, i: usize) -> u64 {
        let v = spin(self.leaf_iters[i], i as u64);
        let end = self.start.elapsed().as_nanos() as u64 + 1;
        THREAD.with(|t| self.last_end_ns[*t].fetch_max(end, Ordering::Relaxed));
        v
    }
}

/// Leaf costs in spin iterations: `LEAF_MIN_NS * (1 + 31 b)`, with b a bump of height 1
/// around leaf `LEAVES * 0.35` (a quarter of the leaves are above half its height), like
/// the rows of an image whose costly part sits left of the middle. The first half of the
/// range is the dearer one and ends in its costly leaves: a thread that took the second
/// half runs out while the other is inside leaves of up to `32 * LEAF_MIN_NS`.
fn leaf_iters() -> Vec<u64> {
    (0..LEAVES)
        .map(|i| {
            let x = (i as f64 + 0.5) / LEAVES as f64;
            let d = (x - 0.35) / 0.15;
            iters_for_ns(LEAF_MIN_NS * (1.0 + 31.0 * (-d * d).exp()))
        })
        .collect()
}

/// The sequential tree's best time over three runs, and its sum.
fn sequential(leaf_iters: &[u64]) -> (f64, u64) {
    let mut best = f64::MAX;
    let mut sum = 0;
    for _ in 0..3 {
        let start = Instant::now();
        sum = (0..LEAVES).fold(0u64, |acc, i| {
            acc.wrapping_add(spin(leaf_iters[i], i as u64))
        });
        best = best.min(start.elapsed().as_nanos() as f64);
    }
    (best, sum)
}

/// `ROUNDS` rounds of `run` (which returns the tree's sum and the probe's reading); prints
/// one row.
fn measure(
    name: &str,
    threads: usize,
    expected: u64,
    bound_ns: f64,
    run: &dyn Fn() -> (u64, (u64, usize)),
) {
    let mut idle = Vec::new();
    let mut times = Vec::new();
    let mut alone = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let (sum, (idle_ns, took_part)) = run();
        times.push(start.elapsed().as_nanos() as f64);
        assert_eq!(sum, expected, "end_idle: {name} computed a wrong sum");
        idle.push(idle_ns as f64);
        if took_part < 2 {
            alone += 1;
        }
    }
    idle.sort_by(f64::total_cmp);
    let p90 = idle[((idle.len() as f64 - 1.0) * 0.9).round() as usize];
    println!(
        "  {name:<26} {threads:>7} {:>12} {:>12} {:>14.3} {alone:>14}",
        fmt_ns(median_f64(&idle)),
        fmt_ns(p90),
        median_f64(&times) / bound_ns
    );
}

/// Measures and prints the table.
pub fn end_idle() {
    let p = available_threads().max(2);
    let iters = leaf_iters();
    let (seq_ns, expected) = sequential(&iters);
    let longest = iters.iter().copied().max().unwrap_or(0);
    let longest_ns = seq_ns * longest as f64 / iters.iter().sum::<u64>() as f64;
    let bound_ns = (seq_ns / p as f64).max(longest_ns);
    println!();
    println!(
        "end_idle: the longest a thread that took part waits at the end of a coarse fork tree; \
         a halving join over {LEAVES} leaves of {} to {} (skewed), rounds back to back; \
         sequential {}, lower bound {}; {ROUNDS} rounds",
        fmt_ns(LEAF_MIN_NS),
        fmt_ns(LEAF_MIN_NS * 32.0),
        fmt_ns(seq_ns),
        fmt_ns(bound_ns)
    );
    println!(
        "  {:<26} {:>7} {:>12} {:>12} {:>14} {:>14}",
        "pool", "threads", "median", "p90", "time / bound", "rounds alone"
    );
    let skewer = pools::skewer(p, Backend::Stealing);
    measure("skewer stealing", p, expected, bound_ns, &|| {
        skewer.install(|| {
            let probe = Probe::start(&iters);
            (
                halves::<SkewerJoin, _>(&probe, 0, LEAVES),
                probe.end_idle_ns(),
            )
        })
    });
    skewer.shutdown();
    let rayon = pools::rayon(p);
    measure("rayon", p, expected, bound_ns, &|| {
        rayon.install(|| {
            let probe = Probe::start(&iters);
            (
                halves::<RayonJoin, _>(&probe, 0, LEAVES),
                probe.end_idle_ns(),
            )
        })
    });
    drop(rayon);
    let chili = pools::chili(p);
    measure("chili (caller + workers)", p, expected, bound_ns, &|| {
        let mut s = chili.scope();
        let probe = Probe::start(&iters);
        (halves_chili(&mut s, &probe, 0, LEAVES), probe.end_idle_ns())
    });
}
