//! The ratio summary printed after criterion's output: each contender's median over
//! criterion's measurement samples, divided by the sequential median of the same workload,
//! then the diagnostic lines.
//!
//! Where a workload has two plain recursions (`sequential`, and `sequential_calls` with
//! both recursive calls kept as calls), the baseline is the faster of the two in this run.
//! Which one is faster depends on the workload and the CPU: on the project's AMD EPYC VM
//! LLVM's loop form (`sequential`) wins on fib and lost by 1.4-2x on the 8M-node tree
//! (`docs/benchmarks.md`, "The tree sum's sequential baseline").

use crate::samples::{diagnostics, series};
use crate::support::measurement::machine::{available_threads, cpu_model, rustc_version};
use crate::support::measurement::stats::median_f64;
use crate::support::reporting::units::fmt_ns;

/// The plain recursions a workload's ratios may be taken against: the faster one is.
const BASELINES: [&str; 2] = ["sequential", "sequential_calls"];

/// Prints the summary.
pub fn print() {
    println!();
    println!(
        "ratio summary: median per iteration over criterion's measurement samples (our own \
         clock, inside iter_custom) / the sequential median of the same workload (the \
         faster of sequential and sequential_calls where both ran)"
    );
    println!(
        "machine: {} cores, {}; {}",
        available_threads(),
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
                let tail = &s.ns_per_iter[s.ns_per_iter.len() - keep..];
                let min = tail.iter().copied().fold(f64::INFINITY, f64::min);
                let max = tail.iter().copied().fold(0.0, f64::max);
                (s.contender.clone(), median_f64(tail), min, max)
            })
            .collect();
        let seq = stats
            .iter()
            .filter(|s| BASELINES.contains(&s.0.as_str()))
            .map(|s| s.1)
            .reduce(f64::min)
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
