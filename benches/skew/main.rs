//! `cargo bench --bench skew`: when does work stealing win? skewer's two backends against
//! rayon and the pools people write by hand, on skewed workloads.
//!
//! Workloads (every one checked against its sequential run before anything is timed):
//! uts-geo and uts-bin (UTS-like unbalanced trees, one task per node), seeded-by-one (one
//! job spawns all others), tree-sum (fork-join through `join`, 1023 nodes and about 1M),
//! pareto and bimodal (skewed independent jobs from one producer), uniform-tiny (200k jobs
//! of about 100 ns, spawned one by one from outside), and mandelbrot (image tiles). Sweeps:
//! thread counts up to `available_parallelism`, a skew parameter for pareto and bimodal, and
//! the per-job cost (100 ns to 20 µs) for uniform-tiny and the trees.
//!
//! Contenders: skewer `Stealing` and `Channel`, rayon (`scope`/`spawn`, `join`, `par_iter`),
//! a plain crossbeam-channel pool, a `threadpool`-style `Mutex<mpsc::Receiver>` pool, a static
//! round-robin split, a shared atomic cursor, and sequential: `contenders/`, one file per
//! library. The pools, the spin, the tally and the machine readings come from the bench support
//! library (`benches/support`), shared with `cargo bench --bench overhead`.
//!
//! Output: criterion groups (one `BenchmarkId` per contender, parameter and thread count),
//! a progress line per workload on stderr, and at the end a summary in the terminal and in
//! `target/skew/summary.md` and `summary.csv`, with SVG charts and the mandelbrot
//! who-ran-what pictures in `target/skew/`.
//!
//! The default run takes about 5 minutes on 2 cores; `SKEWER_BENCH=full` runs bigger sizes,
//! more sweep points and every thread count. Criterion's arguments work as usual, e.g.
//! `cargo bench --bench skew -- uts-bin` runs only the uts-bin group.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;

mod contenders;
mod driver;
mod plan;
mod progress;
mod report;
mod results;
#[allow(dead_code)] // each bench uses part of the support library
#[path = "../support/mod.rs"]
mod support;
mod workloads;

use report::{owners, plot, summary};
use support::measurement::machine;
use support::reporting::units;
use support::workloads::spin;

/// Where the summary, the charts and the pictures go: `target/skew` (or
/// `$CARGO_TARGET_DIR/skew`).
fn output_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("skew")
}

/// Whether criterion runs in test mode (`cargo test --benches`, or `-- --test`): each cell
/// runs once to check that it works. Same rule as criterion's: a benchmark run is one with
/// `--bench` (which `cargo bench` passes) and without `--test`.
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

fn main() {
    let started = Instant::now();
    let mut criterion = Criterion::default()
        .sample_size(driver::SAMPLES as usize)
        .warm_up_time(Duration::from_millis(1))
        .nresamples(10_000)
        .configure_from_args();

    let size = plan::Size::from_env();
    let max = machine::available_threads();
    let ipns = spin::calibrate();
    let others = machine::OtherLoad::start();
    let header = format!(
        "machine: {}\nrun: {size:?} size (SKEWER_BENCH), thread counts {:?}, spin {ipns:.3} iterations/ns",
        machine::describe(),
        plan::thread_sweep(size, max)
    );
    eprintln!("[skew] {}", header.replace('\n', "\n[skew] "));

    let mut records = Vec::new();
    let groups = plan::groups(size, max);
    let mut progress = progress::Progress::new(&groups);
    for (i, group) in groups.iter().enumerate() {
        progress.begin(i, &group.name);
        let (before, start) = (records.len(), Instant::now());
        driver::run_group(&mut criterion, group, &mut records);
        progress.end(i, start.elapsed(), records.len() > before);
    }
    criterion.final_summary();
    if records.is_empty() {
        eprintln!("[skew] nothing measured (filtered out, or listing only)");
        return;
    }
    if test_mode() {
        eprintln!(
            "[skew] test mode: {} cells ran and matched their sequential reference; no summary \
             written (single runs are not measurements)",
            records.len()
        );
        return;
    }

    let header = format!(
        "{header}\nthe run took {}; other processes kept {} of the {max} cores busy on average \
         meanwhile (0 = a quiet machine)",
        units::fmt_dur(started.elapsed()),
        others
            .cores_used_by_others()
            .map_or("?".to_string(), |c| format!("{c:.2}")),
    );
    let dir = output_dir();
    let rows = summary::rows(&records);
    let checks = summary::checks(&rows);
    if let Err(e) = report::write(&dir, &header, &rows, &checks) {
        eprintln!(
            "[skew] could not write the summary into {}: {e}",
            dir.display()
        );
    }
    match plot::write_all(&dir, &rows) {
        Ok(files) => eprintln!("[skew] charts: {} in {}", files.join(", "), dir.display()),
        Err(e) => eprintln!("[skew] could not draw the charts: {e}"),
    }
    for r in records.iter().filter(|r| r.owners.is_some()) {
        let (Some((owners, width)), Some(costs)) = (&r.owners, &r.tile_costs) else {
            continue;
        };
        let is_max = records
            .iter()
            .filter(|s| s.group == r.group && s.contender == r.contender)
            .all(|s| s.threads <= r.threads);
        if !is_max {
            continue;
        }
        let file = dir.join(format!(
            "owners-{}-{}-p{}.svg",
            r.group, r.contender, r.threads
        ));
        let title = format!(
            "{}: who ran which tile, {} on {} threads (last run)",
            r.group, r.contender, r.threads
        );
        match owners::write_svg(&file, &title, owners, *width, costs) {
            Ok(()) => eprintln!("[skew] picture: {}", file.display()),
            Err(e) => eprintln!("[skew] could not write {}: {e}", file.display()),
        }
    }
    eprintln!("[skew] total {}", units::fmt_dur(started.elapsed()));
}
