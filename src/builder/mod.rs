//! `Builder`: configuring and starting a pool, with rayon's names.

use std::fmt;
use std::time::Duration;

mod backend;

pub use backend::Backend;

use crate::Pool;
use crate::backend::Tuning;
use crate::backend::channel::Channel;
use crate::backend::stealing::Stealing;
use crate::error::BuildError;
use crate::job::unwind::JobPanic;
use crate::sched::registry::{Config, PanicHandler, ThreadHandler};
use crate::sched::running;
use crate::sched::sleep::pacing::TRIM_AFTER;

/// The environment variable that sets the default number of worker threads.
pub const ENV_NUM_THREADS: &str = "SKEWER_NUM_THREADS";
/// The environment variable that sets the default backend (`stealing` or `channel`).
pub const ENV_BACKEND: &str = "SKEWER_BACKEND";

/// Configures and builds a [`Pool`].
///
/// Settings left unset take their defaults when [`build`](Builder::build) runs:
/// `num_threads` from `SKEWER_NUM_THREADS`, else `std::thread::available_parallelism`;
/// `backend` from `SKEWER_BACKEND`, else [`Backend::Stealing`]. An environment value that
/// does not parse, or a thread count out of range, is an error naming the variable, never
/// a silent fallback.
///
/// # Examples
/// ```
/// use skewer::{Backend, Pool};
/// let pool = Pool::builder()
///     .num_threads(2)
///     .backend(Backend::Stealing)
///     .thread_name(|i| format!("compute-{i}"))
///     .stack_size(4 << 20)
///     .start_handler(|i| assert!(i < 2))
///     .build()
///     .expect("pool");
/// assert_eq!(pool.current_num_threads(), 2);
/// let name = pool.install(|| std::thread::current().name().map(String::from));
/// assert!(name.unwrap().starts_with("compute-"));
/// ```
#[must_use]
pub struct Builder {
    num_threads: Option<usize>,
    backend: Option<Backend>,
    tuning: Tuning,
    thread_name: Option<Box<dyn FnMut(usize) -> String>>,
    stack_size: Option<usize>,
    panic_handler: Option<Box<PanicHandler>>,
    start_handler: Option<Box<ThreadHandler>>,
    exit_handler: Option<Box<ThreadHandler>>,
    queue_capacity: Option<usize>,
    trim_after: Option<Duration>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("num_threads", &self.num_threads)
            .field("backend", &self.backend)
            .field("steal_batch", &self.tuning.steal_batch)
            .field("stack_size", &self.stack_size)
            .field("thread_name", &self.thread_name.is_some())
            .field("panic_handler", &self.panic_handler.is_some())
            .field("start_handler", &self.start_handler.is_some())
            .field("exit_handler", &self.exit_handler.is_some())
            .field("queue_capacity", &self.queue_capacity)
            .field("trim_queues_after", &self.trim_after)
            .finish()
    }
}

impl Builder {
    /// A builder with every setting at its default.
    pub fn new() -> Self {
        Builder {
            num_threads: None,
            backend: None,
            tuning: Tuning::default(),
            thread_name: None,
            stack_size: None,
            panic_handler: None,
            start_handler: None,
            exit_handler: None,
            queue_capacity: None,
            trim_after: Some(TRIM_AFTER),
        }
    }

    /// The number of worker threads. `0` is refused by `build`.
    ///
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(3).build().unwrap();
    /// assert_eq!(pool.current_num_threads(), 3);
    /// ```
    pub fn num_threads(mut self, n: usize) -> Self {
        self.num_threads = Some(n);
        self
    }

    /// The scheduling discipline.
    ///
    /// ```
    /// let pool = skewer::Pool::builder().backend(skewer::Backend::Channel).build().unwrap();
    /// assert_eq!(pool.backend(), skewer::Backend::Channel);
    /// ```
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// For the stealing backend: take about half of a victim's queue per steal (`true`, the
    /// default) or a single job. `docs/work-stealing.md` has the measurement.
    ///
    /// ```
    /// let pool = skewer::Pool::builder().steal_batch(false).num_threads(2).build().unwrap();
    /// assert_eq!(pool.join(|| 1, || 2), (1, 2));
    /// ```
    pub fn steal_batch(mut self, batch: bool) -> Self {
        self.tuning.steal_batch = batch;
        self
    }

    /// Names worker threads; the closure gets the worker index. Default `skewer-{index}`.
    ///
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(1).thread_name(|i| format!("io-{i}")).build().unwrap();
    /// assert_eq!(pool.install(|| std::thread::current().name().map(String::from)).as_deref(), Some("io-0"));
    /// ```
    pub fn thread_name<F>(mut self, name: F) -> Self
    where
        F: FnMut(usize) -> String + 'static,
    {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// The stack size of each worker thread, in bytes. Default: the standard library's.
    ///
    /// ```
    /// // Deep recursion through `join` needs the stack the plain recursion needs.
    /// fn depth(n: u32) -> u32 { if n == 0 { 0 } else { skewer::join(|| depth(n - 1), || 1).0 + 1 } }
    /// let pool = skewer::Pool::builder().num_threads(2).stack_size(64 << 20).build().unwrap();
    /// assert_eq!(pool.install(|| depth(10_000)), 10_000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Receives the panics of detached [`Pool::spawn`] jobs (and only those: panics in
    /// `join`, `scope` and `install` reach their caller). Without a handler such a panic
    /// is counted in [`Pool::metrics`] and reported on stderr once per location. The
    /// worker survives either way.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let counter = seen.clone();
    /// let pool = skewer::Pool::builder()
    ///     .panic_handler(move |_panic| { counter.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// pool.spawn(|| panic!("boom")).unwrap();
    /// pool.shutdown();
    /// assert_eq!(seen.load(Ordering::SeqCst), 1);
    /// ```
    pub fn panic_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(JobPanic) + Send + Sync + 'static,
    {
        self.panic_handler = Some(Box::new(handler));
        self
    }

    /// Runs on each worker thread when it starts, with its index.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let pool = skewer::Pool::builder()
    ///     .num_threads(2)
    ///     .start_handler(move |_index| { s.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// pool.shutdown();
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// ```
    pub fn start_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(usize) + Send + Sync + 'static,
    {
        self.start_handler = Some(Box::new(handler));
        self
    }

    /// Runs on each worker thread just before it exits, with its index.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let exited = Arc::new(AtomicUsize::new(0));
    /// let e = exited.clone();
    /// let pool = skewer::Pool::builder()
    ///     .num_threads(2)
    ///     .exit_handler(move |_index| { e.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// pool.shutdown(); // joins the workers, so their exit handlers have run
    /// assert_eq!(exited.load(Ordering::SeqCst), 2);
    /// ```
    pub fn exit_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(usize) + Send + Sync + 'static,
    {
        self.exit_handler = Some(Box::new(handler));
        self
    }

    /// Bounds outside submissions: a [`Pool::spawn`] from a thread that is not one of the
    /// pool's own threads blocks while `n` jobs it (or other outside threads) submitted wait
    /// to start, and [`Pool::try_spawn`] hands the job back instead. Jobs spawned by the
    /// pool's own running jobs are never blocked, so a job that spawns more cannot
    /// deadlock the pool. [`Pool::spawn_fifo`], `install`, `scope` and broadcasts are not
    /// counted against the bound. `0` is refused by `build`. Default: unbounded.
    ///
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).queue_capacity(4).build().unwrap();
    /// let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let done = done.clone();
    ///     pool.spawn(move || { done.fetch_add(1, std::sync::atomic::Ordering::SeqCst); }).unwrap();
    ///     assert!(pool.waiting_submissions() <= 4);
    /// }
    /// pool.shutdown();
    /// assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 100);
    /// ```
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = Some(n);
        self
    }

    /// How long no queue may grow past 2 048 jobs before a worker about to park frees the
    /// room queues grew to beyond that ([`Metrics::queue_room`](crate::Metrics::queue_room));
    /// `None` keeps it for the pool's lifetime. Default: one second.
    ///
    /// A pool fed large bursts further apart than this pays for the room again at each
    /// burst: a million queued jobs need 40 MB, which the first burst after a trim faults
    /// back in (about 15-25 ms on the project's 2-core VMs). Such a pool can keep the room
    /// with a longer time, or `None`; one that must hold little memory between bursts can
    /// take a shorter one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = skewer::Pool::builder()
    ///     .num_threads(1)
    ///     .trim_queues_after(None)
    ///     .build()
    ///     .unwrap();
    /// pool.install(|| skewer::scope(|s| for _ in 0..50_000 { s.spawn(|_| {}); }));
    /// std::thread::sleep(Duration::from_millis(1500));
    /// // Kept: the next burst of that size allocates nothing.
    /// assert!(pool.metrics().queue_room >= 40_000);
    /// ```
    pub fn trim_queues_after(mut self, after: Option<Duration>) -> Self {
        self.trim_after = after;
        self
    }

    /// Starts the pool's threads.
    ///
    /// # Errors
    /// [`BuildError`] when `num_threads` is 0 or too large, when `SKEWER_NUM_THREADS` or
    /// `SKEWER_BACKEND` hold an invalid value, or when a worker thread cannot be started
    /// (the threads already started are stopped and joined first).
    ///
    /// ```
    /// let err = skewer::Pool::builder().num_threads(0).build().unwrap_err();
    /// assert!(err.to_string().contains("at least one worker"));
    /// ```
    pub fn build(self) -> Result<Pool, BuildError> {
        self.build_with_env(&|var| std::env::var(var).ok())
    }

    /// `build`, reading the environment through `env` (tests substitute it).
    pub(crate) fn build_with_env(
        mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Pool, BuildError> {
        // The environment's value is kept to name it if the OS refuses one of its threads.
        let (num_threads, threads_env) = match self.num_threads {
            Some(0) => return Err(BuildError::zero_threads()),
            Some(n) if n > crate::sched::sleep::MAX_WORKERS => {
                return Err(BuildError::too_many_threads(n));
            }
            Some(n) => (n, None),
            None => threads_from_env(env)?,
        };
        let capacity = match self.queue_capacity {
            Some(0) => return Err(BuildError::zero_capacity()),
            Some(n) => Some(crate::fanout::capacity::Capacity::new(n)),
            None => None,
        };
        let backend = match self.backend {
            Some(b) => b,
            None => backend_from_env(env)?,
        };
        let thread_names = (0..num_threads)
            .map(|i| match &mut self.thread_name {
                Some(name) => name(i),
                None => format!("skewer-{i}"),
            })
            .collect();
        let config = Config {
            num_threads,
            tuning: self.tuning,
            thread_names,
            stack_size: self.stack_size,
            panic_handler: self.panic_handler,
            start_handler: self.start_handler,
            exit_handler: self.exit_handler,
            trim_after: self.trim_after,
        };
        let started = match backend {
            Backend::Stealing => running::start::<Stealing>(config),
            Backend::Channel => running::start::<Channel>(config),
        };
        match started {
            Ok(running) => Ok(Pool::from_running(running, backend, capacity)),
            Err((index, source)) => {
                let err = BuildError::thread_spawn(index, source);
                Err(match threads_env {
                    Some(value) => err.with_threads_from_env(ENV_NUM_THREADS, value),
                    None => err,
                })
            }
        }
    }
}

/// Building a pool from its handle's side: the two entry points users reach first.
impl Pool {
    /// A pool with default settings (see [`Builder`]).
    ///
    /// # Errors
    /// As [`Builder::build`]: an invalid `SKEWER_NUM_THREADS` or `SKEWER_BACKEND`, or a
    /// worker thread the OS refused to start.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::new().unwrap();
    /// assert!(pool.current_num_threads() >= 1);
    /// ```
    pub fn new() -> Result<Pool, BuildError> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a pool.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(3).build().unwrap();
    /// assert_eq!(pool.current_num_threads(), 3);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }
}

/// The default thread count, and the `SKEWER_NUM_THREADS` value it came from, if any.
fn threads_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(usize, Option<String>), BuildError> {
    let max = crate::sched::sleep::MAX_WORKERS;
    match env(ENV_NUM_THREADS) {
        Some(value) => match value.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok((n, Some(value))),
            _ => Err(BuildError::invalid_env(
                ENV_NUM_THREADS,
                value,
                format!("a whole number of threads from 1 to {max}"),
            )),
        },
        None => Ok((
            std::thread::available_parallelism().map_or(1, |n| n.get().min(max)),
            None,
        )),
    }
}

fn backend_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Backend, BuildError> {
    match env(ENV_BACKEND) {
        Some(value) => value.parse().map_err(|_| {
            BuildError::invalid_env(ENV_BACKEND, value, "\"stealing\" or \"channel\"")
        }),
        None => Ok(Backend::Stealing),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn env_sets_defaults() {
        let pool = Builder::new()
            .build_with_env(&env_of(&[(ENV_NUM_THREADS, "3"), (ENV_BACKEND, "channel")]))
            .unwrap();
        assert_eq!(pool.current_num_threads(), 3);
        assert_eq!(pool.backend(), Backend::Channel);
    }

    #[test]
    fn explicit_settings_win_over_env() {
        let pool = Builder::new()
            .num_threads(1)
            .backend(Backend::Stealing)
            .build_with_env(&env_of(&[(ENV_NUM_THREADS, "junk"), (ENV_BACKEND, "junk")]))
            .unwrap();
        assert_eq!(pool.current_num_threads(), 1);
        assert_eq!(pool.backend(), Backend::Stealing);
    }

    #[test]
    fn invalid_num_threads_env_is_an_error_naming_the_variable() {
        for bad in ["0", "-2", "four", ""] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(ENV_NUM_THREADS, bad)]));
            let err = Builder::new().build_with_env(&env_of(pairs)).unwrap_err();
            assert_eq!(err.env_var(), Some(ENV_NUM_THREADS), "{bad:?}");
            assert!(err.to_string().contains(ENV_NUM_THREADS));
        }
    }

    #[test]
    fn a_thread_count_from_the_env_above_the_maximum_names_the_variable() {
        for bad in ["65536", "100000"] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(ENV_NUM_THREADS, bad)]));
            let err = Builder::new().build_with_env(&env_of(pairs)).unwrap_err();
            assert_eq!(err.env_var(), Some(ENV_NUM_THREADS), "{bad:?}");
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("SKEWER_NUM_THREADS=\"{bad}\""))
                    && msg.contains("from 1 to 65535"),
                "{msg}"
            );
        }
        // The same number set in code is refused without naming the variable.
        let err = Builder::new().num_threads(100_000).build().unwrap_err();
        assert_eq!(err.env_var(), None);
        assert!(err.to_string().contains("num_threads(100000)"));
    }

    #[test]
    fn a_thread_the_os_refuses_names_the_variable_that_asked_for_it() {
        // No OS maps a stack of half the address space.
        let err = Builder::new()
            .stack_size(usize::MAX / 2)
            .build_with_env(&env_of(&[(ENV_NUM_THREADS, "2")]))
            .unwrap_err();
        assert!(err.is_thread_spawn(), "{err}");
        assert_eq!(err.env_var(), Some(ENV_NUM_THREADS));
        let msg = err.to_string();
        assert!(
            msg.contains("SKEWER_NUM_THREADS=\"2\"") && msg.contains("stack_size"),
            "{msg}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn invalid_backend_env_is_an_error_naming_the_variable() {
        let err = Builder::new()
            .num_threads(1)
            .build_with_env(&env_of(&[(ENV_BACKEND, "fifo")]))
            .unwrap_err();
        assert_eq!(err.env_var(), Some(ENV_BACKEND));
        let msg = err.to_string();
        assert!(
            msg.contains("SKEWER_BACKEND") && msg.contains("\"fifo\""),
            "{msg}"
        );
    }

    #[test]
    fn missing_env_uses_the_cpu_count() {
        let pool = Builder::new().build_with_env(&|_| None).unwrap();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(pool.current_num_threads(), cpus);
        assert_eq!(pool.backend(), Backend::Stealing);
    }
}
