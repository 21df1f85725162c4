//! Inline jobs: a closure of at most three words carried inside its `JobRef`.

use std::mem::{MaybeUninit, align_of, size_of};

use super::header::{Header, Kind};
use super::job_ref::{JobRef, Payload, Word};
use super::unwind;

/// A closure of at most three words, carried inside its `JobRef` (no allocation). It gets the
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
        let mut payload: Payload = [MaybeUninit::uninit(); 3];
        // SAFETY: `fits` checked size and alignment; the payload is 8-aligned.
        unsafe { std::ptr::write(payload.as_mut_ptr().cast::<F>(), func) };
        // SAFETY: the caller's promise covers `header`; `execute::<F>` reads the `F`
        // written just above.
        unsafe { JobRef::with_payload(header, Self::execute::<F>, payload) }
    }

    unsafe fn execute<F: FnOnce(*const Header)>(header: *const Header, a: Word, b: Word, c: Word) {
        let payload: Payload = [a, b, c];
        // SAFETY: `into_job_ref` wrote an `F` into these three words (`fits` checked its
        // size and alignment), and exactly-once execution means it is read (moved out) once.
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn fits_of<F>(_: &F) -> bool {
        InlineJob::fits::<F>()
    }

    #[test]
    fn a_job_copied_by_words_runs_its_closure_once_with_its_captures() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let seen = AtomicU64::new(0);
        let (seen_ref, wide, narrow) = (&seen, 7u64, 3u32);
        // Three words: a reference, a `u64`, and a `u32` whose word is half padding.
        let body = move |_: *const Header| {
            seen_ref.fetch_add(wide * 10 + u64::from(narrow), Ordering::Relaxed);
        };
        assert!(fits_of(&body));
        // SAFETY: the header is static, `seen` outlives the job, and only the copy runs.
        let job = unsafe { InlineJob::into_job_ref(detached_header(), body) };
        let copy = job.copied_by_words();
        assert_eq!(copy.header(), job.header());
        // SAFETY: the copy is executed once; the original never is.
        unsafe { copy.execute() };
        assert_eq!(seen.load(Ordering::Relaxed), 73);
    }

    #[test]
    fn closures_of_up_to_three_words_travel_inline() {
        let nodes = vec![1u8, 2, 3];
        let (tree, node) = (&nodes, (7u64, 3u32));
        // A reference and a two-word value: three words.
        let three = move |_: *const Header| {
            std::hint::black_box((tree.len(), node));
        };
        assert!(fits_of(&three));
        let extra = 5usize;
        let four = move |_: *const Header| {
            std::hint::black_box((tree, node, extra));
        };
        assert!(!fits_of(&four), "four words are boxed");
    }
}
