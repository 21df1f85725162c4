//! `JobRef`: the type-erased reference to a job that both backends move.

use std::mem::MaybeUninit;

use super::header::Header;

/// The inline payload of a `JobRef`: room for a closure of three words.
pub(crate) type Payload = [MaybeUninit<usize>; 3];

/// The function that runs a job, given its header and payload.
pub(crate) type ExecuteFn = unsafe fn(*const Header, Payload);

/// A type-erased reference to a job that has not run yet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobRef {
    header: *const Header,
    execute_fn: ExecuteFn,
    payload: Payload,
}

// SAFETY: a JobRef is a pointer to a job whose closure is `Send` (enforced by the
// constructors' bounds); it is handed from thread to thread and executed by exactly one.
unsafe impl Send for JobRef {}
// SAFETY: sharing a JobRef only shares the pointer; executing it needs ownership (by value).
unsafe impl Sync for JobRef {}

impl JobRef {
    /// # Safety
    /// `header` must stay valid until `execute_fn` has been called on it, exactly once.
    pub(crate) unsafe fn new(header: *const Header, execute_fn: ExecuteFn) -> Self {
        JobRef {
            header,
            execute_fn,
            payload: [MaybeUninit::uninit(); 3],
        }
    }

    /// As `new`, with a closure stored in the payload (see `InlineJob`).
    ///
    /// # Safety
    /// As `new`; `execute_fn` must read the payload as the closure that was written there.
    pub(crate) unsafe fn with_payload(
        header: *const Header,
        execute_fn: ExecuteFn,
        payload: Payload,
    ) -> Self {
        JobRef {
            header,
            execute_fn,
            payload,
        }
    }

    pub(crate) fn header(&self) -> *const Header {
        self.header
    }

    /// Runs the job. Consumes the reference: it must not be executed again.
    ///
    /// # Safety
    /// The job must not have been executed before (the exactly-once contract).
    pub(crate) unsafe fn execute(self) {
        // SAFETY: forwarded from the caller; `new` made `header` valid until this call.
        unsafe { (self.execute_fn)(self.header, self.payload) }
    }
}
