//! An ordered two-stage pipeline: stage 1 parses lines, stage 2 scores the records, the
//! consumer prints them in input order. Each stage is a `map_ordered`, so each keeps at most
//! a window of items in flight and pulls from the stage before only as fast as the consumer
//! takes results (backpressure end to end, bounded memory whatever the input size).
//!
//! `cargo run --example ordered_pipeline`

use skewer::{FanOut, ItemError, Pool};

fn main() {
    let pool = Pool::builder().build().expect("pool");
    let fan = FanOut::builder()
        .window(32)
        .build()
        .expect("valid settings");
    // A lazily generated input: never materialised as a whole.
    let lines = (0..20_000u32).map(|i| {
        if i % 5_000 == 4_999 {
            format!("line {i}: not-a-number")
        } else {
            format!("line {i}: {}", i * 7 % 1000)
        }
    });
    // Stage 1: parse (a bad line becomes that item's error, the stream goes on).
    let parsed = fan.try_map_ordered(&pool, lines, |line, _| {
        let (_, value) = line.split_once(": ").expect("every line has a colon");
        value.parse::<u64>().map_err(|e| format!("{line:?}: {e}"))
    });
    // Stage 2: score the parsed values; errors pass through untouched.
    let scored = fan.map_ordered(&pool, parsed, |parsed| {
        parsed.map(|v| (0..v).fold(v, |acc, x| acc.wrapping_mul(31) ^ x))
    });
    let (mut ok, mut bad, mut last) = (0usize, 0usize, 0u64);
    for (index, result) in scored.enumerate() {
        match result {
            Ok(Ok(score)) => {
                ok += 1;
                last = score;
            }
            Ok(Err(ItemError::Failed { error, .. })) => {
                bad += 1;
                println!("item {index}: {error}");
            }
            Ok(Err(other)) => panic!("item {index}: {other}"),
            Err(e) => panic!("stage 2, item {index}: {e}"),
        }
    }
    println!("{ok} records scored, {bad} bad lines, last score {last:#x}");
    assert_eq!((ok, bad), (19_996, 4));
}
