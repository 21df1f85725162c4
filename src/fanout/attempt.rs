//! `Attempt`: what a fallible map's closure knows about the attempt it runs.

use std::cell::Cell;

use crate::fanout::cancel::CancelToken;

/// One attempt at one item, handed to the closure of
/// [`FanOut::try_map_unordered`](crate::FanOut::try_map_unordered) and
/// [`FanOut::try_map_ordered`](crate::FanOut::try_map_ordered).
///
/// # Examples
/// ```
/// use skewer::{FanOut, Retry};
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let fan = FanOut::builder()
///     .retry(Retry::attempts(3).backoff(std::time::Duration::ZERO, std::time::Duration::ZERO))
///     .build()
///     .unwrap();
/// // Fails twice, then succeeds: the third attempt's value comes out.
/// let out: Vec<_> = fan
///     .try_map_ordered(&pool, vec!["flaky"], |name, at| {
///         if at.number() < 3 { Err(at.retryable(format!("{name}: busy"))) } else { Ok(at.number()) }
///     })
///     .collect();
/// assert_eq!(out, [Ok(3)]);
/// ```
#[derive(Debug)]
pub struct Attempt<'a> {
    pub(crate) index: usize,
    pub(crate) number: u32,
    pub(crate) token: &'a CancelToken,
    pub(crate) retryable: Cell<bool>,
}

impl Attempt<'_> {
    /// The item's position in the input.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Which attempt this is, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The item's token: cancelled when the map is dropped or its parent is cancelled, and
    /// when the per-item deadline passes. A long item polls it and gives up.
    pub fn token(&self) -> &CancelToken {
        self.token
    }

    /// Marks the error about to be returned as worth another attempt (if the retry policy
    /// allows one) and returns it unchanged: `Err(attempt.retryable(e))`.
    pub fn retryable<E>(&self, error: E) -> E {
        self.retryable.set(true);
        error
    }
}
