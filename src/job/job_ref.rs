//! `JobRef`: the type-erased reference to a job that both backends move.

use std::mem::MaybeUninit;

use super::header::Header;

/// One word of a `JobRef`'s inline payload.
pub(crate) type Word = MaybeUninit<usize>;

/// The inline payload of a `JobRef`: room for a closure of three words.
pub(crate) type Payload = [Word; 3];

/// The function that runs a job, given its header and its payload's three words. They
/// travel as three arguments, in registers: an array argument of three words is passed
/// through memory, one more copy between the queue and the closure.
pub(crate) type ExecuteFn = unsafe fn(*const Header, Word, Word, Word);

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

    /// A copy of `*self` made of five word-sized loads, which the compiler may not merge.
    ///
    /// For a `JobRef` just written with one store per word (crossbeam-deque's `pop` returns
    /// its job that way). On x86-64 the compiler copies five words sixteen bytes at a time,
    /// and a load that spans two stores still in flight cannot take its bytes from them: it
    /// waits until they have reached the cache. On a worker's path from its pop to the
    /// job's call, such copies most likely held back the start of every job run right
    /// after its push (`docs/work-stealing.md`, "The scope walk's gap was a copy").
    #[inline(always)]
    pub(crate) fn copied_by_words(&self) -> JobRef {
        // SAFETY: each read is of a field of `*self`, valid and aligned; a payload word may
        // hold uninitialized bytes, which a `MaybeUninit<usize>` may hold. Volatile only
        // keeps the five loads apart.
        unsafe {
            JobRef {
                header: std::ptr::read_volatile(&self.header),
                execute_fn: std::ptr::read_volatile(&self.execute_fn),
                payload: [
                    std::ptr::read_volatile(&self.payload[0]),
                    std::ptr::read_volatile(&self.payload[1]),
                    std::ptr::read_volatile(&self.payload[2]),
                ],
            }
        }
    }

    /// Runs the job, its payload as three word arguments (see [`ExecuteFn`]). Consumes the
    /// reference: it must not be executed again.
    ///
    /// # Safety
    /// The job must not have been executed before (the exactly-once contract).
    #[inline(always)]
    pub(crate) unsafe fn execute(self) {
        let [a, b, c] = self.payload;
        // SAFETY: forwarded from the caller; `new` made `header` valid until this call.
        unsafe { (self.execute_fn)(self.header, a, b, c) }
    }
}
