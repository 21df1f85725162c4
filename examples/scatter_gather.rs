//! Scatter-gather with a deadline: one request fans out to a handful of backends, each call
//! gets the request's remaining budget, results land in a pre-sized slot per backend, and
//! a backend that misses the deadline is reported, not waited for past it.
//!
//! `cargo run --example scatter_gather`

use std::time::{Duration, Instant};

use skewer::{CancelToken, GroupOptions, Pool};

/// A simulated backend call: `work` of CPU, polling the token between slices.
fn call(backend: usize, work: Duration, token: &CancelToken) -> Result<u64, String> {
    let start = Instant::now();
    let mut acc = backend as u64;
    while start.elapsed() < work {
        if token.is_cancelled() {
            return Err(format!(
                "backend {backend}: gave up after {:?}",
                start.elapsed()
            ));
        }
        for i in 0..1_000u64 {
            acc = std::hint::black_box(acc.wrapping_mul(31).wrapping_add(i));
        }
    }
    Ok(acc)
}

fn main() {
    let pool = Pool::builder().build().expect("pool");
    // Backend 3 is slow: 10x the others, past the request budget.
    let costs_ms = [5u64, 8, 6, 400, 7, 5];
    let request = CancelToken::with_timeout(Duration::from_millis(100));
    let options = GroupOptions::builder()
        .parent(request.clone())
        .build()
        .expect("valid options");
    let mut results: Vec<Option<u64>> = vec![None; costs_ms.len()];
    let started = Instant::now();
    // Best effort: every backend's outcome is kept (try_scope_all), none cancels the others;
    // the request's deadline cancels whatever is still running.
    let outcome: Result<(), Vec<String>> = pool.try_scope_all_with(&options, |g| {
        for (i, (slot, &ms)) in results.iter_mut().zip(&costs_ms).enumerate() {
            g.spawn(move |token| {
                *slot = Some(call(i, Duration::from_millis(ms), token)?);
                Ok(())
            });
        }
    });
    let took = started.elapsed();
    let answered = results.iter().filter(|r| r.is_some()).count();
    println!(
        "{answered} of {} backends answered in {took:?}",
        costs_ms.len()
    );
    if let Err(errors) = &outcome {
        for e in errors {
            println!("  {e}");
        }
    }
    assert!(results[3].is_none(), "the slow backend missed the deadline");
    assert_eq!(answered, costs_ms.len() - 1);
    assert!(
        took < Duration::from_millis(400),
        "the request did not wait for the slow backend"
    );
}
