//! Loom models of the protocols where scheduler bugs live: the latch hand-off (a waiter
//! that sleeps, a setter that wakes it, and the waiter freeing the latch) and the sleep
//! protocol (a job pushed while the workers decide to sleep must wake one of them), and the
//! watchers' poke (a job pushed while a waiter decides to block must wake it), and a closed
//! pool's exit (no worker leaves while another runs a job, none stays parked after).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib loom`.
//! Under loom the deque is a mutex-guarded twin (`backend/queue.rs`), the shared queue is
//! the real one (`backend/job_list.rs`), and every atomic, mutex and condvar comes from
//! loom through `sync.rs`; a lost wake-up shows up as a
//! deadlock that loom reports.

use std::time::Duration;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

use crate::job::latch::{CountLatch, Latch};
use crate::sched::sleep::Sleep;

/// A result written by the setter is visible to the waiter once it sees the latch set,
/// whether the waiter went to sleep or not; the setter does not touch the latch after
/// the waiter may have moved on.
#[test]
fn loom_latch_hand_off() {
    loom::model(|| {
        struct Slot {
            latch: Latch,
            value: UnsafeCell<u32>,
        }
        // SAFETY: `value` is written by the setter before `set` and read by the waiter
        // after it observed the latch (the protocol under test orders the two).
        unsafe impl Sync for Slot {}
        let slot = Arc::new(Slot {
            latch: Latch::new(),
            value: UnsafeCell::new(0),
        });
        let setter = {
            let slot = slot.clone();
            thread::spawn(move || {
                // SAFETY: the waiter reads only after the latch is set.
                slot.value.with_mut(|v| unsafe { *v = 42 });
                // SAFETY: the slot is alive (held by this Arc).
                unsafe { Latch::set(&slot.latch) };
            })
        };
        while !slot.latch.wait_timeout(Duration::from_millis(1)) {}
        // SAFETY: the latch is set, so the setter's write happened-before this read.
        assert_eq!(slot.value.with(|v| unsafe { *v }), 42);
        setter.join().unwrap();
    });
}

/// A counting latch reaches zero exactly once, after the body and both jobs decremented.
#[test]
fn loom_count_latch() {
    loom::model(|| {
        let latch = Arc::new(CountLatch::new());
        latch.increment();
        latch.increment();
        let jobs: Vec<_> = (0..2)
            .map(|_| {
                let latch = latch.clone();
                // SAFETY: the latch is alive (held by this Arc).
                thread::spawn(move || unsafe { CountLatch::decrement(&*latch) })
            })
            .collect();
        // SAFETY: the body's own count.
        unsafe { CountLatch::decrement(&*latch) };
        while !latch.as_latch().wait_timeout(Duration::from_millis(1)) {}
        for job in jobs {
            job.join().unwrap();
        }
    });
}

/// The stealing backend's shared queue (`JobList`, whose length the workers read without
/// its lock, as `has_work` does), `workers` workers that each take one job, run it and
/// leave, and a producer that pushes `workers` jobs as `Registry::push_global` does. Every
/// worker must get its job: a lost wake-up leaves a worker parked forever, which loom
/// reports as a deadlock. With `timed`, each worker's first park has a timeout (S5, as
/// when a queue holds spare room); loom has no clock, so the time is up at once and the
/// model runs the timeout against every ordering of the producer's wake-ups.
fn run_sleep_model(workers: usize, timed: bool) {
    use crate::backend::job_list::JobList;
    use crate::job::JobRef;
    use crate::job::inline::{InlineJob, detached_header};
    use crate::sync::{AtomicUsize, Ordering};
    loom::model(move || {
        let queue = Arc::new(JobList::default());
        let sleep = Arc::new(Sleep::new(workers));
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..workers)
            .map(|index| {
                let queue = queue.clone();
                let sleep = sleep.clone();
                thread::spawn(move || {
                    let mut timeout = timed.then_some(Duration::from_secs(1));
                    loop {
                        if let Some(job) = queue.pop() {
                            sleep.found_work(|| !queue.is_empty());
                            // SAFETY: taken out of the queue: its only execution.
                            unsafe { job.execute() };
                            return;
                        }
                        let recheck = || !queue.is_empty();
                        let _ = sleep.try_sleep(index, recheck, timeout.take());
                    }
                })
            })
            .collect();
        for _ in 0..workers {
            let ran = ran.clone();
            // SAFETY: the closure owns what it uses; the header is the static one.
            let job: JobRef = unsafe {
                InlineJob::into_job_ref(detached_header(), move |_| {
                    ran.fetch_add(1, Ordering::Relaxed);
                })
            };
            queue.push_counted(job);
            sleep.notify_work();
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(ran.load(Ordering::Relaxed), workers);
        // Every worker ended active: none is left counted as searching or sleeping.
        let state = sleep.peek();
        assert!(state.is_quiet(), "{state:?}");
    });
}

/// A closed pool's two workers: worker 1 runs a job while worker 0 decides whether to
/// exit, as `sched/worker.rs` does with `Registry::peer_awake` and
/// `Registry::leave_main_loop`. Worker 0 must not exit while the job runs (the job may
/// still queue work for it), and neither may stay parked once both are idle: loom reports
/// that as a deadlock.
#[test]
fn loom_closed_pool_exit() {
    use crate::sync::{AtomicBool, AtomicUsize, Ordering};
    // The exit rule of a closed pool's idle worker: exit once every other worker sleeps,
    // else park (the re-check lets it park only while another is awake).
    fn idle_until_exit(index: usize, sleep: &Sleep, looping: &AtomicUsize, job_runs: &AtomicBool) {
        loop {
            if !sleep.others_awake(looping.load(Ordering::SeqCst), false) {
                assert!(
                    !job_runs.load(Ordering::SeqCst),
                    "worker {index} left during the job"
                );
                looping.fetch_sub(1, Ordering::SeqCst);
                sleep.stop_searching();
                sleep.wake_all();
                return;
            }
            let recheck = || !sleep.others_awake(looping.load(Ordering::SeqCst), true);
            let _ = sleep.try_sleep(index, recheck, None);
        }
    }
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let looping = Arc::new(AtomicUsize::new(2));
        let job_runs = Arc::new(AtomicBool::new(true));
        // Both start as searchers; worker 1 found its job.
        sleep.found_work(|| false);
        let idle = {
            let (sleep, looping, job_runs) = (sleep.clone(), looping.clone(), job_runs.clone());
            thread::spawn(move || idle_until_exit(0, &sleep, &looping, &job_runs))
        };
        // Worker 1's job ends: it searches again, finds nothing, and decides as well.
        job_runs.store(false, Ordering::SeqCst);
        sleep.start_searching();
        idle_until_exit(1, &sleep, &looping, &job_runs);
        idle.join().unwrap();
        assert_eq!(looping.load(Ordering::SeqCst), 0);
        assert!(sleep.peek().is_quiet());
    });
}

#[test]
fn loom_sleep_one_worker_no_lost_wakeup() {
    run_sleep_model(1, false);
}

#[test]
fn loom_sleep_two_workers_deferred_wake() {
    run_sleep_model(2, false);
}

#[test]
fn loom_sleep_three_workers() {
    run_sleep_model(3, false);
}

#[test]
fn loom_sleep_timed_park_one_worker() {
    run_sleep_model(1, true);
}

#[test]
fn loom_sleep_timed_park_two_workers() {
    run_sleep_model(2, true);
}

/// A job pushed while a waiter decides to block on its latch pokes it awake (or the
/// waiter's last search sees the job): the watchers' Dekker pair (`watchers.rs`). The
/// latch is never set here, and under loom `wait_timeout` has no timeout, so a lost poke
/// leaves the waiter blocked forever, which loom reports as a deadlock.
#[test]
fn loom_watcher_poke_is_not_lost() {
    use crate::sched::watchers::Watchers;
    use crate::sync::{AtomicBool, Ordering, fence};
    loom::model(|| {
        let job = Arc::new(AtomicBool::new(false));
        let watchers = Arc::new(Watchers::default());
        let pusher = {
            let (job, watchers) = (job.clone(), watchers.clone());
            thread::spawn(move || {
                // A push into the shared queue, then `notify_work`'s fence, then the poke.
                job.store(true, Ordering::Release);
                fence(Ordering::SeqCst);
                watchers.poke_all();
            })
        };
        let latch = Latch::new();
        loop {
            if job.load(Ordering::Acquire) {
                break;
            }
            // `wait::block`: register, fence, search once more, block, unregister.
            watchers.watch(&latch);
            fence(Ordering::SeqCst);
            let found = job.load(Ordering::Acquire);
            if !found {
                let set = latch.wait_timeout(Duration::from_millis(1));
                assert!(!set, "nobody sets this latch");
            }
            watchers.unwatch(&latch);
            if found {
                break;
            }
        }
        pusher.join().unwrap();
    });
}
