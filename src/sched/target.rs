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
