//! The machine the numbers come from: CPU model, logical CPUs, threads the bench may use.

/// A one-line description of this machine.
pub fn describe() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    let logical = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    format!(
        "{model}, {logical} logical CPUs, available_parallelism = {}",
        available_threads()
    )
}

/// CPU time spent so far by every process of the machine (the busy fields of the `cpu`
/// line of `/proc/stat`), in nanoseconds at 100 ticks per second.
pub fn machine_busy_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle (3) and iowait (4).
    let busy: u64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Some(busy * 10_000_000)
}

/// How busy other processes kept the machine: counted from `start` to `cores_used_by_others`.
#[derive(Debug)]
pub struct OtherLoad {
    busy: Option<u64>,
    mine: Option<u64>,
    started: std::time::Instant,
}

impl OtherLoad {
    /// Starts counting.
    pub fn start() -> OtherLoad {
        OtherLoad {
            busy: machine_busy_ns(),
            mine: super::cputime::process_stat_ns(),
            started: std::time::Instant::now(),
        }
    }

    /// The mean number of cores other processes kept busy since `start`: all CPU time of the
    /// machine minus this process's (exact to a few clock ticks), if `/proc` could be read.
    pub fn cores_used_by_others(&self) -> Option<f64> {
        let busy = machine_busy_ns()?.checked_sub(self.busy?)?;
        let mine = super::cputime::process_stat_ns()?.checked_sub(self.mine?)?;
        Some(busy.saturating_sub(mine) as f64 / self.started.elapsed().as_nanos().max(1) as f64)
    }
}

/// The thread count the sweeps go up to.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
