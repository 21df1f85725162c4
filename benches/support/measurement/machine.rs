//! The machine the numbers come from: CPU model, logical CPUs, threads a bench may use, the
//! toolchain, and how busy the whole machine is (to tell a quiet run from a disturbed one).

use std::time::Instant;

use super::cputime::{self, ns_per_tick};

/// The CPU model from `/proc/cpuinfo` ("unknown CPU" where it cannot be read).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, m)| m.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// A one-line description of this machine.
pub fn describe() -> String {
    let logical = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    format!(
        "{}, {logical} logical CPUs, available_parallelism = {}",
        cpu_model(),
        available_threads()
    )
}

/// The version line of the `rustc` on the path.
pub fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into())
}

/// The thread count the sweeps go up to.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Machine-wide CPU time so far, summed over all cores, in clock ticks (the `cpu` line of
/// `/proc/stat`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTicks {
    /// user + nice + system + irq + softirq.
    pub busy: u64,
    /// idle + iowait.
    pub idle: u64,
    /// Time the hypervisor gave this VM's CPUs to someone else.
    pub steal: u64,
}

impl CpuTicks {
    /// Reads `/proc/stat`.
    pub fn now() -> Option<CpuTicks> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let f: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal
        (f.len() >= 8).then(|| CpuTicks {
            busy: f[0] + f[1] + f[2] + f[5] + f[6],
            idle: f[3] + f[4],
            steal: f[7],
        })
    }
}

/// CPU time spent so far by every process of the machine (busy and steal ticks), in
/// nanoseconds.
pub fn machine_busy_ns() -> Option<u64> {
    let t = CpuTicks::now()?;
    Some((t.busy + t.steal) * ns_per_tick())
}

/// How busy other processes kept the machine: counted from `start` to `cores_used_by_others`.
#[derive(Debug)]
pub struct OtherLoad {
    busy: Option<u64>,
    mine: Option<u64>,
    started: Instant,
}

impl OtherLoad {
    /// Starts counting.
    pub fn start() -> OtherLoad {
        OtherLoad {
            busy: machine_busy_ns(),
            mine: cputime::process_stat_ns(),
            started: Instant::now(),
        }
    }

    /// The mean number of cores other processes kept busy since `start`: all CPU time of the
    /// machine minus this process's (exact to a few clock ticks), if `/proc` could be read.
    pub fn cores_used_by_others(&self) -> Option<f64> {
        let busy = machine_busy_ns()?.checked_sub(self.busy?)?;
        let mine = cputime::process_stat_ns()?.checked_sub(self.mine?)?;
        Some(busy.saturating_sub(mine) as f64 / self.started.elapsed().as_nanos().max(1) as f64)
    }
}
