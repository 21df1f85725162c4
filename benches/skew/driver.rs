//! Runs the plan through criterion: one group per workload or sweep, one `BenchmarkId` per
//! (contender, parameter, threads), every pool built once per cell outside the timed region.
//!
//! Nothing is built for a point until criterion runs one of its cells, so criterion's name
//! filter skips the work of filtered-out groups: the first cell criterion runs builds the
//! workload and its sequential reference. From then on, each cell's pool is started and one
//! run checked against the reference before the cell is handed to criterion (that run also
//! sizes criterion's measurement time); a mismatch aborts the bench. Every timed run is
//! checked too, outside the timed region. The wall time of every run criterion times is
//! kept, with CPU time and skewer's counters, for the summary.

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};

use crate::contenders::{Contender, Engine};
use crate::plan::{Group, Point};
use crate::results::{Record, SchedStats};
use crate::support::measurement::cputime;
use crate::support::measurement::machine::OtherLoad;
use crate::support::measurement::stats::median;
use crate::support::measurement::tally::{self, Digest};
use crate::support::reporting::units::fmt_dur;
use crate::workloads::{Outcome, Workload};

/// A built workload with its sequential reference.
struct Prepared {
    workload: &'static dyn Workload,
    reference: Digest,
    t1_reference: Duration,
}

/// Runs `w` once and returns what it computed.
fn digest_of(w: &'static dyn Workload, engine: &Engine, c: Contender) -> Digest {
    tally::reset();
    match w.run(engine, c) {
        Outcome::Returned(d) => d,
        Outcome::Tallied => tally::collect(),
    }
}

fn prepare(group: &Group, point: &Point) -> Prepared {
    let started = Instant::now();
    let workload = (point.build)();
    let reference = digest_of(workload, &Engine::Sequential, Contender::Sequential);
    let times: Vec<Duration> = (0..3)
        .map(|_| {
            tally::reset();
            let start = Instant::now();
            let out = workload.run(&Engine::Sequential, Contender::Sequential);
            let t = start.elapsed();
            let d = match out {
                Outcome::Returned(d) => d,
                Outcome::Tallied => tally::collect(),
            };
            assert_eq!(
                d, reference,
                "the sequential run of {} is not deterministic",
                group.name
            );
            t
        })
        .collect();
    let t1_reference = median(&times);
    eprintln!(
        "[skew] {}{}: {}; sequential {} (ready in {})",
        group.name,
        if point.param.is_empty() {
            String::new()
        } else {
            format!(" {}", point.param)
        },
        workload.describe(),
        fmt_dur(t1_reference),
        fmt_dur(started.elapsed())
    );
    Prepared {
        workload,
        reference,
        t1_reference,
    }
}

/// Checked runs before a cell is timed: they also size its measurement (the slowest of
/// them, so that criterion's own warm-up seldom finds a run slower than planned).
const CHECK_RUNS: usize = 3;

/// One cell being measured.
struct Cell {
    contender: Contender,
    engine: Engine,
    wall: Vec<Duration>,
    cpu_total: Duration,
    /// Time spent inside jobs, per timed run (workloads that measure it).
    in_jobs: Vec<Duration>,
    sched: Option<SchedStats>,
    /// The longest wall time of the checking runs, a cautious estimate of one run's time.
    first_run: Duration,
}

impl Cell {
    /// Starts the pool and checks `CHECK_RUNS` runs against the sequential reference.
    fn start(name: &str, prep: &Prepared, contender: Contender, threads: usize) -> Cell {
        let engine = Engine::build(contender, threads);
        let mut first_run = Duration::ZERO;
        for _ in 0..CHECK_RUNS {
            let start = Instant::now();
            let got = digest_of(prep.workload, &engine, contender);
            first_run = first_run.max(start.elapsed());
            if got != prep.reference {
                panic!(
                    "{name}: {contender} on {threads} threads computed {got:?}, the sequential \
                     run {:?}; aborting the bench",
                    prep.reference
                );
            }
        }
        let sched = contender.is_skewer().then(SchedStats::default);
        Cell {
            contender,
            engine,
            wall: Vec::new(),
            cpu_total: Duration::ZERO,
            in_jobs: Vec::new(),
            sched,
            first_run,
        }
    }

    /// `iters` timed runs; returns their total wall time for criterion.
    fn timed(&mut self, name: &str, prep: &Prepared, iters: u64) -> Duration {
        let metrics_before = self.engine.metrics();
        let cpu_before = cputime::snapshot();
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            tally::reset();
            let in_jobs_before = prep.workload.time_in_jobs();
            let start = Instant::now();
            let out = prep.workload.run(&self.engine, self.contender);
            let wall = start.elapsed();
            if let (Some(before), Some(after)) = (in_jobs_before, prep.workload.time_in_jobs()) {
                self.in_jobs.push(after.saturating_sub(before));
            }
            let got = match out {
                Outcome::Returned(d) => d,
                Outcome::Tallied => tally::collect(),
            };
            assert_eq!(
                got, prep.reference,
                "{name}: {} computed a wrong result",
                self.contender
            );
            self.wall.push(wall);
            total += wall;
        }
        // CPU time is read per batch (reading /proc costs more than a small run) and
        // reported as the mean per run over all batches.
        self.cpu_total += cputime::between(&cpu_before, &cputime::snapshot());
        if let (Some(sched), Some(before), Some(after)) =
            (&mut self.sched, metrics_before, self.engine.metrics())
        {
            sched.add_delta(&before, &after);
        }
        total
    }
}

/// How long criterion warms a cell up: about three runs, and at least 10 ms. Criterion sizes
/// its samples from the mean run time of the warm-up, so a warm-up of several runs keeps one
/// disturbed run (a preemption on a shared machine) from making every sample a single run.
pub fn warm_up_time(est: Duration) -> Duration {
    (est * 3).max(Duration::from_millis(10))
}

/// Criterion's samples per cell (its minimum).
pub const SAMPLES: u32 = 10;

/// How long criterion should measure a cell expected to take `est` per run: two runs per
/// sample, and never less than 20 ms in all, so that tiny runs get many samples. Criterion
/// sizes its samples from a warm-up run and warns ("Unable to complete 10 samples") when a
/// sample would hold a single run; with twice the slowest checking run's time per sample, that
/// happens only if the warm-up runs take twice as long as the slowest checking run did.
pub fn measurement_time(est: Duration) -> Duration {
    (est * SAMPLES * 2).max(Duration::from_millis(20))
}

/// Runs every point and cell of `group`, appending what was measured to `records`.
pub fn run_group(c: &mut Criterion, group: &Group, records: &mut Vec<Record>) {
    let started = Instant::now();
    let others = OtherLoad::start();
    let mut g: BenchmarkGroup<'_, WallTime> = c.benchmark_group(&group.name);
    g.sampling_mode(SamplingMode::Flat);
    let first_record = records.len();
    for point in &group.points {
        let mut prepared: Option<Prepared> = None;
        for &(contender, threads) in &point.cells {
            let param = if point.param.is_empty() {
                format!("p{threads}")
            } else {
                format!("{}-p{threads}", point.param)
            };
            let label = format!("{}/{}/{param}", group.name, contender.name());
            let id = BenchmarkId::new(contender.name(), param);
            // Once the point is built (by its first cell that criterion runs), each cell's pool
            // is started and checked before criterion is called, so that the checking runs
            // also size criterion's measurement time. A cell criterion then filters out
            // costs one pool start and the checking runs; nothing is built for filtered-out points.
            let others = OtherLoad::start();
            let mut cell: Option<Cell> = prepared
                .as_ref()
                .map(|prep| Cell::start(&label, prep, contender, threads));
            let est = match &cell {
                Some(cell) => cell.first_run,
                None => point.nominal / threads as u32,
            };
            g.measurement_time(measurement_time(est));
            g.warm_up_time(warm_up_time(est));
            g.bench_function(id, |b| {
                // Outside `iter_custom`, so criterion's clock (which sizes the samples from the
                // warm-up) does not see the building.
                let prep = prepared.get_or_insert_with(|| prepare(group, point));
                let cell =
                    cell.get_or_insert_with(|| Cell::start(&label, prep, contender, threads));
                b.iter_custom(|iters| cell.timed(&label, prep, iters));
            });
            if let (Some(cell), Some(prep)) = (cell.filter(|c| !c.wall.is_empty()), &prepared) {
                records.push(Record {
                    group: group.name.clone(),
                    param: point.param.clone(),
                    x: point.x,
                    sweep: group.sweep,
                    kind: group.kind,
                    contender,
                    threads,
                    cpu_per_run: cell.cpu_total / cell.wall.len().max(1) as u32,
                    wall: cell.wall,
                    in_jobs: cell.in_jobs,
                    jobs_per_run: prep.workload.jobs(),
                    largest_job: prep.workload.largest_job(),
                    t1_reference: prep.t1_reference,
                    sched: cell.sched,
                    owners: if contender.is_skewer() {
                        prep.workload.owners()
                    } else {
                        None
                    },
                    tile_costs: prep.workload.tile_costs(),
                    others_cores: others.cores_used_by_others(),
                });
                // The cell's pool is shut down here, before the next one starts.
                drop(cell.engine);
            }
        }
    }
    g.finish();
    let done = &records[first_record..];
    if !done.is_empty() {
        eprintln!(
            "[skew] {} done in {} (other processes used {} cores): {}",
            group.name,
            fmt_dur(started.elapsed()),
            others
                .cores_used_by_others()
                .map_or("?".to_string(), |c| format!("{c:.2}")),
            brief(done)
        );
    }
}

/// One line: each contender's speedup at the largest thread count measured.
fn brief(records: &[Record]) -> String {
    let t1 = |r: &Record| {
        records
            .iter()
            .find(|s| s.param == r.param && s.contender == Contender::Sequential)
            .map_or(r.t1_reference, Record::wall_median)
    };
    let Some(last) = records.last() else {
        return String::new();
    };
    let param = &last.param;
    let pmax = records
        .iter()
        .filter(|r| &r.param == param)
        .map(|r| r.threads)
        .max()
        .unwrap_or(1);
    let parts: Vec<String> = records
        .iter()
        .filter(|r| &r.param == param && r.threads == pmax && r.contender != Contender::Sequential)
        .map(|r| {
            format!(
                "{} {:.2}x",
                r.contender,
                t1(r).as_secs_f64() / r.wall_median().as_secs_f64()
            )
        })
        .collect();
    let at = if param.is_empty() {
        String::new()
    } else {
        format!(" {param}")
    };
    format!("speedup at{at} P={pmax}: {}", parts.join(", "))
}
