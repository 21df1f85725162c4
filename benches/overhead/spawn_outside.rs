//! Group `spawn_1m_outside`: one outside producer (the bench's main thread) spawning 1M
//! boxed jobs of about 100 ns (a calibrated CPU spin) on 2 worker threads (set
//! `OVERHEAD_SPAWN_THREADS` for another count); the timed region ends when every job has run
//! (the producer polls the tally's count, sleeping 50 us between looks so that it never
//! competes with the workers for a core).
//!
//! Contenders: skewer Stealing and Channel (`pool.spawn` from the main thread); rayon two
//! ways, `ThreadPool::spawn` from the main thread (`rayon_pool_spawn`, an outside producer
//! like the others) and `pool.scope(|s| s.spawn(..))` (`rayon_scope_spawn`: the scope body
//! runs on a pool thread, so the producer is one of the workers); one crossbeam channel read
//! by N threads; a bare-bones crossbeam-deque injector pool with busy-waiting thieves; and 1M
//! direct calls of the job. Extras: `sequential_boxed` (the 1M jobs boxed and called in
//! place) and `skewer_stealing_<P-1>w_extra` (one worker fewer, so that workers plus
//! producer fit the cores).

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use skewer::Backend;

use crate::samples::{diag, metrics_delta, record};
use crate::support::measurement::cputime::{self, clock_ticks_per_sec};
use crate::support::measurement::machine::CpuTicks;
use crate::support::measurement::tally;
use crate::support::peers::channel::ChannelPool;
use crate::support::peers::injector::{BoxJob, InjectorPool};
use crate::support::peers::pools;
use crate::support::workloads::spin::spin;

const JOBS: u64 = 1_000_000;
const JOB_NS: f64 = 100.0;

/// Worker threads of the spawn workload: 2, or `OVERHEAD_SPAWN_THREADS`.
pub fn spawn_threads() -> usize {
    std::env::var("OVERHEAD_SPAWN_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// The spin length that makes one job (spin + tally, called back to back as the sequential
/// contender calls it) take about `JOB_NS`: measured on 20k-job loops, best of 15 trials per
/// step (short windows, so that the best one is likely undisturbed), refined three times.
/// Calibrating on the job loop itself rather than on one long spin matters: consecutive jobs
/// are independent chains that the core overlaps.
fn calibrate_job_iters() -> (u64, f64) {
    let per_job_ns = |iters: u64| {
        (0..15)
            .map(|t| {
                tally::reset();
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
    tally::reset();
    (iters, ns)
}

/// The job: a ~100 ns spin seeded with the job's number, its result recorded into the
/// running thread's tally row.
#[inline(never)]
fn job(iters: u64, seed: u64) {
    tally::record(spin(iters, seed), 0);
}

/// Waits (sleeping, never spinning: the machine has as many cores as workers) until every
/// job has run.
fn wait_all(target: u64) {
    while tally::count() < target {
        thread::sleep(Duration::from_micros(50));
    }
}

/// What the spawn workload must produce.
#[derive(Clone, Copy)]
struct SpawnSpec {
    checksum: u64,
}

fn verify(spec: SpawnSpec, who: &str) {
    let got = tally::collect();
    assert_eq!(
        got.count, JOBS,
        "{who}: {} jobs ran, expected {JOBS}",
        got.count
    );
    assert_eq!(
        got.sum, spec.checksum,
        "{who}: checksum differs from the sequential one"
    );
}

/// One timed run of the spawn workload: reset the tally, start the clock, `produce` (which
/// submits every job), wait until all ran, stop the clock, verify. Returns (total, submit).
fn spawn_run(spec: SpawnSpec, who: &str, produce: impl FnOnce()) -> (Duration, Duration) {
    tally::reset();
    let start = Instant::now();
    produce();
    let submitted = start.elapsed();
    wait_all(JOBS);
    let total = start.elapsed();
    verify(spec, who);
    (total, submitted)
}

/// The group.
pub fn spawn_1m_outside(c: &mut Criterion) {
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

    // skewer's two backends (2 workers each), then an extra: Stealing with one worker fewer, so
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
        let pool = pools::skewer(threads, backend);
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
        let rp = pools::rayon(p);
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
                    cp_ref.send(move |_| job(iters, i));
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
        "spawn_1m_outside: one job = {iters} spin steps + a record into the running \
         thread's own tally row, calibrated to {job_ns:.1} ns back to back (target {JOB_NS} ns)"
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
    let main0 = cputime::current_thread_ns();
    let all0 = cputime::snapshot();
    let sys0 = CpuTicks::now().unwrap_or_default();
    let (total, submit) = run();
    let sys1 = CpuTicks::now().unwrap_or_default();
    let all1 = cputime::snapshot();
    let main_cpu = cputime::current_thread_ns().saturating_sub(main0);
    let ms_per_tick = 1e3 / clock_ticks_per_sec() as f64;
    diag(format!(
        "spawn_1m_outside {name}: one more run: total {:.1} ms, of which the producer \
         submitted for {:.1} ms; on CPU: main thread {:.1} ms, this process {:.1} ms; \
         whole machine (/proc/stat, all cores): busy {:.0} ms, idle {:.0} ms, steal {:.0} ms",
        total.as_secs_f64() * 1e3,
        submit.as_secs_f64() * 1e3,
        main_cpu as f64 / 1e6,
        cputime::between(&all0, &all1).as_secs_f64() * 1e3,
        (sys1.busy - sys0.busy) as f64 * ms_per_tick,
        (sys1.idle - sys0.idle) as f64 * ms_per_tick,
        (sys1.steal - sys0.steal) as f64 * ms_per_tick,
    ));
}
