//! One builder per pool library measured: skewer and rayon pools of a given size,
//! their threads named after the library.

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
