//! What every workload offers the driver.

use std::time::Duration;

pub mod flat;
pub mod mandelbrot;
pub mod nested;
pub mod spinjobs;
pub mod treesum;
pub mod uts;

use crate::contenders::{Contender, Engine};
use crate::support::measurement::tally::Digest;

/// How a run hands its result back.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// The run returned its digest (fork-join style).
    Returned(Digest),
    /// The jobs recorded into the per-thread tally: read it with `tally::collect`.
    Tallied,
}

/// The shape of a workload, which decides the extra columns of the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Independent jobs: the lower bound max(T1/P, largest job) applies.
    Flat,
    /// Jobs that spawn jobs: peak queued jobs matter.
    Nested,
    /// Recursive `join`.
    ForkJoin,
}

/// One workload instance (fixed size and seed), built once and shared by all its cells.
pub trait Workload: Sync + 'static {
    /// One line for the progress output: sizes, costs, node count and depth.
    fn describe(&self) -> String;

    /// Jobs (or tasks, or tree nodes) per run: the denominator of "steals per 1000 jobs".
    fn jobs(&self) -> u64;

    /// Runs the whole workload once with `contender` on `engine`. The caller resets the tally
    /// before and collects it after when the outcome says so.
    fn run(&'static self, engine: &Engine, contender: Contender) -> Outcome;

    /// The time of the most expensive single job, measured alone (flat workloads only).
    fn largest_job(&self) -> Option<Duration> {
        None
    }

    /// The total time spent inside jobs since the workload was built, summed over every
    /// thread that ran one (mandelbrot only: its tiles are long enough that two clock reads
    /// per tile cost under 0.1% of a run). The driver reads it around each timed run: a run
    /// whose jobs took longer than the sequential run's did not lose that time to scheduling.
    fn time_in_jobs(&self) -> Option<Duration> {
        None
    }

    /// Which worker ran each tile in the last run: `0` for a thread outside the pool,
    /// `i + 1` for worker `i` (mandelbrot only), with the tile grid's width.
    fn owners(&self) -> Option<(Vec<u16>, usize)> {
        None
    }

    /// Relative cost of each tile (mandelbrot only), to shade the who-ran-what picture.
    fn tile_costs(&self) -> Option<Vec<f64>> {
        None
    }
}
