//! Error groups: `Pool::try_scope` runs jobs that return `Result<(), E>`, returns the first
//! error once every started job has finished, and cancels the group's token on that first
//! error so that running siblings can stop and queued ones never start (Go's `errgroup`
//! with its context). `try_scope_all` keeps every error instead and cancels nothing on an
//! error (partial success). A panic in a job or in the body cancels the group and is
//! re-raised after all jobs finished.
//!
//! With a limit, at most `limit` jobs run at once: jobs wait in the group's own queue and
//! at most `limit` runner jobs take them from it. `spawn` blocks while `limit` jobs are
//! started-or-queued, and while blocked it runs queued jobs itself, so a body on a worker
//! thread never waits for a job that only it could run. `try_spawn` hands the closure back
//! instead of blocking (Go's `SetLimit` and `TryGo`).

use std::collections::VecDeque;

use crate::fanout::cancel::CancelToken;
use crate::fanout::capacity::TrySpawnError;
use crate::fanout::current;
use crate::fanout::error::ConfigError;
use crate::fanout::first_error::FirstError;
use crate::fanout::stats::{Ending, FanoutStats, StatsCell, StatsHandle};
use crate::sync::{Arc, AtomicUsize, Condvar, Mutex, Ordering};
use crate::{Pool, Scope};

type GroupJob<'scope, E> = Box<dyn FnOnce(&CancelToken) -> Result<(), E> + Send + 'scope>;

/// Settings of an error group, built by [`GroupOptions::builder`].
///
/// # Examples
/// ```
/// let opts = skewer::GroupOptions::builder().limit(2).build().unwrap();
/// assert_eq!(opts.limit(), Some(2));
/// assert!(skewer::GroupOptions::builder().limit(0).build().is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct GroupOptions {
    limit: Option<usize>,
    parent: Option<CancelToken>,
}

/// Builds [`GroupOptions`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct GroupOptionsBuilder {
    options: GroupOptions,
}

impl GroupOptions {
    /// A builder: no limit, and the token of the group job running on this thread (if
    /// any) as parent.
    pub fn builder() -> GroupOptionsBuilder {
        GroupOptionsBuilder::default()
    }

    /// The concurrency limit, if any.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }
}

impl GroupOptionsBuilder {
    /// At most `n` of the group's jobs run at once; `0` is refused by `build`.
    pub fn limit(mut self, n: usize) -> Self {
        self.options.limit = Some(n);
        self
    }

    /// The token whose cancellation cancels the group (the group's token is its child).
    pub fn parent(mut self, token: CancelToken) -> Self {
        self.options.parent = Some(token);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ConfigError`] for a zero limit (no job could ever start).
    pub fn build(self) -> Result<GroupOptions, ConfigError> {
        if self.options.limit == Some(0) {
            return Err(ConfigError::zero_limit());
        }
        Ok(self.options)
    }
}

struct LimitState<'scope, E> {
    pending: VecDeque<(usize, GroupJob<'scope, E>)>,
    /// Jobs taken from `pending` and not yet finished.
    running: usize,
    /// Runner jobs spawned and not yet exited.
    runners: usize,
    /// Spawners blocked on `room`.
    waiting: usize,
}

struct Limited<'scope, E> {
    limit: usize,
    state: Mutex<LimitState<'scope, E>>,
    room: Condvar,
}

struct GroupShared<'scope, E> {
    outcome: FirstError<E>,
    stats: Arc<StatsCell>,
    next_index: AtomicUsize,
    limited: Option<Limited<'scope, E>>,
}

impl<'scope, E> GroupShared<'scope, E> {
    /// Runs one job unless the group is cancelled; never unwinds.
    fn run_job(&self, index: usize, job: GroupJob<'scope, E>) {
        self.stats.sub_queued(1);
        let token = &self.outcome.token;
        if token.is_cancelled() {
            self.stats.add_cancelled(1);
            self.stats.sub_in_flight(1);
            return;
        }
        let mark = self.stats.start(index, true);
        let result = {
            let _entered = current::enter(token);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(token)))
        };
        match result {
            Ok(Ok(())) => self.stats.finish(index, &mark, Some(Ending::Succeeded)),
            Ok(Err(error)) => {
                self.stats.finish(index, &mark, Some(Ending::Failed));
                self.outcome.fail(error);
            }
            Err(payload) => {
                self.stats.finish(index, &mark, Some(Ending::Panicked));
                self.outcome.panicked(payload);
            }
        }
        self.stats.sub_in_flight(1);
    }

    /// Runs a job taken from the limited queue, then gives its place back.
    fn run_limited(&self, limited: &Limited<'scope, E>, index: usize, job: GroupJob<'scope, E>) {
        self.run_job(index, job);
        let mut st = limited.state.lock();
        st.running -= 1;
        if st.waiting > 0 {
            limited.room.notify_all();
        }
    }

    /// The body of a runner job of a limited group.
    fn run_runner(&self) {
        let limited = self.limited.as_ref().expect("runners serve limited groups");
        loop {
            let (index, job) = {
                let mut st = limited.state.lock();
                match st.pending.pop_front() {
                    Some(next) => {
                        st.running += 1;
                        next
                    }
                    None => {
                        st.runners -= 1;
                        return;
                    }
                }
            };
            self.run_limited(limited, index, job);
        }
    }
}

/// An error group inside a scope: its jobs may borrow what outlives the scope. Made by
/// [`Pool::try_scope`] and its variants.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let inputs = ["1", "2", "x", "4"];
/// let result: Result<(), std::num::ParseIntError> = pool.try_scope(|g| {
///     for s in &inputs {
///         g.spawn(move |_token| s.parse::<u32>().map(drop));
///     }
/// });
/// assert!(result.is_err());
/// ```
pub struct Group<'g, 'scope, E> {
    scope: &'g Scope<'scope>,
    shared: Arc<GroupShared<'scope, E>>,
}

impl<'g, 'scope, E: Send + 'scope> Group<'g, 'scope, E> {
    /// Starts `job`, which gets the group's token. With a limit, blocks while `limit`
    /// jobs are started or queued (running queued jobs itself meanwhile).
    ///
    /// A job that starts after the group was cancelled (first error, panic, or parent
    /// cancelled) does not run: it is counted as cancelled.
    pub fn spawn<F>(&self, job: F)
    where
        F: FnOnce(&CancelToken) -> Result<(), E> + Send + 'scope,
    {
        let index = self.enqueue_index();
        match &self.shared.limited {
            None => self.spawn_unlimited(index, Box::new(job)),
            Some(limited) => {
                let mut st = limited.state.lock();
                while st.running + st.pending.len() >= limited.limit {
                    if let Some((i, queued)) = st.pending.pop_front() {
                        st.running += 1;
                        drop(st);
                        self.shared.run_limited(limited, i, queued);
                        st = limited.state.lock();
                    } else {
                        st.waiting += 1;
                        st = limited.room.wait(st);
                        st.waiting -= 1;
                    }
                }
                self.push_limited(limited, st, index, Box::new(job));
            }
        }
    }

    /// Starts `job` if the limit allows it now; otherwise hands it back, unrun, in the
    /// error. Without a limit it always starts the job.
    ///
    /// # Errors
    /// [`TrySpawnError`] (full) when `limit` jobs are started or queued.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Barrier;
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let opts = skewer::GroupOptions::builder().limit(1).build().unwrap();
    /// let gate = Barrier::new(2);
    /// let refused = pool.try_scope_with(&opts, |g| {
    ///     g.spawn(|_| { gate.wait(); Ok::<(), ()>(()) });
    ///     let refused = g.try_spawn(|_| Ok(())).is_err();
    ///     gate.wait();
    ///     refused
    /// });
    /// assert_eq!(refused, Ok(true));
    /// ```
    pub fn try_spawn<F>(&self, job: F) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce(&CancelToken) -> Result<(), E> + Send + 'scope,
    {
        match &self.shared.limited {
            None => {
                let index = self.enqueue_index();
                self.spawn_unlimited(index, Box::new(job));
                Ok(())
            }
            Some(limited) => {
                let st = limited.state.lock();
                if st.running + st.pending.len() >= limited.limit {
                    return Err(TrySpawnError::full(job));
                }
                let index = self.enqueue_index();
                self.push_limited(limited, st, index, Box::new(job));
                Ok(())
            }
        }
    }

    fn enqueue_index(&self) -> usize {
        self.shared.stats.add_in_flight(1);
        self.shared.stats.add_queued(1);
        self.shared.next_index.fetch_add(1, Ordering::Relaxed)
    }

    fn spawn_unlimited(&self, index: usize, job: GroupJob<'scope, E>) {
        let shared = Arc::clone(&self.shared);
        self.scope.spawn(move |_| shared.run_job(index, job));
    }

    fn push_limited(
        &self,
        limited: &Limited<'scope, E>,
        mut st: crate::sync::MutexGuard<'_, LimitState<'scope, E>>,
        index: usize,
        job: GroupJob<'scope, E>,
    ) {
        st.pending.push_back((index, job));
        let start_runner = st.runners < limited.limit;
        if start_runner {
            st.runners += 1;
        }
        drop(st);
        if start_runner {
            let shared = Arc::clone(&self.shared);
            self.scope.spawn(move |_| shared.run_runner());
        }
    }

    /// The group's token: cancelled by the first error (not in `try_scope_all`), by a
    /// panic, or by the parent. Cancel it to stop the group early.
    pub fn token(&self) -> &CancelToken {
        &self.shared.outcome.token
    }

    /// A snapshot of the group's counters (jobs are indexed in spawn order).
    pub fn stats(&self) -> FanoutStats {
        self.shared.stats.snapshot()
    }

    /// A handle on the group's counters that outlives the group.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle::new(Arc::clone(&self.shared.stats))
    }
}

impl<E> std::fmt::Debug for Group<'_, '_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("limit", &self.shared.limited.as_ref().map(|l| l.limit))
            .field("cancelled", &self.shared.outcome.token.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Runs `op` with an error [`Group`] and returns the first error any of its jobs
    /// returned, once every started job has finished; `Ok` with `op`'s value otherwise.
    /// The first error cancels the group's token: running jobs see it, queued ones never
    /// start. A panic (in a job or in `op`) cancels the group and is re-raised here after
    /// every job finished. Jobs may borrow what outlives the call.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let ran = AtomicUsize::new(0);
    /// let result = pool.try_scope(|g| {
    ///     g.spawn(|_| Err("first"));
    ///     for _ in 0..1000 {
    ///         g.spawn(|token| {
    ///             if !token.is_cancelled() { ran.fetch_add(1, Ordering::Relaxed); }
    ///             Ok(())
    ///         });
    ///     }
    /// });
    /// assert_eq!(result, Err("first"));
    /// ```
    pub fn try_scope<'scope, OP, R, E>(&self, op: OP) -> Result<R, E>
    where
        OP: FnOnce(&Group<'_, 'scope, E>) -> R + Send,
        R: Send,
        E: Send + 'scope,
    {
        self.try_scope_with(&GroupOptions::default(), op)
    }

    /// [`try_scope`](Pool::try_scope) with a concurrency limit or a parent token.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let opts = skewer::GroupOptions::builder().limit(1).build().unwrap();
    /// let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
    /// pool.try_scope_with(&opts, |g| {
    ///     for _ in 0..20 {
    ///         g.spawn(|_| {
    ///             peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
    ///             now.fetch_sub(1, Ordering::SeqCst);
    ///             Ok::<(), ()>(())
    ///         });
    ///     }
    /// }).unwrap();
    /// assert_eq!(peak.into_inner(), 1);
    /// ```
    pub fn try_scope_with<'scope, OP, R, E>(&self, options: &GroupOptions, op: OP) -> Result<R, E>
    where
        OP: FnOnce(&Group<'_, 'scope, E>) -> R + Send,
        R: Send,
        E: Send + 'scope,
    {
        let (value, mut errors) = self.run_group(options, false, op);
        match errors.pop() {
            Some(first) => Err(first),
            None => Ok(value),
        }
    }

    /// Like [`try_scope`](Pool::try_scope), but an error cancels nothing: every job runs,
    /// and every error comes back, in the order they happened (partial success).
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let hosts = ["a", "b", "down-1", "c", "down-2"];
    /// let mut errors = pool.try_scope_all(|g| {
    ///     for h in hosts {
    ///         g.spawn(move |_| if h.starts_with("down") { Err(h) } else { Ok(()) });
    ///     }
    /// }).unwrap_err();
    /// errors.sort();
    /// assert_eq!(errors, ["down-1", "down-2"]);
    /// ```
    pub fn try_scope_all<'scope, OP, R, E>(&self, op: OP) -> Result<R, Vec<E>>
    where
        OP: FnOnce(&Group<'_, 'scope, E>) -> R + Send,
        R: Send,
        E: Send + 'scope,
    {
        self.try_scope_all_with(&GroupOptions::default(), op)
    }

    /// [`try_scope_all`](Pool::try_scope_all) with a concurrency limit or a parent token.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let opts = skewer::GroupOptions::builder().limit(3).build().unwrap();
    /// let out = pool.try_scope_all_with(&opts, |g| {
    ///     for i in 0..10 { g.spawn(move |_| if i % 4 == 0 { Err(i) } else { Ok(()) }); }
    ///     "body value"
    /// });
    /// assert_eq!(out.map_err(|e| e.len()), Err(3));
    /// ```
    pub fn try_scope_all_with<'scope, OP, R, E>(
        &self,
        options: &GroupOptions,
        op: OP,
    ) -> Result<R, Vec<E>>
    where
        OP: FnOnce(&Group<'_, 'scope, E>) -> R + Send,
        R: Send,
        E: Send + 'scope,
    {
        let (value, errors) = self.run_group(options, true, op);
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(errors)
        }
    }

    /// Runs a group; returns the body's value and the kept errors (for first-error mode,
    /// at most one, last in the vector).
    fn run_group<'scope, OP, R, E>(
        &self,
        options: &GroupOptions,
        collect_all: bool,
        op: OP,
    ) -> (R, Vec<E>)
    where
        OP: FnOnce(&Group<'_, 'scope, E>) -> R + Send,
        R: Send,
        E: Send + 'scope,
    {
        let token = current::child_of(options.parent.as_ref());
        let shared = Arc::new(GroupShared {
            outcome: FirstError::new(token, collect_all),
            stats: Arc::new(StatsCell::new(self.current_num_threads(), None)),
            next_index: AtomicUsize::new(0),
            limited: options.limit.map(|limit| Limited {
                limit,
                state: Mutex::new(LimitState {
                    pending: VecDeque::new(),
                    running: 0,
                    runners: 0,
                    waiting: 0,
                }),
                room: Condvar::new(),
            }),
        });
        let in_scope = Arc::clone(&shared);
        let value = self.scope(move |s| {
            let group = Group {
                scope: s,
                shared: in_scope,
            };
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(&group))) {
                Ok(value) => value,
                Err(payload) => {
                    group.shared.outcome.token.cancel();
                    std::panic::resume_unwind(payload)
                }
            }
        });
        if let Some(payload) = shared.outcome.take_panic() {
            std::panic::resume_unwind(payload);
        }
        (value, shared.outcome.take_errors())
    }
}
