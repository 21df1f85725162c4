//! A token bucket: how fast a fan-out's items may start.
//!
//! The bucket holds up to `burst` tokens and gains `per_second` tokens a second; starting an
//! item takes one. It is read and updated only under the fan-out's state mutex, so it needs
//! no atomics of its own.

use std::time::{Duration, Instant};

/// The longest wait `next_token_at` names (about 136 years), so that a tiny positive rate
/// (`1e-20` a second is a valid setting) waits instead of overflowing a `Duration` or an
/// `Instant`.
const FARTHEST: Duration = Duration::from_secs(1 << 32);

#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(per_second: f64, burst: u32) -> TokenBucket {
        TokenBucket {
            per_second,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let gained = now.saturating_duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + gained).min(self.burst);
        self.last = now;
    }

    /// Takes a token if one is there; otherwise says when the next one will be.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.next_token_at(now))
        }
    }

    /// Whether a token is there now (without taking it).
    pub(crate) fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// When the bucket will next hold a whole token (now, if it does); no later than
    /// `FARTHEST` from now, however low the rate.
    pub(crate) fn next_token_at(&self, now: Instant) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        let wait = Duration::try_from_secs_f64(missing / self.per_second)
            .map_or(FARTHEST, |wait| wait.min(FARTHEST));
        now + wait
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_rate_names_a_far_time_instead_of_overflowing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1e-20, 1);
        assert!(b.try_take(t0).is_ok());
        let next = b.try_take(t0).unwrap_err();
        assert_eq!(next - t0, FARTHEST);
        assert_eq!(b.next_token_at(t0) - t0, FARTHEST);
    }

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3);
        bucket.last = t0;
        for _ in 0..3 {
            assert!(bucket.try_take(t0).is_ok());
        }
        let next = bucket.try_take(t0).unwrap_err();
        assert!((next - t0).as_secs_f64() > 0.099 && (next - t0).as_secs_f64() < 0.101);
        assert!(bucket.try_take(t0 + Duration::from_millis(100)).is_ok());
        // One second later at most `burst` tokens wait, not ten.
        let later = t0 + Duration::from_secs(2);
        let taken = (0..20).filter(|_| bucket.try_take(later).is_ok()).count();
        assert_eq!(taken, 3);
    }
}
