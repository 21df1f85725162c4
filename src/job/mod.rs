//! Type-erased jobs: the one place where closure types and lifetimes are erased.
//!
//! A [`JobRef`] is five words: a pointer to a job's [`Header`], the function that runs it,
//! and three words of inline payload. Both backends move `JobRef`s and nothing else. The
//! contract of every `JobRef`: it is executed **exactly once**, and the memory it points to
//! stays valid until then.
//!
//! Three job shapes exist:
//! - [`StackJob`]: the second half of a `join` (and the body of `install`), living in the
//!   waiting caller's frame. No allocation; the caller cannot return before the job ran,
//!   because it waits on the job's latch.
//! - [`InlineJob`]: a `spawn` or `Scope::spawn` closure of at most three words (say, a
//!   reference and a range), carried *inside* the `JobRef`: no allocation. Its header is shared:
//!   the scope's own, or a static one for detached jobs.
//! - [`HeapJob`]: a larger closure, boxed, freed after it ran.
//!
//! Every job starts with a [`Header`] whose `parent` points at the header of the job (or
//! scope) that was running when it was created. The chain of parents is what lets a waiting
//! thread tell whether a job belongs to the work it waits for (see `Header::descends_from`).
//!
//! Files: `header.rs` (the header and parent chain), `job_ref.rs`, `stack.rs`, `heap.rs`,
//! `inline.rs` (the three shapes), `fork.rs` (a stack job while it is a private fork),
//! `latch.rs`, `unwind.rs`.

pub(crate) mod fork;
pub(crate) mod header;
pub(crate) mod heap;
pub(crate) mod inline;
pub(crate) mod job_ref;
pub(crate) mod latch;
pub(crate) mod stack;
pub(crate) mod unwind;

pub(crate) use fork::Fork;
pub(crate) use header::{Header, Kind};
pub(crate) use heap::HeapJob;
pub(crate) use inline::{InlineJob, detached_header};
pub(crate) use job_ref::JobRef;
pub(crate) use stack::StackJob;
