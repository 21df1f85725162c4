//! Heap jobs: a boxed closure, freed after it ran.

use super::header::{Header, Kind};
use super::job_ref::{JobRef, Word};
use super::unwind;

/// A boxed job for `spawn` and `Scope::spawn`: freed after it ran.
#[repr(C)]
pub(crate) struct HeapJob<F> {
    header: Header,
    func: F,
}

impl<F> HeapJob<F>
where
    F: FnOnce() + Send,
{
    /// Boxes `func` and returns the reference that owns the box. The closure must not unwind
    /// (the spawn layers wrap it in `catch_unwind`); if it does, the process aborts rather
    /// than leave a worker in an unknown state.
    ///
    /// # Safety
    /// Everything `func` borrows must outlive its execution (guaranteed by `'static` for
    /// `spawn` and by the scope's wait for `Scope::spawn`).
    pub(crate) unsafe fn into_job_ref(parent: *const Header, kind: Kind, func: F) -> JobRef {
        let job = Box::new(HeapJob {
            header: Header::new(parent, kind),
            func,
        });
        let ptr = Box::into_raw(job);
        // SAFETY: the box is leaked until `execute` reclaims it, exactly once.
        unsafe { JobRef::new(ptr as *const Header, Self::execute) }
    }

    unsafe fn execute(this: *const Header, _: Word, _: Word, _: Word) {
        let this = this.cast::<Self>().cast_mut();
        // No `Box` while the closure runs: a `Box` asserts it is the only way to the job,
        // but jobs created by the closure name this header as their parent, and a waiter
        // checking one of them reads it (Miri's Stacked Borrows caught exactly that). The
        // closure is moved out through the raw pointer instead.
        // SAFETY: `this` came from `Box::into_raw` in `into_job_ref` (the header is the
        // first field of a repr(C) struct); exactly-once execution means the closure is
        // moved out once, and the allocation is freed once, below.
        let func = unsafe { std::ptr::read(&raw const (*this).func) };
        let abort = unwind::AbortIfPanic;
        func();
        std::mem::forget(abort);
        // The closure's structured children have all finished, so nobody reads the header
        // any more: free the allocation without dropping the moved-out closure.
        // SAFETY: as above; `ManuallyDrop<Self>` has the layout of `Self`.
        drop(unsafe { Box::from_raw(this.cast::<std::mem::ManuallyDrop<Self>>()) });
    }
}
