//! Type-erased jobs: the one place where closure types and lifetimes are erased.
//!
//! A [`JobRef`] is four words: a pointer to a job's [`Header`], the function that runs it,
//! and two words of inline payload. Both backends move `JobRef`s and nothing else. The
//! contract of every `JobRef`: it is executed **exactly once**, and the memory it points to
//! stays valid until then.
//!
//! Three job shapes exist:
//! - [`StackJob`]: the second half of a `join` (and the body of `install`), living in the
//!   waiting caller's frame. No allocation; the caller cannot return before the job ran,
//!   because it waits on the job's latch.
//! - [`InlineJob`]: a `spawn` or `Scope::spawn` closure of at most two words (say, an index
//!   and a reference), carried *inside* the `JobRef`: no allocation. Its header is shared:
//!   the scope's own, or a static one for detached jobs.
//! - [`HeapJob`]: a larger closure, boxed, freed after it ran.
//!
//! Every job starts with a [`Header`] whose `parent` points at the header of the job (or
//! scope) that was running when it was created. The chain of parents is what lets a waiting
//! thread tell whether a job belongs to the work it waits for (see `Header::descends_from`).

use std::any::Any;
use std::cell::UnsafeCell;
use std::mem::{MaybeUninit, align_of, size_of};
use std::panic::{self, AssertUnwindSafe};

pub(crate) mod fork;
pub(crate) mod latch;
pub(crate) mod unwind;

pub(crate) use fork::Fork;
use latch::Latch;

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

/// The inline payload of a `JobRef`: room for a closure of two words.
pub(crate) type Payload = [MaybeUninit<usize>; 2];

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
            payload: [MaybeUninit::uninit(); 2],
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
    pub(crate) unsafe fn execute(this: *const Header, _: Payload) {
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

    unsafe fn execute(this: *const Header, _: Payload) {
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

/// A closure of at most two words, carried inside its `JobRef` (no allocation). It gets the
/// job's header, which for a scope's jobs is the scope's own.
pub(crate) struct InlineJob;

impl InlineJob {
    /// Whether a closure of type `F` fits in a `JobRef`'s payload.
    pub(crate) const fn fits<F>() -> bool {
        size_of::<F>() <= size_of::<Payload>() && align_of::<F>() <= align_of::<Payload>()
    }

    /// Stores `func` in a `JobRef`. `func` must not unwind (as for `HeapJob`).
    ///
    /// # Safety
    /// `header` must stay valid until the job ran, and everything `func` borrows must
    /// outlive its execution. The returned reference must be executed exactly once (a
    /// copy of it carries the same closure: only one copy may run).
    pub(crate) unsafe fn into_job_ref<F>(header: *const Header, func: F) -> JobRef
    where
        F: FnOnce(*const Header) + Send,
    {
        assert!(Self::fits::<F>(), "closure too large for an inline job");
        let mut payload: Payload = [MaybeUninit::uninit(); 2];
        // SAFETY: `fits` checked size and alignment; the payload is 8-aligned.
        unsafe { std::ptr::write(payload.as_mut_ptr().cast::<F>(), func) };
        JobRef {
            header,
            execute_fn: Self::execute::<F>,
            payload,
        }
    }

    unsafe fn execute<F: FnOnce(*const Header)>(header: *const Header, payload: Payload) {
        // SAFETY: `into_job_ref` wrote an `F` here, and exactly-once execution means it is
        // read (moved out) once.
        let func = unsafe { std::ptr::read(payload.as_ptr().cast::<F>()) };
        let abort = unwind::AbortIfPanic;
        func(header);
        std::mem::forget(abort);
    }
}

/// The header of inline detached jobs: no parent, awaited by nobody.
struct StaticHeader(Header);
// SAFETY: the header is immutable and its parent pointer is null.
unsafe impl Sync for StaticHeader {}
static DETACHED: StaticHeader = StaticHeader(Header::new(std::ptr::null(), Kind::Detached));

/// The shared header of inline detached jobs.
pub(crate) fn detached_header() -> *const Header {
    &DETACHED.0
}
