//! CPU time (user + system) of the whole process, read from `/proc` without `libc`.
//!
//! The kernel keeps each thread's run time in nanoseconds in `/proc/self/task/<tid>/schedstat`
//! (first field). A snapshot reads every live thread; the CPU time of a run is the growth
//! between two snapshots, thread by thread (threads that exited in between are simply absent
//! from the second one, threads born in between count from zero). Where `schedstat` is not
//! available, the process-wide `utime + stime` of `/proc/self/stat` is used instead (clock
//! ticks, usually 10 ms: coarse, but honest).

use std::collections::HashMap;
use std::fs;
use std::sync::OnceLock;
use std::time::Duration;

/// CPU time consumed so far, per thread id (or one entry for the whole process).
#[derive(Debug, Default)]
pub struct Snapshot(HashMap<u64, u64>);

/// Reads the CPU time of every thread of this process.
///
/// The kernel brings a running thread's count up to date only at scheduler ticks and
/// context switches, so a thread that is running while it is read (the reading thread
/// itself, a worker still spinning) is behind by up to one tick (a few ms); sleeping
/// threads are exact. The error does not accumulate: over a cell's batches it is a tick or
/// two per thread, small against a cell's total, and it is as likely low as high.
pub fn snapshot() -> Snapshot {
    let mut map = HashMap::new();
    if let Ok(dir) = fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(tid) = name.to_str().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            if let Some(ns) = schedstat_ns(entry.path().join("schedstat")) {
                map.insert(tid, ns);
            }
        }
    }
    if map.is_empty()
        && let Some(ns) = process_stat_ns()
    {
        map.insert(0, ns);
    }
    Snapshot(map)
}

/// The CPU time consumed between `before` and `after`.
pub fn between(before: &Snapshot, after: &Snapshot) -> Duration {
    let ns: u64 = after
        .0
        .iter()
        .map(|(tid, &now)| now.saturating_sub(before.0.get(tid).copied().unwrap_or(0)))
        .sum();
    Duration::from_nanos(ns)
}

/// `utime + stime` of the whole process (every thread, live or exited) from
/// `/proc/self/stat`, in clock ticks.
pub fn process_ticks() -> Option<u64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: skip past it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `process_ticks` in nanoseconds.
pub fn process_stat_ns() -> Option<u64> {
    Some(process_ticks()? * ns_per_tick())
}

/// On-CPU nanoseconds of the calling thread so far (`/proc/thread-self/schedstat`; 0 where
/// it cannot be read).
pub fn current_thread_ns() -> u64 {
    schedstat_ns("/proc/thread-self/schedstat").unwrap_or(0)
}

/// The first field of a `schedstat` file: time on CPU in nanoseconds.
fn schedstat_ns(path: impl AsRef<std::path::Path>) -> Option<u64> {
    fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 where it cannot be asked),
/// the unit of `/proc/stat` and of a process's `utime`/`stime`.
pub fn clock_ticks_per_sec() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&hz| hz > 0)
            .unwrap_or(100)
    })
}

/// Nanoseconds per clock tick.
pub fn ns_per_tick() -> u64 {
    1_000_000_000 / clock_ticks_per_sec()
}
