//! The summary: a short table and the goal checks in the terminal; the same plus the full
//! table in target/skew/summary.md; every number in target/skew/summary.csv.

pub mod owners;
pub mod plot;
pub mod summary;
pub mod verdict;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::contenders::Contender;
use crate::plan::Sweep;
use crate::report::summary::{Check, Row, find, max_threads};
use crate::support::reporting::units::{fmt_count, fmt_dur};

/// The short table: speedup over sequential of every contender at the largest thread count
/// of each thread-sweep workload.
fn speedup_matrix(rows: &[Row<'_>]) -> String {
    let mut groups: Vec<&str> = Vec::new();
    let mut contenders: Vec<Contender> = Vec::new();
    for r in rows.iter().filter(|r| r.rec.sweep == Sweep::Threads) {
        if !groups.contains(&r.rec.group.as_str()) {
            groups.push(&r.rec.group);
        }
        if r.rec.contender != Contender::Sequential && !contenders.contains(&r.rec.contender) {
            contenders.push(r.rec.contender);
        }
    }
    contenders.sort();
    let mut s = String::new();
    let _ = write!(s, "| workload | P | T1 |");
    for c in &contenders {
        let _ = write!(s, " {c} |");
    }
    let _ = write!(s, "\n|---|--:|--:|");
    for _ in &contenders {
        s.push_str("--:|");
    }
    s.push('\n');
    for g in groups {
        let Some(p) = max_threads(rows, g) else {
            continue;
        };
        let t1 = rows
            .iter()
            .find(|r| r.rec.group == g)
            .map(|r| r.t1)
            .unwrap_or_default();
        let _ = write!(s, "| {g} | {p} | {} |", fmt_dur(t1));
        for &c in &contenders {
            match find(rows, g, "", c, p) {
                Some(r) => {
                    let mark = if r.disturbed { "*" } else { "" };
                    let _ = write!(s, " {:.2}{mark} |", r.speedup);
                }
                None => s.push_str(" — |"),
            }
        }
        s.push('\n');
    }
    s
}

fn checks_list(checks: &[Check]) -> String {
    let mut s = String::new();
    for g in checks {
        let mark = match (g.met, g.informational) {
            (None, _) if g.measured.starts_with("left out") => "DISTURBED",
            (None, _) => "—",
            (Some(_), true) => "MEASURED",
            (Some(true), false) => "MET",
            (Some(false), false) => "NOT MET",
        };
        let _ = writeln!(s, "- [{mark}] {}: {}", g.goal, g.measured);
    }
    s
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".to_string(), |v| format!("{v:.digits$}"))
}

fn full_table(rows: &[Row<'_>]) -> String {
    let mut s = String::from(
        "| workload | param | contender | P | runs | median | speedup | efficiency | time/bound | jobs' time | CPU | CPU/wall | steals/1k jobs | peak queued | others |\n\
         |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {} | {} | {:.2} | {} | {} | {} |",
            r.rec.group,
            r.rec.param,
            r.rec.contender,
            r.rec.threads,
            r.rec.wall.len(),
            fmt_dur(r.wall),
            r.speedup,
            r.efficiency,
            opt(r.lb_ratio, 3),
            opt(r.job_inflation, 3),
            fmt_dur(r.cpu),
            r.cpu.as_secs_f64() / r.wall.as_secs_f64().max(1e-12),
            opt(r.steals_per_1k, 1),
            r.peak_queued.map_or("—".to_string(), fmt_count),
            opt(r.rec.others_cores, 2) + if r.disturbed { " *" } else { "" },
        );
    }
    s
}

fn csv(rows: &[Row<'_>]) -> String {
    let mut s = String::from(
        "group,param,x,contender,threads,runs,wall_median_ns,wall_min_ns,wall_max_ns,cpu_per_run_ns,\
         t1_ns,t1_measured,speedup,efficiency,lower_bound_ns,time_over_bound,largest_job_ns,jobs_per_run,\
         steal_ops,jobs_stolen,failed_steals,parks,wakeups,injected,local_pushes,jobs_executed,\
         steals_per_1k,stolen_per_1k,peak_queued,others_cores,in_jobs_median_ns,job_inflation\n",
    );
    for r in rows {
        let sc = r.rec.sched.clone();
        let sched = |f: fn(&crate::results::SchedStats) -> u64| {
            sc.as_ref().map_or(String::new(), |s| f(s).to_string())
        };
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{:.4},{:.4},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.rec.group,
            r.rec.param,
            r.rec.x,
            r.rec.contender,
            r.rec.threads,
            r.rec.wall.len(),
            r.wall.as_nanos(),
            r.rec.wall.iter().min().map_or(0, |d| d.as_nanos()),
            r.rec.wall.iter().max().map_or(0, |d| d.as_nanos()),
            r.cpu.as_nanos(),
            r.t1.as_nanos(),
            r.t1_measured,
            r.speedup,
            r.efficiency,
            r.lower_bound
                .map_or(String::new(), |d| d.as_nanos().to_string()),
            r.lb_ratio.map_or(String::new(), |v| format!("{v:.4}")),
            r.rec
                .largest_job
                .map_or(String::new(), |d| d.as_nanos().to_string()),
            r.rec.jobs_per_run,
            sched(|s| s.steal_ops),
            sched(|s| s.jobs_stolen),
            sched(|s| s.failed_steals),
            sched(|s| s.parks),
            sched(|s| s.wakeups),
            sched(|s| s.injected),
            sched(|s| s.local_pushes),
            sched(|s| s.jobs_executed),
            r.steals_per_1k.map_or(String::new(), |v| format!("{v:.2}")),
            r.stolen_per_1k.map_or(String::new(), |v| format!("{v:.2}")),
            r.peak_queued.map_or(String::new(), |v| v.to_string()),
            r.rec
                .others_cores
                .map_or(String::new(), |v| format!("{v:.2}")),
            r.in_jobs
                .map_or(String::new(), |d| d.as_nanos().to_string()),
            r.job_inflation.map_or(String::new(), |v| format!("{v:.4}")),
        );
    }
    s
}

/// How the contenders' thread counts compare, said under every table.
pub const THREADS_NOTE: &str = "P = threads that run jobs, the same for every contender: skewer and \
rayon run the scope body (the producer of flat jobs, the root of a tree) and every join tree on \
one of their P workers (`install`); chili is P - 1 workers plus the bench thread, which runs the \
root of its fork tree; the channel pools' P workers run every job while the bench thread only \
submits and then sleeps; the static split and the cursor are P threads.";

/// What the `*` of a disturbed cell means, said under the speedup table.
const DISTURBED_NOTE: &str = "A * marks a cell measured while other processes kept at least half \
a core busy (see `others` in the full table): it is shown, but left out of the verdict and the \
checks.";

/// Prints the summary and writes summary.md and summary.csv into `dir`.
pub fn write(dir: &Path, header: &str, rows: &[Row<'_>], checks: &[Check]) -> std::io::Result<()> {
    let matrix = speedup_matrix(rows);
    let check_text = checks_list(checks);
    let verdict = verdict::verdict(rows);
    let estimated = rows.iter().any(|r| !r.t1_measured);
    let note = if estimated {
        "\nT1 of some workloads comes from the reference runs made while building them (their \
         sequential cell was filtered out).\n"
    } else {
        ""
    };
    println!(
        "\n==== skew summary ====\n{header}\n\nVerdict: {verdict}\nSpeedup over sequential (T1) at the largest thread count:\n\n{matrix}{note}\n{THREADS_NOTE}\n{DISTURBED_NOTE}\n\nChecks:\n{check_text}\nFull table: {}\n",
        dir.join("summary.md").display()
    );
    fs::create_dir_all(dir)?;
    let md = format!(
        "# skew benchmark summary\n\n{header}\n\n## Verdict\n\n{verdict}\n## Speedup over sequential at the largest thread count\n\n{matrix}{note}\n{THREADS_NOTE}\n{DISTURBED_NOTE}\n\n\
         ## Checks\n\n{check_text}\n## Every cell\n\n\
         `time/bound` = median time / max(T1/P, largest job) (flat workloads); `jobs' time` = the \
         median time spent inside jobs per run, summed over the threads, over the sequential \
         run's (mandelbrot: above 1, the tiles themselves ran slower, time no scheduler wins back); \
         CPU = user + system time \
         of all threads, mean per run; steals and peak queued jobs are skewer's own counters \
         (steal operations include batches taken from the shared queue; peak queued is an upper \
         bound: the shared queue's peak plus each local deque's peak); others = cores other \
         processes kept busy while the cell ran (0 on a quiet machine; `*` = disturbed, left out \
         of the verdict and the checks).\n\n{}",
        full_table(rows)
    );
    fs::write(dir.join("summary.md"), md)?;
    fs::write(dir.join("summary.csv"), csv(rows))?;
    Ok(())
}
