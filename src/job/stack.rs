//! Stack jobs: `join`'s second half and `install`'s body, living in the waiter's frame.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};

use super::fork::Fork;
use super::header::{Header, Kind};
use super::job_ref::{JobRef, Word};
use super::latch::Latch;
use super::unwind;

/// The outcome of a job whose caller wants a value back.
#[derive(Debug)]
pub(crate) enum JobResult<T> {
    None,
    Ok(T),
    Panic(Box<dyn Any + Send>),
}

impl<T> JobResult<T> {
    /// Returns the value, or re-raises the job's panic in the caller.
    pub(crate) fn into_return_value(self) -> T {
        match self {
            JobResult::Ok(value) => value,
            JobResult::Panic(payload) => unwind::resume(payload),
            JobResult::None => unreachable!("job result read before the job completed"),
        }
    }
}

/// A job that lives in its waiter's stack frame (`join`'s second half, `install`'s body).
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    header: Header,
    pub(crate) latch: Latch,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    pub(crate) fn new(parent: *const Header, func: F) -> Self {
        Self::with_kind(parent, Kind::Stack, func)
    }

    /// An `install` body (see [`Kind::Install`]).
    pub(crate) fn install(parent: *const Header, func: F) -> Self {
        Self::with_kind(parent, Kind::Install, func)
    }

    fn with_kind(parent: *const Header, kind: Kind, func: F) -> Self {
        StackJob {
            header: Header::new(parent, kind),
            latch: Latch::new(),
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// The job's header pointer. It is derived from the whole job, not from the `header`
    /// field alone, so `execute` may turn it back into a pointer to the whole `StackJob`
    /// (a pointer made from `&self.header` would only cover the header's 16 bytes).
    pub(crate) fn header(&self) -> *const Header {
        (self as *const Self).cast::<Header>()
    }

    /// # Safety
    /// The caller must keep `self` in place and alive until the job has been executed
    /// (it waits on `self.latch`) and must execute the returned reference at most once.
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: forwarded to the caller's promise above.
        unsafe { JobRef::new(self.header(), Self::execute) }
    }

    /// The job as a private fork (see `sched/context/forks.rs`).
    ///
    /// # Safety
    /// As `as_job_ref`.
    pub(crate) unsafe fn as_fork(&self) -> Fork {
        // SAFETY: forwarded to the caller's promise.
        unsafe { Fork::new(self.header(), Self::execute) }
    }

    /// Runs the closure on the current thread, without going through the latch. For the
    /// owner that took its own job back before anyone else saw it.
    ///
    /// # Safety
    /// The job must not have been executed, and must not be reachable by another thread.
    pub(crate) unsafe fn run_inline(&self) -> R {
        // SAFETY: exclusive access per the caller's promise.
        let func = unsafe { (*self.func.get()).take() }.expect("stack job run twice");
        func()
    }

    /// The execute function behind the `JobRef`.
    pub(crate) unsafe fn execute(this: *const Header, _: Word, _: Word, _: Word) {
        let this = this.cast::<Self>();
        // SAFETY: `this` points at a live `StackJob<F, R>`: `header()` derived it from the
        // whole job (the header is the first field of a `repr(C)` struct). Exactly-once
        // execution gives us exclusive access to the closure and the result slot until the
        // latch is set. No reference to the job is created: the waiter may free it as soon
        // as the latch is set, and a reference (an argument, say) must not outlive that.
        let func = unsafe { (*(*this).func.get()).take() }.expect("stack job run twice");
        let result = match panic::catch_unwind(AssertUnwindSafe(func)) {
            Ok(value) => JobResult::Ok(value),
            Err(payload) => JobResult::Panic(payload),
        };
        // SAFETY: nobody reads the result before the latch is set below.
        unsafe { *(*this).result.get() = result };
        // SAFETY: the job stays alive until the waiter observes the latch; `set` touches the
        // latch for the last time before the waiter may free it.
        unsafe { Latch::set(&raw const (*this).latch) };
    }

    /// Takes the result after the latch was observed set (or after `run_inline`).
    pub(crate) fn into_result(self) -> JobResult<R> {
        self.result.into_inner()
    }
}
