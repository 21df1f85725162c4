//! Error types: building a pool, and submitting to a pool that no longer takes work.

use std::fmt;

/// Why [`Builder::build`](crate::Builder::build) failed. The message says what to change.
///
/// # Examples
/// ```
/// let err = skewer::Pool::builder().num_threads(0).build().unwrap_err();
/// assert!(err.to_string().contains("num_threads"));
/// ```
#[derive(Debug)]
pub struct BuildError {
    kind: ErrorKind,
}

#[derive(Debug)]
enum ErrorKind {
    ZeroThreads,
    ZeroCapacity,
    TooManyThreads(usize),
    InvalidEnv {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    ThreadSpawn {
        index: usize,
        source: std::io::Error,
    },
}

impl BuildError {
    pub(crate) fn zero_threads() -> Self {
        BuildError {
            kind: ErrorKind::ZeroThreads,
        }
    }

    pub(crate) fn zero_capacity() -> Self {
        BuildError {
            kind: ErrorKind::ZeroCapacity,
        }
    }

    pub(crate) fn too_many_threads(n: usize) -> Self {
        BuildError {
            kind: ErrorKind::TooManyThreads(n),
        }
    }

    pub(crate) fn invalid_env(var: &'static str, value: String, expected: &'static str) -> Self {
        BuildError {
            kind: ErrorKind::InvalidEnv {
                var,
                value,
                expected,
            },
        }
    }

    pub(crate) fn thread_spawn(index: usize, source: std::io::Error) -> Self {
        BuildError {
            kind: ErrorKind::ThreadSpawn { index, source },
        }
    }

    /// The environment variable whose value was refused, if that is the cause.
    pub fn env_var(&self) -> Option<&'static str> {
        match &self.kind {
            ErrorKind::InvalidEnv { var, .. } => Some(var),
            _ => None,
        }
    }

    /// Whether a worker thread could not be started (the OS refused).
    pub fn is_thread_spawn(&self) -> bool {
        matches!(self.kind, ErrorKind::ThreadSpawn { .. })
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::ZeroThreads => write!(
                f,
                "num_threads(0): a pool needs at least one worker thread; pass 1 or more, \
                 or leave num_threads unset to use SKEWER_NUM_THREADS or the CPU count"
            ),
            ErrorKind::ZeroCapacity => write!(
                f,
                "queue_capacity(0): every spawn from outside the pool would block forever; \
                 pass 1 or more, or leave it unset for an unbounded queue"
            ),
            ErrorKind::TooManyThreads(n) => write!(
                f,
                "num_threads({n}) exceeds the maximum of {}; use fewer threads",
                crate::sleep::MAX_WORKERS
            ),
            ErrorKind::InvalidEnv {
                var,
                value,
                expected,
            } => write!(
                f,
                "environment variable {var}={value:?} is invalid: expected {expected}; \
                 fix or unset {var}"
            ),
            ErrorKind::ThreadSpawn { index, source } => write!(
                f,
                "could not start worker thread {index}: {source}; \
                 try fewer threads or a smaller stack_size"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::ThreadSpawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A job the pool refused because it was shut down. The job is handed back, unrun.
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// static RAN: AtomicBool = AtomicBool::new(false);
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// pool.shutdown();
/// let err = pool.spawn(|| RAN.store(true, Ordering::SeqCst)).unwrap_err();
/// let job = err.into_inner();
/// job(); // nothing lost: run it elsewhere
/// assert!(RAN.load(Ordering::SeqCst));
/// ```
pub struct SpawnError<F> {
    job: F,
}

impl<F> SpawnError<F> {
    pub(crate) fn new(job: F) -> Self {
        SpawnError { job }
    }

    /// Returns the refused job.
    pub fn into_inner(self) -> F {
        self.job
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError").finish_non_exhaustive()
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down and takes no new jobs; the job is returned unrun")
    }
}

impl<F> std::error::Error for SpawnError<F> {}
