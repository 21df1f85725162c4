//! The rate limit of a map, measured over one second per backend. A binary of its own, so
//! that no other test competes for the two cores while it counts.

mod common;

use std::time::{Duration, Instant};

use common::within;
use skewer::FanOut;

const LIMIT: Duration = Duration::from_secs(60);

common::for_each_backend! {
    #[test]
    fn the_rate_limit_holds_within_ten_percent_over_a_second() {
        if cfg!(miri) { return; }
        // The two backends take turns: each counts with the cores to itself.
        let _serial = common::serial();
        within(LIMIT, "rate limit", || {
            let pool = pool(2);
            // A burst of 5 lets a start that comes late (a busy machine) keep its token,
            // as a token bucket is meant to; the count must still be within 10% of
            // `burst + rate * elapsed`.
            let burst = 5;
            let fan = FanOut::builder().rate_limit(200.0, burst).window(64).build().unwrap();
            let start = Instant::now();
            let mut map = fan.map_unordered(&pool, 0..10_000u32, |x| x);
            let mut n = 0u32;
            while start.elapsed() < Duration::from_secs(1) {
                map.next().unwrap().1.unwrap();
                n += 1;
            }
            let expected = 200.0 * start.elapsed().as_secs_f64() + f64::from(burst);
            let ratio = f64::from(n) / expected;
            assert!((0.9..=1.1).contains(&ratio), "{n} items in {:?}: {ratio:.3} of the rate", start.elapsed());
        });
    }

}
