//! Group `fib_all_threads`: fib(30) on all threads (pools of `available_parallelism`
//! threads entered with `install`; chili's pool of as many threads, the bench thread one of
//! them, entered with `scope()`) against plain recursion.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use skewer::Backend;

use crate::fork_join_1thread::bench_fib;
use crate::install_latency::install_latency;
use crate::samples::{diag, metrics_delta};
use crate::support::measurement::machine::available_threads;
use crate::support::peers::pools;
use crate::support::workloads::fork::SkewerJoin;
use crate::workloads::{FIB_N, fib};

/// The group.
pub fn fib_all_threads(c: &mut Criterion) {
    const G: &str = "fib_all_threads";
    const SAMPLES: usize = 20;
    let n = available_threads();
    let skewer_p = pools::skewer(n, Backend::Stealing);
    let rayon_p = pools::rayon(n);
    let chili_p = pools::chili(n);

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    bench_fib(&mut g, G, SAMPLES, &skewer_p, &rayon_p, &chili_p);
    g.finish();

    let m0 = skewer_p.metrics();
    black_box(skewer_p.install(|| fib::<SkewerJoin>(FIB_N)));
    let m1 = skewer_p.metrics();
    diag(metrics_delta(
        &format!("fib_all_threads/fib30 skewer {n} threads, one run"),
        &m0,
        &m1,
    ));
    install_latency(&format!("{n}-thread pools"), &skewer_p, &rayon_p);
    skewer_p.shutdown();
}
