//! Group `cross_pool_install`: a worker of a 1-thread pool A calls `B.install` (B: 1
//! thread) 100 times per iteration (`a_to_b_x100`), and the same with B's worker calling
//! `A.install` back inside each (`a_b_a_x100`, which the A worker waiting in `B.install`
//! runs); skewer on both backends against two 1-thread rayon pools.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode};
use skewer::{Backend, Pool};

use crate::samples::time_loop;
use crate::support::peers::pools;

/// Cross-pool calls per timed iteration.
const CROSS_CALLS: u64 = 100;

/// `install` of skewer and rayon behind one name, for the cross-pool workload.
trait Install: Sync {
    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R;
}

impl Install for Pool {
    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.install(f)
    }
}

impl Install for rayon::ThreadPool {
    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.install(f)
    }
}

/// `CROSS_CALLS` installs into `b` from a worker of `a`, each returning its index, and
/// (`round_trip`) each calling back into `a` from `b`'s worker: A->B, or A->B->A.
fn cross<P: Install>(a: &P, b: &P, round_trip: bool) -> u64 {
    a.run(|| {
        (0..CROSS_CALLS)
            .map(|i| {
                if round_trip {
                    b.run(|| a.run(|| black_box(i)))
                } else {
                    b.run(|| black_box(i))
                }
            })
            .sum()
    })
}

/// The group.
pub fn cross_pool_install(c: &mut Criterion) {
    const G: &str = "cross_pool_install";
    const SAMPLES: usize = 20;
    let expected: u64 = (0..CROSS_CALLS).sum();
    let (sa, sb) = (
        pools::skewer(1, Backend::Stealing),
        pools::skewer(1, Backend::Stealing),
    );
    let (ca, cb) = (
        pools::skewer(1, Backend::Channel),
        pools::skewer(1, Backend::Channel),
    );
    let (ra, rb) = (pools::rayon(1), pools::rayon(1));
    let mut g = c.benchmark_group(G);
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (w, round_trip) in [("a_to_b_x100", false), ("a_b_a_x100", true)] {
        let contenders: [(&str, &dyn Fn() -> u64); 4] = [
            ("sequential", &|| (0..CROSS_CALLS).map(black_box).sum()),
            ("skewer_stealing", &|| cross(&sa, &sb, round_trip)),
            ("skewer_channel", &|| cross(&ca, &cb, round_trip)),
            ("rayon_install", &|| cross(&ra, &rb, round_trip)),
        ];
        for (name, run) in contenders {
            assert_eq!(run(), expected, "{name} {w}");
            g.bench_function(BenchmarkId::new(name, w), |b| {
                b.iter_custom(|iters| time_loop(G, w, name, SAMPLES, iters, run))
            });
        }
    }
    g.finish();
    for pool in [sa, sb, ca, cb] {
        pool.shutdown();
    }
}
