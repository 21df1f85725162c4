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
        expected: String,
    },
    ThreadSpawn {
        index: usize,
        source: std::io::Error,
        /// The variable and value the thread count came from, if from the environment.
        threads_from_env: Option<(&'static str, String)>,
    },
    GlobalAlreadyBuilt {
        /// Built with default settings by its first use, not by an earlier `build_global`.
        by_first_use: bool,
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

    pub(crate) fn invalid_env(
        var: &'static str,
        value: String,
        expected: impl Into<String>,
    ) -> Self {
        BuildError {
            kind: ErrorKind::InvalidEnv {
                var,
                value,
                expected: expected.into(),
            },
        }
    }

    pub(crate) fn thread_spawn(index: usize, source: std::io::Error) -> Self {
        BuildError {
            kind: ErrorKind::ThreadSpawn {
                index,
                source,
                threads_from_env: None,
            },
        }
    }

    /// Records that the thread count came from `var=value`, so that a thread the OS
    /// refused is reported with the variable that asked for it. Other errors are unchanged.
    pub(crate) fn with_threads_from_env(mut self, var: &'static str, value: String) -> Self {
        if let ErrorKind::ThreadSpawn {
            threads_from_env, ..
        } = &mut self.kind
        {
            *threads_from_env = Some((var, value));
        }
        self
    }

    pub(crate) fn global_already_built(by_first_use: bool) -> Self {
        BuildError {
            kind: ErrorKind::GlobalAlreadyBuilt { by_first_use },
        }
    }

    /// The environment variable whose value caused the error, if one did: a value that was
    /// refused, or a thread count read from `SKEWER_NUM_THREADS` that the OS could not
    /// start.
    ///
    /// # Examples
    /// ```
    /// let err = skewer::Pool::builder().num_threads(0).build().unwrap_err();
    /// assert_eq!(err.env_var(), None); // set in code, not by the environment
    /// ```
    pub fn env_var(&self) -> Option<&'static str> {
        match &self.kind {
            ErrorKind::InvalidEnv { var, .. } => Some(var),
            ErrorKind::ThreadSpawn {
                threads_from_env: Some((var, _)),
                ..
            } => Some(var),
            _ => None,
        }
    }

    /// Whether [`Builder::build_global`](crate::Builder::build_global) failed because the
    /// global pool already existed: an earlier `build_global` set it, or something used it
    /// first (which builds it with the default settings).
    ///
    /// # Examples
    /// ```
    /// skewer::join(|| (), || ()); // the first use builds the global pool
    /// let err = skewer::Pool::builder().num_threads(2).build_global().unwrap_err();
    /// assert!(err.is_global_already_built());
    /// ```
    pub fn is_global_already_built(&self) -> bool {
        matches!(self.kind, ErrorKind::GlobalAlreadyBuilt { .. })
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
                crate::sched::sleep::MAX_WORKERS
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
            ErrorKind::ThreadSpawn {
                index,
                source,
                threads_from_env: None,
            } => write!(
                f,
                "could not start worker thread {index}: {source}; \
                 try fewer threads or a smaller stack_size"
            ),
            ErrorKind::ThreadSpawn {
                index,
                source,
                threads_from_env: Some((var, value)),
            } => write!(
                f,
                "could not start worker thread {index} of the {var}={value:?} asked for: \
                 {source}; set {var} lower, or a smaller stack_size"
            ),
            ErrorKind::GlobalAlreadyBuilt {
                by_first_use: false,
            } => write!(
                f,
                "build_global: the global pool was already set by an earlier build_global \
                 call; it is set once per process"
            ),
            ErrorKind::GlobalAlreadyBuilt { by_first_use: true } => write!(
                f,
                "build_global: the global pool was already built with the default settings \
                 by its first use (a skewer::join, scope, spawn, ... called outside any pool); \
                 call build_global before that, at the start of main"
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
/// The error is `Send + Sync` whenever the job is `Send` (every job a pool takes is), so
/// `?` converts it into a `Box<dyn Error + Send + Sync>` even when the job captures
/// something that is not `Sync`, such as a `Cell`: the job is reachable only through
/// [`into_inner`](SpawnError::into_inner), by value, never shared by reference.
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
///
/// With `?`:
/// ```
/// use std::cell::Cell;
/// fn submit(pool: &skewer::Pool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     let counter = Cell::new(0); // `Send` but not `Sync`
///     pool.spawn(move || counter.set(counter.get() + 1))?;
///     Ok(())
/// }
/// let pool = skewer::Pool::builder().num_threads(1).build().unwrap();
/// assert!(submit(&pool).is_ok());
/// pool.shutdown();
/// let err = submit(&pool).unwrap_err();
/// assert!(err.to_string().contains("shut down"));
/// ```
pub struct SpawnError<F> {
    /// In a mutex that is never locked: `Mutex<F>` is `Sync` for any `F: Send`, which
    /// makes the error `Sync` without asking the job to be. The only way to the job is
    /// `into_inner(self)`. std's mutex, not `crate::sync`'s: nothing synchronises here.
    job: std::sync::Mutex<F>,
}

impl<F> SpawnError<F> {
    pub(crate) fn new(job: F) -> Self {
        SpawnError {
            job: std::sync::Mutex::new(job),
        }
    }

    /// Returns the refused job.
    pub fn into_inner(self) -> F {
        // Never locked, so never poisoned; `into_inner` of a poisoned mutex still holds
        // the value.
        self.job
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
