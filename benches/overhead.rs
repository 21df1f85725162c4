//! Scheduling overhead of skewer against its peers: the five figures of the core issue's
//! "Performance to report" section, contenders side by side in one run.
//!
//! Groups (criterion, one `BenchmarkId` per contender):
//! 1. `fork_join_1thread`: fib(30) with one `join` per call (no cutoff) and the sum of a
//!    Box-based complete binary tree of 2^23 - 1 (about 8M) nodes with one `join` per inner
//!    node, on a 1-thread pool entered with `install`; against plain recursion and
//!    `rayon::join` on a 1-thread rayon pool.
//! 2. `fib_all_threads`: fib(30) on all threads (skewer Stealing via `install`, rayon via
//!    `install` on a pool of the same size) against plain recursion.
//! 3. `tree_sum_1023_outside`: a 1023-node tree sum called from outside the pool:
//!    `pool.join` at the root, `skewer::join` below; rayon is called the way rayon is called
//!    from outside, `pool.install` around recursive `rayon::join`.
//! 4. `spawn_1m_outside`: one outside producer (the bench's main thread) spawning 1M boxed
//!    jobs of about 100 ns (a calibrated CPU spin) on 2 worker threads (set
//!    `OVERHEAD_SPAWN_THREADS` for another count); the timed region ends when every job has
//!    run (the producer polls a striped completion counter, sleeping 50 us between looks so
//!    that it never competes with the workers for a core).
//! 6. `cross_pool_install`: a worker of a 1-thread pool A calls `B.install` (B: 1 thread)
//!    100 times per iteration (`a_to_b_x100`), and the same with B's worker calling
//!    `A.install` back inside each (`a_b_a_x100`, which the A worker waiting in `B.install`
//!    runs); skewer on both backends against two 1-thread rayon pools.
//! 5. `idle_cpu` (not criterion): a plain function run after the criterion groups, printing
//!    the CPU time of the whole process while an idle pool receives one empty spawn every
//!    1 ms for 2 s, raw and net of a producer that sleeps the same way without a pool.
//!
//! Spawn contenders: skewer Stealing and Channel (`pool.spawn` from the main thread);
//! rayon two ways, `ThreadPool::spawn` from the main thread (`rayon_pool_spawn`, an outside
//! producer like the others) and `pool.scope(|s| s.spawn(..))` (`rayon_scope_spawn`: the
//! scope body runs on a pool thread, so the producer is one of the workers, as in the peers'
//! figure); one crossbeam channel read by N threads; a bare-bones crossbeam-deque injector
//! pool with busy-waiting thieves; and 1M direct calls of the job.
//!
//! Rows marked extra are not in the issue and are not goals, only context:
//! `sequential_calls` (fib with one real call per node, see `fib_calls`),
//! `skewer_stealing_install` (the 1023-node tree entered with `install`),
//! `sequential_boxed` (the 1M jobs boxed and called in place) and
//! `skewer_stealing_<P-1>w_extra` (one worker fewer, so workers plus producer fit the cores).
//!
//! Every workload checks its result against the sequential answer before it is timed (and
//! the spawn workload after every timed run as well). After criterion's own output the bench
//! prints a ratio summary (each contender's median over criterion's measurement samples,
//! divided by the sequential median of the same workload), skewer's `metrics()` for one
//! run of each skewer contender, and the idle-CPU table.
//!
//! Run with `cargo bench --bench overhead`; a criterion filter (for example
//! `cargo bench --bench overhead -- spawn`) restricts the criterion groups, and the idle table
//! runs only without a filter or with one that contains `idle`.

use std::collections::HashMap;
use std::fs;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, criterion_group};
use crossbeam_utils::CachePadded;
use skewer::{Backend, Metrics, Pool};

// ---------------------------------------------------------------------------------------
// Recording our own samples, for the ratio summary.
// ---------------------------------------------------------------------------------------

/// One contender of one workload: the per-iteration times of every `iter_custom` call, in
/// call order (criterion's warm-up calls first, then exactly `sample_size` measurement
/// calls, which the summary keeps).
struct Series {
    group: &'static str,
    workload: &'static str,
    contender: String,
    sample_size: usize,
    ns_per_iter: Vec<f64>,
}

fn series() -> &'static Mutex<Vec<Series>> {
    static SERIES: OnceLock<Mutex<Vec<Series>>> = OnceLock::new();
    SERIES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Records one `iter_custom` call: `total` for `iters` iterations.
fn record(
    group: &'static str,
    workload: &'static str,
    contender: &str,
    sample_size: usize,
    iters: u64,
    total: Duration,
) {
    let ns = total.as_nanos() as f64 / iters.max(1) as f64;
    let mut all = series().lock().unwrap();
    match all
        .iter_mut()
        .find(|s| s.group == group && s.workload == workload && s.contender == contender)
    {
        Some(s) => s.ns_per_iter.push(ns),
        None => all.push(Series {
            group,
            workload,
            contender: contender.to_string(),
            sample_size,
            ns_per_iter: vec![ns],
        }),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Lines printed after criterion's output (skewer metrics, submit times).
fn diagnostics() -> &'static Mutex<Vec<String>> {
    static DIAG: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    DIAG.get_or_init(|| Mutex::new(Vec::new()))
}

fn diag(line: String) {
    diagnostics().lock().unwrap().push(line);
}

/// The counters that grew between two snapshots of a pool's metrics.
fn metrics_delta(label: &str, before: &Metrics, after: &Metrics) -> String {
    let (b, a) = (&before.total, &after.total);
    let (bo, ao) = (&before.outside, &after.outside);
    let mut line = format!(
        "{label}: jobs_executed {} | local_pushes {} | injected {} (outside {}) | steal_ops {} \
         jobs_stolen {} (outside steal_ops {}) | failed_steals {} | parks {} | wakeups {}",
        a.jobs_executed - b.jobs_executed,
        a.local_pushes - b.local_pushes,
        a.injected - b.injected,
        ao.injected - bo.injected,
        a.steal_ops - b.steal_ops,
        a.jobs_stolen - b.jobs_stolen,
        ao.steal_ops - bo.steal_ops,
        a.failed_steals - b.failed_steals,
        a.parks - b.parks,
        a.wakeups - b.wakeups,
    );
    let per_worker: Vec<String> = before
        .workers
        .iter()
        .zip(&after.workers)
        .enumerate()
        .map(|(i, (b, a))| {
            format!(
                "w{i}: exec {} steals {} parks {} busy {:.1} ms",
                a.jobs_executed - b.jobs_executed,
                a.steal_ops - b.steal_ops,
                a.parks - b.parks,
                (a.busy_ns - b.busy_ns) as f64 / 1e6
            )
        })
        .collect();
    line.push_str(&format!("\n      [{}]", per_worker.join("; ")));
    line
}

// ---------------------------------------------------------------------------------------
// Workloads.
// ---------------------------------------------------------------------------------------

/// One splitmix64 step: the unit of the calibrated spin and of the tree's values.
#[inline]
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fib_seq(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

/// Plain recursion with one real call per node: `black_box` on the results keeps LLVM from
/// turning the second recursive call into a loop (which it does to `fib_seq`, halving the
/// calls). Reported as an extra baseline, not used for the ratios.
fn fib_calls(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    black_box(fib_calls(n - 1)) + black_box(fib_calls(n - 2))
}

fn fib_skewer(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = skewer::join(|| fib_skewer(n - 1), || fib_skewer(n - 2));
    a + b
}

fn fib_rayon(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1), || fib_rayon(n - 2));
    a + b
}

/// A node of a Box-based binary tree (the shape of the Spice / chili tree-sum benchmarks).
struct Node {
    val: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

/// A complete binary tree with `levels` levels (2^levels - 1 nodes), allocated depth first.
fn build_tree(levels: u32, next: &mut u64) -> Box<Node> {
    *next += 1;
    let val = mix(*next) >> 20;
    let (left, right) = if levels > 1 {
        (
            Some(build_tree(levels - 1, next)),
            Some(build_tree(levels - 1, next)),
        )
    } else {
        (None, None)
    };
    Box::new(Node { val, left, right })
}

fn sum_seq(node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => node.val + sum_seq(l) + sum_seq(r),
        (Some(c), None) | (None, Some(c)) => node.val + sum_seq(c),
        (None, None) => node.val,
    }
}

/// One `skewer::join` per inner node.
fn sum_skewer(node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let (a, b) = skewer::join(|| sum_skewer(l), || sum_skewer(r));
            node.val + a + b
        }
        (Some(c), None) | (None, Some(c)) => node.val + sum_skewer(c),
        (None, None) => node.val,
    }
}

/// The root split with `pool.join` from outside the pool, `skewer::join` below.
fn sum_skewer_outside(pool: &Pool, node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let (a, b) = pool.join(|| sum_skewer(l), || sum_skewer(r));
            node.val + a + b
        }
        _ => sum_seq(node),
    }
}

/// One `rayon::join` per inner node.
fn sum_rayon(node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let (a, b) = rayon::join(|| sum_rayon(l), || sum_rayon(r));
            node.val + a + b
        }
        (Some(c), None) | (None, Some(c)) => node.val + sum_rayon(c),
        (None, None) => node.val,
    }
}

fn skewer_pool(threads: usize, backend: Backend) -> Pool {
    Pool::builder()
        .num_threads(threads)
        .backend(backend)
        .build()
        .expect("skewer pool")
}

fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
}

fn all_threads() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

/// The fib(30) contenders, side by side in `g`: sequential (two shapes), skewer through
/// `install`, rayon through `install`; shared by the 1-thread and all-threads groups.
fn bench_fib(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &'static str,
    samples: usize,
    skewer: &Pool,
    rayon: &rayon::ThreadPool,
) {
    let w = "fib30";
    let contenders: [(&str, &dyn Fn() -> u64); 4] = [
        ("sequential", &|| fib_seq(black_box(FIB_N))),
        ("sequential_calls", &|| fib_calls(black_box(FIB_N))),
        ("skewer_stealing", &|| {
            skewer.install(|| fib_skewer(black_box(FIB_N)))
        }),
        ("rayon_join", &|| {
            rayon.install(|| fib_rayon(black_box(FIB_N)))
        }),
    ];
    for (name, run) in contenders {
        g.bench_function(BenchmarkId::new(name, w), |b| {
            b.iter_custom(|iters| time_loop(group, w, name, samples, iters, run))
        });
    }
}

/// Times `iters` calls of `f` and records the result.
fn time_loop<R>(
    group: &'static str,
    workload: &'static str,
    contender: &str,
    sample_size: usize,
    iters: u64,
    mut f: impl FnMut() -> R,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    let total = start.elapsed();
    record(group, workload, contender, sample_size, iters, total);
    total
}

// ---------------------------------------------------------------------------------------
// 1. fork-join on one thread.
// ---------------------------------------------------------------------------------------

const FIB_N: u64 = 30;
const BIG_TREE_LEVELS: u32 = 23; // 8_388_607 nodes
const SMALL_TREE_LEVELS: u32 = 10; // 1023 nodes

fn fork_join_1thread(c: &mut Criterion) {
    const G: &str = "fork_join_1thread";
    const SAMPLES: usize = 10;
    let skewer1 = skewer_pool(1, Backend::Stealing);
    let rayon1 = rayon_pool(1);

    let fib_expected = fib_seq(FIB_N);
    assert_eq!(fib_expected, 832_040);
    assert_eq!(fib_calls(FIB_N), fib_expected);
    assert_eq!(skewer1.install(|| fib_skewer(FIB_N)), fib_expected);
    assert_eq!(rayon1.install(|| fib_rayon(FIB_N)), fib_expected);

    let mut next = 0;
    let tree = build_tree(BIG_TREE_LEVELS, &mut next);
    assert_eq!(next, (1u64 << BIG_TREE_LEVELS) - 1);
    let tree_expected = sum_seq(&tree);
    assert_eq!(skewer1.install(|| sum_skewer(&tree)), tree_expected);
    assert_eq!(rayon1.install(|| sum_rayon(&tree)), tree_expected);

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3));

    bench_fib(&mut g, G, SAMPLES, &skewer1, &rayon1);

    let w = "treesum8M";
    let t = &*tree;
    g.bench_function(BenchmarkId::new("sequential", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "sequential", SAMPLES, iters, || sum_seq(black_box(t)))
        })
    });
    g.bench_function(BenchmarkId::new("skewer_stealing", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "skewer_stealing", SAMPLES, iters, || {
                skewer1.install(|| sum_skewer(black_box(t)))
            })
        })
    });
    g.bench_function(BenchmarkId::new("rayon_join", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "rayon_join", SAMPLES, iters, || {
                rayon1.install(|| sum_rayon(black_box(t)))
            })
        })
    });
    g.finish();

    let m0 = skewer1.metrics();
    black_box(skewer1.install(|| fib_skewer(FIB_N)));
    let m1 = skewer1.metrics();
    black_box(skewer1.install(|| sum_skewer(t)));
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

/// Diagnostics: the round trip of an empty `install` into a pool that went idle (workers
/// parked), split into submit -> closure starts and closure starts -> caller returns.
fn install_latency(label: &str, skewer_pool: &Pool, rayon_pool: &rayon::ThreadPool) {
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
        (median(&mut to_start), median(&mut to_back))
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

// ---------------------------------------------------------------------------------------
// 2. fib(30) on all threads.
// ---------------------------------------------------------------------------------------

fn fib_all_threads(c: &mut Criterion) {
    const G: &str = "fib_all_threads";
    const SAMPLES: usize = 20;
    let n = all_threads();
    let skewer_p = skewer_pool(n, Backend::Stealing);
    let rayon_p = rayon_pool(n);
    let expected = fib_seq(FIB_N);
    assert_eq!(skewer_p.install(|| fib_skewer(FIB_N)), expected);
    assert_eq!(rayon_p.install(|| fib_rayon(FIB_N)), expected);

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    bench_fib(&mut g, G, SAMPLES, &skewer_p, &rayon_p);
    g.finish();

    let m0 = skewer_p.metrics();
    black_box(skewer_p.install(|| fib_skewer(FIB_N)));
    let m1 = skewer_p.metrics();
    diag(metrics_delta(
        &format!("fib_all_threads/fib30 skewer {n} threads, one run"),
        &m0,
        &m1,
    ));
    install_latency(&format!("{n}-thread pools"), &skewer_p, &rayon_p);
    skewer_p.shutdown();
}

// ---------------------------------------------------------------------------------------
// 3. A 1023-node tree sum from outside the pool.
// ---------------------------------------------------------------------------------------

fn tree_sum_1023_outside(c: &mut Criterion) {
    const G: &str = "tree_sum_1023_outside";
    const SAMPLES: usize = 20;
    let n = all_threads();
    let skewer_p = skewer_pool(n, Backend::Stealing);
    let rayon_p = rayon_pool(n);
    let mut next = 0;
    let tree = build_tree(SMALL_TREE_LEVELS, &mut next);
    assert_eq!(next, 1023);
    let t = &*tree;
    let expected = sum_seq(t);
    assert_eq!(sum_skewer_outside(&skewer_p, t), expected);
    assert_eq!(skewer_p.install(|| sum_skewer(t)), expected);
    assert_eq!(rayon_p.install(|| sum_rayon(t)), expected);

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let w = "tree1023";
    g.bench_function(BenchmarkId::new("sequential", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "sequential", SAMPLES, iters, || sum_seq(black_box(t)))
        })
    });
    g.bench_function(BenchmarkId::new("skewer_stealing_pool_join", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "skewer_stealing_pool_join", SAMPLES, iters, || {
                sum_skewer_outside(&skewer_p, black_box(t))
            })
        })
    });
    // Extra, not in the issue: the same tree entered with `install` (a hand-off to a worker
    // and a wake-up), to separate the cost of entering the pool from the cost of forking.
    g.bench_function(BenchmarkId::new("skewer_stealing_install", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "skewer_stealing_install", SAMPLES, iters, || {
                skewer_p.install(|| sum_skewer(black_box(t)))
            })
        })
    });
    g.bench_function(BenchmarkId::new("rayon_install_join", w), |b| {
        b.iter_custom(|iters| {
            time_loop(G, w, "rayon_install_join", SAMPLES, iters, || {
                rayon_p.install(|| sum_rayon(black_box(t)))
            })
        })
    });
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

// ---------------------------------------------------------------------------------------
// 6. Cross-pool install from a worker.
// ---------------------------------------------------------------------------------------

/// Cross-pool calls per timed iteration.
const CROSS_CALLS: u64 = 100;

/// `install` of skewer and rayon behind one name, for the cross-pool workload.
trait Install: Sync {
    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R;
}

impl Install for Pool {
    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.install(f)
    }
}

impl Install for rayon::ThreadPool {
    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.install(f)
    }
}

/// `CROSS_CALLS` installs into `b` from a worker of `a`, each returning its index, and
/// (`round_trip`) each calling back into `a` from `b`'s worker: A->B, or A->B->A.
fn cross<P: Install>(a: &P, b: &P, round_trip: bool) -> u64 {
    a.run(|| {
        (0..CROSS_CALLS)
            .map(|i| {
                if round_trip {
                    b.run(|| a.run(|| black_box(i)))
                } else {
                    b.run(|| black_box(i))
                }
            })
            .sum()
    })
}

/// A worker of pool A (1 thread) calls `B.install` (B: 1 thread) 100 times per iteration,
/// and in the round-trip workload B's worker calls `A.install` back each time (the A worker
/// waiting in `B.install` runs it). skewer on both backends against rayon, one run.
fn cross_pool_install(c: &mut Criterion) {
    const G: &str = "cross_pool_install";
    const SAMPLES: usize = 20;
    let expected: u64 = (0..CROSS_CALLS).sum();
    let (sa, sb) = (
        skewer_pool(1, Backend::Stealing),
        skewer_pool(1, Backend::Stealing),
    );
    let (ca, cb) = (
        skewer_pool(1, Backend::Channel),
        skewer_pool(1, Backend::Channel),
    );
    let (ra, rb) = (rayon_pool(1), rayon_pool(1));
    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (w, round_trip) in [("a_to_b_x100", false), ("a_b_a_x100", true)] {
        let contenders: [(&str, &dyn Fn() -> u64); 4] = [
            ("sequential", &|| (0..CROSS_CALLS).map(black_box).sum()),
            ("skewer_stealing", &|| cross(&sa, &sb, round_trip)),
            ("skewer_channel", &|| cross(&ca, &cb, round_trip)),
            ("rayon_install", &|| cross(&ra, &rb, round_trip)),
        ];
        for (name, run) in contenders {
            assert_eq!(run(), expected, "{name} {w}");
            g.bench_function(BenchmarkId::new(name, w), |b| {
                b.iter_custom(|iters| time_loop(G, w, name, SAMPLES, iters, run))
            });
        }
    }
    g.finish();
    for pool in [sa, sb, ca, cb] {
        pool.shutdown();
    }
}

// ---------------------------------------------------------------------------------------
// 4. One outside producer, 1M boxed jobs of about 100 ns.
// ---------------------------------------------------------------------------------------

const JOBS: u64 = 1_000_000;
/// Worker threads of the spawn workload: 2 (the figure), or `OVERHEAD_SPAWN_THREADS`.
fn spawn_threads() -> usize {
    std::env::var("OVERHEAD_SPAWN_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}
const JOB_NS: f64 = 100.0;

/// Spins for `iters` dependent mix steps from `seed`.
#[inline(never)]
fn spin(iters: u64, seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..iters {
        x = mix(x);
    }
    x
}

/// The spin length that makes one job (spin + tally, called back to back as the sequential
/// contender calls it) take about `JOB_NS`: measured on 20k-job loops, best of 15 trials per
/// step (short windows, so that the best one is likely undisturbed), refined three times. Calibrating on the job loop itself rather than on one long spin
/// matters: consecutive jobs are independent chains that the core overlaps.
fn calibrate_job_iters() -> (u64, f64) {
    let per_job_ns = |iters: u64| {
        (0..15)
            .map(|t| {
                tally_reset();
                let start = Instant::now();
                for i in 0..20_000u64 {
                    job(iters, black_box(i + t));
                }
                start.elapsed().as_nanos() as f64 / 20_000.0
            })
            .fold(f64::INFINITY, f64::min)
    };
    let mut iters = 32u64;
    let mut ns = per_job_ns(iters);
    for _ in 0..3 {
        iters = ((iters as f64 * JOB_NS / ns).round() as u64).max(1);
        ns = per_job_ns(iters);
    }
    tally_reset();
    (iters, ns)
}

/// Completion tally: per-thread cache-padded slots (count, checksum), so that the jobs of
/// different workers never write the same cache line.
struct Slot {
    count: AtomicU64,
    sum: AtomicU64,
}

const SLOTS: usize = 64;
static TALLY: [CachePadded<Slot>; SLOTS] = [const {
    CachePadded::new(Slot {
        count: AtomicU64::new(0),
        sum: AtomicU64::new(0),
    })
}; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
}

/// The job: a ~100 ns spin seeded with the job's number, its result added to this thread's
/// checksum slot.
#[inline(never)]
fn job(iters: u64, seed: u64) {
    let v = spin(iters, seed);
    let slot = &TALLY[MY_SLOT.with(|s| *s)];
    // The checksum first, then the count with release: whoever sees the count (acquire in
    // `tally_count`) sees the checksum too, and no late checksum add can land after the
    // waiter moved on and reset the tally.
    slot.sum.fetch_add(v, Ordering::Relaxed);
    slot.count.fetch_add(1, Ordering::Release);
}

fn tally_reset() {
    for s in &TALLY {
        s.count.store(0, Ordering::SeqCst);
        s.sum.store(0, Ordering::SeqCst);
    }
}

fn tally_count() -> u64 {
    TALLY.iter().map(|s| s.count.load(Ordering::Acquire)).sum()
}

fn tally_sum() -> u64 {
    TALLY.iter().fold(0u64, |acc, s| {
        acc.wrapping_add(s.sum.load(Ordering::Acquire))
    })
}

/// Waits (sleeping, never spinning: the machine has as many cores as workers) until every
/// job has run.
fn wait_all(target: u64) {
    while tally_count() < target {
        thread::sleep(Duration::from_micros(50));
    }
}

/// What the spawn workload must produce.
#[derive(Clone, Copy)]
struct SpawnSpec {
    checksum: u64,
}

fn verify(spec: SpawnSpec, who: &str) {
    let count = tally_count();
    let sum = tally_sum();
    assert_eq!(count, JOBS, "{who}: {count} jobs ran, expected {JOBS}");
    assert_eq!(
        sum, spec.checksum,
        "{who}: checksum differs from the sequential one"
    );
}

type BoxJob = Box<dyn FnOnce() + Send + 'static>;

/// N threads receiving boxed jobs from one crossbeam channel, written the obvious way.
struct ChannelPool {
    tx: Option<crossbeam_channel::Sender<BoxJob>>,
    threads: Vec<JoinHandle<()>>,
}

impl ChannelPool {
    fn new(n: usize) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<BoxJob>();
        let threads = (0..n)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
            })
            .collect();
        ChannelPool {
            tx: Some(tx),
            threads,
        }
    }

    fn spawn(&self, job: BoxJob) {
        self.tx.as_ref().unwrap().send(job).unwrap();
    }
}

impl Drop for ChannelPool {
    fn drop(&mut self) {
        drop(self.tx.take());
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

/// A bare-bones pool on crossbeam-deque: one global `Injector`, a FIFO `Worker` per thread
/// and its `Stealer`s, the `find_task` loop of crossbeam-deque's documentation (own deque,
/// then a batch from the injector, then the peers), and a busy-wait when nothing is found.
struct InjectorPool {
    injector: Arc<crossbeam_deque::Injector<BoxJob>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl InjectorPool {
    fn new(n: usize) -> Self {
        use crossbeam_deque::{Injector, Steal, Worker};
        let injector = Arc::new(Injector::<BoxJob>::new());
        let stop = Arc::new(AtomicBool::new(false));
        let locals: Vec<Worker<BoxJob>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let stealers: Arc<Vec<_>> = Arc::new(locals.iter().map(Worker::stealer).collect());
        let threads = locals
            .into_iter()
            .map(|local| {
                let injector = Arc::clone(&injector);
                let stealers = Arc::clone(&stealers);
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    loop {
                        let task = local.pop().or_else(|| {
                            std::iter::repeat_with(|| {
                                injector
                                    .steal_batch_and_pop(&local)
                                    .or_else(|| stealers.iter().map(|s| s.steal()).collect())
                            })
                            .find(|s| !s.is_retry())
                            .and_then(Steal::success)
                        });
                        match task {
                            Some(job) => job(),
                            None if stop.load(Ordering::Acquire) => break,
                            None => std::hint::spin_loop(),
                        }
                    }
                })
            })
            .collect();
        InjectorPool {
            injector,
            stop,
            threads,
        }
    }

    fn spawn(&self, job: BoxJob) {
        self.injector.push(job);
    }
}

impl Drop for InjectorPool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

/// One timed run of the spawn workload: reset the tally, start the clock, `produce` (which
/// submits every job), wait until all ran, stop the clock, verify. Returns (total, submit).
fn spawn_run(spec: SpawnSpec, who: &str, produce: impl FnOnce()) -> (Duration, Duration) {
    tally_reset();
    let start = Instant::now();
    produce();
    let submitted = start.elapsed();
    wait_all(JOBS);
    let total = start.elapsed();
    verify(spec, who);
    (total, submitted)
}

fn spawn_1m_outside(c: &mut Criterion) {
    const G: &str = "spawn_1m_outside";
    const SAMPLES: usize = 10;
    let w = "1M_jobs";
    let p = spawn_threads();

    let (iters, job_ns) = calibrate_job_iters();
    let checksum = (0..JOBS).fold(0u64, |acc, i| acc.wrapping_add(spin(iters, i)));
    let spec = SpawnSpec { checksum };

    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let bench = |g: &mut BenchmarkGroup<'_, WallTime>,
                 name: &str,
                 run: &mut dyn FnMut() -> (Duration, Duration)| {
        bench_spawn(g, G, w, SAMPLES, name, run)
    };

    // Sequential: 1M direct calls of the same job.
    bench(&mut g, "sequential", &mut move || {
        spawn_run(spec, "sequential", || {
            for i in 0..JOBS {
                job(iters, black_box(i));
            }
        })
    });
    // Extra: the same 1M jobs boxed and called at once (what boxing alone costs).
    bench(&mut g, "sequential_boxed", &mut move || {
        spawn_run(spec, "sequential_boxed", || {
            for i in 0..JOBS {
                let f: BoxJob = Box::new(move || job(iters, i));
                black_box(f)();
            }
        })
    });

    // The two (2 workers each), then an extra: Stealing with one worker fewer, so
    // that workers plus the outside producer do not outnumber the cores.
    let mut configs = vec![
        (Backend::Stealing, p, "skewer_stealing".to_string()),
        (Backend::Channel, p, "skewer_channel".to_string()),
    ];
    if p > 1 {
        configs.push((
            Backend::Stealing,
            p - 1,
            format!("skewer_stealing_{}w_extra", p - 1),
        ));
    }
    for (backend, threads, name) in configs {
        let pool = skewer_pool(threads, backend);
        let m0 = pool.metrics();
        let pool_ref = &pool;
        let who = name.clone();
        bench(&mut g, &name, &mut move || {
            spawn_run(spec, &who, || {
                for i in 0..JOBS {
                    if pool_ref.spawn(move || job(iters, i)).is_err() {
                        panic!("spawn refused");
                    }
                }
            })
        });
        let m1 = pool.metrics();
        diag(metrics_delta(
            &format!("spawn_1m_outside {name} ({threads} threads), all runs together"),
            &m0,
            &m1,
        ));
        let m2 = pool.metrics();
        let (total, _) = spawn_run(spec, &name, || {
            for i in 0..JOBS {
                if pool.spawn(move || job(iters, i)).is_err() {
                    panic!("spawn refused");
                }
            }
        });
        let m3 = pool.metrics();
        diag(metrics_delta(
            &format!(
                "spawn_1m_outside {name}, one run of {:.1} ms",
                total.as_secs_f64() * 1e3
            ),
            &m2,
            &m3,
        ));
        pool.shutdown();
    }

    {
        // rayon, producer outside the pool: `ThreadPool::spawn` per job (each boxed by rayon
        // into its global injector).
        let rp = rayon_pool(p);
        let rp_ref = &rp;
        bench(&mut g, "rayon_pool_spawn", &mut move || {
            spawn_run(spec, "rayon_pool_spawn", || {
                for i in 0..JOBS {
                    rp_ref.spawn(move || job(iters, i));
                }
            })
        });
        // rayon, producer on a pool thread: `pool.scope(|s| s.spawn(..))` (scope's body
        // runs on a worker via install, so the producer is one of the 2 workers, as in the
        // peers' figure); the scope returns when every job has run.
        bench(&mut g, "rayon_scope_spawn", &mut move || {
            spawn_run(spec, "rayon_scope_spawn", || {
                rp_ref.scope(|s| {
                    for i in 0..JOBS {
                        s.spawn(move |_| job(iters, i));
                    }
                })
            })
        });
    }
    {
        let cp = ChannelPool::new(p);
        let cp_ref = &cp;
        bench(&mut g, "crossbeam_channel_pool", &mut move || {
            spawn_run(spec, "crossbeam_channel_pool", || {
                for i in 0..JOBS {
                    cp_ref.spawn(Box::new(move || job(iters, i)));
                }
            })
        });
    }
    {
        // Built here and dropped right after: its thieves busy-wait.
        let ip = InjectorPool::new(p);
        let ip_ref = &ip;
        bench(&mut g, "deque_injector_busywait", &mut move || {
            spawn_run(spec, "deque_injector_busywait", || {
                for i in 0..JOBS {
                    ip_ref.spawn(Box::new(move || job(iters, i)));
                }
            })
        });
    }
    g.finish();
    diag(format!(
        "spawn_1m_outside: one job = {iters} spin steps + two fetch_adds on the \
         thread's own tally slot, calibrated to {job_ns:.1} ns back to back (target {JOB_NS} ns)"
    ));
}

/// Benchmarks one contender of the spawn workload: one checked run first, then criterion's
/// samples, then one more run whose submit time goes to the diagnostics.
fn bench_spawn(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &'static str,
    workload: &'static str,
    samples: usize,
    name: &str,
    run: &mut dyn FnMut() -> (Duration, Duration),
) {
    black_box(run());
    g.bench_function(BenchmarkId::new(name, workload), |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                total += run().0;
            }
            record(group, workload, name, samples, n, total);
            total
        })
    });
    let main0 = own_thread_cpu_ns();
    let all0 = thread_cpu_ns();
    let sys0 = system_ticks();
    let (total, submit) = run();
    let sys1 = system_ticks();
    let all1 = thread_cpu_ns();
    let main_cpu = own_thread_cpu_ns().saturating_sub(main0);
    let ms_per_tick = 1e3 / clock_ticks_per_sec() as f64;
    diag(format!(
        "spawn_1m_outside {name}: one more run: total {:.1} ms, of which the producer \
         submitted for {:.1} ms; on CPU: main thread {:.1} ms, this process {:.1} ms; \
         whole machine (/proc/stat, all cores): busy {:.0} ms, idle {:.0} ms, steal {:.0} ms",
        total.as_secs_f64() * 1e3,
        submit.as_secs_f64() * 1e3,
        main_cpu as f64 / 1e6,
        cpu_ns_between(&all0, &all1) as f64 / 1e6,
        (sys1.0 - sys0.0) as f64 * ms_per_tick,
        (sys1.1 - sys0.1) as f64 * ms_per_tick,
        (sys1.2 - sys0.2) as f64 * ms_per_tick,
    ));
}

/// Machine-wide (busy, idle, steal) clock ticks summed over all cores, from `/proc/stat`.
fn system_ticks() -> (u64, u64, u64) {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if f.len() < 8 {
        return (0, 0, 0);
    }
    // user nice system idle iowait irq softirq steal
    let busy = f[0] + f[1] + f[2] + f[5] + f[6];
    (busy, f[3] + f[4], f[7])
}

/// On-CPU nanoseconds of the calling thread (`/proc/thread-self/schedstat`).
fn own_thread_cpu_ns() -> u64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// 5. Idle CPU (plain function, not criterion).
// ---------------------------------------------------------------------------------------

fn clock_ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// utime + stime of the whole process (every thread, live or exited), in clock ticks.
fn process_ticks() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3; utime and stime are fields 14 and 15.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// On-CPU nanoseconds of every live thread (`/proc/self/task/*/schedstat`, first field).
fn thread_cpu_ns() -> HashMap<u64, u64> {
    let mut map = HashMap::new();
    if let Ok(dir) = fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(ns) = fs::read_to_string(e.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
            {
                map.insert(tid, ns);
            }
        }
    }
    map
}

fn cpu_ns_between(before: &HashMap<u64, u64>, after: &HashMap<u64, u64>) -> u64 {
    after
        .iter()
        .map(|(tid, &ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}

struct IdleRow {
    name: String,
    threads: usize,
    wall: Duration,
    ticks: u64,
    sched_ns: u64,
    note: String,
}

const IDLE_FOR: Duration = Duration::from_secs(2);
const IDLE_EVERY: Duration = Duration::from_millis(1);

/// Runs `spawn_empty` every millisecond for two seconds (absolute deadlines, `sleep` in
/// between) and measures the process's CPU time meanwhile.
fn idle_measure(
    name: &str,
    threads: usize,
    spawn_empty: &mut dyn FnMut(),
    done: &mut dyn FnMut() -> String,
) -> IdleRow {
    thread::sleep(Duration::from_millis(300)); // let the pool settle into sleep
    let s0 = thread_cpu_ns();
    let t0 = process_ticks();
    let start = Instant::now();
    let mut deadline = start;
    while start.elapsed() < IDLE_FOR {
        spawn_empty();
        deadline += IDLE_EVERY;
        let now = Instant::now();
        if deadline > now {
            thread::sleep(deadline - now);
        }
    }
    let wall = start.elapsed();
    let t1 = process_ticks();
    let s1 = thread_cpu_ns();
    IdleRow {
        name: name.to_string(),
        threads,
        wall,
        ticks: t1 - t0,
        sched_ns: cpu_ns_between(&s0, &s1),
        note: done(),
    }
}

fn idle_cpu() {
    let hz = clock_ticks_per_sec();
    let mut rows = Vec::new();
    let counter = Arc::new(AtomicU64::new(0));
    let baseline = |rows: &mut Vec<IdleRow>| {
        rows.push(idle_measure(
            "baseline (producer alone)",
            0,
            &mut || {},
            &mut String::new,
        ));
    };
    baseline(&mut rows);
    for p in [spawn_threads(), 8] {
        for backend in [Backend::Stealing, Backend::Channel] {
            let pool = skewer_pool(p, backend);
            let c = Arc::clone(&counter);
            let before = c.load(Ordering::SeqCst);
            let m0 = pool.metrics();
            let row = idle_measure(
                &format!("skewer {backend}"),
                p,
                &mut || {
                    let c = Arc::clone(&c);
                    let spawned = pool.spawn(move || {
                        c.fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(spawned.is_ok(), "spawn refused");
                },
                &mut || {
                    let m1 = pool.metrics();
                    format!(
                        "parks {} wakeups {} steal_ops {} failed_steals {}",
                        m1.total.parks - m0.total.parks,
                        m1.total.wakeups - m0.total.wakeups,
                        m1.total.steal_ops - m0.total.steal_ops,
                        m1.total.failed_steals - m0.total.failed_steals
                    )
                },
            );
            pool.shutdown();
            assert!(counter.load(Ordering::SeqCst) > before + 1000);
            rows.push(row);
        }
        {
            let rp = rayon_pool(p);
            let c = Arc::clone(&counter);
            rows.push(idle_measure(
                "rayon ThreadPool::spawn",
                p,
                &mut || {
                    let c = Arc::clone(&c);
                    rp.spawn(move || {
                        c.fetch_add(1, Ordering::Relaxed);
                    });
                },
                &mut String::new,
            ));
        }
        {
            let cp = ChannelPool::new(p);
            let c = Arc::clone(&counter);
            rows.push(idle_measure(
                "crossbeam-channel pool",
                p,
                &mut || {
                    let c = Arc::clone(&c);
                    cp.spawn(Box::new(move || {
                        c.fetch_add(1, Ordering::Relaxed);
                    }));
                },
                &mut String::new,
            ));
        }
    }
    baseline(&mut rows);

    let pct = |ns: f64, wall: Duration| 100.0 * ns / wall.as_nanos() as f64;
    let base: Vec<&IdleRow> = rows.iter().filter(|r| r.threads == 0).collect();
    let base_sched = base
        .iter()
        .map(|r| pct(r.sched_ns as f64, r.wall))
        .sum::<f64>()
        / base.len() as f64;
    let base_ticks = base
        .iter()
        .map(|r| pct(r.ticks as f64 * 1e9 / hz as f64, r.wall))
        .sum::<f64>()
        / base.len() as f64;

    println!();
    println!(
        "idle_cpu: one empty spawn every 1 ms for 2 s; CPU time of the whole process as % of \
         one core"
    );
    println!(
        "  'sched' = sum of /proc/self/task/*/schedstat (ns, every live thread); 'ticks' = \
         utime+stime of /proc/self/stat ({hz} ticks/s, resolution {:.2}%)",
        100.0 / hz as f64 / IDLE_FOR.as_secs_f64()
    );
    println!(
        "  net = raw - mean baseline (baseline sched {base_sched:.2}%, ticks {base_ticks:.2}%)"
    );
    println!(
        "  {:<28} {:>7} {:>10} {:>9} {:>10} {:>9}   notes",
        "pool", "threads", "sched raw", "sched net", "ticks raw", "ticks net"
    );
    for r in &rows {
        let s = pct(r.sched_ns as f64, r.wall);
        let t = pct(r.ticks as f64 * 1e9 / hz as f64, r.wall);
        let threads = if r.threads == 0 {
            "-".to_string()
        } else {
            r.threads.to_string()
        };
        let (sn, tn) = if r.threads == 0 {
            ("-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.2}%", s - base_sched),
                format!("{:.2}%", t - base_ticks),
            )
        };
        println!(
            "  {:<28} {:>7} {:>9.2}% {:>9} {:>9.2}% {:>9}   {}",
            r.name, threads, s, sn, t, tn, r.note
        );
    }
}

// ---------------------------------------------------------------------------------------
// Summary and main.
// ---------------------------------------------------------------------------------------

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn print_summary() {
    println!();
    println!(
        "ratio summary: median per iteration over criterion's measurement samples (our own \
         clock, inside iter_custom) / the sequential median of the same workload"
    );
    println!(
        "machine: {} cores, {}; {}",
        all_threads(),
        cpu_model(),
        rustc_version()
    );
    let all = series().lock().unwrap();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for s in all.iter() {
        if !keys.contains(&(s.group, s.workload)) {
            keys.push((s.group, s.workload));
        }
    }
    println!(
        "  {:<24} {:<10} {:<28} {:>12} {:>12} {:>12} {:>8}",
        "group", "workload", "contender", "median", "min", "max", "x seq"
    );
    for (group, workload) in keys {
        let stats: Vec<(String, f64, f64, f64)> = all
            .iter()
            .filter(|s| s.group == group && s.workload == workload)
            .map(|s| {
                let keep = s.sample_size.min(s.ns_per_iter.len());
                let mut tail = s.ns_per_iter[s.ns_per_iter.len() - keep..].to_vec();
                let min = tail.iter().copied().fold(f64::INFINITY, f64::min);
                let max = tail.iter().copied().fold(0.0, f64::max);
                (s.contender.clone(), median(&mut tail), min, max)
            })
            .collect();
        let seq = stats
            .iter()
            .find(|s| s.0 == "sequential")
            .map(|s| s.1)
            .unwrap_or(f64::NAN);
        for (name, med, min, max) in &stats {
            println!(
                "  {:<24} {:<10} {:<28} {:>12} {:>12} {:>12} {:>7.2}x",
                group,
                workload,
                name,
                fmt_ns(*med),
                fmt_ns(*min),
                fmt_ns(*max),
                med / seq
            );
        }
    }
    let d = diagnostics().lock().unwrap();
    if !d.is_empty() {
        println!();
        println!("skewer metrics and producer times (diagnostics, not timed):");
        for line in d.iter() {
            println!("  {line}");
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = fork_join_1thread, fib_all_threads, tree_sum_1023_outside, spawn_1m_outside,
        cross_pool_install
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags_only = args.iter().all(|a| a.starts_with('-') || a == "overhead");
    let quick = args.iter().any(|a| a == "--test" || a == "--list");
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !quick {
        print_summary();
    }
    let idle_wanted = flags_only || args.iter().any(|a| a.contains("idle"));
    if idle_wanted && !quick {
        idle_cpu();
    }
}
