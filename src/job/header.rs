//! The header every job and scope frame starts with, and the parent chain it forms.

/// What kind of job a header belongs to; decides the job's *anchor* (see [`Header::anchor`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A `join` half: the awaited unit is the job itself.
    Stack,
    /// An `install` body: awaited itself, like a `join` half, but run only by a worker of
    /// its pool (or a spare standing in for one), never by a guest that helps.
    Install,
    /// A boxed `Scope::spawn` job: the awaited unit is its scope.
    Scoped,
    /// A detached `spawn`: nobody waits for it.
    Detached,
    /// The frame of a scope. Also the header of the scope's inline jobs, whose awaited unit
    /// is therefore the scope itself.
    ScopeFrame,
}

/// The first field of every job, and of every scope's frame.
///
/// Invariant (the *parent chain is alive*): while a job is queued or running, every header on
/// its parent chain is alive. It holds because each parent is a job or scope that cannot
/// finish before its structured children did: a `join` waits for its second half, a scope for
/// its spawns. Detached jobs start a fresh chain (`parent` is null), since nothing waits for
/// them.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) parent: *const Header,
    pub(crate) kind: Kind,
}

impl Header {
    pub(crate) const fn new(parent: *const Header, kind: Kind) -> Self {
        Header { parent, kind }
    }

    /// The unit a waiter names when it waits for this job: a stack job is awaited itself, a
    /// scoped job through its scope. Null for detached jobs.
    pub(crate) fn anchor(this: *const Header) -> *const Header {
        // SAFETY: callers pass the header of a live job (a JobRef not yet executed, or the
        // job the current thread is executing).
        let header = unsafe { &*this };
        match header.kind {
            Kind::Stack | Kind::Install | Kind::ScopeFrame => this,
            Kind::Scoped => header.parent,
            Kind::Detached => std::ptr::null(),
        }
    }

    /// Whether `this` is `ancestor` or lies below it on the parent chain.
    ///
    /// # Safety
    /// `this` must be the header of a live job or frame; by the parent-chain invariant every
    /// header reached from it is alive too. `ancestor` is only compared, never read.
    pub(crate) unsafe fn descends_from(this: *const Header, ancestor: *const Header) -> bool {
        let mut cur = this;
        while !cur.is_null() {
            if cur == ancestor {
                return true;
            }
            // SAFETY: `cur` is on the parent chain of a live job, so it is alive (see above).
            cur = unsafe { (*cur).parent };
        }
        false
    }
}
