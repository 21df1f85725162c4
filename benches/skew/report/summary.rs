//! From raw records to the numbers a person reads: speedup, efficiency, distance to the lower
//! bound, CPU time, steals per 1000 jobs, peak queued jobs; and the checks made against them.
//! Every number here comes from the records of this run. A cell measured while other
//! processes kept at least `DISTURBED_CORES` cores busy is marked disturbed: it is shown, but
//! left out of the checks and of the verdict.

use std::time::Duration;

use crate::contenders::Contender;
use crate::plan::Sweep;
use crate::results::Record;
use crate::workloads::Kind;

/// A cell during which other processes kept at least this many cores busy on average is
/// disturbed: its times say more about the machine than about the contenders.
pub const DISTURBED_CORES: f64 = 0.5;

/// The derived numbers of one record.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    /// The record.
    pub rec: &'a Record,
    /// Median wall time.
    pub wall: Duration,
    /// Mean CPU time per run (all threads).
    pub cpu: Duration,
    /// The sequential time of this workload point.
    pub t1: Duration,
    /// Whether `t1` comes from the sequential cell (true) or from the reference runs made
    /// when the workload was built (the sequential cell was filtered out).
    pub t1_measured: bool,
    /// T1 / Tp.
    pub speedup: f64,
    /// T1 / (P * Tp).
    pub efficiency: f64,
    /// max(T1/P, largest job), flat workloads.
    pub lower_bound: Option<Duration>,
    /// Tp / lower bound.
    pub lb_ratio: Option<f64>,
    /// Successful steal operations per 1000 jobs (skewer).
    pub steals_per_1k: Option<f64>,
    /// Jobs moved by steals per 1000 jobs (skewer).
    pub stolen_per_1k: Option<f64>,
    /// Peak queued jobs (skewer).
    pub peak_queued: Option<u64>,
    /// Median time spent inside jobs per run, summed over the threads (workloads that
    /// measure it).
    pub in_jobs: Option<Duration>,
    /// `in_jobs` over the sequential cell's: above 1, the jobs themselves ran slower than
    /// in the sequential run (a slower core, a preempted job), time no scheduler can win back.
    pub job_inflation: Option<f64>,
    /// Whether other processes kept at least `DISTURBED_CORES` cores busy meanwhile.
    pub disturbed: bool,
}

/// Derives a row for every record.
pub fn rows(records: &[Record]) -> Vec<Row<'_>> {
    records
        .iter()
        .map(|rec| {
            let seq = records.iter().find(|s| {
                s.group == rec.group && s.param == rec.param && s.contender == Contender::Sequential
            });
            let (t1, t1_measured) = match seq {
                Some(s) => (s.wall_median(), true),
                None => (rec.t1_reference, false),
            };
            let wall = rec.wall_median();
            let in_jobs = rec.in_jobs_median();
            let job_inflation = in_jobs
                .zip(seq.and_then(Record::in_jobs_median))
                .map(|(mine, sequential)| mine.as_secs_f64() / sequential.as_secs_f64().max(1e-12));
            let speedup = t1.as_secs_f64() / wall.as_secs_f64().max(1e-12);
            let lower_bound = (rec.kind == Kind::Flat)
                .then(|| (t1 / rec.threads as u32).max(rec.largest_job.unwrap_or_default()));
            let runs = rec.wall.len() as f64;
            let per_1k = |n: u64| n as f64 * 1000.0 / (rec.jobs_per_run as f64 * runs).max(1.0);
            Row {
                rec,
                wall,
                cpu: rec.cpu_per_run,
                t1,
                t1_measured,
                speedup,
                efficiency: speedup / rec.threads as f64,
                lower_bound,
                lb_ratio: lower_bound.map(|lb| wall.as_secs_f64() / lb.as_secs_f64()),
                steals_per_1k: rec.sched.as_ref().map(|s| per_1k(s.steal_ops)),
                stolen_per_1k: rec.sched.as_ref().map(|s| per_1k(s.jobs_stolen)),
                peak_queued: rec.sched.as_ref().map(|s| s.peak_queued),
                in_jobs,
                job_inflation,
                disturbed: rec.others_cores.is_some_and(|c| c >= DISTURBED_CORES),
            }
        })
        .collect()
}

/// The row of (group, param, contender, threads), if measured.
pub fn find<'a>(
    rows: &'a [Row<'a>],
    group: &str,
    param: &str,
    c: Contender,
    p: usize,
) -> Option<&'a Row<'a>> {
    rows.iter().find(|r| {
        r.rec.group == group && r.rec.param == param && r.rec.contender == c && r.rec.threads == p
    })
}

/// The row of (group, param, contender, threads), if measured on a quiet machine.
pub fn quiet<'a>(
    rows: &'a [Row<'a>],
    group: &str,
    param: &str,
    c: Contender,
    p: usize,
) -> Option<&'a Row<'a>> {
    find(rows, group, param, c, p).filter(|r| !r.disturbed)
}

/// The thread counts measured in a group (pools only), ascending.
pub fn thread_counts(rows: &[Row<'_>], group: &str) -> Vec<usize> {
    let mut threads: Vec<usize> = rows
        .iter()
        .filter(|r| r.rec.group == group && r.rec.contender != Contender::Sequential)
        .map(|r| r.rec.threads)
        .collect();
    threads.sort_unstable();
    threads.dedup();
    threads
}

/// The largest thread count measured in a group (pools only).
pub fn max_threads(rows: &[Row<'_>], group: &str) -> Option<usize> {
    rows.iter()
        .filter(|r| r.rec.group == group && r.rec.contender != Contender::Sequential)
        .map(|r| r.rec.threads)
        .max()
}

/// A check of this run and what it measured.
#[derive(Clone, Debug)]
pub struct Check {
    /// What the check asks.
    pub goal: String,
    /// What was measured.
    pub measured: String,
    /// Whether it is met at the measured thread count (None: not measured in this run).
    pub met: Option<bool>,
    /// A measurement asked for, with no threshold to meet (the crossover).
    pub informational: bool,
}

fn time_ratio(
    rows: &[Row<'_>],
    group: &str,
    param: &str,
    num: Contender,
    den: Contender,
    p: usize,
) -> Option<f64> {
    let a = quiet(rows, group, param, num, p)?;
    let b = quiet(rows, group, param, den, p)?;
    Some(a.wall.as_secs_f64() / b.wall.as_secs_f64())
}

/// Whether `contender`'s time over the lower bound of group `g` at `p` threads is at most
/// `limit`, with the same ratio of `others` for comparison.
fn near_bound(
    rows: &[Row<'_>],
    g: &str,
    contender: Contender,
    others: &[Contender],
    p: usize,
    limit: f64,
) -> Option<(String, bool)> {
    let row = quiet(rows, g, "", contender, p)?;
    let s = row.lb_ratio?;
    // Where the workload times its jobs, say how much slower they ran than sequentially:
    // that part of the distance to the bound is not the scheduler's.
    let jobs = |r: &Row<'_>| {
        r.job_inflation
            .map_or(String::new(), |x| format!(" (jobs {x:.3}x)"))
    };
    let others: Vec<String> = others
        .iter()
        .filter_map(|&c| {
            let r = quiet(rows, g, "", c, p)?;
            Some(format!("{c} {:.3}{}", r.lb_ratio?, jobs(r)))
        })
        .collect();
    Some((
        format!(
            "time / bound = {s:.3}{} at P={p} (others: {})",
            jobs(row),
            others.join(", ")
        ),
        s <= limit,
    ))
}

/// Makes every check against the measured rows (disturbed cells left out).
pub fn checks(rows: &[Row<'_>]) -> Vec<Check> {
    use Contender::*;
    let mut out = Vec::new();
    let mut push = |goal: String, measured: Option<(String, bool)>| {
        let group = goal.split(':').next().unwrap_or_default();
        let (measured, met) = match measured {
            Some((m, ok)) => (m, Some(ok)),
            None if rows.iter().any(|r| r.rec.group == group && r.disturbed) => (
                "left out: measured while other processes kept cores busy".to_string(),
                None,
            ),
            None => ("not measured in this run".to_string(), None),
        };
        out.push(Check {
            goal,
            measured,
            met,
            informational: false,
        });
    };

    // uts-bin: stealing >= rayon-join, and >= 8x the channel.
    let p = max_threads(rows, "uts-bin");
    push(
        "uts-bin: skewer-steal at least as fast as rayon-join".into(),
        p.and_then(|p| {
            let r = time_ratio(rows, "uts-bin", "", RayonJoin, SkewerSteal, p)?;
            Some((
                format!("rayon-join time / skewer-steal time = {r:.2} at P={p}"),
                r >= 1.0,
            ))
        }),
    );
    push(
        "uts-bin: skewer-steal at least 8x as fast as skewer-chan at 16 threads".into(),
        p.and_then(|p| {
            let chan = time_ratio(rows, "uts-bin", "", SkewerChan, SkewerSteal, p)?;
            let cb = time_ratio(rows, "uts-bin", "", CbChannel, SkewerSteal, p);
            let cb = cb.map_or(String::new(), |cb| {
                format!(", cb-channel / skewer-steal = {cb:.2}")
            });
            Some((
                format!(
                    "skewer-chan / skewer-steal = {chan:.2}{cb} at P={p} (at most P is possible)"
                ),
                chan >= 8.0,
            ))
        }),
    );

    // One scope task per node: as fast as rayon's scope spawn, and close to skewer's own
    // join walk of the same tree.
    for g in ["uts-geo", "uts-bin"] {
        let p = max_threads(rows, g);
        push(
            format!(
                "{g}: skewer-steal (one scope task per node) at least as fast as rayon-spawn, and at least 0.95x the speed of skewer-steal-join"
            ),
            p.and_then(|p| {
                let rayon = time_ratio(rows, g, "", RayonSpawn, SkewerSteal, p)?;
                let own = time_ratio(rows, g, "", SkewerStealJoin, SkewerSteal, p)?;
                Some((
                    format!(
                        "rayon-spawn time / skewer-steal time = {rayon:.2}, skewer-steal-join time / skewer-steal time = {own:.2} at P={p}"
                    ),
                    rayon >= 1.0 && own >= 0.95,
                ))
            }),
        );
    }

    // Coarse fork-join trees: recursive halving with `join` near the lower bound.
    for g in ["mandelbrot", "pareto", "bimodal"] {
        let p = max_threads(rows, g);
        push(
            format!("{g}: skewer-steal-join (recursive halving) within 10% of the lower bound"),
            p.and_then(|p| near_bound(rows, g, SkewerStealJoin, &[RayonJoin, ChiliJoin], p, 1.10)),
        );
    }

    // Fork-join: stealing >= rayon-join.
    for g in ["tree-sum-small", "tree-sum-large"] {
        let p = max_threads(rows, g);
        push(
            format!("{g}: skewer-steal (join) at least as fast as rayon-join"),
            p.and_then(|p| {
                let r = time_ratio(rows, g, "", RayonJoin, SkewerSteal, p)?;
                Some((
                    format!("rayon-join time / skewer-steal time = {r:.2} at P={p}"),
                    r >= 1.0,
                ))
            }),
        );
    }

    // uniform-tiny from one outside producer.
    let p = max_threads(rows, "uniform-tiny");
    push(
        "uniform-tiny (one spawn per job from one outside producer): skewer-steal >= 1.0x sequential on 2 threads, >= 2x on 16".into(),
        p.and_then(|p| {
            let s = quiet(rows, "uniform-tiny", "", SkewerSteal, p)?.speedup;
            let need = if p >= 16 { 2.0 } else { 1.0 };
            Some((format!("speedup {s:.2}x at P={p} (needed {need:.1}x)"), s >= need))
        }),
    );

    // Flat skew: within 5% of the lower bound.
    for g in ["pareto", "bimodal", "mandelbrot"] {
        let p = max_threads(rows, g);
        push(
            format!("{g}: skewer-steal within 5% of the lower bound max(T1/P, largest job)"),
            p.and_then(|p| {
                near_bound(
                    rows,
                    g,
                    SkewerSteal,
                    &[SkewerChan, CbChannel, Cursor],
                    p,
                    1.05,
                )
            }),
        );
    }

    // Nested: peak queued jobs.
    for g in ["uts-geo", "uts-bin"] {
        let p = max_threads(rows, g);
        push(
            format!("{g}: peak queued jobs of skewer-steal <= 1/10 of skewer-chan's"),
            p.and_then(|p| {
                let s = quiet(rows, g, "", SkewerSteal, p)?.peak_queued?;
                let c = quiet(rows, g, "", SkewerChan, p)?.peak_queued?;
                Some((format!("{s} vs {c} at P={p}"), s * 10 <= c))
            }),
        );
    }

    // The channel backend against the plain crossbeam-channel pool.
    // Same idea only where both run the same code shape: flat and nested workloads (on
    // fork-join, skewer's channel backend runs `join`, the peer one task per node).
    let mut ratios: Vec<(f64, String)> = rows
        .iter()
        .filter(|r| {
            r.rec.contender == SkewerChan
                && r.rec.sweep == Sweep::Threads
                && r.rec.kind != Kind::ForkJoin
                && !r.disturbed
        })
        .filter_map(|r| {
            let cb = quiet(rows, &r.rec.group, &r.rec.param, CbChannel, r.rec.threads)?;
            let ratio = r.wall.as_secs_f64() / cb.wall.as_secs_f64();
            Some((ratio, format!("{} P={}", r.rec.group, r.rec.threads)))
        })
        .collect();
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    push(
        "skewer-chan within 10% of the plain crossbeam-channel pool (flat and nested workloads, every thread count)".into(),
        ratios.last().map(|(worst, at)| {
            let within = ratios.iter().filter(|r| r.0 <= 1.10).count();
            let all: Vec<String> = ratios.iter().map(|(r, at)| format!("{at}: {r:.2}")).collect();
            (
                format!(
                    "skewer-chan / cb-channel time within 1.10 in {within} of {} cells; worst {worst:.2} ({at}); all: {}",
                    ratios.len(),
                    all.join(", ")
                ),
                *worst <= 1.10,
            )
        }),
    );

    // The crossover of the per-job cost sweeps.
    for g in ["uniform-tiny-cost", "uts-geo-cost", "uts-bin-cost"] {
        for p in thread_counts(rows, g) {
            let measured = crossover(rows, g, p);
            out.push(Check {
                goal: format!(
                    "{g}: the per-job cost where the channel catches up with stealing (P={p})"
                ),
                met: measured.as_ref().map(|_| true),
                measured: measured.unwrap_or_else(|| {
                    if rows.iter().any(|r| r.rec.group == g && r.disturbed) {
                        "left out: measured while other processes kept cores busy".to_string()
                    } else {
                        "not measured in this run".to_string()
                    }
                }),
                informational: true,
            });
        }
    }
    out
}

/// "skewer-chan within 10% of skewer-steal from X on" (and the same for cb-channel).
fn crossover(rows: &[Row<'_>], group: &str, p: usize) -> Option<String> {
    let mut points: Vec<(f64, &str)> = rows
        .iter()
        .filter(|r| {
            r.rec.group == group && r.rec.contender == Contender::SkewerSteal && r.rec.threads == p
        })
        .map(|r| (r.rec.x, r.rec.param.as_str()))
        .collect();
    if points.is_empty() {
        return None;
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let any_quiet = points.iter().any(|&(_, param)| {
        [Contender::SkewerChan, Contender::CbChannel]
            .into_iter()
            .any(|c| time_ratio(rows, group, param, c, Contender::SkewerSteal, p).is_some())
    });
    if !any_quiet {
        return None;
    }
    let catch_up = |c: Contender| {
        // The smallest cost from which on the channel stays within 10% of stealing.
        let mut from = None;
        for &(_, param) in points.iter().rev() {
            match time_ratio(rows, group, param, c, Contender::SkewerSteal, p) {
                Some(r) if r <= 1.10 => from = Some(param),
                _ => break,
            }
        }
        let ratios: Vec<String> = points
            .iter()
            .filter_map(|&(_, param)| {
                Some(format!(
                    "{param}: {:.2}",
                    time_ratio(rows, group, param, c, Contender::SkewerSteal, p)?
                ))
            })
            .collect();
        let verdict = match from {
            Some(param) if param == points[0].1 => "within 10% at every cost".to_string(),
            Some(param) => format!("within 10% from {param} on"),
            None => "not within 10% in the sweep".to_string(),
        };
        format!("{c}/skewer-steal time: {verdict} ({})", ratios.join(", "))
    };
    Some(format!(
        "{}; {}",
        catch_up(Contender::SkewerChan),
        catch_up(Contender::CbChannel)
    ))
}
