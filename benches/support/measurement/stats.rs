//! Order statistics of timings.

use std::time::Duration;

/// The median of `v` (the mean of the middle two for an even count; NaN when empty).
pub fn median_f64(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// The median of some durations (zero when empty), to the nanosecond.
pub fn median(v: &[Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let ns: Vec<f64> = v.iter().map(|d| d.as_nanos() as f64).collect();
    Duration::from_nanos(median_f64(&ns).round() as u64)
}
