//! The matrix: which workloads, at which sizes and parameters, with which contenders and
//! thread counts. `SKEWER_BENCH=full` selects the long version.

use std::time::Duration;

use crate::contenders::Contender::{self, *};
use crate::workloads::flat::Producer;
use crate::workloads::mandelbrot::Mandelbrot;
use crate::workloads::spinjobs::SpinJobs;
use crate::workloads::treesum::TreeSum;
use crate::workloads::uts::Uts;
use crate::workloads::{Kind, Workload};

/// Default (about 5 minutes on 2 cores) or full (the long version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Modest sizes, few sweep points, thread counts 1, 2, 4, ... and the maximum.
    Default,
    /// Bigger sizes, more sweep points, every thread count.
    Full,
}

impl Size {
    /// Reads `SKEWER_BENCH` (`full` or anything else).
    pub fn from_env() -> Size {
        match std::env::var("SKEWER_BENCH").as_deref() {
            Ok("full") => Size::Full,
            _ => Size::Default,
        }
    }

    fn pick<T>(self, default: T, full: T) -> T {
        match self {
            Size::Default => default,
            Size::Full => full,
        }
    }
}

/// What a group sweeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Thread counts, at the workload's standard size.
    Threads,
    /// A skew parameter (named), at the maximum thread count.
    Skew(&'static str),
    /// The per-job cost in nanoseconds, at 2 and at the maximum thread count.
    Cost,
}

/// A workload builder, called at most once, lazily.
pub type Build = Box<dyn Fn() -> &'static dyn Workload>;

/// One parameter point of a group: one workload instance and its cells.
pub struct Point {
    /// The parameter as it appears in benchmark ids ("" for plain thread sweeps).
    pub param: String,
    /// The parameter as a number, for plots (skew or cost in ns; 0 for thread sweeps).
    pub x: f64,
    /// Rough sequential time, to size criterion's measurement before the workload exists.
    pub nominal: Duration,
    /// Builds the workload.
    pub build: Build,
    /// (contender, threads) cells, in run order.
    pub cells: Vec<(Contender, usize)>,
}

/// One criterion group.
pub struct Group {
    /// The group (workload) name.
    pub name: String,
    /// The workload's shape.
    pub kind: Kind,
    /// What the points vary.
    pub sweep: Sweep,
    /// The points.
    pub points: Vec<Point>,
}

fn leak<W: Workload>(w: W) -> &'static dyn Workload {
    // Workloads live for the whole run: the peers' jobs need `'static` references to them.
    Box::leak(Box::new(w))
}

fn cells(contenders: &[Contender], threads: &[usize]) -> Vec<(Contender, usize)> {
    let mut out = Vec::new();
    for &c in contenders {
        if c == Sequential {
            out.push((c, 1));
        } else {
            out.extend(threads.iter().map(|&p| (c, p)));
        }
    }
    out
}

fn point(
    param: String,
    x: f64,
    nominal_ms: f64,
    cells: Vec<(Contender, usize)>,
    build: Build,
) -> Point {
    Point {
        param,
        x,
        nominal: Duration::from_secs_f64(nominal_ms / 1e3),
        build,
        cells,
    }
}

const FLAT: &[Contender] = &[
    Sequential,
    SkewerSteal,
    SkewerChan,
    SkewerStealJoin,
    RayonSpawn,
    RayonJoin,
    RayonIter,
    ChiliJoin,
    CbChannel,
    MutexMpsc,
    StaticRr,
    Cursor,
];
const NESTED: &[Contender] = &[
    Sequential,
    SkewerSteal,
    SkewerChan,
    SkewerStealJoin,
    RayonSpawn,
    RayonJoin,
    ChiliJoin,
    CbChannel,
    MutexMpsc,
    StaticRr,
    Cursor,
];
const SEEDED: &[Contender] = &[
    Sequential,
    SkewerSteal,
    SkewerChan,
    RayonSpawn,
    CbChannel,
    MutexMpsc,
];
const FORK_JOIN: &[Contender] = &[
    Sequential,
    SkewerSteal,
    SkewerChan,
    RayonJoin,
    ChiliJoin,
    RayonSpawn,
    CbChannel,
];
const SKEW_SWEEP: &[Contender] = &[
    Sequential,
    SkewerSteal,
    SkewerChan,
    RayonSpawn,
    CbChannel,
    StaticRr,
    Cursor,
];
const COST_SWEEP_FLAT: &[Contender] = &[Sequential, SkewerSteal, SkewerChan, RayonSpawn, CbChannel];
const COST_SWEEP_TREE: &[Contender] = &[
    Sequential,
    SkewerSteal,
    SkewerChan,
    RayonSpawn,
    RayonJoin,
    ChiliJoin,
    CbChannel,
];

/// The thread counts of the main sweep: 1, 2, 4, ... and `max` (default), or 1..=max (full).
pub fn thread_sweep(size: Size, max: usize) -> Vec<usize> {
    let mut v: Vec<usize> = match size {
        Size::Full => (1..=max).collect(),
        Size::Default => std::iter::successors(Some(1), |p| Some(p * 2))
            .take_while(|&p| p < max)
            .collect(),
    };
    if v.last() != Some(&max) {
        v.push(max);
    }
    v
}

/// A per-job cost as a benchmark-id parameter: "100ns", "3us".
fn cost_param(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns}ns")
    } else {
        format!("{}us", ns / 1_000.0)
    }
}

/// Every group of the run, in order.
pub fn groups(size: Size, max: usize) -> Vec<Group> {
    let threads = thread_sweep(size, max);
    let at_max = [max];
    let mut cost_threads = vec![2.min(max), max];
    cost_threads.dedup();
    let main = |name: &str, kind, nominal_ms: f64, contenders: &[Contender], build: Build| Group {
        name: name.to_string(),
        kind,
        sweep: Sweep::Threads,
        points: vec![point(
            String::new(),
            0.0,
            nominal_ms,
            cells(contenders, &threads),
            build,
        )],
    };
    let mut out = Vec::new();

    // Nested.
    let geo_nodes = size.pick(70_000, 1_000_000);
    out.push(main(
        "uts-geo",
        Kind::Nested,
        18.0 * size.pick(1.0, 14.0),
        NESTED,
        Box::new(move || leak(Uts::geometric_of_size(geo_nodes, 19, 250.0))),
    ));
    // At this size the first seed's tree holds one root subtree of most of its nodes (depth
    // 210): the deep, narrow case UTS T3 is known for.
    let bin_nodes = size.pick(90_000, 1_000_000);
    out.push(main(
        "uts-bin",
        Kind::Nested,
        22.0 * size.pick(1.0, 11.0),
        NESTED,
        Box::new(move || leak(Uts::binomial_of_size(bin_nodes, 0.995, 42, 250.0))),
    ));
    let seeded = size.pick(100_000, 1_000_000);
    out.push(main(
        "seeded-by-one",
        Kind::Flat,
        25.0 * size.pick(1.0, 10.0),
        SEEDED,
        Box::new(move || leak(SpinJobs::uniform(seeded, 250.0, Producer::SeededByOne))),
    ));

    // Fork-join.
    out.push(main(
        "tree-sum-small",
        Kind::ForkJoin,
        0.01,
        FORK_JOIN,
        Box::new(|| leak(TreeSum::new(10, 7))),
    ));
    let levels = size.pick(20, 22);
    let large: &[Contender] = size.pick(&FORK_JOIN[..6], FORK_JOIN);
    out.push(main(
        "tree-sum-large",
        Kind::ForkJoin,
        20.0 * size.pick(1.0, 4.0),
        large,
        Box::new(move || leak(TreeSum::new(levels, 7))),
    ));

    // Flat.
    let pareto_mean = size.pick(2_000.0, 20_000.0);
    out.push(main(
        "pareto",
        Kind::Flat,
        40.0 * size.pick(1.0, 10.0),
        FLAT,
        Box::new(move || leak(SpinJobs::pareto(20_000, 1.1, pareto_mean, 11))),
    ));
    let bimodal_n = size.pick(1_500, 20_000);
    out.push(main(
        "bimodal",
        Kind::Flat,
        33.0 * size.pick(1.0, 13.0),
        FLAT,
        Box::new(move || leak(SpinJobs::bimodal(bimodal_n, 2_000.0, 1_000.0, 13))),
    ));
    let tiny = size.pick(200_000, 1_000_000);
    out.push(main(
        "uniform-tiny",
        Kind::Flat,
        20.0 * size.pick(1.0, 5.0),
        FLAT,
        Box::new(move || leak(SpinJobs::uniform(tiny, 100.0, Producer::Outside))),
    ));
    let (img, iters) = size.pick((256, 512), (512, 1024));
    out.push(main(
        "mandelbrot",
        Kind::Flat,
        25.0 * size.pick(1.0, 8.0),
        FLAT,
        Box::new(move || leak(Mandelbrot::new(img, 16, iters))),
    ));

    // Skew sweeps, at the maximum thread count.
    let alphas: &[f64] = size.pick(&[3.0, 1.5, 1.1], &[5.0, 3.0, 2.0, 1.5, 1.3, 1.2, 1.1, 1.05]);
    out.push(Group {
        name: "pareto-skew".into(),
        kind: Kind::Flat,
        sweep: Sweep::Skew("Pareto alpha (lower = more skew)"),
        points: alphas
            .iter()
            .map(|&a| {
                point(
                    format!("alpha{a}"),
                    a,
                    40.0 * size.pick(1.0, 10.0),
                    cells(SKEW_SWEEP, &at_max),
                    Box::new(move || leak(SpinJobs::pareto(20_000, a, pareto_mean, 11))),
                )
            })
            .collect(),
    });
    let ratios: &[f64] = size.pick(
        &[1.0, 10.0, 100.0, 1000.0],
        &[1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0],
    );
    out.push(Group {
        name: "bimodal-skew".into(),
        kind: Kind::Flat,
        sweep: Sweep::Skew("big/small job cost ratio (1% big jobs)"),
        points: ratios
            .iter()
            .map(|&r| {
                let nominal = bimodal_n as f64 * 2e-3 * (0.99 + 0.01 * r);
                point(
                    format!("ratio{r}"),
                    r,
                    nominal,
                    cells(SKEW_SWEEP, &at_max),
                    Box::new(move || leak(SpinJobs::bimodal(bimodal_n, 2_000.0, r, 13))),
                )
            })
            .collect(),
    });

    // Per-job cost sweeps: a fixed budget of sequential work, split into jobs of each size.
    let costs: &[f64] = size.pick(
        &[100.0, 300.0, 1_000.0, 3_000.0, 10_000.0, 20_000.0],
        &[
            100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0,
        ],
    );
    let budget_ns = size.pick(12e6, 100e6);
    let cost_group = |name: &str,
                      kind,
                      contenders: &[Contender],
                      make: fn(u64, f64) -> &'static dyn Workload| Group {
        name: name.to_string(),
        kind,
        sweep: Sweep::Cost,
        points: costs
            .iter()
            .map(|&ns| {
                let n = (budget_ns / ns).round() as u64;
                point(
                    cost_param(ns),
                    ns,
                    budget_ns / 1e6,
                    cells(contenders, &cost_threads),
                    Box::new(move || make(n, ns)),
                )
            })
            .collect(),
    };
    out.push(cost_group(
        "uniform-tiny-cost",
        Kind::Flat,
        COST_SWEEP_FLAT,
        |n, ns| leak(SpinJobs::uniform(n as usize, ns, Producer::Outside)),
    ));
    out.push(cost_group(
        "uts-geo-cost",
        Kind::Nested,
        COST_SWEEP_TREE,
        |n, ns| leak(Uts::geometric_of_size(n, 19, ns)),
    ));
    out.push(cost_group(
        "uts-bin-cost",
        Kind::Nested,
        COST_SWEEP_TREE,
        |n, ns| leak(Uts::binomial_of_size(n, 0.995, 42, ns)),
    ));
    out
}
