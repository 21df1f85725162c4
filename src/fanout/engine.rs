//! The engine under every map: a queue of items taken from the input, at most
//! `max_runners` runner jobs that pop and run them, and a channel of results.
//!
//! Who does what:
//! - The consumer (the thread calling `next`) pulls items from the input, at most `window`
//!   ahead of what it has yielded, pushes them on the queue and starts runners. It is the
//!   only thread that touches the input iterator.
//! - A runner is one pool (or scope) job that pops items until none is ready, runs each
//!   and sends its result; then it exits. So a map costs one spawn per burst of items,
//!   not one per item, and nothing stays parked in the pool once the queue is empty.
//! - An item waiting for its retry backoff or for a rate-limit token stays in the queue
//!   with the time it may start; no thread sleeps for it. The consumer, when it would
//!   block, waits on the results channel only until that time, then starts a runner.
//! - A consumer that is itself a pool worker (a map inside a job), or whose pool refused
//!   the runner (shut down), runs ready items itself instead of blocking, so a map never
//!   waits for a runner that cannot start.
//!
//! Every item taken from the input produces exactly one result: its value, its error, or
//! `Cancelled` when the map's token was cancelled before it started (an item cancelled
//! while it waits for a retry ends with its last attempt's error). The state mutex
//! guards the queue and the runner count together, so a runner that finds the queue empty
//! and exits cannot miss an item pushed at the same moment (the pusher sees it gone and
//! starts another).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::fanout::attempt::Attempt;
use crate::fanout::cancel::CancelToken;
use crate::fanout::current;
use crate::fanout::error::ItemError;
use crate::fanout::rate::TokenBucket;
use crate::fanout::retry::Retry;
use crate::fanout::stats::{Ending, StatsCell};
use crate::job::unwind;
use crate::sync::{Arc, Mutex};

/// One item's index and outcome.
pub(crate) type Done<R, E> = (usize, Result<R, ItemError<E>>);

/// What runners tell the consumer.
pub(crate) enum Msg<R, E> {
    Done(Done<R, E>),
    /// The last runner left while items wait for a backoff or a rate-limit token: the
    /// consumer must start one when the wait is over.
    Wake,
}

/// The user's closure, in one shape for both the plain and the fallible maps.
pub(crate) trait Work<T, R, E>: Send + Sync {
    /// Runs one attempt. A plain map takes the item out of `item`; a fallible one borrows
    /// it, so that a retry finds it again.
    fn call(&self, item: &mut Option<T>, attempt: &Attempt<'_>) -> Result<R, E>;
}

/// `Fn(T) -> R`, never failing.
pub(crate) struct Plain<F>(pub(crate) F);

impl<T, R, F> Work<T, R, std::convert::Infallible> for Plain<F>
where
    F: Fn(T) -> R + Send + Sync,
{
    fn call(&self, item: &mut Option<T>, _: &Attempt<'_>) -> Result<R, std::convert::Infallible> {
        Ok((self.0)(item.take().expect("a plain item runs once")))
    }
}

/// `Fn(&T, &Attempt) -> Result<R, E>`.
pub(crate) struct Fallible<F>(pub(crate) F);

impl<T, R, E, F> Work<T, R, E> for Fallible<F>
where
    F: Fn(&T, &Attempt<'_>) -> Result<R, E> + Send + Sync,
{
    fn call(&self, item: &mut Option<T>, attempt: &Attempt<'_>) -> Result<R, E> {
        (self.0)(
            item.as_ref().expect("a fallible item stays for retries"),
            attempt,
        )
    }
}

/// An item between the input and its result.
pub(crate) struct Entry<T, E> {
    index: usize,
    item: Option<T>,
    /// Attempts made so far.
    attempts: u32,
    /// The error of the last attempt, while the item waits for its retry: its result if
    /// the map is cancelled before the retry starts.
    failed: Option<E>,
}

struct State<T, E> {
    /// Items ready to start, in input order.
    fresh: VecDeque<Entry<T, E>>,
    /// Items waiting out a retry backoff, with the time they may start.
    delayed: Vec<(Instant, Entry<T, E>)>,
    bucket: Option<TokenBucket>,
    /// Runner jobs spawned and not yet exited.
    runners: usize,
}

/// What the queue offers right now.
enum Take<T, E> {
    Run(Entry<T, E>),
    /// Nothing may start before this time (backoff or rate limit).
    Later(Instant),
    Empty,
}

/// The result of running one attempt.
pub(crate) enum Step<T, R, E> {
    Done(Done<R, E>),
    Retry(Instant, Entry<T, E>),
}

/// Settings the engine needs, resolved from a `FanOut`.
pub(crate) struct Plan {
    pub(crate) window: usize,
    pub(crate) max_runners: usize,
    pub(crate) item_deadline: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) rate: Option<(f64, u32)>,
    pub(crate) token: CancelToken,
}

/// The part of a map shared with its runner jobs.
pub(crate) struct Shared<'job, T, R, E> {
    work: Box<dyn Work<T, R, E> + 'job>,
    state: Mutex<State<T, E>>,
    results: Sender<Msg<R, E>>,
    pub(crate) token: CancelToken,
    pub(crate) stats: Arc<StatsCell>,
    item_deadline: Option<Duration>,
    retry: Option<Retry>,
    max_runners: usize,
}

impl<'job, T, R, E> Shared<'job, T, R, E> {
    pub(crate) fn new(
        work: Box<dyn Work<T, R, E> + 'job>,
        plan: &Plan,
        threads: usize,
    ) -> (Arc<Self>, Receiver<Msg<R, E>>) {
        let (results, rx) = crossbeam_channel::unbounded();
        let shared = Shared {
            work,
            state: Mutex::new(State {
                fresh: VecDeque::with_capacity(plan.window.min(1024)),
                delayed: Vec::new(),
                bucket: plan.rate.map(|(rate, burst)| TokenBucket::new(rate, burst)),
                runners: 0,
            }),
            results,
            token: plan.token.clone(),
            stats: Arc::new(StatsCell::new(threads, plan.item_deadline)),
            item_deadline: plan.item_deadline,
            retry: plan.retry,
            max_runners: plan.max_runners.max(1),
        };
        (Arc::new(shared), rx)
    }

    /// Queues a pulled item; returns how many runners the caller must spawn.
    pub(crate) fn push(&self, index: usize, item: T) -> usize {
        let mut st = self.state.lock();
        st.fresh.push_back(Entry {
            index,
            item: Some(item),
            attempts: 0,
            failed: None,
        });
        self.stats.add_queued(1);
        self.runners_wanted(&mut st)
    }

    /// Reserves runners for the items that may start now (no more than those items, nor
    /// than `max_runners` in all); the caller spawns them after the lock is released.
    fn runners_wanted(&self, st: &mut State<T, E>) -> usize {
        // The clock only when something waits on it (a backoff or a rate limit).
        let now = (!st.delayed.is_empty() || st.bucket.is_some()).then(Instant::now);
        let mut ready = match now {
            Some(now) => st.delayed.iter().filter(|(at, _)| *at <= now).count(),
            None => 0,
        };
        let rate_allows = match (&mut st.bucket, now) {
            (Some(bucket), Some(now)) => bucket.has_token(now),
            _ => true,
        };
        if rate_allows {
            ready += st.fresh.len();
        } else if ready > 0 {
            ready = 1;
        }
        let want = ready.min(self.max_runners).saturating_sub(st.runners);
        st.runners += want;
        want
    }

    /// For a consumer about to block: reserves the runners needed now, and says until when
    /// it may block (`None`: until a message comes, which an active runner guarantees: it
    /// sends a result, or `Wake` when it is the last to leave while items wait). A time is
    /// given only when no runner is active and items wait for a backoff or a token.
    pub(crate) fn plan_wait(&self) -> (usize, Option<Instant>) {
        let mut st = self.state.lock();
        let spawn = self.runners_wanted(&mut st);
        if st.runners > 0 {
            return (spawn, None);
        }
        let now = Instant::now();
        let delayed = st.delayed.iter().map(|(at, _)| *at).min();
        let rate = match (&st.bucket, st.fresh.is_empty()) {
            (Some(bucket), false) => Some(bucket.next_token_at(now)),
            _ => None,
        };
        let wake = match (delayed, rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (spawn, wake)
    }

    /// Gives back `n` reserved runners the target refused to start.
    pub(crate) fn runners_refused(&self, n: usize) {
        self.state.lock().runners -= n;
    }

    fn take(&self, st: &mut State<T, E>, now: impl FnOnce() -> Instant) -> Take<T, E> {
        // The clock only when something waits on it (a backoff or a rate limit).
        if st.delayed.is_empty() && st.bucket.is_none() {
            return match st.fresh.pop_front() {
                Some(entry) => Take::Run(entry),
                None => Take::Empty,
            };
        }
        let now = now();
        let ready_delayed = st.delayed.iter().position(|(at, _)| *at <= now);
        if ready_delayed.is_none() && st.fresh.is_empty() {
            return match st.delayed.iter().map(|(at, _)| *at).min() {
                Some(at) => Take::Later(at),
                None => Take::Empty,
            };
        }
        if let Some(bucket) = &mut st.bucket
            && let Err(at) = bucket.try_take(now)
        {
            return Take::Later(at);
        }
        let entry = match ready_delayed {
            Some(i) => st.delayed.swap_remove(i).1,
            None => st.fresh.pop_front().expect("checked non-empty"),
        };
        // The queue gauge still counts this item until it starts (`execute`).
        Take::Run(entry)
    }

    /// Empties the queue (the map was cancelled or dropped) and returns the items' results:
    /// `Cancelled` for one that never started, its last error for one that waited for a
    /// retry (`ended_unstarted`).
    pub(crate) fn drain(&self) -> Vec<Done<R, E>> {
        let mut st = self.state.lock();
        let mut all: Vec<Entry<T, E>> = st.fresh.drain(..).collect();
        all.extend(st.delayed.drain(..).map(|(_, e)| e));
        // Counted before the queue gauge drops to zero: a snapshot that sees the queue
        // empty also sees these items counted (see `StatsCell::snapshot`).
        let done: Vec<Done<R, E>> = all.into_iter().map(|e| self.ended_unstarted(e)).collect();
        self.stats.sub_queued(done.len());
        drop(st);
        done
    }

    /// `drain` for a caller that only drops the results.
    pub(crate) fn drain_erased(&self) -> usize {
        self.drain().len()
    }

    /// The result of a queued item the map was cancelled before it (re)started, counted:
    /// `Cancelled` if it never ran; if it waits for a retry, the error of its last attempt,
    /// as a failure (it ran, and `Cancelled` says it never did). The caller takes it off the
    /// queue gauge.
    fn ended_unstarted(&self, entry: Entry<T, E>) -> Done<R, E> {
        match entry.failed {
            Some(error) => {
                self.stats.add_ended(Ending::Failed);
                (
                    entry.index,
                    Err(ItemError::Failed {
                        error,
                        attempts: entry.attempts,
                    }),
                )
            }
            None => {
                self.stats.add_cancelled(1);
                (entry.index, Err(ItemError::Cancelled))
            }
        }
    }

    /// The next item the consumer may run itself, or until when it should wait.
    pub(crate) fn take_for_consumer(&self) -> Result<Entry<T, E>, Option<Instant>> {
        let mut st = self.state.lock();
        match self.take(&mut st, Instant::now) {
            Take::Run(entry) => Ok(entry),
            Take::Later(at) => Err(Some(at)),
            Take::Empty => Err(None),
        }
    }

    /// Puts an item back to wait for its retry.
    pub(crate) fn requeue(&self, at: Instant, entry: Entry<T, E>) {
        let mut st = self.state.lock();
        st.delayed.push((at, entry));
        self.stats.add_queued(1);
    }

    /// The body of a runner job: run ready items until there are none, then exit.
    pub(crate) fn run_runner(&self) {
        loop {
            let entry = {
                let mut st = self.state.lock();
                if self.token.is_cancelled() {
                    drop(st);
                    for done in self.drain() {
                        let _ = self.results.send(Msg::Done(done));
                    }
                    st = self.state.lock();
                }
                match self.take(&mut st, Instant::now) {
                    Take::Run(entry) => entry,
                    Take::Later(_) => {
                        st.runners -= 1;
                        if st.runners == 0 {
                            let _ = self.results.send(Msg::Wake);
                        }
                        return;
                    }
                    Take::Empty => {
                        st.runners -= 1;
                        return;
                    }
                }
            };
            match self.execute(entry) {
                // The consumer may be gone (the map was dropped): the result is dropped.
                Step::Done(done) => {
                    let _ = self.results.send(Msg::Done(done));
                }
                Step::Retry(at, entry) => self.requeue(at, entry),
            }
        }
    }

    /// Runs one attempt of `entry` on this thread and classifies its outcome.
    pub(crate) fn execute(&self, mut entry: Entry<T, E>) -> Step<T, R, E> {
        if self.token.is_cancelled() {
            let done = self.ended_unstarted(entry);
            self.stats.sub_queued(1);
            return Step::Done(done);
        }
        let first = entry.attempts == 0;
        entry.attempts += 1;
        let item_token;
        let token = match self.item_deadline {
            Some(limit) => {
                item_token = self.token.child_with_timeout(limit);
                &item_token
            }
            None => &self.token,
        };
        let attempt = Attempt {
            index: entry.index,
            number: entry.attempts,
            token,
            retryable: std::cell::Cell::new(false),
        };
        let mark = self.stats.start(entry.index, first);
        // Started (its slot is set) before it leaves the queue gauge: a snapshot never
        // sees it in neither.
        self.stats.sub_queued(1);
        let mut out = None;
        // The item runs inside its token: a map or group it starts is the token's child,
        // and cancelling this map reaches it.
        let entered = current::enter(token);
        let caught = unwind::catch_detached(
            || out = Some(self.work.call(&mut entry.item, &attempt)),
            || None,
        );
        drop(entered);
        let elapsed = mark.elapsed();
        let (ending, result) = match (caught, out) {
            (Err(panic), _) => (
                Ending::Panicked,
                Err(ItemError::Panicked {
                    message: panic.message().to_string(),
                    location: panic.location().map(String::from),
                }),
            ),
            (Ok(()), Some(Ok(value))) => (Ending::Succeeded, Ok(value)),
            // Timed out: the item's own token expired (asked now, so a deadline that passed
            // counts) while the map's did not. Not `elapsed >= limit`: the token's clock
            // starts before the item's mark, and a map cancelled after `limit` did not time
            // the item out.
            (Ok(()), Some(Err(error))) => match self.item_deadline {
                Some(limit) if token.is_cancelled() && !self.token.is_cancelled() => (
                    Ending::TimedOut,
                    Err(ItemError::TimedOut { elapsed, limit }),
                ),
                _ => {
                    let retry = self.retry.filter(|r| {
                        attempt.retryable.get()
                            && entry.attempts < r.max_attempts()
                            && !self.token.is_cancelled()
                    });
                    if let Some(retry) = retry {
                        self.stats.finish(entry.index, &mark, None);
                        let wait = retry.delay_before(entry.attempts + 1, entry.index);
                        entry.failed = Some(error);
                        return Step::Retry(Instant::now() + wait, entry);
                    }
                    (
                        Ending::Failed,
                        Err(ItemError::Failed {
                            error,
                            attempts: entry.attempts,
                        }),
                    )
                }
            },
            (Ok(()), None) => unreachable!("the closure returned or panicked"),
        };
        self.stats.finish(entry.index, &mark, Some(ending));
        Step::Done((entry.index, result))
    }
}
