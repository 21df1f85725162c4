//! `idle_cpu` (not criterion): the CPU time of the whole process while an idle pool receives
//! one empty spawn every 1 ms for 2 s, raw and net of a producer that sleeps the same way
//! without a pool; skewer on both backends, rayon and the crossbeam-channel pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use skewer::Backend;

use crate::spawn_outside::spawn_threads;
use crate::support::measurement::cputime::{self, clock_ticks_per_sec, process_ticks};
use crate::support::peers::channel::ChannelPool;
use crate::support::peers::pools;

struct IdleRow {
    name: String,
    threads: usize,
    wall: Duration,
    ticks: u64,
    sched_ns: u64,
    note: String,
}

const IDLE_FOR: Duration = Duration::from_secs(2);
const IDLE_EVERY: Duration = Duration::from_millis(1);

/// Runs `spawn_empty` every millisecond for two seconds (absolute deadlines, `sleep` in
/// between) and measures the process's CPU time meanwhile.
fn idle_measure(
    name: &str,
    threads: usize,
    spawn_empty: &mut dyn FnMut(),
    done: &mut dyn FnMut() -> String,
) -> IdleRow {
    thread::sleep(Duration::from_millis(300)); // let the pool settle into sleep
    let s0 = cputime::snapshot();
    let t0 = process_ticks().unwrap_or(0);
    let start = Instant::now();
    let mut deadline = start;
    while start.elapsed() < IDLE_FOR {
        spawn_empty();
        deadline += IDLE_EVERY;
        let now = Instant::now();
        if deadline > now {
            thread::sleep(deadline - now);
        }
    }
    let wall = start.elapsed();
    let t1 = process_ticks().unwrap_or(0);
    let s1 = cputime::snapshot();
    IdleRow {
        name: name.to_string(),
        threads,
        wall,
        ticks: t1.saturating_sub(t0),
        sched_ns: cputime::between(&s0, &s1).as_nanos() as u64,
        note: done(),
    }
}

/// Measures and prints the table.
pub fn idle_cpu() {
    let hz = clock_ticks_per_sec();
    let mut rows = Vec::new();
    let counter = Arc::new(AtomicU64::new(0));
    let baseline = |rows: &mut Vec<IdleRow>| {
        rows.push(idle_measure(
            "baseline (producer alone)",
            0,
            &mut || {},
            &mut String::new,
        ));
    };
    baseline(&mut rows);
    for p in [spawn_threads(), 8] {
        for backend in [Backend::Stealing, Backend::Channel] {
            let pool = pools::skewer(p, backend);
            let c = Arc::clone(&counter);
            let before = c.load(Ordering::SeqCst);
            let m0 = pool.metrics();
            let row = idle_measure(
                &format!("skewer {backend}"),
                p,
                &mut || {
                    let c = Arc::clone(&c);
                    let spawned = pool.spawn(move || {
                        c.fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(spawned.is_ok(), "spawn refused");
                },
                &mut || {
                    let m1 = pool.metrics();
                    format!(
                        "parks {} wakeups {} steal_ops {} failed_steals {}",
                        m1.total.parks - m0.total.parks,
                        m1.total.wakeups - m0.total.wakeups,
                        m1.total.steal_ops - m0.total.steal_ops,
                        m1.total.failed_steals - m0.total.failed_steals
                    )
                },
            );
            pool.shutdown();
            assert!(counter.load(Ordering::SeqCst) > before + 1000);
            rows.push(row);
        }
        {
            let rp = pools::rayon(p);
            let c = Arc::clone(&counter);
            rows.push(idle_measure(
                "rayon ThreadPool::spawn",
                p,
                &mut || {
                    let c = Arc::clone(&c);
                    rp.spawn(move || {
                        c.fetch_add(1, Ordering::Relaxed);
                    });
                },
                &mut String::new,
            ));
        }
        {
            let cp = ChannelPool::new(p);
            let c = Arc::clone(&counter);
            rows.push(idle_measure(
                "crossbeam-channel pool",
                p,
                &mut || {
                    let c = Arc::clone(&c);
                    cp.send(move |_| {
                        c.fetch_add(1, Ordering::Relaxed);
                    });
                },
                &mut String::new,
            ));
        }
    }
    baseline(&mut rows);

    let pct = |ns: f64, wall: Duration| 100.0 * ns / wall.as_nanos() as f64;
    let base: Vec<&IdleRow> = rows.iter().filter(|r| r.threads == 0).collect();
    let base_sched = base
        .iter()
        .map(|r| pct(r.sched_ns as f64, r.wall))
        .sum::<f64>()
        / base.len() as f64;
    let base_ticks = base
        .iter()
        .map(|r| pct(r.ticks as f64 * 1e9 / hz as f64, r.wall))
        .sum::<f64>()
        / base.len() as f64;

    println!();
    println!(
        "idle_cpu: one empty spawn every 1 ms for 2 s; CPU time of the whole process as % of \
         one core"
    );
    println!(
        "  'sched' = sum of /proc/self/task/*/schedstat (ns, every live thread); 'ticks' = \
         utime+stime of /proc/self/stat ({hz} ticks/s, resolution {:.2}%)",
        100.0 / hz as f64 / IDLE_FOR.as_secs_f64()
    );
    println!(
        "  net = raw - mean baseline (baseline sched {base_sched:.2}%, ticks {base_ticks:.2}%)"
    );
    println!(
        "  {:<28} {:>7} {:>10} {:>9} {:>10} {:>9}   notes",
        "pool", "threads", "sched raw", "sched net", "ticks raw", "ticks net"
    );
    for r in &rows {
        let s = pct(r.sched_ns as f64, r.wall);
        let t = pct(r.ticks as f64 * 1e9 / hz as f64, r.wall);
        let threads = if r.threads == 0 {
            "-".to_string()
        } else {
            r.threads.to_string()
        };
        let (sn, tn) = if r.threads == 0 {
            ("-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.2}%", s - base_sched),
                format!("{:.2}%", t - base_ticks),
            )
        };
        println!(
            "  {:<28} {:>7} {:>9.2}% {:>9} {:>9.2}% {:>9}   {}",
            r.name, threads, s, sn, t, tn, r.note
        );
    }
}
