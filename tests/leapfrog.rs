//! A thread waiting for a scope reaches the scope's jobs wherever a thief took them: a
//! worker that stole a batch of them announces their scope (its anchor) while it runs
//! them, so the scope's owner steals them back and runs them instead of spinning.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{spin_for, wait_for_count, wait_until};

/// Jobs per scope: enough that a thief's batch steal takes several at once.
const JOBS: usize = 64;
/// How long the thief's first job waits for all the others before the test gives up.
const PATIENCE: Duration = Duration::from_secs(10);

common::for_each_backend! {
    #[test]
    fn a_scope_owner_runs_the_jobs_a_thief_took_in_a_batch() {
        let pool = pool(2);
        for round in 0..20 {
            // Keep one worker busy until the scope's jobs are all queued on the other, so
            // that it then steals a batch of them at once.
            let release = Arc::new(AtomicBool::new(false));
            let occupied = Arc::new(AtomicBool::new(false));
            {
                let (release, occupied) = (release.clone(), occupied.clone());
                pool.spawn(move || {
                    occupied.store(true, Ordering::SeqCst);
                    while !release.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                })
                .expect("the pool is open");
            }
            assert!(wait_until(PATIENCE, || occupied.load(Ordering::SeqCst)));
            let done = AtomicUsize::new(0);
            let thief_started = AtomicBool::new(false);
            let stuck = AtomicBool::new(false);
            pool.install(|| {
                let owner = skewer::current_thread_index();
                skewer::scope(|s| {
                    for _ in 0..JOBS {
                        s.spawn(|_| {
                            let elsewhere = skewer::current_thread_index() != owner;
                            if elsewhere && !thief_started.swap(true, Ordering::SeqCst) {
                                // The thief's first job: it finishes only once every other
                                // job ran, and those the thief holds can only be run by the
                                // waiting owner.
                                if wait_for_count(&done, JOBS - 1, PATIENCE) < JOBS - 1 {
                                    stuck.store(true, Ordering::SeqCst);
                                }
                            } else {
                                spin_for(Duration::from_micros(20));
                            }
                            done.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    release.store(true, Ordering::SeqCst);
                });
            });
            assert!(
                !stuck.load(Ordering::SeqCst),
                "round {round}: the scope's owner did not run the jobs the thief held"
            );
            assert_eq!(done.load(Ordering::SeqCst), JOBS);
        }
    }
}
