//! Flat workloads whose jobs are calibrated spins: pareto, bimodal, uniform-tiny and
//! seeded-by-one. Each is a list of per-job costs drawn from a fixed seed.

use std::time::Duration;

use crate::contenders::{Contender, Engine, run_flat};
use crate::support::reporting::units::fmt_ns;
use crate::support::workloads::rng::SplitMix64;
use crate::support::workloads::spin::{iters_for_ns, ns_for_iters, spin};
use crate::workloads::flat::{FlatJobs, Producer, measure_largest};
use crate::workloads::{Outcome, Workload};

/// n independent jobs, job i spinning `iters[i]` iterations.
#[derive(Debug)]
pub struct SpinJobs {
    label: String,
    iters: Vec<u64>,
    producer: Producer,
    largest: Duration,
}

impl SpinJobs {
    fn new(label: String, costs_ns: Vec<f64>, producer: Producer) -> SpinJobs {
        let iters = costs_ns.into_iter().map(iters_for_ns).collect();
        let mut jobs = SpinJobs {
            label,
            iters,
            producer,
            largest: Duration::ZERO,
        };
        jobs.largest = measure_largest(&jobs);
        jobs
    }

    /// `n` jobs with Pareto-distributed cost of shape `alpha` (> 1) and mean `mean_ns`.
    pub fn pareto(n: usize, alpha: f64, mean_ns: f64, seed: u64) -> SpinJobs {
        let scale = mean_ns * (alpha - 1.0) / alpha;
        let mut rng = SplitMix64::new(seed);
        // Inverse transform: x = scale * (1 - u)^(-1/alpha), u uniform in [0, 1).
        let costs = (0..n)
            .map(|_| scale * (1.0 - rng.next_f64()).powf(-1.0 / alpha))
            .collect();
        SpinJobs::new(
            format!(
                "{n} jobs, Pareto alpha {alpha}, nominal mean {}",
                fmt_ns(mean_ns)
            ),
            costs,
            Producer::Outside,
        )
    }

    /// `n` jobs of `small_ns`, of which 1% (at least one) cost `small_ns * ratio`, shuffled.
    pub fn bimodal(n: usize, small_ns: f64, ratio: f64, seed: u64) -> SpinJobs {
        let big = (n / 100).max(1);
        let mut costs: Vec<f64> = (0..n)
            .map(|i| if i < big { small_ns * ratio } else { small_ns })
            .collect();
        SplitMix64::new(seed).shuffle(&mut costs);
        SpinJobs::new(
            format!(
                "{n} jobs: {big} of {} among {} of {}, shuffled",
                fmt_ns(small_ns * ratio),
                n - big,
                fmt_ns(small_ns)
            ),
            costs,
            Producer::Outside,
        )
    }

    /// `n` jobs of `cost_ns` each, spawned one by one by `producer`.
    pub fn uniform(n: usize, cost_ns: f64, producer: Producer) -> SpinJobs {
        let who = match producer {
            Producer::Outside => "spawned one by one from the bench thread",
            Producer::SeededByOne => "all spawned by one job inside the pool",
        };
        SpinJobs::new(
            format!("{n} jobs of {}, {who}", fmt_ns(cost_ns)),
            vec![cost_ns; n],
            producer,
        )
    }
}

impl FlatJobs for SpinJobs {
    fn len(&self) -> usize {
        self.iters.len()
    }

    #[inline]
    fn run_job(&self, i: usize) -> u64 {
        spin(self.iters[i], i as u64)
    }
}

impl Workload for SpinJobs {
    fn describe(&self) -> String {
        let total: u64 = self.iters.iter().sum();
        format!(
            "{}; nominal total {}, largest job {:.1?}",
            self.label,
            fmt_ns(ns_for_iters(total)),
            self.largest
        )
    }

    fn jobs(&self) -> u64 {
        self.iters.len() as u64
    }

    fn run(&'static self, engine: &Engine, contender: Contender) -> Outcome {
        run_flat(self, engine, contender, self.producer)
    }

    fn largest_job(&self) -> Option<Duration> {
        Some(self.largest)
    }
}
