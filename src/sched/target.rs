//! What a waiting thread waits for, and what one search on its behalf did.

use crate::job::Header;

/// What a wait waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    /// The awaited unit: a stack job or a scope frame.
    pub(crate) header: *const Header,
    /// Whether the waiter may run the awaited job itself. Not for `install`: its body runs
    /// on a worker of its pool, so a waiter that has a guest context of that pool must
    /// leave it there (it still helps with the work the body creates).
    pub(crate) may_run_itself: bool,
}

impl Target {
    /// A `join` half or a scope: the waiter may run it and everything below it.
    pub(crate) fn unit(header: *const Header) -> Self {
        Target {
            header,
            may_run_itself: true,
        }
    }

    /// An `install` body: the waiter may run what descends from it, not the body itself.
    pub(crate) fn install(header: *const Header) -> Self {
        Target {
            header,
            may_run_itself: false,
        }
    }
}

/// What a waiter's look below the top of its own deque did (`search::dig_own`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dug {
    /// It found a job of the target and ran it.
    Ran,
    /// No job of the target is in the deque.
    Nothing,
    /// None within the jobs it looks through, and the deque holds more: one may lie
    /// below. The waiter's pool then counts it as a blocked worker (`spare.rs`).
    Hidden,
}

/// What one search of a pool's queues did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Helped {
    /// It found a job of the target and ran it.
    Ran,
    /// Nothing found, but a worker of the pool is anchored at the target (its next fork is
    /// worth spinning for).
    Anchored,
    /// Nothing found.
    Nothing,
}
