//! Group `tree_sum_1023_outside`: a 1023-node tree sum called from outside the pool:
//! `pool.join` at the root, `skewer::join` below; rayon is called the way rayon is called
//! from outside, `pool.install` around recursive `rayon::join`; chili the way chili is called
//! from outside, `pool.scope()` (the calling thread joins the pool for the call) around
//! recursive `Scope::join`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use skewer::Backend;

use crate::samples::{bench_checked, diag, metrics_delta};
use crate::support::measurement::machine::available_threads;
use crate::support::peers::pools;
use crate::support::workloads::fork::{RayonJoin, SkewerJoin};
use crate::workloads::{SMALL_TREE_LEVELS, sum, sum_chili, sum_seq, sum_skewer_outside, tree};

/// The group.
pub fn tree_sum_1023_outside(c: &mut Criterion) {
    const G: &str = "tree_sum_1023_outside";
    const SAMPLES: usize = 20;
    let n = available_threads();
    let skewer_p = pools::skewer(n, Backend::Stealing);
    let rayon_p = pools::rayon(n);
    let chili_p = pools::chili(n);
    let tree = tree(SMALL_TREE_LEVELS);
    let t = &*tree;
    let expected = sum_seq(t);

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let w = "tree1023";
    // `skewer_stealing_install` is an extra: the same tree entered with `install` (a
    // hand-off to a worker and a wake-up), to separate the cost of entering the pool from
    // the cost of forking.
    let contenders: [(&str, &dyn Fn() -> u64); 5] = [
        ("sequential", &|| sum_seq(black_box(t))),
        ("skewer_stealing_pool_join", &|| {
            sum_skewer_outside(&skewer_p, black_box(t))
        }),
        ("skewer_stealing_install", &|| {
            skewer_p.install(|| sum::<SkewerJoin>(black_box(t)))
        }),
        ("rayon_install_join", &|| {
            rayon_p.install(|| sum::<RayonJoin>(black_box(t)))
        }),
        ("chili_scope_join", &|| {
            sum_chili(&mut chili_p.scope(), black_box(t))
        }),
    ];
    bench_checked(&mut g, G, w, SAMPLES, expected, &contenders);
    g.finish();

    let m0 = skewer_p.metrics();
    let runs = 10_000u64;
    for _ in 0..runs {
        black_box(sum_skewer_outside(&skewer_p, t));
    }
    let m1 = skewer_p.metrics();
    diag(metrics_delta(
        &format!("tree_sum_1023_outside skewer pool.join {n} threads, {runs} runs"),
        &m0,
        &m1,
    ));
    skewer_p.shutdown();
}
