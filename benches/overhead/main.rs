//! Scheduling overhead of skewer against its peers, contenders side by side in one run.
//!
//! Groups (criterion, one `BenchmarkId` per contender), one file each:
//! 1. `fork_join_1thread` (`fork_join_1thread.rs`): fib(30) with one `join` per call (no
//!    cutoff), fib(25) with the same and a little work per call (`fib25_work`), and the
//!    sum of a Box-based complete binary tree of 2^23 - 1 (about 8M) nodes
//!    with one `join` per inner node, on a 1-thread pool entered with `install`; against
//!    plain recursion and `rayon::join` on a 1-thread rayon pool.
//! 2. `fib_all_threads` (`fib_all_threads.rs`): fib(30) on all threads (skewer Stealing via
//!    `install`, rayon via `install` on a pool of the same size) against plain recursion.
//! 3. `tree_sum_1023_outside` (`tree_sum_outside.rs`): a 1023-node tree sum called from
//!    outside the pool: `pool.join` at the root, `skewer::join` below; rayon is called the way
//!    rayon is called from outside, `pool.install` around recursive `rayon::join`.
//! 4. `spawn_1m_outside` (`spawn_outside.rs`): one outside producer spawning 1M boxed jobs of
//!    about 100 ns on 2 worker threads (`OVERHEAD_SPAWN_THREADS` for another count).
//! 5. `idle_cpu` (`idle_cpu.rs`, not criterion): run after the criterion groups, prints the
//!    CPU time of the whole process while an idle pool receives one empty spawn every 1 ms.
//! 6. `cross_pool_install` (`cross_pool.rs`): installs from a worker of one 1-thread pool
//!    into another, one way and round trip, skewer on both backends against rayon.
//! 7. `wake_latency` (`wake_latency.rs`, not criterion): from a sleeping pool's first fork to
//!    a second thread starting published work (a halving join over 64 leaves of 0.4 ms),
//!    median of 30 rounds, for skewer, rayon and chili.
//! 8. `end_idle` (`end_idle.rs`, not criterion): how long a thread that took part in a
//!    coarse fork tree (a halving join over 256 leaves of 10-320 µs) waits idle at its end,
//!    median and p90 of 40 rounds run back to back, for skewer, rayon and chili.
//!
//! chili (heartbeat scheduling, the Rust port of Spice) is a peer in every `join` row: a
//! pool of P threads is P - 1 workers plus the thread that calls `scope()`.
//!
//! The fork-join workloads are in `workloads.rs`; the pools, the spin, the tally and the
//! machine readings come from the bench support library (`benches/support`).
//!
//! Rows marked extra are context, not figures to compare: `sequential_calls` (fib and the
//! 8M-node tree by plain recursion with both calls kept as calls; where it is faster than
//! `sequential`, as on the tree, the ratios are taken against it), `skewer_stealing_install` (the 1023-node tree entered with
//! `install`), `sequential_boxed` (the 1M jobs boxed and called in place) and
//! `skewer_stealing_<P-1>w_extra` (one worker fewer, so workers plus producer fit the cores).
//!
//! Every workload checks its result against the sequential answer before it is timed (and
//! the spawn workload after every timed run as well). After criterion's own output the bench
//! prints a ratio summary (`summary.rs`: each contender's median over criterion's
//! measurement samples, divided by the faster sequential median of the same workload), skewer's
//! `metrics()` for one run of each skewer contender, and the idle-CPU table.
//!
//! Run with `cargo bench --bench overhead`; a criterion filter (for example
//! `cargo bench --bench overhead -- spawn`) restricts the criterion groups; the wake-latency
//! and idle tables run only without a filter or with one that contains `wake` or `idle`
//! (`end_idle` for the end-idle table alone).

use criterion::{Criterion, criterion_group};

mod cross_pool;
mod end_idle;
mod fib_all_threads;
mod fork_join_1thread;
mod idle_cpu;
mod install_latency;
mod samples;
mod spawn_outside;
mod summary;
#[allow(dead_code)] // each bench uses part of the support library
#[path = "../support/mod.rs"]
mod support;
mod tree_sum_outside;
mod wake_latency;
mod workloads;

use cross_pool::cross_pool_install;
use fib_all_threads::fib_all_threads;
use fork_join_1thread::fork_join_1thread;
use spawn_outside::spawn_1m_outside;
use tree_sum_outside::tree_sum_1023_outside;

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = fork_join_1thread, fib_all_threads, tree_sum_1023_outside, spawn_1m_outside,
        cross_pool_install
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags_only = args.iter().all(|a| a.starts_with('-') || a == "overhead");
    let quick = args.iter().any(|a| a == "--test" || a == "--list");
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !quick {
        summary::print();
    }
    let wake_wanted = flags_only || args.iter().any(|a| a.contains("wake"));
    if wake_wanted && !quick {
        wake_latency::wake_latency();
    }
    let end_idle_wanted = flags_only || args.iter().any(|a| a.contains("idle"));
    if end_idle_wanted && !quick {
        end_idle::end_idle();
    }
    let idle_wanted = flags_only || args.iter().any(|a| a.contains("idle") && a != "end_idle");
    if idle_wanted && !quick {
        idle_cpu::idle_cpu();
    }
}
