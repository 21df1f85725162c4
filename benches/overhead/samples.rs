//! Our own record of every timed call, for the ratio summary, and the diagnostic lines
//! printed after criterion's output (skewer metrics, producer times).

use std::hint::black_box;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};
use skewer::Metrics;

/// One contender of one workload: the per-iteration times of every `iter_custom` call, in
/// call order (criterion's warm-up calls first, then exactly `sample_size` measurement
/// calls, which the summary keeps).
pub struct Series {
    /// The criterion group.
    pub group: &'static str,
    /// The workload within the group.
    pub workload: &'static str,
    /// Who ran it.
    pub contender: String,
    /// Criterion's measurement samples of the group.
    pub sample_size: usize,
    /// Nanoseconds per iteration of every call.
    pub ns_per_iter: Vec<f64>,
}

/// Every series recorded so far.
pub fn series() -> &'static Mutex<Vec<Series>> {
    static SERIES: OnceLock<Mutex<Vec<Series>>> = OnceLock::new();
    SERIES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Records one `iter_custom` call: `total` for `iters` iterations.
pub fn record(
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

/// Times `iters` calls of `f` and records the result.
/// Benches each of `contenders` (a name and one call of workload `w`) in `g`, timed by
/// `time_loop`, after checking that one call of it returns `expected`.
pub fn bench_checked(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &'static str,
    w: &'static str,
    samples: usize,
    expected: u64,
    contenders: &[(&'static str, &dyn Fn() -> u64)],
) {
    for &(name, run) in contenders {
        assert_eq!(run(), expected, "{group}: {w}: {name}");
        g.bench_function(BenchmarkId::new(name, w), |b| {
            b.iter_custom(|iters| time_loop(group, w, name, samples, iters, run))
        });
    }
}

pub fn time_loop<R>(
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

/// Lines printed after criterion's output (skewer metrics, submit times).
pub fn diagnostics() -> &'static Mutex<Vec<String>> {
    static DIAG: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    DIAG.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds a diagnostic line.
pub fn diag(line: String) {
    diagnostics().lock().unwrap().push(line);
}

/// The counters that grew between two snapshots of a pool's metrics.
pub fn metrics_delta(label: &str, before: &Metrics, after: &Metrics) -> String {
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
