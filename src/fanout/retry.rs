//! Bounded retries with exponential backoff and jitter.

use std::time::Duration;

/// How often, and how far apart, an item whose closure returned an error marked
/// retryable (with [`Attempt::retryable`](crate::Attempt::retryable)) is tried again.
///
/// The wait before attempt `k + 1` is `min(max, base * 2^(k-1))`, and with jitter (the
/// default) a random point in its upper half, so items that failed together do not retry
/// together. An item that fails every attempt ends as
/// [`ItemError::Failed`](crate::ItemError::Failed) with the last error: never dropped.
/// A retry waits in the fan-out's queue, not on a worker thread.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let retry = skewer::Retry::attempts(4).backoff(Duration::from_millis(1), Duration::from_millis(8));
/// assert_eq!(retry.max_attempts(), 4);
/// assert!(retry.delay_before(2, 0) <= Duration::from_millis(1));
/// assert!(retry.delay_before(4, 7) <= Duration::from_millis(4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    attempts: u32,
    base: Duration,
    max: Duration,
    jitter: bool,
}

impl Retry {
    /// At most `attempts` attempts in all (1 means no retry; 0 is refused when the
    /// fan-out's settings are built). Backoff 10 ms doubling up to 1 s, with jitter.
    pub fn attempts(attempts: u32) -> Retry {
        Retry {
            attempts,
            base: Duration::from_millis(10),
            max: Duration::from_secs(1),
            jitter: true,
        }
    }

    /// The first wait, and the most any wait may grow to.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Retry {
        self.base = base;
        self.max = max.max(base);
        self
    }

    /// Whether waits are randomised within their upper half (default `true`).
    pub fn jitter(mut self, jitter: bool) -> Retry {
        self.jitter = jitter;
        self
    }

    /// The total number of attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before attempt `next` (2 for the first retry), for the item at `index`.
    pub fn delay_before(&self, next: u32, index: usize) -> Duration {
        let doublings = next.saturating_sub(2).min(31);
        let full = self
            .base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max);
        if !self.jitter {
            return full;
        }
        let half = full / 2;
        let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
        let r = mix((index as u64) ^ (u64::from(next) << 48) ^ seed());
        half + Duration::from_nanos(if spread == 0 { 0 } else { r % (spread + 1) })
    }

    pub(crate) fn validate(&self) -> Result<(), crate::ConfigError> {
        if self.attempts == 0 {
            Err(crate::ConfigError::zero_attempts())
        } else {
            Ok(())
        }
    }
}

/// A per-process seed, so two runs do not share their jitter.
fn seed() -> u64 {
    use std::sync::OnceLock;
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        mix(t ^ u64::from(std::process::id()))
    })
}

/// splitmix64's finaliser: a cheap, well-spread hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max_and_jitter_stays_in_the_upper_half() {
        let ms = Duration::from_millis;
        let plain = Retry::attempts(6).backoff(ms(10), ms(50)).jitter(false);
        let waits: Vec<_> = (2..=6).map(|k| plain.delay_before(k, 0)).collect();
        assert_eq!(waits, [ms(10), ms(20), ms(40), ms(50), ms(50)]);
        let jittered = plain.jitter(true);
        for index in 0..200 {
            for k in 2..=6 {
                let d = jittered.delay_before(k, index);
                let full = plain.delay_before(k, index);
                assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
            }
        }
        let distinct: std::collections::HashSet<_> =
            (0..50).map(|i| jittered.delay_before(3, i)).collect();
        assert!(distinct.len() > 10, "jitter spreads the waits");
    }
}
