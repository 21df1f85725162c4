//! A fork: the second half of a `join`, as the thread that forked it keeps it while it is
//! private (see `sched/context/forks.rs`).

use super::header::Header;
use super::job_ref::{ExecuteFn, JobRef};

/// A stack job's header and execute function (no payload), and whether it was published
/// (bit 0 of the pointer's address; headers are 8-aligned). The tag lives in the pointer
/// itself (`map_addr`), so the pointer keeps its provenance: no integer casts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fork {
    tagged: *const Header,
    execute_fn: ExecuteFn,
}

const PUBLISHED: usize = 1;

impl Fork {
    /// # Safety
    /// As `JobRef::new`.
    pub(crate) unsafe fn new(header: *const Header, execute_fn: ExecuteFn) -> Self {
        debug_assert!(header.addr().is_multiple_of(2));
        Fork {
            tagged: header,
            execute_fn,
        }
    }

    /// The fork's header, without the tag.
    pub(crate) fn header(self) -> *const Header {
        self.tagged.map_addr(|addr| addr & !PUBLISHED)
    }

    /// Whether the fork was handed to the pool (its `join` must then wait for it).
    pub(crate) fn is_published(self) -> bool {
        self.tagged.addr() & PUBLISHED != 0
    }

    /// Marks the fork published and returns it as a job for a queue.
    ///
    /// # Safety
    /// The fork's header must stay valid until the job ran (its joiner waits for it), and
    /// the job must be executed at most once: a fork is published at most once, which the
    /// mark ensures for a caller that checks `is_published` first.
    pub(crate) unsafe fn publish(&mut self) -> JobRef {
        debug_assert!(!self.is_published());
        self.tagged = self.tagged.map_addr(|addr| addr | PUBLISHED);
        // SAFETY: forwarded to the caller's promise.
        unsafe { JobRef::new(self.header(), self.execute_fn) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::header::Kind;
    use crate::job::job_ref::Word;

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("a test fork is never executed");
    }

    #[test]
    fn the_tag_keeps_the_header_and_marks_publication() {
        let header = Header::new(std::ptr::null(), Kind::Stack);
        // SAFETY: the job is never executed; the header outlives the fork.
        let mut fork = unsafe { Fork::new(&header, never) };
        assert!(!fork.is_published());
        assert!(std::ptr::eq(fork.header(), &header));
        // SAFETY: as above.
        let job = unsafe { fork.publish() };
        assert!(fork.is_published());
        assert!(std::ptr::eq(fork.header(), &header));
        assert!(std::ptr::eq(job.header(), &header));
    }
}
