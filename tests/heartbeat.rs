//! A coarse `join` tree shares out after one heartbeat even where it forks no more: the
//! return of a `join`'s `a` is a point where the thread publishes its oldest fork once the
//! heartbeat passed, so a sleeping worker takes it while the caller runs the next leaf.

mod common;

use std::time::Duration;

use common::spin_for;

/// Leaves far longer than the heartbeat (100 µs) and than a worker's wake-up.
const LEAF: Duration = Duration::from_millis(20);
const ROUNDS: usize = 5;

common::for_each_backend! {
    #[test]
    fn a_coarse_join_tree_shares_its_oldest_fork_at_the_return_of_a() {
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
}
