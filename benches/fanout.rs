//! Fan-out/fan-in: `map_unordered` and `map_ordered` against a plain crossbeam-channel
//! fan-out written the obvious way, and the cost of cancelling a million queued items.
//!
//! Workload: 10k items whose cost is a calibrated CPU spin, skewed (nine in ten items cost
//! `c`, one in ten `10c`, so the mean is `1.9c`), at means of 100 ns, 1 µs and 10 µs; the
//! item's value is a hash of its index. Contenders, each on `THREADS` workers (default 2,
//! `FANOUT_THREADS` to change):
//! - `plain_channel`: `THREADS` scoped threads receiving from one bounded crossbeam channel
//!   (capacity = skewer's default window) fed by a producer thread, sending to an
//!   unbounded result channel read by the caller (Go's fan-out, threads started per call
//!   as goroutines are).
//! - `map_unordered` and `map_ordered` on a skewer pool (both backends), default settings.
//!
//! Every contender's results are checked against the sequential map before anything is
//! timed (the unordered ones as a permutation, the ordered ones exactly). Each figure is
//! the median of `FANOUT_ROUNDS` rounds (default 15; `--quick` or `--test`: 1 round), in
//! ns per item, printed as a table with ratios to `plain_channel` and of ordered to
//! unordered. Then one table row per backend for cancellation: a map of 1M items with a
//! window of 1M, every item queued (the two workers hold items that wait for the
//! cancellation), and the time `drop` takes, per 10k items.
//!
//! Run with `cargo bench --bench fanout`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use skewer::{Backend, FanOut, Pool};

const ITEMS: usize = 10_000;
const MEANS_NS: [u64; 3] = [100, 1_000, 10_000];

fn threads() -> usize {
    std::env::var("FANOUT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// Spin-loop iterations per nanosecond, measured once.
fn calibrate() -> f64 {
    let iters = 20_000_000u64;
    let start = Instant::now();
    spin_iters(iters);
    iters as f64 / start.elapsed().as_nanos() as f64
}

fn spin_iters(n: u64) {
    let mut x = 0u64;
    for i in 0..n {
        x = black_box(x.wrapping_add(i));
    }
    black_box(x);
}

/// The value of item `i`.
fn value(i: usize) -> u64 {
    (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(23)
}

/// The spin iterations of item `i` for a mean cost of `mean_ns`.
fn cost(i: usize, mean_ns: u64, per_ns: f64) -> u64 {
    let base = mean_ns as f64 / 1.9;
    let ns = if value(i).is_multiple_of(10) {
        base * 10.0
    } else {
        base
    };
    (ns * per_ns) as u64
}

fn item(i: usize, mean_ns: u64, per_ns: f64) -> u64 {
    spin_iters(cost(i, mean_ns, per_ns));
    value(i)
}

fn plain_channel(mean_ns: u64, per_ns: f64, threads: usize, window: usize) -> Vec<(usize, u64)> {
    let (in_tx, in_rx) = crossbeam_channel::bounded::<usize>(window);
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..ITEMS {
                in_tx.send(i).unwrap();
            }
        });
        for _ in 0..threads {
            let (rx, tx) = (in_rx.clone(), out_tx.clone());
            s.spawn(move || {
                for i in rx {
                    tx.send((i, item(i, mean_ns, per_ns))).unwrap();
                }
            });
        }
        drop(out_tx);
        out_rx.iter().collect()
    })
}

fn unordered(pool: &Pool, mean_ns: u64, per_ns: f64) -> Vec<(usize, u64)> {
    pool.map_unordered(0..ITEMS, move |i| item(i, mean_ns, per_ns))
        .map(|(i, r)| (i, r.expect("no item fails")))
        .collect()
}

fn ordered(pool: &Pool, mean_ns: u64, per_ns: f64) -> Vec<u64> {
    pool.map_ordered(0..ITEMS, move |i| item(i, mean_ns, per_ns))
        .map(|r| r.expect("no item fails"))
        .collect()
}

fn check_permutation(mut got: Vec<(usize, u64)>, expect: &[u64], who: &str) {
    got.sort_unstable();
    assert_eq!(got.len(), expect.len(), "{who}: item count");
    for (i, v) in got {
        assert_eq!(v, expect[i], "{who}: item {i}");
    }
}

fn median_ns_per_item(rounds: usize, mut run: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_nanos() as f64 / ITEMS as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// `drop` of a map holding 1M queued items; returns (µs for the drop, items cancelled).
fn cancel_million(pool: &Pool) -> (f64, u64) {
    const N: usize = 1_000_000;
    let fan = FanOut::builder().window(N).build().unwrap();
    let mut map = fan.try_map_unordered(pool, 0..N, |&i, at| {
        if i > 0 {
            // Holds its worker until the map is cancelled, so the rest stay queued.
            at.token().wait();
        }
        Ok::<usize, ()>(i)
    });
    let stats = map.stats_handle();
    // The first `next` pulls all 1M items (the window allows it) and yields item 0.
    let (first, r) = map.next().expect("one item");
    assert_eq!((first, r), (0, Ok(0)));
    let start = Instant::now();
    drop(map);
    let took = start.elapsed();
    let s = stats.wait_settled(Duration::from_secs(60));
    assert!(s.is_settled(), "{s:?}");
    assert_eq!(s.started + s.cancelled, N as u64, "{s:?}");
    (took.as_secs_f64() * 1e6, s.cancelled)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick" || a == "--test");
    let rounds = if quick {
        1
    } else {
        std::env::var("FANOUT_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15)
    };
    let threads = threads();
    let per_ns = calibrate();
    let window = FanOut::default().window_for(threads);
    let pools: Vec<(Backend, Pool)> = [Backend::Stealing, Backend::Channel]
        .into_iter()
        .map(|b| {
            let pool = Pool::builder()
                .num_threads(threads)
                .backend(b)
                .build()
                .unwrap();
            (b, pool)
        })
        .collect();

    println!(
        "fan-out bench: {ITEMS} items, skew 9:1 at 1x:10x, {threads} threads, window {window}, {rounds} round(s), median ns/item"
    );
    println!(
        "| mean cost | plain_channel | backend | map_unordered | map_ordered | unordered / plain | ordered / unordered |"
    );
    println!("|---|---|---|---|---|---|---|");
    for mean in MEANS_NS {
        let expect: Vec<u64> = (0..ITEMS).map(value).collect();
        // Verify every contender before timing anything.
        check_permutation(
            plain_channel(mean, per_ns, threads, window),
            &expect,
            "plain_channel",
        );
        for (backend, pool) in &pools {
            check_permutation(
                unordered(pool, mean, per_ns),
                &expect,
                &format!("{backend:?} unordered"),
            );
            assert_eq!(ordered(pool, mean, per_ns), expect, "{backend:?} ordered");
        }
        let plain = median_ns_per_item(rounds, || {
            black_box(plain_channel(mean, per_ns, threads, window));
        });
        for (backend, pool) in &pools {
            let u = median_ns_per_item(rounds, || {
                black_box(unordered(pool, mean, per_ns));
            });
            let o = median_ns_per_item(rounds, || {
                black_box(ordered(pool, mean, per_ns));
            });
            println!(
                "| {mean} ns | {plain:.0} | {backend:?} | {u:.0} | {o:.0} | {:.2} | {:.2} |",
                u / plain,
                o / u
            );
        }
    }
    println!();
    println!("| backend | cancel 1M queued: drop took | per 10k items | cancelled |");
    println!("|---|---|---|---|");
    for (backend, pool) in &pools {
        let (us, cancelled) = cancel_million(pool);
        println!(
            "| {backend:?} | {us:.0} µs | {:.1} µs | {cancelled} |",
            us / 100.0
        );
    }
}
