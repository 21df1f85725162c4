//! Group `fork_join_1thread`: fib(30) with one `join` per call (no cutoff), fib(25) with the
//! same and a little work per call (8 dependent hash steps), and the sum of a
//! complete binary tree of about 8M nodes with one `join` per inner node, on 1-thread pools
//! entered with `install` (chili: a 1-thread pool entered with `scope()`, the bench thread
//! being its one thread), against plain recursion. Also home of the fib rows that
//! `fib_all_threads` shares.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use skewer::{Backend, Pool};

use crate::install_latency::install_latency;
use crate::samples::{bench_checked, diag, metrics_delta};
use crate::support::peers::pools;
use crate::support::workloads::fork::{RayonJoin, SkewerJoin};
use crate::workloads::{
    BIG_TREE_LEVELS, FIB_EXPECTED, FIB_N, FIB_WORK_N, fib, fib_calls, fib_chili, fib_seq, fib_work,
    fib_work_chili, fib_work_seq, sum, sum_calls, sum_chili, sum_seq, tree,
};

/// The fib(30) contenders, side by side in `g`: sequential (two shapes), skewer through
/// `install`, rayon through `install`, chili through `scope()`; shared by the 1-thread and
/// all-threads groups.
pub fn bench_fib(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &'static str,
    samples: usize,
    skewer: &Pool,
    rayon: &rayon::ThreadPool,
    chili: &chili::ThreadPool,
) {
    let contenders: [(&str, &dyn Fn() -> u64); 5] = [
        ("sequential", &|| fib_seq(black_box(FIB_N))),
        ("sequential_calls", &|| fib_calls(black_box(FIB_N))),
        ("skewer_stealing", &|| {
            skewer.install(|| fib::<SkewerJoin>(black_box(FIB_N)))
        }),
        ("rayon_join", &|| {
            rayon.install(|| fib::<RayonJoin>(black_box(FIB_N)))
        }),
        ("chili_join", &|| {
            fib_chili(&mut chili.scope(), black_box(FIB_N))
        }),
    ];
    bench_checked(g, group, "fib30", samples, FIB_EXPECTED, &contenders);
}

/// The group.
pub fn fork_join_1thread(c: &mut Criterion) {
    const G: &str = "fork_join_1thread";
    const SAMPLES: usize = 10;
    let skewer1 = pools::skewer(1, Backend::Stealing);
    let rayon1 = pools::rayon(1);
    let chili1 = pools::chili(1);

    assert_eq!(fib_seq(FIB_N), FIB_EXPECTED);
    let tree = tree(BIG_TREE_LEVELS);
    let t = &*tree;
    let tree_expected = sum_seq(t);

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3));

    bench_fib(&mut g, G, SAMPLES, &skewer1, &rayon1, &chili1);

    let contenders: [(&str, &dyn Fn() -> u64); 4] = [
        ("sequential", &|| fib_work_seq(black_box(FIB_WORK_N))),
        ("skewer_stealing", &|| {
            skewer1.install(|| fib_work::<SkewerJoin>(black_box(FIB_WORK_N)))
        }),
        ("rayon_join", &|| {
            rayon1.install(|| fib_work::<RayonJoin>(black_box(FIB_WORK_N)))
        }),
        ("chili_join", &|| {
            fib_work_chili(&mut chili1.scope(), black_box(FIB_WORK_N))
        }),
    ];
    let expected = fib_work_seq(FIB_WORK_N);
    bench_checked(&mut g, G, "fib25_work", SAMPLES, expected, &contenders);

    let contenders: [(&str, &dyn Fn() -> u64); 5] = [
        ("sequential", &|| sum_seq(black_box(t))),
        ("sequential_calls", &|| sum_calls(black_box(t))),
        ("skewer_stealing", &|| {
            skewer1.install(|| sum::<SkewerJoin>(black_box(t)))
        }),
        ("rayon_join", &|| {
            rayon1.install(|| sum::<RayonJoin>(black_box(t)))
        }),
        ("chili_join", &|| {
            sum_chili(&mut chili1.scope(), black_box(t))
        }),
    ];
    bench_checked(&mut g, G, "treesum8M", SAMPLES, tree_expected, &contenders);
    g.finish();

    let m0 = skewer1.metrics();
    black_box(skewer1.install(|| fib::<SkewerJoin>(FIB_N)));
    let m1 = skewer1.metrics();
    black_box(skewer1.install(|| sum::<SkewerJoin>(t)));
    let m2 = skewer1.metrics();
    diag(metrics_delta(
        "fork_join_1thread/fib30 skewer 1 thread, one run",
        &m0,
        &m1,
    ));
    diag(metrics_delta(
        "fork_join_1thread/treesum8M skewer 1 thread, one run",
        &m1,
        &m2,
    ));
    install_latency("1-thread pools", &skewer1, &rayon1);
    skewer1.shutdown();
}
