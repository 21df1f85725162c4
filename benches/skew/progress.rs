//! Progress on stderr: "group N of M", the time so far and an estimate of the time left.
//!
//! Each group is weighed by what it should cost: building each point (about four sequential
//! runs) and, per cell, the warm-up and measurement times criterion is given, the checking
//! run, and an allowance for starting the pool and criterion's own analysis. Before any group has run the estimate is
//! that nominal sum; afterwards it is the remaining weight scaled by how long the groups that
//! ran took against their weight. Groups that a criterion filter skipped count for nothing.

use std::time::{Duration, Instant};

use crate::driver::{measurement_time, warm_up_time};
use crate::plan::Group;
use crate::support::reporting::units::fmt_dur;

/// Criterion's analysis and output per cell, roughly.
const PER_CELL: Duration = Duration::from_millis(300);

/// The run's progress.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    weights: Vec<f64>,
    /// Weight and wall time of the groups that ran so far.
    done_weight: f64,
    done_time: Duration,
}

fn weight(group: &Group) -> f64 {
    group
        .points
        .iter()
        .map(|point| {
            let cells: Duration = point
                .cells
                .iter()
                .map(|&(_, threads)| {
                    let est = point.nominal / threads as u32;
                    warm_up_time(est) + measurement_time(est) + est + PER_CELL
                })
                .sum();
            (point.nominal * 4 + cells).as_secs_f64()
        })
        .sum()
}

impl Progress {
    /// Starts the clock over `groups`.
    pub fn new(groups: &[Group]) -> Progress {
        Progress {
            started: Instant::now(),
            weights: groups.iter().map(weight).collect(),
            done_weight: 0.0,
            done_time: Duration::ZERO,
        }
    }

    /// Says that group `i` (`name`) starts.
    pub fn begin(&self, i: usize, name: &str) {
        let remaining: f64 = self.weights[i..].iter().sum();
        let left = if self.done_weight > 0.0 {
            self.done_time.mul_f64(remaining / self.done_weight)
        } else {
            Duration::from_secs_f64(remaining)
        };
        eprintln!(
            "[skew] group {} of {}: {name} ({} so far, about {} left)",
            i + 1,
            self.weights.len(),
            fmt_dur(self.started.elapsed()),
            fmt_dur(left)
        );
    }

    /// Says that group `i` ended after `took`; `ran` is false if a filter skipped it.
    pub fn end(&mut self, i: usize, took: Duration, ran: bool) {
        if ran {
            self.done_weight += self.weights[i];
            self.done_time += took;
        }
    }
}
