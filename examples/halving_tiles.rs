//! Where a recursive halving over the skew bench's mandelbrot tiles spends its time over the
//! lower bound, on skewer's `join` and rayon's, next to plain threads sharing an atomic
//! cursor (`docs/benchmarks.md`, run U, and "Slow one-thread cells").
//!
//! The tiles are those of `cargo bench --bench skew -- mandelbrot`: a 256×256 image in
//! 16×16 tiles, up to 512 iterations per pixel. Each tile is first timed alone on the main
//! thread, best of three; their sum is T1 and the lower bound is max(T1 / P, the largest
//! tile). Each contender then runs the tiles `RUNS` times on P threads, timing every tile
//! where it runs, and checks the image's digest against the sequential one:
//! - `skewer`, `rayon`: the halving (`join` over the tile range down to single tiles)
//!   inside `install` on a pool of P threads;
//! - `cursor`: P scoped threads taking tile indices from an atomic counter.
//!
//! Per run the time over the bound splits into:
//! - `tiles/T1`: the sum of the tiles' times in the run over T1 (1.0 when every tile runs
//!   as fast as it did alone on the main thread), and the same per thread;
//! - `rest/bound`: `(wall - sum of tile times / P) / bound`, what the threads spent outside
//!   tiles (starting, sharing work, waiting at the end), as a share of the bound.
//!
//! Prints the medians, `ROUNDS` rounds of the three contenders in turn.
//!
//! Run: `cargo run --release --example halving_tiles [threads]` (2 by default, at most 4).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SIZE: usize = 256;
const TILE: usize = 16;
const MAX_ITER: u32 = 512;
const TILES: usize = (SIZE / TILE) * (SIZE / TILE);
const RUNS: usize = 40;
const MAX_THREADS: usize = 4;
const ROUNDS: usize = 3;

/// One tile's digest of escape counts (the skew bench's mandelbrot, same region).
#[inline(never)]
fn tile(i: usize) -> u64 {
    const X0: f64 = -2.1;
    const Y0: f64 = -1.4;
    const SPAN: f64 = 2.8;
    let per_row = SIZE / TILE;
    let (tx, ty) = (i % per_row, i / per_row);
    let step = SPAN / SIZE as f64;
    let mut acc = 0u64;
    for py in ty * TILE..(ty + 1) * TILE {
        for px in tx * TILE..(tx + 1) * TILE {
            let (cr, ci) = (X0 + px as f64 * step, Y0 + py as f64 * step);
            let (mut zr, mut zi) = (0.0f64, 0.0f64);
            let mut n = 0;
            while n < MAX_ITER && zr * zr + zi * zi <= 4.0 {
                let t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                n += 1;
            }
            acc = acc.wrapping_mul(31).wrapping_add(u64::from(n));
        }
    }
    acc
}

/// Where and when each tile of one run ran: start and end in ns since `t0`, and the
/// thread (its pool index plus one).
struct Trace {
    t0: Instant,
    start: Vec<AtomicU64>,
    end: Vec<AtomicU64>,
    thread: Vec<AtomicU64>,
}

impl Trace {
    fn new() -> Trace {
        let zeros = || (0..TILES).map(|_| AtomicU64::new(0)).collect();
        Trace {
            t0: Instant::now(),
            start: zeros(),
            end: zeros(),
            thread: zeros(),
        }
    }

    fn run(&self, i: usize, thread: Option<usize>) -> u64 {
        let s = self.t0.elapsed().as_nanos() as u64;
        let v = tile(i);
        let e = self.t0.elapsed().as_nanos() as u64;
        self.start[i].store(s, Ordering::Relaxed);
        self.end[i].store(e, Ordering::Relaxed);
        self.thread[i].store(thread.map_or(0, |t| t as u64 + 1), Ordering::Relaxed);
        v
    }
}

/// The tiles' digests, combined in tile order.
fn digest(parts: &[u64]) -> u64 {
    parts.iter().fold(0u64, |acc, &d| acc.rotate_left(5) ^ d)
}

fn halve_skewer(t: &Trace, lo: usize, hi: usize, out: &mut [u64]) {
    if hi - lo == 1 {
        out[0] = t.run(lo, skewer::current_thread_index());
        return;
    }
    let mid = (lo + hi) / 2;
    let (left, right) = out.split_at_mut(mid - lo);
    skewer::join(
        || halve_skewer(t, lo, mid, left),
        || halve_skewer(t, mid, hi, right),
    );
}

fn halve_rayon(t: &Trace, lo: usize, hi: usize, out: &mut [u64]) {
    if hi - lo == 1 {
        out[0] = t.run(lo, rayon::current_thread_index());
        return;
    }
    let mid = (lo + hi) / 2;
    let (left, right) = out.split_at_mut(mid - lo);
    rayon::join(
        || halve_rayon(t, lo, mid, left),
        || halve_rayon(t, mid, hi, right),
    );
}

/// The tiles on `threads` scoped threads that take indices from an atomic cursor.
fn cursor(t: &Trace, threads: usize, out: &mut [u64]) {
    let next = AtomicUsize::new(0);
    let results: Vec<AtomicU64> = (0..TILES).map(|_| AtomicU64::new(0)).collect();
    std::thread::scope(|s| {
        for w in 0..threads {
            let (next, results) = (&next, &results);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= TILES {
                        break;
                    }
                    results[i].store(t.run(i, Some(w)), Ordering::Relaxed);
                }
            });
        }
    });
    for (o, r) in out.iter_mut().zip(&results) {
        *o = r.load(Ordering::Relaxed);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("threads: a number"))
        .unwrap_or(2);
    assert!(
        (1..=MAX_THREADS).contains(&threads),
        "threads: 1 to {MAX_THREADS}"
    );
    let mut best = vec![Duration::MAX; TILES];
    let mut alone = vec![0u64; TILES];
    for _ in 0..3 {
        for (i, b) in best.iter_mut().enumerate() {
            let t = Instant::now();
            alone[i] = black_box(tile(black_box(i)));
            *b = (*b).min(t.elapsed());
        }
    }
    let t1: Duration = best.iter().sum();
    let largest = *best.iter().max().expect("tiles");
    let bound = (t1 / threads as u32).max(largest).as_secs_f64();
    let expected = digest(&alone);
    println!(
        "{TILES} tiles, T1 {:.3} ms (each tile's best of 3), largest {:.3} ms; \
         {threads} threads, bound {:.3} ms",
        t1.as_secs_f64() * 1e3,
        largest.as_secs_f64() * 1e3,
        bound * 1e3
    );
    let sk = skewer::Pool::builder()
        .num_threads(threads)
        .build()
        .expect("skewer pool");
    let ry = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    println!(
        "{:>7} {:>11} {:>11} {:>11}   tiles/best per thread",
        "", "time/bound", "tiles/T1", "rest/bound"
    );
    for _ in 0..ROUNDS {
        for name in ["skewer", "rayon", "cursor"] {
            let (mut ratio, mut tiles, mut rest) = (vec![], vec![], vec![]);
            let mut per_thread = vec![vec![]; threads];
            for _ in 0..RUNS {
                let trace = Trace::new();
                let mut out = vec![0u64; TILES];
                let t = Instant::now();
                match name {
                    "skewer" => sk.install(|| halve_skewer(&trace, 0, TILES, &mut out)),
                    "rayon" => ry.install(|| halve_rayon(&trace, 0, TILES, &mut out)),
                    _ => cursor(&trace, threads, &mut out),
                }
                let wall = t.elapsed().as_secs_f64();
                assert_eq!(digest(&out), expected, "{name}: wrong image");
                let load = |v: &[AtomicU64], i: usize| v[i].load(Ordering::Relaxed);
                // Per thread: the tiles' time in this run and alone.
                let mut sums = vec![(0f64, 0f64); threads];
                for (i, b) in best.iter().enumerate() {
                    let th = load(&trace.thread, i) as usize;
                    assert!(
                        (1..=threads).contains(&th),
                        "{name}: a tile ran off the pool"
                    );
                    let took = (load(&trace.end, i) - load(&trace.start, i)) as f64 * 1e-9;
                    sums[th - 1].0 += took;
                    sums[th - 1].1 += b.as_secs_f64();
                }
                let in_tiles: f64 = sums.iter().map(|s| s.0).sum();
                ratio.push(wall / bound);
                tiles.push(in_tiles / t1.as_secs_f64());
                rest.push((wall - in_tiles / threads as f64) / bound);
                for (p, s) in per_thread.iter_mut().zip(&sums) {
                    if s.1 > 0.0 {
                        p.push(s.0 / s.1);
                    }
                }
            }
            let per: Vec<String> = per_thread
                .into_iter()
                .map(|p| {
                    if p.is_empty() {
                        "-".to_string()
                    } else {
                        format!("{:.3}", median(p))
                    }
                })
                .collect();
            println!(
                "{name:>7} {:>11.3} {:>11.3} {:>11.3}   {}",
                median(ratio),
                median(tiles),
                median(rest),
                per.join(" ")
            );
        }
    }
}
