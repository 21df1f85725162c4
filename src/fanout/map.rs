//! The parallel maps: `map_unordered` yields results as they finish, `map_ordered` in input
//! order. Both pull their input lazily on the consumer's thread, at most a window ahead.

use std::collections::VecDeque;
use std::convert::Infallible;

use crossbeam_channel::{Receiver, Select, TryRecvError};

use crate::fanout::attempt::Attempt;
use crate::fanout::current;
use crate::fanout::engine::{Done, Fallible, Msg, Plain, Plan, Shared, Step, Work};
use crate::fanout::error::ItemError;
use crate::fanout::options::FanOut;
use crate::fanout::reorder::Reorder;
use crate::fanout::stats::{FanoutStats, StatsHandle};
use crate::fanout::target::FanOutTarget;
use crate::sync::Arc;
use crate::{CancelToken, Pool};

/// The consumer's side of a map, shared by both orders.
struct Feeder<'a, T, R, E> {
    input: Box<dyn Iterator<Item = T> + 'a>,
    exhausted: bool,
    pulled: usize,
    /// Pulled and not yet yielded (running, queued, or waiting in the reorder buffer).
    outstanding: usize,
    window: usize,
    shared: Arc<Shared<'a, T, R, E>>,
    results: Receiver<Msg<R, E>>,
    /// Spawns one runner job; `false` if the target refused it.
    spawn: Box<dyn Fn() -> bool + 'a>,
    /// Run ready items on this thread instead of blocking (a worker, or a refused runner).
    inline: bool,
    /// Results made on this thread and not yet handed out (items cancelled in the queue).
    backlog: VecDeque<Done<R, E>>,
    /// Disconnects when the map's token is cancelled (`CancelToken::cancelled_channel`);
    /// `never()` once that was seen.
    cancelled: Receiver<()>,
}

impl<'a, T: Send, R: Send, E: Send> Feeder<'a, T, R, E> {
    fn new<'job: 'a, S, I>(
        settings: &FanOut,
        target: &'a S,
        items: I,
        work: Box<dyn Work<T, R, E> + 'job>,
    ) -> Self
    where
        S: FanOutTarget<'job> + ?Sized,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: 'job,
        R: 'job,
        E: 'job,
    {
        let threads = target.target_threads();
        let window = settings.window_for(threads);
        let plan = Plan {
            window,
            max_runners: window.min(threads),
            item_deadline: settings.item_deadline,
            retry: settings.retry,
            rate: settings.rate,
            token: current::child_of(settings.parent.as_ref()),
        };
        let (shared, results) = Shared::new(work, &plan, threads);
        let for_jobs = Arc::clone(&shared);
        let spawn: Box<dyn Fn() -> bool + 'a> = Box::new(move || {
            let shared = Arc::clone(&for_jobs);
            target.spawn_runner(Box::new(move || shared.run_runner()))
        });
        let cancelled = shared.token.cancelled_channel();
        Feeder {
            input: Box::new(items.into_iter()),
            exhausted: false,
            pulled: 0,
            outstanding: 0,
            window,
            shared,
            results,
            spawn,
            inline: crate::current_thread_index().is_some(),
            backlog: VecDeque::new(),
            cancelled,
        }
    }

    /// The map's results still to come: the outstanding ones, and one per item the input
    /// still holds unless the input ended or the map was cancelled (it pulls no more).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let out = self.outstanding;
        if self.exhausted || self.shared.token.is_cancelled() {
            return (out, Some(out));
        }
        let (low, high) = self.input.size_hint();
        (
            out.saturating_add(low),
            high.and_then(|h| h.checked_add(out)),
        )
    }

    fn spawn_runners(&mut self, n: usize) {
        for i in 0..n {
            if !(self.spawn)() {
                self.shared.runners_refused(n - i);
                self.inline = true;
                return;
            }
        }
    }

    /// Pulls items until the window is full or the input ends, once at most half the window
    /// is outstanding: runners then find items in batches, instead of draining the queue
    /// after every single refill and leaving, to be started again for the next item.
    fn fill(&mut self) {
        if self.outstanding > self.window / 2 {
            return;
        }
        while !self.exhausted && self.outstanding < self.window {
            if self.shared.token.is_cancelled() {
                self.exhausted = true;
                return;
            }
            match self.input.next() {
                Some(item) => {
                    let index = self.pulled;
                    self.pulled += 1;
                    self.outstanding += 1;
                    self.shared.stats.add_in_flight(1);
                    let n = self.shared.push(index, item);
                    self.spawn_runners(n);
                }
                None => self.exhausted = true,
            }
        }
    }

    /// Blocks until one more result is available (there is at least one outstanding item
    /// whose result has not been received).
    fn receive(&mut self) -> Done<R, E> {
        loop {
            if let Some(done) = self.backlog.pop_front() {
                return done;
            }
            match self.results.try_recv() {
                Ok(Msg::Done(done)) => return done,
                Ok(Msg::Wake) | Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => unreachable!("the feeder holds a sender"),
            }
            if self.shared.token.is_cancelled() {
                // Cancelled: whatever still waits in the queue never starts.
                let mut drained = self.shared.drain().into_iter();
                if let Some(first) = drained.next() {
                    self.backlog.extend(drained);
                    return first;
                }
            }
            let wake = if self.inline {
                match self.shared.take_for_consumer() {
                    Ok(entry) => match self.shared.execute(entry) {
                        Step::Done(done) => return done,
                        Step::Retry(at, entry) => {
                            self.shared.requeue(at, entry);
                            continue;
                        }
                    },
                    Err(wake) => wake,
                }
            } else {
                let (n, wake) = self.shared.plan_wait();
                self.spawn_runners(n);
                if self.inline {
                    continue;
                }
                wake
            };
            // Until a result comes, the token is cancelled (its channel disconnects), or
            // `wake`; and no later than the token's deadline, which nothing else enforces
            // while this thread waits.
            let until = match (wake, self.shared.token.deadline()) {
                (Some(at), Some(deadline)) => Some(at.min(deadline)),
                (at, deadline) => at.or(deadline),
            };
            let mut select = Select::new();
            let result = select.recv(&self.results);
            let cancel = select.recv(&self.cancelled);
            let ready = match until {
                Some(at) => match select.select_deadline(at) {
                    Ok(ready) => ready,
                    Err(_) => continue,
                },
                None => select.select(),
            };
            if ready.index() == cancel {
                let _ = ready.recv(&self.cancelled);
                // Disconnected for good: from now on only results wake this thread (the
                // check above drains the queue; running items still send theirs).
                self.cancelled = crossbeam_channel::never();
                continue;
            }
            debug_assert_eq!(ready.index(), result);
            let msg = ready
                .recv(&self.results)
                .expect("the feeder holds a sender");
            // The caller may have blocked in the receive: back from it, as from every wait
            // on the crate's condition variable, it clears its vector registers' upper halves.
            crate::vector_state::after_block();
            match msg {
                Msg::Done(done) => return done,
                Msg::Wake => continue,
            }
        }
    }
}

impl<T, R, E> Drop for Feeder<'_, T, R, E> {
    /// Dropping a map cancels it: items not started are dropped unrun (counted as
    /// cancelled), running ones see their token cancelled, and nothing waits for them here.
    /// Their results go to a channel nobody reads; no thread blocks on it (unbounded, and
    /// holding at most a window of results).
    fn drop(&mut self) {
        self.shared.token.cancel();
        self.shared.drain_erased();
        self.shared.stats.sub_in_flight(self.outstanding);
    }
}

/// The results of [`Pool::map_unordered`] or [`FanOut::map_unordered`] (and the `try_`
/// form), as they finish: `(index in the input, result)`.
///
/// Dropping it cancels the items not yet started. See the [module docs](crate::FanOut).
pub struct MapUnordered<'a, T, R, E = Infallible> {
    feeder: Feeder<'a, T, R, E>,
}

/// The results of [`Pool::map_ordered`] or [`FanOut::map_ordered`] (and the `try_` form),
/// in input order.
///
/// Dropping it cancels the items not yet started.
pub struct MapOrdered<'a, T, R, E = Infallible> {
    feeder: Feeder<'a, T, R, E>,
    reorder: Reorder<Result<R, ItemError<E>>>,
}

impl<T: Send, R: Send, E: Send> Iterator for MapUnordered<'_, T, R, E> {
    type Item = (usize, Result<R, ItemError<E>>);

    fn next(&mut self) -> Option<Self::Item> {
        let f = &mut self.feeder;
        f.fill();
        if f.outstanding == 0 {
            return None;
        }
        let done = f.receive();
        f.outstanding -= 1;
        f.shared.stats.sub_in_flight(1);
        Some(done)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feeder.size_hint()
    }
}

impl<T: Send, R: Send, E: Send> Iterator for MapOrdered<'_, T, R, E> {
    type Item = Result<R, ItemError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        let f = &mut self.feeder;
        f.fill();
        loop {
            if let Some(result) = self.reorder.pop() {
                f.outstanding -= 1;
                f.shared.stats.sub_in_flight(1);
                return Some(result);
            }
            if f.outstanding == 0 {
                return None;
            }
            let (index, result) = f.receive();
            self.reorder.insert(index, result);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feeder.size_hint()
    }
}

macro_rules! map_accessors {
    ($ty:ident) => {
        impl<T, R, E> $ty<'_, T, R, E> {
            /// A snapshot of this map's counters and gauges.
            pub fn stats(&self) -> FanoutStats {
                self.feeder.shared.stats.snapshot()
            }

            /// A handle on this map's counters that outlives the map.
            pub fn stats_handle(&self) -> StatsHandle {
                StatsHandle::new(Arc::clone(&self.feeder.shared.stats))
            }

            /// The map's token: cancelling it (from any thread, through a clone) stops the
            /// map; the items not started come out as [`ItemError::Cancelled`] and the
            /// input is pulled no further.
            pub fn token(&self) -> &CancelToken {
                &self.feeder.shared.token
            }

            /// How many items were taken from the input so far.
            pub fn pulled(&self) -> usize {
                self.feeder.pulled
            }
        }

        impl<T, R, E> std::fmt::Debug for $ty<'_, T, R, E> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("window", &self.feeder.window)
                    .field("pulled", &self.feeder.pulled)
                    .field("outstanding", &self.feeder.outstanding)
                    .finish_non_exhaustive()
            }
        }
    };
}
map_accessors!(MapUnordered);
map_accessors!(MapOrdered);

impl FanOut {
    /// Maps `f` over `items` on `target` (a [`Pool`], or a [`Scope`](crate::Scope) to
    /// borrow), yielding `(index, result)` as items finish. The input is pulled lazily on
    /// the consumer's thread, at most the window ahead of what was yielded; a panic in `f`
    /// becomes that item's [`ItemError::Panicked`].
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let fan = skewer::FanOut::builder().window(4).build().unwrap();
    /// let mut out: Vec<(usize, u32)> = fan
    ///     .map_unordered(&pool, 0..20u32, |x| x + 1)
    ///     .map(|(i, r)| (i, r.unwrap()))
    ///     .collect();
    /// out.sort();
    /// assert_eq!(out[19], (19, 20));
    /// ```
    pub fn map_unordered<'a, 'job: 'a, S, I, T, R, F>(
        &self,
        target: &'a S,
        items: I,
        f: F,
    ) -> MapUnordered<'a, T, R>
    where
        S: FanOutTarget<'job> + ?Sized,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'job,
        R: Send + 'job,
        F: Fn(T) -> R + Send + Sync + 'job,
    {
        MapUnordered {
            feeder: Feeder::new(self, target, items, Box::new(Plain(f))),
        }
    }

    /// As [`map_unordered`](FanOut::map_unordered), yielding results in input order through
    /// a reorder buffer bounded by the window: a slow item holds back at most a window of
    /// finished results, never the whole input.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let fan = skewer::FanOut::default();
    /// let out: Vec<u32> = fan.map_ordered(&pool, 0..50u32, |x| x * 2).map(Result::unwrap).collect();
    /// assert_eq!(out, (0..50).map(|x| x * 2).collect::<Vec<_>>());
    /// ```
    pub fn map_ordered<'a, 'job: 'a, S, I, T, R, F>(
        &self,
        target: &'a S,
        items: I,
        f: F,
    ) -> MapOrdered<'a, T, R>
    where
        S: FanOutTarget<'job> + ?Sized,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'job,
        R: Send + 'job,
        F: Fn(T) -> R + Send + Sync + 'job,
    {
        MapOrdered {
            feeder: Feeder::new(self, target, items, Box::new(Plain(f))),
            reorder: Reorder::new(),
        }
    }

    /// As [`map_unordered`](FanOut::map_unordered) for a closure that may fail: it borrows
    /// the item and gets the [`Attempt`] (index, attempt number, the item's token with its
    /// deadline, and [`Attempt::retryable`] to ask for a retry).
    ///
    /// # Examples
    /// ```
    /// use skewer::ItemError;
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let fan = skewer::FanOut::default();
    /// let mut failed: Vec<usize> = fan
    ///     .try_map_unordered(&pool, 0..10, |&x, _| if x % 3 == 0 { Err("divisible") } else { Ok(x) })
    ///     .filter_map(|(i, r)| matches!(r, Err(ItemError::Failed { .. })).then_some(i))
    ///     .collect();
    /// failed.sort();
    /// assert_eq!(failed, [0, 3, 6, 9]);
    /// ```
    pub fn try_map_unordered<'a, 'job: 'a, S, I, T, R, E, F>(
        &self,
        target: &'a S,
        items: I,
        f: F,
    ) -> MapUnordered<'a, T, R, E>
    where
        S: FanOutTarget<'job> + ?Sized,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'job,
        R: Send + 'job,
        E: Send + 'job,
        F: Fn(&T, &Attempt<'_>) -> Result<R, E> + Send + Sync + 'job,
    {
        MapUnordered {
            feeder: Feeder::new(self, target, items, Box::new(Fallible(f))),
        }
    }

    /// As [`try_map_unordered`](FanOut::try_map_unordered), in input order.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let fan = skewer::FanOut::default();
    /// let parsed: Vec<_> = fan
    ///     .try_map_ordered(&pool, vec!["1", "x", "3"], |s, _| s.parse::<u8>())
    ///     .map(|r| r.ok())
    ///     .collect();
    /// assert_eq!(parsed, [Some(1), None, Some(3)]);
    /// ```
    pub fn try_map_ordered<'a, 'job: 'a, S, I, T, R, E, F>(
        &self,
        target: &'a S,
        items: I,
        f: F,
    ) -> MapOrdered<'a, T, R, E>
    where
        S: FanOutTarget<'job> + ?Sized,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'job,
        R: Send + 'job,
        E: Send + 'job,
        F: Fn(&T, &Attempt<'_>) -> Result<R, E> + Send + Sync + 'job,
    {
        MapOrdered {
            feeder: Feeder::new(self, target, items, Box::new(Fallible(f))),
            reorder: Reorder::new(),
        }
    }
}

impl Pool {
    /// Maps `f` over `items` on this pool, yielding `(index, result)` as items finish
    /// (futures' `buffer_unordered` on threads), with the default [`FanOut`] settings: at
    /// most a window of items in flight, each item's panic its own error, and dropping the
    /// iterator cancels what has not started.
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let mut lens: Vec<(usize, usize)> = pool
    ///     .map_unordered(vec!["a", "bb", "ccc"], |s| s.len())
    ///     .map(|(i, r)| (i, r.unwrap()))
    ///     .collect();
    /// lens.sort();
    /// assert_eq!(lens, [(0, 1), (1, 2), (2, 3)]);
    /// ```
    pub fn map_unordered<'a, I, T, R, F>(&'a self, items: I, f: F) -> MapUnordered<'a, T, R>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        FanOut::default().map_unordered(self, items, f)
    }

    /// As [`map_unordered`](Pool::map_unordered), in input order (futures' `buffered`).
    ///
    /// # Examples
    /// ```
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let out: Vec<u64> = pool.map_ordered(1..=5u64, |x| x * x).map(Result::unwrap).collect();
    /// assert_eq!(out, [1, 4, 9, 16, 25]);
    /// ```
    pub fn map_ordered<'a, I, T, R, F>(&'a self, items: I, f: F) -> MapOrdered<'a, T, R>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        FanOut::default().map_ordered(self, items, f)
    }
}
