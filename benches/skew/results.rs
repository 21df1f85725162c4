//! What one cell measured, kept for the summary: every timed run's wall and CPU time (and,
//! where the workload measures it, the time spent inside its jobs), and
//! for skewer pools the scheduler's counters over those runs.

use std::time::Duration;

use skewer::{Metrics, WorkerMetrics};

use crate::contenders::Contender;
use crate::plan::Sweep;
use crate::support::measurement::stats::median;
use crate::workloads::Kind;

/// Skewer's counters summed over a cell's runs (differences of snapshots).
#[derive(Clone, Debug, Default)]
pub struct SchedStats {
    /// Successful steal operations.
    pub steal_ops: u64,
    /// Jobs moved by those steals.
    pub jobs_stolen: u64,
    /// Steal attempts that found nothing.
    pub failed_steals: u64,
    /// Times a worker went to sleep.
    pub parks: u64,
    /// Times a worker was woken.
    pub wakeups: u64,
    /// Jobs pushed into the shared queue.
    pub injected: u64,
    /// Jobs pushed onto a worker's own deque.
    pub local_pushes: u64,
    /// Jobs the workers ran.
    pub jobs_executed: u64,
    /// Peak number of queued jobs seen by the pool during the cell.
    pub peak_queued: u64,
}

impl SchedStats {
    /// Adds the counters' growth from `before` to `after`.
    pub fn add_delta(&mut self, before: &Metrics, after: &Metrics) {
        let (a, b): (&WorkerMetrics, &WorkerMetrics) = (&after.total, &before.total);
        self.steal_ops += a.steal_ops.saturating_sub(b.steal_ops);
        self.jobs_stolen += a.jobs_stolen.saturating_sub(b.jobs_stolen);
        self.failed_steals += a.failed_steals.saturating_sub(b.failed_steals);
        self.parks += a.parks.saturating_sub(b.parks);
        self.wakeups += a.wakeups.saturating_sub(b.wakeups);
        self.injected += a.injected.saturating_sub(b.injected);
        self.local_pushes += a.local_pushes.saturating_sub(b.local_pushes);
        self.jobs_executed += a.jobs_executed.saturating_sub(b.jobs_executed);
        self.peak_queued = self.peak_queued.max(after.peak_queued());
    }
}

/// Everything measured for one (workload point, contender, threads).
#[derive(Clone, Debug)]
pub struct Record {
    /// Criterion group (workload or sweep name).
    pub group: String,
    /// Parameter of the point ("" for thread sweeps).
    pub param: String,
    /// The parameter as a number (skew or per-job cost).
    pub x: f64,
    /// What the group sweeps.
    pub sweep: Sweep,
    /// The workload's shape.
    pub kind: Kind,
    /// Who ran it.
    pub contender: Contender,
    /// On how many threads.
    pub threads: usize,
    /// Wall time of every timed run.
    pub wall: Vec<Duration>,
    /// Time spent inside jobs, summed over the threads, in every timed run (empty for
    /// workloads that do not measure it).
    pub in_jobs: Vec<Duration>,
    /// CPU time (all threads, user + system) per timed run: the mean over all of them.
    pub cpu_per_run: Duration,
    /// Jobs (tasks, nodes) per run.
    pub jobs_per_run: u64,
    /// The largest single job, for the lower bound (flat workloads).
    pub largest_job: Option<Duration>,
    /// Median of the sequential reference runs made when the workload was built (used for
    /// T1 only when the sequential cell itself was filtered out).
    pub t1_reference: Duration,
    /// Skewer's counters (skewer contenders only).
    pub sched: Option<SchedStats>,
    /// Who ran each tile in the last run, with the grid width (mandelbrot, skewer only).
    pub owners: Option<(Vec<u16>, usize)>,
    /// Mean number of cores other processes kept busy while the cell ran (noise).
    pub others_cores: Option<f64>,
    /// Relative tile costs (mandelbrot).
    pub tile_costs: Option<Vec<f64>>,
}

impl Record {
    /// Median wall time.
    pub fn wall_median(&self) -> Duration {
        median(&self.wall)
    }

    /// Median time spent inside jobs per run, where the workload measures it.
    pub fn in_jobs_median(&self) -> Option<Duration> {
        (!self.in_jobs.is_empty()).then(|| median(&self.in_jobs))
    }
}
