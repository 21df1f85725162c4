//! One builder per pool library measured: skewer, rayon and chili pools of a given size,
//! their threads named after the library.

use std::num::NonZero;

use skewer::{Backend, Pool};

/// A skewer pool of `threads` workers on `backend`.
pub fn skewer(threads: usize, backend: Backend) -> Pool {
    Pool::builder()
        .num_threads(threads)
        .backend(backend)
        .thread_name(|i| format!("skewer-{i}"))
        .build()
        .unwrap_or_else(|e| panic!("building a skewer pool of {threads} threads: {e}"))
}

/// A rayon pool of `threads` workers.
pub fn rayon(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-{i}"))
        .build()
        .unwrap_or_else(|e| panic!("building a rayon pool of {threads} threads: {e}"))
}

/// A chili pool that runs on `threads` threads: `threads - 1` workers plus the thread that
/// calls `scope()` (chili counts the caller as one of its threads), with chili's default
/// heartbeat (100 µs).
pub fn chili(threads: usize) -> chili::ThreadPool {
    chili::ThreadPool::with_config(chili::Config {
        thread_count: Some(NonZero::new(threads).expect("at least one thread")),
        ..chili::Config::default()
    })
}
