//! Loom models of the fan-out protocols: the cancel token tree (a cancel racing
//! `child_token` and the drop of a child) and the first-error hand-off of an error group.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib loom_`.
//! The token's flag, mutex and condvar come from loom through `sync.rs`, so a child that
//! misses its parent's cancel, or a waiter that misses the wake-up, shows up as a failed
//! assertion or a deadlock that loom reports.

use loom::thread;

use crate::fanout::cancel::CancelToken;
use crate::fanout::first_error::FirstError;
use crate::sync::Arc;

/// A child created while its parent is being cancelled ends up cancelled, whichever wins;
/// dropping another child at the same time neither loses the cancel nor breaks the list.
#[test]
fn loom_cancel_races_child_token_and_drop() {
    loom::model(|| {
        let root = CancelToken::new();
        let doomed = root.child_token();
        let canceller = {
            let root = root.clone();
            thread::spawn(move || root.cancel())
        };
        let maker = {
            let root = root.clone();
            thread::spawn(move || {
                let child = root.child_token();
                let grandchild = child.child_token();
                (child, grandchild)
            })
        };
        let dropper = thread::spawn(move || drop(doomed));
        canceller.join().unwrap();
        let (child, grandchild) = maker.join().unwrap();
        dropper.join().unwrap();
        assert!(root.is_cancelled());
        assert!(
            child.is_cancelled(),
            "a child made during the cancel is cancelled"
        );
        assert!(grandchild.is_cancelled());
    });
}

/// A waiter blocked in `wait` is woken by a cancel of its parent on another thread.
#[test]
fn loom_wait_wakes_on_a_parents_cancel() {
    loom::model(|| {
        let root = CancelToken::new();
        let child = root.child_token();
        let canceller = thread::spawn(move || root.cancel());
        child.wait();
        assert!(child.is_cancelled());
        canceller.join().unwrap();
    });
}

/// Two jobs fail at once while a third is about to start: exactly one error is kept, the
/// token is cancelled, and a job that saw the token cancelled also finds the error stored
/// (the hand-off publishes the error before the cancel).
#[test]
fn loom_first_error_hand_off() {
    loom::model(|| {
        let group = Arc::new(FirstError::<u8>::new(CancelToken::new(), false));
        let failers: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|e| {
                let group = group.clone();
                thread::spawn(move || group.fail(e))
            })
            .collect();
        let starter = {
            let group = group.clone();
            thread::spawn(move || {
                if group.token.is_cancelled() {
                    assert!(group.has_error(), "cancelled before the error was visible");
                    false
                } else {
                    true
                }
            })
        };
        for f in failers {
            f.join().unwrap();
        }
        let _ran = starter.join().unwrap();
        assert!(group.token.is_cancelled());
        let errors = group.take_errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0] == 1 || errors[0] == 2);
    });
}
