//! Diagnostics: the round trip of an empty `install` into a pool that went idle (workers
//! parked), split into submit -> closure starts and closure starts -> caller returns.

use std::thread;
use std::time::{Duration, Instant};

use skewer::Pool;

use crate::samples::diag;
use crate::support::measurement::stats::median_f64;
use crate::support::reporting::units::fmt_ns;

/// Measures both pools and adds the result to the diagnostics.
pub fn install_latency(label: &str, skewer_pool: &Pool, rayon_pool: &rayon::ThreadPool) {
    const ROUNDS: usize = 100;
    let measure = |install: &dyn Fn() -> Instant| {
        let (mut to_start, mut to_back) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            thread::sleep(Duration::from_millis(2));
            let t0 = Instant::now();
            let started = install();
            let back = Instant::now();
            to_start.push((started - t0).as_nanos() as f64);
            to_back.push((back - started).as_nanos() as f64);
        }
        (median_f64(&to_start), median_f64(&to_back))
    };
    let m0 = skewer_pool.metrics();
    let (s_start, s_back) = measure(&|| skewer_pool.install(Instant::now));
    let m1 = skewer_pool.metrics();
    let (r_start, r_back) = measure(&|| rayon_pool.install(Instant::now));
    diag(format!(
        "install round trip after 2 ms idle, {label}, median of {ROUNDS}: skewer submit->start \
         {} start->caller back {} (parks {}, wakeups {}); rayon {} / {}",
        fmt_ns(s_start),
        fmt_ns(s_back),
        m1.total.parks - m0.total.parks,
        m1.total.wakeups - m0.total.wakeups,
        fmt_ns(r_start),
        fmt_ns(r_back)
    ));
}
