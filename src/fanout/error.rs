//! The errors of the fan-out layer: one item's outcome, and settings refused at
//! construction.

use std::fmt;
use std::time::Duration;

/// Why one item of a map produced no value. The other items are not affected.
///
/// # Examples
/// ```
/// use skewer::ItemError;
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let results: Vec<_> = pool
///     .map_ordered(0..4, |x| if x == 2 { panic!("bad item {x}") } else { x * 10 })
///     .collect();
/// assert_eq!(results[1].as_ref().ok(), Some(&10));
/// match &results[2] {
///     Err(ItemError::Panicked { message, location }) => {
///         assert_eq!(message, "bad item 2");
///         assert!(location.as_deref().unwrap().contains(".rs:"));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemError<E = std::convert::Infallible> {
    /// The closure returned `Err` on its last attempt (the error was not marked retryable,
    /// or every attempt allowed by the retry policy failed, or the fan-out was cancelled
    /// while the item waited for its next attempt).
    Failed {
        /// The error of the last attempt.
        error: E,
        /// How many attempts ran (1 without retries).
        attempts: u32,
    },
    /// The closure panicked; the panic stayed inside this item.
    Panicked {
        /// The panic message (`"<non-string panic payload>"` for other payloads).
        message: String,
        /// `file:line:column` of the panic, when it could be captured.
        location: Option<String>,
    },
    /// The item's deadline passed and the closure gave up (returned `Err` after it).
    TimedOut {
        /// How long the item ran.
        elapsed: Duration,
        /// The per-item deadline it was given.
        limit: Duration,
    },
    /// The item never ran: its fan-out was cancelled first.
    Cancelled,
}

impl<E> ItemError<E> {
    /// Whether the item never ran because of cancellation.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ItemError::Cancelled)
    }

    /// Whether the item's closure panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, ItemError::Panicked { .. })
    }

    /// Whether the item's deadline ended it.
    pub fn is_timeout(&self) -> bool {
        matches!(self, ItemError::TimedOut { .. })
    }

    /// The closure's own error, if that is the cause.
    pub fn into_failure(self) -> Option<E> {
        match self {
            ItemError::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for ItemError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemError::Failed { error, attempts: 1 } => write!(f, "item failed: {error}"),
            ItemError::Failed { error, attempts } => {
                write!(f, "item failed after {attempts} attempts: {error}")
            }
            ItemError::Panicked { message, location } => {
                write!(f, "item panicked")?;
                if let Some(location) = location {
                    write!(f, " at {location}")?;
                }
                write!(f, ": {message}")
            }
            ItemError::TimedOut { elapsed, limit } => {
                write!(f, "item timed out after {elapsed:?} (deadline {limit:?})")
            }
            ItemError::Cancelled => f.write_str("item cancelled before it started"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ItemError<E> {}

/// A fan-out or group setting that can never work (a zero window would hang, a zero rate
/// would never start an item); refused when the settings are built.
///
/// # Examples
/// ```
/// let err = skewer::FanOut::builder().window(0).build().unwrap_err();
/// assert!(err.to_string().contains("window"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
enum ConfigErrorKind {
    ZeroWindow,
    ZeroLimit,
    BadRate(f64),
    ZeroBurst,
    ZeroAttempts,
    ZeroDeadline,
}

impl ConfigError {
    pub(crate) fn zero_window() -> Self {
        ConfigError {
            kind: ConfigErrorKind::ZeroWindow,
        }
    }
    pub(crate) fn zero_limit() -> Self {
        ConfigError {
            kind: ConfigErrorKind::ZeroLimit,
        }
    }
    pub(crate) fn bad_rate(rate: f64) -> Self {
        ConfigError {
            kind: ConfigErrorKind::BadRate(rate),
        }
    }
    pub(crate) fn zero_burst() -> Self {
        ConfigError {
            kind: ConfigErrorKind::ZeroBurst,
        }
    }
    pub(crate) fn zero_attempts() -> Self {
        ConfigError {
            kind: ConfigErrorKind::ZeroAttempts,
        }
    }
    pub(crate) fn zero_deadline() -> Self {
        ConfigError {
            kind: ConfigErrorKind::ZeroDeadline,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ConfigErrorKind::ZeroWindow => f.write_str(
                "window(0): no item could ever be in flight, so the map would hang; \
                 pass 1 or more, or leave it unset for the default",
            ),
            ConfigErrorKind::ZeroLimit => f.write_str(
                "limit(0): no job of the group could ever start, so it would hang; \
                 pass 1 or more, or leave it unset for no limit",
            ),
            ConfigErrorKind::BadRate(rate) => write!(
                f,
                "rate_limit({rate}): items per second must be a finite number above 0 \
                 (a zero rate would never start an item)"
            ),
            ConfigErrorKind::ZeroBurst => f.write_str(
                "rate_limit burst 0: the bucket could never hold a token; pass 1 or more",
            ),
            ConfigErrorKind::ZeroAttempts => f.write_str(
                "Retry::attempts(0): an item needs at least one attempt; pass 1 for no retries",
            ),
            ConfigErrorKind::ZeroDeadline => f.write_str(
                "item_deadline(0s): every item would time out before it starts; \
                 pass a positive duration",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
