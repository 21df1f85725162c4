//! The job cost: a calibrated CPU spin (a dependent chain of splitmix steps), never a sleep.
//!
//! `calibrate` measures once, at start, how many spin iterations the machine runs per
//! nanosecond; a job of "2 µs" is then `iters_for_ns(2000.0)` iterations. The chain's result
//! feeds the job's checksum, so the compiler cannot drop or shorten the loop.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

use super::rng::mix;

static ITERS_PER_NS: OnceLock<f64> = OnceLock::new();

/// Spins for `iters` dependent hash steps starting from `seed`; returns the chain's end.
#[inline(never)]
pub fn spin(iters: u64, seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..iters {
        x = mix(x);
    }
    x
}

/// Measures the spin speed (best of several trials: the least disturbed one on a shared
/// machine) and remembers it. Returns iterations per nanosecond.
pub fn calibrate() -> f64 {
    *ITERS_PER_NS.get_or_init(|| {
        const ITERS: u64 = 2_000_000;
        black_box(spin(ITERS / 4, 1)); // wake the core up
        let best = (0..9u64)
            .map(|t| {
                let start = Instant::now();
                black_box(spin(black_box(ITERS), t));
                start.elapsed().as_nanos().max(1) as f64
            })
            .fold(f64::INFINITY, f64::min);
        ITERS as f64 / best
    })
}

/// The number of spin iterations that takes about `ns` nanoseconds (at least 1).
pub fn iters_for_ns(ns: f64) -> u64 {
    (ns * calibrate()).round().max(1.0) as u64
}

/// The nominal duration, in nanoseconds, of `iters` spin iterations.
pub fn ns_for_iters(iters: u64) -> f64 {
    iters as f64 / calibrate()
}
