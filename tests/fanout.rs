//! The fan-out layer on both backends: maps (order, window, laziness, panics, cancellation,
//! leaks, deadlines, retries, rate limits, stats), error groups, bounded submission, bad
//! input, and the cancel token tree.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{miri_or, quiet_boom, spin_for, within};
use proptest::prelude::*;
use skewer::{CancelToken, FanOut, GroupOptions, ItemError, Pool, Retry};

const LIMIT: Duration = Duration::from_secs(60);

/// An input that counts how many items were pulled from it.
struct Counting<I> {
    inner: I,
    pulled: Arc<AtomicUsize>,
}

impl<I: Iterator> Iterator for Counting<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next();
        if item.is_some() {
            self.pulled.fetch_add(1, Ordering::SeqCst);
        }
        item
    }
}

fn counting<I: IntoIterator>(items: I) -> (Counting<I::IntoIter>, Arc<AtomicUsize>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    (
        Counting {
            inner: items.into_iter(),
            pulled: pulled.clone(),
        },
        pulled,
    )
}

/// The cost model of the property test: mostly cheap items, a few 100x ones.
fn work(x: u64, cost_ns: u64) -> u64 {
    spin_for(Duration::from_nanos(cost_ns));
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

common::for_each_backend! {
    #[test]
    fn ordered_equals_the_sequential_map_and_unordered_is_a_permutation() {
        within(LIMIT, "ordered and unordered maps", || {
            quiet_boom();
            let pool = pool(2);
            let config = ProptestConfig { cases: miri_or(12, 1) as u32, ..ProptestConfig::default() };
            proptest!(config, |(
                costs in proptest::collection::vec(prop_oneof![8 => 0u64..200, 1 => 5_000u64..20_000], 0..miri_or(10_000, 20)),
                panic_every in prop_oneof![Just(0usize), 1usize..50],
                window in 1usize..64,
            )| {
                let fan = FanOut::builder().window(window).build().unwrap();
                let items: Vec<(usize, u64)> = costs.iter().copied().enumerate().collect();
                let f = move |(i, cost): (usize, u64)| {
                    if panic_every > 0 && i % panic_every == 0 {
                        std::panic::panic_any(common::Boom(i));
                    }
                    work(i as u64, cost)
                };
                let expect: Vec<Option<u64>> = items
                    .iter()
                    .map(|&(i, _)| (panic_every == 0 || i % panic_every != 0).then(|| work(i as u64, 0)))
                    .collect();
                let ordered: Vec<Option<u64>> = fan
                    .map_ordered(&pool, items.clone(), f)
                    .map(|r| match r {
                        Ok(v) => Some(v),
                        Err(e) => { assert!(e.is_panic(), "{e:?}"); None }
                    })
                    .collect();
                prop_assert_eq!(&ordered, &expect);
                let mut unordered: Vec<(usize, Option<u64>)> = fan
                    .map_unordered(&pool, items, f)
                    .map(|(i, r)| (i, r.ok()))
                    .collect();
                unordered.sort_by_key(|p| p.0);
                let indexed: Vec<(usize, Option<u64>)> = expect.into_iter().enumerate().collect();
                prop_assert_eq!(unordered, indexed);
            });
        });
    }

    #[test]
    fn the_window_bounds_what_is_pulled_and_what_runs() {
        within(LIMIT, "window bound", || {
            // More workers than the largest window but one: the runners, not the pool's
            // size, bound what runs (an outside consumer runs no item itself).
            let pool = pool(4);
            for window in [1usize, 3, 8] {
                let fan = FanOut::builder().window(window).build().unwrap();
                let (input, pulled) = counting(0..miri_or(300, 20));
                let running = Arc::new(AtomicUsize::new(0));
                let peak = Arc::new(AtomicUsize::new(0));
                let (r, p) = (running.clone(), peak.clone());
                let mut map = fan.map_unordered(&pool, input, move |x: usize| {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    spin_for(Duration::from_micros(20));
                    r.fetch_sub(1, Ordering::SeqCst);
                    x
                });
                let mut consumed = 0;
                while let Some((_, r)) = map.next() {
                    r.unwrap();
                    consumed += 1;
                    let seen = pulled.load(Ordering::SeqCst);
                    assert!(seen <= consumed + window, "pulled {seen} with {consumed} consumed, window {window}");
                    assert!(map.stats().in_flight <= window);
                    if consumed % 7 == 0 {
                        std::thread::sleep(Duration::from_micros(200)); // a slow consumer
                    }
                }
                assert_eq!(consumed, miri_or(300, 20));
                assert!(peak.load(Ordering::SeqCst) <= window.min(4), "peak {}", peak.load(Ordering::SeqCst));
                let s = map.stats();
                assert!(s.is_settled(), "{s:?}");
                assert_eq!(s.succeeded, consumed as u64);
            }
        });
    }

    #[test]
    fn a_slow_item_holds_back_only_the_window() {
        within(LIMIT, "slow item", || {
            let pool = pool(2);
            let window = 6;
            let fan = FanOut::builder().window(window).build().unwrap();
            let (input, pulled) = counting(0..100usize);
            let slow = |x: usize| {
                if x == 0 { std::thread::sleep(Duration::from_millis(150)); }
                x
            };
            // Ordered: while item 0 runs, no more than the window is pulled.
            let mut map = fan.map_ordered(&pool, input, slow);
            assert_eq!(map.next().unwrap().unwrap(), 0);
            assert!(pulled.load(Ordering::SeqCst) <= window + 1);
            let rest: Vec<usize> = map.map(Result::unwrap).collect();
            assert_eq!(rest, (1..100).collect::<Vec<_>>());
            // Unordered: the fast items come out while item 0 runs.
            let mut map = fan.map_unordered(&pool, 0..100usize, slow);
            let first = map.next().unwrap().0;
            assert_ne!(first, 0, "a fast item is yielded before the slow one");
        });
    }

    #[test]
    fn a_panic_is_that_items_error_with_message_and_location() {
        within(LIMIT, "a panicking item", || {
            quiet_boom();
            let pool = pool(2);
            let out: Vec<_> = pool
                .map_ordered(0..10, |x| if x == 4 { panic!("item {x} is poison") } else { x })
                .collect();
            for (i, r) in out.iter().enumerate() {
                if i == 4 {
                    match r {
                        Err(ItemError::Panicked { message, location }) => {
                            assert_eq!(message, "item 4 is poison");
                            assert!(location.as_deref().unwrap().contains("fanout.rs"), "{location:?}");
                        }
                        other => panic!("{other:?}"),
                    }
                } else {
                    assert_eq!(r, &Ok(i));
                }
            }
            // The pool is unharmed.
            assert_eq!(pool.join(|| 1, || 2), (1, 2));
        });
    }

    #[test]
    fn dropping_mid_stream_cancels_the_rest_and_everything_settles() {
        within(LIMIT, "drop mid-stream", || {
            let pool = pool(2);
            let ran = Arc::new(AtomicUsize::new(0));
            let r = ran.clone();
            let (input, pulled) = counting(0..100_000usize);
            let mut map = pool.map_unordered(input, move |x| {
                r.fetch_add(1, Ordering::SeqCst);
                spin_for(Duration::from_micros(50));
                x
            });
            let stats = map.stats_handle();
            for _ in 0..5 {
                map.next().unwrap().1.unwrap();
            }
            let started = Instant::now();
            drop(map);
            assert!(started.elapsed() < Duration::from_millis(50), "drop waited {:?}", started.elapsed());
            let s = stats.wait_settled(Duration::from_secs(10));
            assert!(s.is_settled(), "{s:?}");
            let pulled = pulled.load(Ordering::SeqCst) as u64;
            assert!(pulled < 1000, "pulled {pulled}");
            assert_eq!(s.started + s.cancelled, pulled, "{s:?}");
            assert_eq!(s.started, ran.load(Ordering::SeqCst) as u64);
            // No worker is left blocked: the pool shuts down (joining every worker).
            pool.shutdown();
            assert_eq!(pool.metrics().live_workers, 0);
        });
    }

    #[test]
    fn cancelling_the_token_ends_the_map_without_draining_the_input() {
        within(LIMIT, "cancel", || {
            let pool = pool(2);
            let (input, pulled) = counting(0..1_000_000usize);
            let mut map = pool.map_ordered(input, |x| { spin_for(Duration::from_micros(5)); x });
            assert_eq!(map.next().unwrap().unwrap(), 0);
            map.token().cancel();
            let rest: Vec<_> = map.by_ref().collect();
            assert!(rest.iter().any(|r| matches!(r, Err(ItemError::Cancelled))) || rest.len() < 100);
            assert!(pulled.load(Ordering::SeqCst) < 1000);
            let s = map.stats();
            assert_eq!(s.finished(), pulled.load(Ordering::SeqCst) as u64, "{s:?}");
        });
    }

    #[test]
    fn the_borrowing_map_survives_a_leaked_iterator() {
        within(LIMIT, "leaked scoped map", || {
            let pool = pool(2);
            let data: Vec<u64> = (0..1000).collect();
            let ran = AtomicUsize::new(0);
            pool.scope(|s| {
                let mut map = s.map_unordered(&data, |x| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    spin_for(Duration::from_micros(10));
                    x * 2
                });
                map.next().unwrap().1.unwrap();
                std::mem::forget(map);
            });
            // The scope waited for every runner: nothing touches `data` or `ran` now.
            let after = ran.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(ran.load(Ordering::SeqCst), after);
            assert!(after <= DEFAULT_WINDOW + 1, "ran {after}");
            // And the pool form, leaked: no thread blocks, the pool still shuts down.
            let map = pool.map_ordered(0..100_000u64, |x| x);
            std::mem::forget(map);
            pool.shutdown();
        });
    }

    #[test]
    fn a_map_inside_a_job_of_a_one_thread_pool_does_not_deadlock() {
        within(LIMIT, "map on a worker", || {
            let pool = Arc::new(pool(1));
            let p = pool.clone();
            let total: u64 = pool.install(move || {
                p.map_ordered(0..200u64, |x| x).map(Result::unwrap).sum()
            });
            assert_eq!(total, (0..200).sum());
            let nested: u64 = pool.scope(|s| s.map_unordered(0..50u64, |x| x + 1).map(|(_, r)| r.unwrap()).sum());
            assert_eq!(nested, (1..=50).sum());
        });
    }

    #[test]
    fn an_ordered_two_stage_pipeline() {
        within(LIMIT, "pipeline", || {
            let pool = pool(2);
            let stage1 = pool.map_ordered(0..500u64, |x| x * 3).map(Result::unwrap);
            let out: Vec<u64> = pool.map_ordered(stage1, |x| x + 1).map(Result::unwrap).collect();
            assert_eq!(out, (0..500).map(|x| x * 3 + 1).collect::<Vec<_>>());
        });
    }

    #[test]
    fn deadlines_end_items_that_honour_them_and_report_stuck_ones() {
        within(LIMIT, "deadlines", || {
            let pool = pool(2);
            let fan = FanOut::builder().item_deadline(Duration::from_millis(30)).build().unwrap();
            let out: Vec<_> = fan
                .try_map_ordered(&pool, vec![false, true], |&slow, at| {
                    if !slow { return Ok(1); }
                    // Honours its token: gives up when the deadline passes.
                    at.token().wait();
                    Err("gave up")
                })
                .collect();
            assert_eq!(out[0], Ok(1));
            match &out[1] {
                Err(ItemError::TimedOut { elapsed, limit }) => {
                    assert!(*elapsed >= *limit && *limit == Duration::from_millis(30));
                }
                other => panic!("{other:?}"),
            }
            // A stuck item ignores its token: the stats show it overdue, with its index.
            let (release, gate) = mpsc::channel::<()>();
            let gate = Mutex::new(gate);
            let mut map = fan.try_map_unordered(&pool, 0..3usize, move |&i, _| {
                if i == 2 { gate.lock().unwrap().recv().unwrap(); }
                Ok::<_, ()>(i)
            });
            assert!(map.next().unwrap().1.is_ok());
            assert!(map.next().unwrap().1.is_ok());
            let stuck = common::wait_until(Duration::from_secs(5), || {
                map.stats().overdue().any(|r| r.index == 2 && r.elapsed > Duration::from_millis(30))
            });
            assert!(stuck, "{:?}", map.stats());
            release.send(()).unwrap();
            assert_eq!(map.next().unwrap(), (2, Ok(2)));
            assert_eq!(map.stats().timed_out, 0);
        });
    }

    #[test]
    fn retries_back_off_and_exhausted_items_report_their_last_error() {
        within(LIMIT, "retries", || {
            let pool = pool(2);
            let ms = Duration::from_millis;
            let fan = FanOut::builder().retry(Retry::attempts(3).backoff(ms(2), ms(8))).build().unwrap();
            let first_try = Mutex::new(std::collections::HashMap::new());
            let out: Vec<_> = pool.scope(|s| {
                fan.try_map_ordered(s, 0..6usize, |&i, at| {
                    let now = Instant::now();
                    let first = *first_try.lock().unwrap().entry(i).or_insert(now);
                    match i % 3 {
                        0 => Ok((at.number(), now - first)),
                        1 if at.number() < 3 => Err(at.retryable(format!("busy {}", at.number()))),
                        1 => Ok((at.number(), now - first)),
                        _ => Err(at.retryable(format!("down {}", at.number()))),
                    }
                })
                .collect()
            });
            for (i, r) in out.into_iter().enumerate() {
                match (i % 3, r) {
                    (0, Ok((1, _))) => {}
                    // Two backoffs: at least 1 ms (half of 2 ms) and 2 ms (half of 4 ms).
                    (1, Ok((3, waited))) => assert!(waited >= ms(3), "{waited:?}"),
                    (2, Err(ItemError::Failed { error, attempts: 3 })) => assert_eq!(error, "down 3"),
                    other => panic!("item {i}: {other:?}"),
                }
            }
            // A non-retryable error is not retried.
            let out: Vec<_> = fan.try_map_ordered(&pool, [()], |_, at| Err::<(), _>(at.number())).collect();
            assert_eq!(out, [Err(ItemError::Failed { error: 1, attempts: 1 })]);
        });
    }

    #[test]
    fn an_item_cancelled_while_it_waits_for_its_retry_ends_with_its_last_error_and_settles() {
        within(LIMIT, "cancel during a backoff", || {
            let pool = pool(2);
            let long = Duration::from_secs(30);
            let fan = FanOut::builder().retry(Retry::attempts(3).backoff(long, long)).build().unwrap();
            let failed_once = Arc::new(AtomicBool::new(false));
            let flag = failed_once.clone();
            let mut map = fan.try_map_unordered(&pool, [7u32], move |_, at| {
                flag.store(true, Ordering::SeqCst);
                Err::<(), _>(at.retryable(format!("busy {}", at.number())))
            });
            let stats = map.stats_handle();
            let token = map.token().clone();
            let canceller = std::thread::spawn(move || {
                while !failed_once.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // The consumer is (or soon will be) waiting out the 30 s backoff.
                std::thread::sleep(Duration::from_millis(20));
                token.cancel();
            });
            let start = Instant::now();
            let first = map.next();
            // The cancel woke the consumer: it did not wait out the backoff.
            assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
            assert_eq!(first, Some((0, Err(ItemError::Failed { error: "busy 1".to_string(), attempts: 1 }))));
            assert!(map.next().is_none());
            canceller.join().unwrap();
            let s = stats.wait_settled(Duration::from_secs(10));
            assert!(s.is_settled(), "{s:?}");
            assert_eq!((s.started, s.failed, s.cancelled), (1, 1, 0), "{s:?}");
        });
    }

    #[test]
    fn a_tiny_rate_waits_until_cancelled_instead_of_failing() {
        within(LIMIT, "tiny rate", || {
            let pool = pool(2);
            // Valid (positive and finite): the second token is due in 10^20 s.
            let fan = FanOut::builder().rate_limit(1e-20, 1).build().unwrap();
            let mut map = fan.map_ordered(&pool, 0..3u32, |x| x);
            assert_eq!(map.next().unwrap().unwrap(), 0);
            let token = map.token().clone();
            let canceller = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                token.cancel();
            });
            let rest: Vec<_> = map.by_ref().collect();
            canceller.join().unwrap();
            assert_eq!(rest, [Err(ItemError::Cancelled), Err(ItemError::Cancelled)]);
            assert!(map.stats_handle().wait_settled(Duration::from_secs(10)).is_settled());
        });
    }

    #[test]
    fn a_fan_out_started_inside_an_item_is_cancelled_with_its_map() {
        within(LIMIT, "a group inside a map item", || {
            let pool = pool(2);
            let fan = FanOut::builder().build().unwrap();
            let started = AtomicBool::new(false);
            let saw_cancel = AtomicBool::new(false);
            let start = Instant::now();
            let out: Vec<_> = pool.scope(|s| {
                let mut map = fan.map_unordered(s, [0u32], |_| {
                    // The group's token is the item's child: cancelling the map reaches it.
                    pool.try_scope(|g| {
                        g.spawn(|t| {
                            started.store(true, Ordering::SeqCst);
                            saw_cancel.store(t.wait_timeout(Duration::from_secs(30)), Ordering::SeqCst);
                            Ok::<(), String>(())
                        });
                    })
                });
                let token = map.token().clone();
                let started = &started;
                s.spawn(move |_| {
                    while !started.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    token.cancel();
                });
                map.by_ref().collect()
            });
            assert_eq!(out.len(), 1);
            assert!(saw_cancel.load(Ordering::SeqCst), "the group waited out its 30 s: {:?}", start.elapsed());
        });
    }

    #[test]
    fn size_hint_holds_on_an_endless_input_and_after_a_cancel() {
        within(LIMIT, "size hint", || {
            let pool = pool(2);
            let mut map = pool.map_ordered(0u64.., |x| x);
            assert_eq!(map.next().unwrap().unwrap(), 0);
            assert_eq!(map.size_hint(), (usize::MAX, None));
            map.token().cancel();
            let (low, high) = map.size_hint();
            let rest = map.by_ref().count();
            assert!(low <= rest && high.is_some_and(|h| rest <= h), "({low}, {high:?}) for {rest} left");
        });
    }

    #[test]
    fn after_shutdown_nothing_is_lost() {
        within(LIMIT, "after shutdown", || {
            let pool = pool(2);
            pool.shutdown();
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let err = pool.try_spawn(move || r.store(true, Ordering::SeqCst)).unwrap_err();
            assert!(err.is_shut_down());
            err.into_inner()();
            assert!(ran.load(Ordering::SeqCst), "the job came back and runs");
            // The blocking verbs run on the caller, as `scope` does.
            let out: Vec<u32> = pool.map_ordered(0..20u32, |x| x + 1).map(Result::unwrap).collect();
            assert_eq!(out, (1..=20).collect::<Vec<_>>());
            let r: Result<(), u32> = pool.try_scope(|g| g.spawn(|_| Err(7)));
            assert_eq!(r, Err(7));
        });
    }

    #[test]
    fn first_error_wins_running_siblings_see_it_and_queued_ones_never_start() {
        within(LIMIT, "first error", || {
            let pool = pool(2);
            // Unlimited: a running sibling sees the cancellation.
            let saw_cancel = AtomicBool::new(false);
            let r: Result<(), &str> = pool.try_scope(|g| {
                g.spawn(|token| {
                    let seen = token.wait_timeout(Duration::from_secs(20));
                    saw_cancel.store(seen, Ordering::SeqCst);
                    Ok(())
                });
                g.spawn(|_| { std::thread::sleep(Duration::from_millis(10)); Err("first") });
            });
            assert_eq!(r, Err("first"));
            assert!(saw_cancel.load(Ordering::SeqCst));
            // Limit 1: the queue is ours and FIFO; after the first error nothing else starts.
            let ran = AtomicUsize::new(0);
            let opts = GroupOptions::builder().limit(1).build().unwrap();
            let mut stats = None;
            let r: Result<(), usize> = pool.try_scope_with(&opts, |g| {
                stats = Some(g.stats_handle());
                g.spawn(|_| Err(0));
                for i in 1..100 {
                    let ran = &ran;
                    g.spawn(move |_| { ran.fetch_add(1, Ordering::SeqCst); Err(i) });
                }
            });
            assert_eq!(r, Err(0));
            assert_eq!(ran.load(Ordering::SeqCst), 0);
            let s = stats.unwrap().snapshot();
            assert_eq!((s.failed, s.cancelled, s.started), (1, 99, 1), "{s:?}");
            assert!(s.is_settled());
        });
    }

    #[test]
    fn collect_all_keeps_every_error_and_cancels_nothing() {
        within(LIMIT, "collect all", || {
            let pool = pool(2);
            let ran = AtomicUsize::new(0);
            let mut errs = pool
                .try_scope_all(|g| {
                    for i in 0..50usize {
                        let ran = &ran;
                        g.spawn(move |_| { ran.fetch_add(1, Ordering::SeqCst); if i % 10 == 0 { Err(i) } else { Ok(()) } });
                    }
                })
                .unwrap_err();
            errs.sort();
            assert_eq!(errs, [0, 10, 20, 30, 40]);
            assert_eq!(ran.load(Ordering::SeqCst), 50);
        });
    }

    #[test]
    fn a_group_panic_is_reraised_after_every_job_finished() {
        quiet_boom();
        within(LIMIT, "group panic", || {
            let pool = pool(2);
            let finished = AtomicBool::new(false);
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = pool.try_scope(|g| {
                    g.spawn(|_| { std::thread::sleep(Duration::from_millis(30)); finished.store(true, Ordering::SeqCst); Ok::<(), ()>(()) });
                    g.spawn(|_| common::boom(9));
                });
            }));
            assert_eq!(common::boom_id(&*caught.unwrap_err()), 9);
            assert!(finished.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn a_group_limit_bounds_concurrency_and_try_spawn_hands_back() {
        within(LIMIT, "group limit", || {
            let pool = pool(2);
            for limit in [1usize, 2, 3] {
                let opts = GroupOptions::builder().limit(limit).build().unwrap();
                let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
                let mut refused = 0;
                pool.try_scope_with(&opts, |g| {
                    for _ in 0..miri_or(200, 10) {
                        let job = |_: &CancelToken| {
                            peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                            spin_for(Duration::from_micros(20));
                            now.fetch_sub(1, Ordering::SeqCst);
                            Ok::<(), ()>(())
                        };
                        match g.try_spawn(job) {
                            Ok(()) => {}
                            Err(full) => { assert!(full.is_full()); refused += 1; g.spawn(full.into_inner()); }
                        }
                    }
                }).unwrap();
                assert!(peak.load(Ordering::SeqCst) <= limit);
                assert!(refused > 0 || limit > 1);
            }
        });
    }

    #[test]
    fn nested_groups_cancel_down_and_fail_up() {
        within(LIMIT, "nested groups", || {
            let pool = pool(2);
            let inner_saw_cancel = AtomicBool::new(false);
            let r: Result<(), String> = pool.try_scope(|outer| {
                outer.spawn(|_| {
                    // The inner group's token is a child of this job's (the outer group's).
                    pool.try_scope(|inner| {
                        inner.spawn(|t| {
                            inner_saw_cancel.store(t.wait_timeout(Duration::from_secs(20)), Ordering::SeqCst);
                            Ok(())
                        });
                    })
                });
                outer.spawn(|_| { std::thread::sleep(Duration::from_millis(10)); Err("outer failed".to_string()) });
            });
            assert_eq!(r.unwrap_err(), "outer failed");
            assert!(inner_saw_cancel.load(Ordering::SeqCst), "cancellation flows down");
            // Errors flow up: the inner group's error is the outer job's error.
            let r: Result<(), String> = pool.try_scope(|outer| {
                outer.spawn(|_| pool.try_scope(|inner| inner.spawn(|_| Err("inner failed".to_string()))));
            });
            assert_eq!(r.unwrap_err(), "inner failed");
        });
    }

    #[test]
    fn bounded_submission_blocks_outside_producers_and_never_the_pools_own_jobs() {
        within(LIMIT, "queue capacity", || {
            let pool = builder().num_threads(2).queue_capacity(8).build().unwrap();
            let done = Arc::new(AtomicUsize::new(0));
            let n = miri_or(5_000, 50);
            for _ in 0..n {
                let done = done.clone();
                pool.spawn(move || { done.fetch_add(1, Ordering::SeqCst); }).unwrap();
                assert!(pool.waiting_submissions() <= 8);
            }
            // A job that spawns many children from inside a full, one-thread pool.
            let one = builder().num_threads(1).queue_capacity(1).build().unwrap();
            let (tx, rx) = mpsc::channel();
            let inner = one.clone();
            one.spawn(move || {
                for i in 0..100 {
                    let tx = tx.clone();
                    inner.spawn(move || tx.send(i).unwrap()).unwrap();
                }
            }).unwrap();
            let got: usize = rx.iter().take(100).count();
            assert_eq!(got, 100);
            pool.shutdown();
            assert_eq!(done.load(Ordering::SeqCst), n);
            // A blocked producer is released by shutdown, with its job handed back.
            let gate = builder().num_threads(1).queue_capacity(1).build().unwrap();
            let (hold, held) = mpsc::channel::<()>();
            let (started, running) = mpsc::channel();
            gate.spawn(move || { started.send(()).unwrap(); let _ = held.recv(); }).unwrap();
            running.recv().unwrap();
            gate.spawn(|| {}).unwrap(); // the one place is taken
            let other = gate.clone();
            let closer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                // `shutdown` refuses new and blocked submissions first, then joins the
                // worker, which finishes once `hold` is dropped.
                let joiner = std::thread::spawn(move || other.shutdown());
                std::thread::sleep(Duration::from_millis(20));
                drop(hold);
                joiner.join().unwrap();
            });
            let refused = gate.spawn(|| {});
            assert!(refused.is_err(), "a blocked spawn is refused by shutdown");
            closer.join().unwrap();
        });
    }
}

/// The default window on a 2-thread pool.
const DEFAULT_WINDOW: usize = skewer::DEFAULT_WINDOW_PER_THREAD * 2;

#[test]
fn bad_settings_are_refused_when_built() {
    assert!(
        FanOut::builder()
            .window(0)
            .build()
            .unwrap_err()
            .to_string()
            .contains("window(0)")
    );
    assert!(
        GroupOptions::builder()
            .limit(0)
            .build()
            .unwrap_err()
            .to_string()
            .contains("limit(0)")
    );
    assert!(
        FanOut::builder()
            .rate_limit(0.0, 5)
            .build()
            .unwrap_err()
            .to_string()
            .contains("rate_limit")
    );
    assert!(FanOut::builder().rate_limit(-1.0, 5).build().is_err());
    assert!(
        FanOut::builder()
            .rate_limit(f64::INFINITY, 5)
            .build()
            .is_err()
    );
    let err = Pool::builder().queue_capacity(0).build().unwrap_err();
    assert!(err.to_string().contains("queue_capacity(0)"), "{err}");
}

#[test]
fn cancel_tokens_flow_down_never_up_and_expire_on_time() {
    let root = CancelToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let sibling = root.child_token();
    child.cancel();
    assert!(grandchild.is_cancelled() && !root.is_cancelled() && !sibling.is_cancelled());
    root.cancel();
    assert!(sibling.is_cancelled());
    assert!(
        root.child_token().is_cancelled(),
        "a child of a cancelled token starts cancelled"
    );
    // A waiter is woken by a cancel from another thread.
    let t = CancelToken::new();
    let remote = t.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        remote.cancel();
    });
    assert!(t.wait_timeout(Duration::from_secs(10)));
    h.join().unwrap();
    // Deadlines: inherited, and honoured by a waiter that nobody cancels.
    let start = Instant::now();
    let parent = CancelToken::with_timeout(Duration::from_millis(20));
    let late_child = parent.child_with_timeout(Duration::from_secs(60));
    late_child.wait();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(20) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert!(parent.is_cancelled());
    // Drop guards cancel on every way out.
    let guarded = CancelToken::new();
    let g = guarded.clone();
    let _ = std::panic::catch_unwind(move || {
        let _guard = g.drop_guard();
        panic!("unwinding")
    });
    assert!(guarded.is_cancelled());
    // That dropped children do not pile up in a long-lived parent is a unit test of
    // `cancel.rs`, which can see the list.
}
