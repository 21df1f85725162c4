//! A coarse `join` tree shares out after one heartbeat even where it forks no more: the
//! return of a `join`'s `a` is a point where the thread publishes its oldest fork once the
//! heartbeat passed, so a sleeping worker takes it while the caller runs the next leaf. And
//! a root job that follows a coarse one on the same thread publishes at its first fork (the
//! eager start), so a sleeping worker takes it while the caller runs the first leaf.

mod common;

use std::time::{Duration, Instant};

use common::spin_for;

/// Leaves far longer than the heartbeat (100 µs) and than a worker's wake-up.
const LEAF: Duration = Duration::from_millis(20);
const ROUNDS: usize = 5;

common::for_each_backend! {
    #[test]
    fn a_coarse_join_tree_shares_its_oldest_fork_at_the_return_of_a() {
        let _serial = crate::common::serial();
        let pool = pool(2);
        let mut shared = 0;
        for _ in 0..ROUNDS {
            // Let the other worker go to sleep: nobody is hungry, only the heartbeat
            // can share the work.
            std::thread::sleep(Duration::from_millis(50));
            let (caller, outer_b) = pool.install(|| {
                let caller = skewer::current_thread_index();
                // Both forks are made in the first microsecond; after that the tree forks
                // no more: the inner `b` runs inline after the inner `a`.
                let ((), outer_b) = skewer::join(
                    || {
                        skewer::join(|| spin_for(LEAF), || spin_for(LEAF));
                    },
                    skewer::current_thread_index,
                );
                (caller, outer_b)
            });
            if caller != outer_b {
                shared += 1;
            }
        }
        assert!(
            shared * 2 > ROUNDS,
            "the outer fork ran on the other worker in only {shared} of {ROUNDS} rounds"
        );
    }

    #[test]
    fn a_root_job_after_a_coarse_one_shares_before_its_first_leaf_ends() {
        const EAGER_ROUNDS: usize = 8;
        let _serial = crate::common::serial();
        let pool = pool(2);
        let mut early = 0;
        for _ in 0..EAGER_ROUNDS {
            std::thread::sleep(Duration::from_millis(50));
            // The only fork is made before the first (and only) leaf `a`; without the
            // eager start it is published at `a`'s return at the earliest, and the caller
            // then takes it back itself.
            let (caller, b_thread, b_after) = pool.install(|| {
                let caller = skewer::current_thread_index();
                let start = Instant::now();
                let ((), (b_thread, b_after)) = skewer::join(
                    || spin_for(LEAF),
                    || (skewer::current_thread_index(), start.elapsed()),
                );
                (caller, b_thread, b_after)
            });
            if caller != b_thread && b_after < LEAF / 2 {
                early += 1;
            }
        }
        // The first rounds on each worker have no coarse root job behind them.
        assert!(
            early >= 2,
            "the fork started on the other worker during the first leaf in only {early} of \
             {EAGER_ROUNDS} rounds"
        );
    }

    #[test]
    fn a_run_of_small_trees_after_pauses_wakes_no_sleeper() {
        const SMALL_ROUNDS: usize = 20;
        let _serial = crate::common::serial();
        let pool = pool(2);
        // A coarse tree first: the worker that runs it starts its next tree eagerly.
        std::thread::sleep(Duration::from_millis(20));
        pool.install(|| skewer::join(|| spin_for(LEAF / 4), || spin_for(LEAF / 4)));
        let mut shared = 0;
        for _ in 0..SMALL_ROUNDS {
            // Far longer than `EAGER_AFTER`: the pause must not count as part of a tree,
            // and a small tree that waited for a woken worker must not count as coarse.
            std::thread::sleep(Duration::from_millis(20));
            let (caller, others) = pool.install(|| {
                let caller = skewer::current_thread_index();
                (caller, small_tree(caller, 8))
            });
            assert!(caller.is_some());
            if others > 0 {
                shared += 1;
            }
        }
        assert!(
            shared <= SMALL_ROUNDS / 5,
            "a second thread ran a leaf of a small tree in {shared} of {SMALL_ROUNDS} rounds"
        );
    }
}

/// A halving `join` over `leaves` leaves of 2 µs; returns how many ran on a thread other
/// than `caller`.
fn small_tree(caller: Option<usize>, leaves: usize) -> usize {
    if leaves == 1 {
        spin_for(Duration::from_micros(2));
        return usize::from(skewer::current_thread_index() != caller);
    }
    let half = leaves / 2;
    let (a, b) = skewer::join(
        || small_tree(caller, half),
        || small_tree(caller, leaves - half),
    );
    a + b
}
