//! A queue that grew in a burst keeps its room while bursts keep coming and gives it back
//! once none has grown for a second (`backend/job_list.rs`; `docs/work-stealing.md`,
//! "A quiet pool gives back its queues' memory"). `Metrics::queue_room` reports the room.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Watchdog, wait_until};
use skewer::{Backend, Pool};

/// Jobs per burst: ten times the room a queue keeps (2 048).
const BURST: usize = 20_000;
/// Room a quiet stealing pool of two workers may keep: 2 048 for each of its four rings
/// that can grow in these tests (the shared queue, two overflows, the relocation queue).
const QUIET_ROOM: usize = 4 * 2048;
/// How long the room may take to come back: the trim comes a second after the first park
/// that follows the last growth.
const TRIM_LIMIT: Duration = Duration::from_secs(30);

fn pool(threads: usize, backend: Backend) -> Pool {
    Pool::builder()
        .num_threads(threads)
        .backend(backend)
        .build()
        .expect("pool")
}

/// Queues `BURST` outside submissions while every worker is held in a blocking job, so that
/// they pile up in the shared queue; returns once all of them ran, with the queue room
/// seen while they were queued and when the workers were let go (no worker parks, and so
/// no trim clock runs, between the pushes and that moment).
fn burst_from_outside(pool: &Pool) -> (usize, Instant) {
    let threads = pool.metrics().workers.len();
    let (release, held) = mpsc::channel::<()>();
    let held = Arc::new(std::sync::Mutex::new(held));
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..threads {
        let (held, started) = (Arc::clone(&held), Arc::clone(&started));
        pool.spawn(move || {
            started.fetch_add(1, Ordering::SeqCst);
            let _ = held.lock().unwrap().recv();
        })
        .expect("open pool");
    }
    assert!(
        wait_until(Duration::from_secs(20), || started.load(Ordering::SeqCst)
            == threads),
        "the workers never took the holding jobs"
    );
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..BURST {
        let ran = Arc::clone(&ran);
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::Relaxed);
        })
        .expect("open pool");
    }
    let room = pool.metrics().queue_room;
    let released = Instant::now();
    for _ in 0..threads {
        release.send(()).expect("a held job waits");
    }
    assert!(
        wait_until(Duration::from_secs(20), || ran.load(Ordering::Relaxed)
            == BURST),
        "the burst did not run"
    );
    (room, released)
}

/// On a one-worker pool: one scope body on the worker queues `BURST` jobs before the worker
/// runs one, so that past 2 048 they go to its overflow; returns once they all ran.
fn burst_into_the_overflow(pool: &Pool) {
    let room = pool.install(|| {
        skewer::scope(|s| {
            for _ in 0..BURST {
                s.spawn(|_| {});
            }
            pool.metrics().queue_room
        })
    });
    assert!(room >= BURST - 2048, "the overflow never grew: {room}");
}

/// Waits, polling the metrics, until the pool's queue room is at most `room`.
fn room_falls_to(pool: &Pool, room: usize) -> bool {
    wait_until(TRIM_LIMIT, || pool.metrics().queue_room <= room)
}

#[test]
fn the_shared_queue_gives_back_its_room_once_the_pool_is_quiet() {
    let _dog = Watchdog::arm("the shared queue's room", Duration::from_secs(60));
    let pool = pool(2, Backend::Stealing);
    let (room, _) = burst_from_outside(&pool);
    let m = pool.metrics();
    assert!(
        m.max_injector_depth as usize >= BURST - 1 && room >= BURST,
        "the burst never queued up (room {room}), so this tests nothing: {m:?}"
    );
    assert!(
        room_falls_to(&pool, QUIET_ROOM),
        "room kept after {TRIM_LIMIT:?} of quiet: {}",
        pool.metrics().queue_room
    );
    // The timed park that freed it leaves the pool working: a job queued now runs.
    let (tx, rx) = mpsc::channel();
    pool.spawn(move || tx.send(()).unwrap()).expect("open pool");
    rx.recv_timeout(Duration::from_secs(20))
        .expect("a job after the trim never ran");
}

#[test]
fn an_overflow_gives_back_its_room_once_the_pool_is_quiet() {
    let _dog = Watchdog::arm("an overflow's room", Duration::from_secs(60));
    let pool = pool(1, Backend::Stealing);
    burst_into_the_overflow(&pool);
    assert!(
        room_falls_to(&pool, QUIET_ROOM),
        "room kept after {TRIM_LIMIT:?} of quiet: {}",
        pool.metrics().queue_room
    );
    assert!(
        pool.metrics().total.parks > pool.metrics().total.wakeups,
        "the room was freed after a park that ran out"
    );
}

#[test]
fn a_trickle_of_jobs_does_not_keep_the_room() {
    let _dog = Watchdog::arm("room under a trickle", Duration::from_secs(60));
    let pool = pool(1, Backend::Stealing);
    burst_into_the_overflow(&pool);
    // One job every 100 ms wakes the only worker before any park of a second could run
    // out: the room must still be freed, at a park a second after the burst.
    let deadline = Instant::now() + TRIM_LIMIT;
    let ran = Arc::new(AtomicUsize::new(0));
    let mut sent = 0;
    while pool.metrics().queue_room > QUIET_ROOM {
        assert!(
            Instant::now() < deadline,
            "room kept under a trickle: {}",
            pool.metrics()
        );
        let ran = Arc::clone(&ran);
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::Relaxed);
        })
        .expect("open pool");
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        wait_until(Duration::from_secs(20), || ran.load(Ordering::Relaxed)
            == sent),
        "the trickle's jobs did not all run"
    );
}

#[test]
fn bursts_closer_than_a_second_keep_the_room() {
    let _dog = Watchdog::arm("bursts keep their room", Duration::from_secs(60));
    let pool = pool(2, Backend::Stealing);
    let mut checked = 0;
    for _ in 0..3 {
        let (grown, released) = burst_from_outside(&pool);
        assert!(grown >= BURST, "the burst never queued up: {grown}");
        std::thread::sleep(Duration::from_millis(100));
        let room = pool.metrics().queue_room;
        // The clock that frees the room starts over at the first park after this burst's
        // growth, which comes after `released`: read within a second of that, the room
        // must be there. A test thread that lagged longer proves nothing either way.
        if released.elapsed() < Duration::from_millis(950) {
            assert!(room >= BURST, "room freed 100 ms after a burst: {room}");
            checked += 1;
        }
    }
    assert!(checked > 0, "every pause overslept; nothing was checked");
}

#[test]
fn the_builder_sets_when_the_room_goes_or_keeps_it() {
    let _dog = Watchdog::arm("the trim setting", Duration::from_secs(60));
    for (after, kept) in [(Some(Duration::from_millis(20)), false), (None, true)] {
        let pool = Pool::builder()
            .num_threads(2)
            .trim_queues_after(after)
            .build()
            .expect("pool");
        let (room, _) = burst_from_outside(&pool);
        assert!(room >= BURST, "the burst never queued up: {room}");
        if kept {
            // Longer than the default second: nothing may go.
            std::thread::sleep(Duration::from_millis(1500));
            let room = pool.metrics().queue_room;
            assert!(room >= BURST, "room freed with trimming off: {room}");
        } else {
            assert!(
                room_falls_to(&pool, QUIET_ROOM),
                "room kept with a 20 ms setting: {}",
                pool.metrics().queue_room
            );
        }
    }
}

#[test]
fn the_channel_backend_keeps_no_room() {
    let _dog = Watchdog::arm("the channel backend's room", Duration::from_secs(60));
    let pool = pool(2, Backend::Channel);
    let _ = burst_from_outside(&pool);
    // Its queue is the channel, which frees its blocks as they empty; the rings it shares
    // with the stealing backend (relocation queue, inboxes) never grew.
    assert_eq!(pool.metrics().queue_room, 0);
}
