//! mandelbrot: the tiles of an image as jobs. Real, visible skew: a tile inside the set costs
//! the full iteration limit per pixel, a tile far outside a handful of iterations.
//!
//! Each tile also records which worker computed it (`skewer::current_thread_index`), for the
//! who-ran-what picture of the skewer backends, and how long it took: the summary compares
//! the time spent inside tiles in each contender's runs with the sequential run's, which
//! tells a tile loop that ran slower from time lost between tiles.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::contenders::{Contender, Engine, run_flat};
use crate::support::reporting::units::fmt_dur;
use crate::workloads::flat::{FlatJobs, Producer, time_each};
use crate::workloads::{Outcome, Workload};

/// The image, cut into square tiles.
#[derive(Debug)]
pub struct Mandelbrot {
    size: usize,
    tile: usize,
    max_iter: u32,
    owners: Vec<AtomicU16>,
    tile_times: Vec<Duration>,
    largest: Duration,
    /// Nanoseconds spent inside `run_job`, summed over every tile run so far.
    in_jobs_ns: AtomicU64,
}

/// The viewed region: x in [X0, X0 + SPAN], y in [Y0, Y0 + SPAN].
const X0: f64 = -2.1;
const Y0: f64 = -1.4;
const SPAN: f64 = 2.8;

impl Mandelbrot {
    /// A `size` x `size` image in `tile` x `tile` tiles (`tile` divides `size`), with an
    /// escape limit of `max_iter` iterations.
    pub fn new(size: usize, tile: usize, max_iter: u32) -> Mandelbrot {
        assert!(
            size.is_multiple_of(tile),
            "the tile size must divide the image size"
        );
        let tiles = (size / tile) * (size / tile);
        let mut m = Mandelbrot {
            size,
            tile,
            max_iter,
            owners: (0..tiles).map(|_| AtomicU16::new(0)).collect(),
            tile_times: Vec::new(),
            largest: Duration::ZERO,
            in_jobs_ns: AtomicU64::new(0),
        };
        m.tile_times = time_each(&m);
        m.largest = m.tile_times.iter().max().copied().unwrap_or_default();
        m
    }

    fn tiles_per_row(&self) -> usize {
        self.size / self.tile
    }

    /// Escape iterations of pixel (px, py).
    #[inline]
    fn pixel(&self, px: usize, py: usize) -> u32 {
        let step = SPAN / self.size as f64;
        let (cr, ci) = (X0 + px as f64 * step, Y0 + py as f64 * step);
        let (mut zr, mut zi) = (0.0f64, 0.0f64);
        let mut n = 0;
        while n < self.max_iter && zr * zr + zi * zi <= 4.0 {
            let t = zr * zr - zi * zi + cr;
            zi = 2.0 * zr * zi + ci;
            zr = t;
            n += 1;
        }
        n
    }
}

impl FlatJobs for Mandelbrot {
    fn len(&self) -> usize {
        self.owners.len()
    }

    fn run_job(&self, i: usize) -> u64 {
        let start = Instant::now();
        let (tx, ty) = (i % self.tiles_per_row(), i / self.tiles_per_row());
        let mut acc = 0u64;
        for py in ty * self.tile..(ty + 1) * self.tile {
            for px in tx * self.tile..(tx + 1) * self.tile {
                acc = acc
                    .wrapping_mul(31)
                    .wrapping_add(u64::from(self.pixel(px, py)));
            }
        }
        let owner = skewer::current_thread_index().map_or(0, |w| w as u16 + 1);
        self.owners[i].store(owner, Ordering::Relaxed);
        // One shared addition per tile (256 per run): no contention worth measuring.
        let took = start.elapsed().as_nanos() as u64;
        self.in_jobs_ns.fetch_add(took, Ordering::Relaxed);
        acc
    }
}

impl Workload for Mandelbrot {
    fn describe(&self) -> String {
        let total: Duration = self.tile_times.iter().sum();
        let cheapest = self.tile_times.iter().min().copied().unwrap_or_default();
        format!(
            "{0}x{0} image, {1} tiles of {2}x{2} px, up to {3} iterations per pixel; \
             tiles {4} .. {5} (sum {6})",
            self.size,
            self.owners.len(),
            self.tile,
            self.max_iter,
            fmt_dur(cheapest),
            fmt_dur(self.largest),
            fmt_dur(total)
        )
    }

    fn jobs(&self) -> u64 {
        self.owners.len() as u64
    }

    fn run(&'static self, engine: &Engine, contender: Contender) -> Outcome {
        run_flat(self, engine, contender, Producer::Outside)
    }

    fn time_in_jobs(&self) -> Option<Duration> {
        Some(Duration::from_nanos(
            self.in_jobs_ns.load(Ordering::Relaxed),
        ))
    }

    fn largest_job(&self) -> Option<Duration> {
        Some(self.largest)
    }

    fn owners(&self) -> Option<(Vec<u16>, usize)> {
        let owners = self
            .owners
            .iter()
            .map(|o| o.load(Ordering::Relaxed))
            .collect();
        Some((owners, self.tiles_per_row()))
    }

    fn tile_costs(&self) -> Option<Vec<f64>> {
        Some(self.tile_times.iter().map(|t| t.as_secs_f64()).collect())
    }
}
