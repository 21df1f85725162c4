//! First error wins over a skewed set of jobs: jobs of very different sizes run in an error
//! group; the first failure cancels the group, running jobs notice at their next poll, and
//! queued jobs never start. The stats show how many ran, failed and were cancelled.
//!
//! `cargo run --example first_error_wins`

use std::time::{Duration, Instant};

use skewer::{GroupOptions, Pool};

/// A job of `units` work units that polls its token between units; job 137 is poisoned.
fn job(id: usize, units: u64, token: &skewer::CancelToken) -> Result<(), String> {
    for _ in 0..units {
        if token.is_cancelled() {
            return Ok(()); // a sibling failed: stop early, quietly
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    if id == 137 {
        return Err(format!("job {id}: checksum mismatch"));
    }
    Ok(())
}

fn main() {
    let pool = Pool::builder().build().expect("pool");
    // Skewed: most jobs are 1 unit, every 50th is 200 units.
    let units: Vec<u64> = (0..2_000)
        .map(|i| if i % 50 == 0 { 200 } else { 1 })
        .collect();
    let options = GroupOptions::builder()
        .limit(4 * pool.current_num_threads())
        .build()
        .expect("valid options");
    let started = Instant::now();
    let mut stats = None;
    let result = pool.try_scope_with(&options, |g| {
        stats = Some(g.stats_handle());
        for (id, &n) in units.iter().enumerate() {
            g.spawn(move |token| job(id, n, token));
        }
    });
    let s = stats.expect("set in the body").snapshot();
    println!("result: {result:?} after {:?}", started.elapsed());
    println!(
        "started {}, succeeded {}, failed {}, cancelled (never started) {}",
        s.started, s.succeeded, s.failed, s.cancelled
    );
    if let Some(p99) = s.histogram.quantile_upper_bound(0.99) {
        println!(
            "p99 job time under {p99:?}; slowest: {:?}",
            s.slowest.first()
        );
    }
    assert_eq!(result, Err("job 137: checksum mismatch".to_string()));
    assert_eq!(s.failed, 1);
    assert!(s.cancelled > 1_000, "most queued jobs never started");
    assert_eq!(s.started + s.cancelled, units.len() as u64);
}
