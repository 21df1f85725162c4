//! `FanOut`: the settings of a map (window, per-item deadline, retries, rate limit, parent
//! token), checked once when built.

use std::time::Duration;

use crate::fanout::cancel::CancelToken;
use crate::fanout::error::ConfigError;
use crate::fanout::retry::Retry;

/// How many items a map keeps in flight per worker thread by default.
pub const DEFAULT_WINDOW_PER_THREAD: usize = 32;

/// The settings of a parallel map, built by [`FanOut::builder`]; the maps themselves are
/// [`FanOut::map_unordered`], [`FanOut::map_ordered`] and their `try_` forms.
/// [`Pool::map_unordered`](crate::Pool::map_unordered) and
/// [`Pool::map_ordered`](crate::Pool::map_ordered) use the defaults.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use skewer::{FanOut, Retry};
/// let fan = FanOut::builder()
///     .window(16)
///     .item_deadline(Duration::from_secs(5))
///     .retry(Retry::attempts(3))
///     .rate_limit(1000.0, 10)
///     .build()
///     .expect("valid settings");
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let squares: Vec<u64> = fan.map_ordered(&pool, 0..10u64, |x| x * x).map(Result::unwrap).collect();
/// assert_eq!(squares[9], 81);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FanOut {
    pub(crate) window: Option<usize>,
    pub(crate) item_deadline: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) rate: Option<(f64, u32)>,
    pub(crate) parent: Option<CancelToken>,
}

/// Builds a [`FanOut`]; every setting is optional.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct FanOutBuilder {
    settings: FanOut,
}

impl FanOut {
    /// A builder with every setting at its default: a window of
    /// [`DEFAULT_WINDOW_PER_THREAD`] items per thread, no deadline, no retries, no rate
    /// limit, and the token of the group job running on this thread (if any) as parent.
    pub fn builder() -> FanOutBuilder {
        FanOutBuilder::default()
    }

    /// The window this fan-out uses on a pool of `threads` threads.
    pub fn window_for(&self, threads: usize) -> usize {
        self.window
            .unwrap_or(DEFAULT_WINDOW_PER_THREAD * threads.max(1))
    }
}

impl FanOutBuilder {
    /// The most items in flight at once: taken from the input and not yet handed to the
    /// consumer (running, queued, or finished and waiting, in order, to be yielded). The
    /// input is never pulled further than `window` items ahead of the consumer. `0` is
    /// refused by `build`.
    pub fn window(mut self, window: usize) -> Self {
        self.settings.window = Some(window);
        self
    }

    /// A deadline for each item, counted from the start of its attempt: the item's token
    /// ([`Attempt::token`](crate::Attempt::token)) expires then, an item that gives up
    /// with `Err` after it ends as [`ItemError::TimedOut`](crate::ItemError::TimedOut),
    /// and one still running shows as overdue in the stats (index and time run).
    pub fn item_deadline(mut self, deadline: Duration) -> Self {
        self.settings.item_deadline = Some(deadline);
        self
    }

    /// Retries for errors marked retryable.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.settings.retry = Some(retry);
        self
    }

    /// At most `per_second` item starts a second on average, with bursts of up to `burst`
    /// (in addition to the window). Retries count as starts.
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        self.settings.rate = Some((per_second, burst));
        self
    }

    /// The token whose cancellation cancels the map (the map's own token is a child).
    pub fn parent(mut self, token: CancelToken) -> Self {
        self.settings.parent = Some(token);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ConfigError`] for a zero window, a zero, negative or non-finite rate, a zero
    /// burst, zero retry attempts or a zero deadline: each would hang or never start an
    /// item.
    ///
    /// # Examples
    /// ```
    /// use skewer::FanOut;
    /// assert!(FanOut::builder().rate_limit(0.0, 1).build().is_err());
    /// assert!(FanOut::builder().rate_limit(f64::NAN, 1).build().is_err());
    /// assert!(FanOut::builder().rate_limit(5.0, 0).build().is_err());
    /// assert!(FanOut::builder().retry(skewer::Retry::attempts(0)).build().is_err());
    /// assert!(FanOut::builder().item_deadline(std::time::Duration::ZERO).build().is_err());
    /// assert!(FanOut::builder().window(1).build().is_ok());
    /// ```
    pub fn build(self) -> Result<FanOut, ConfigError> {
        let s = &self.settings;
        if s.window == Some(0) {
            return Err(ConfigError::zero_window());
        }
        if let Some((rate, burst)) = s.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(ConfigError::bad_rate(rate));
            }
            if burst == 0 {
                return Err(ConfigError::zero_burst());
            }
        }
        if let Some(retry) = &s.retry {
            retry.validate()?;
        }
        if s.item_deadline == Some(Duration::ZERO) {
            return Err(ConfigError::zero_deadline());
        }
        Ok(self.settings)
    }
}
