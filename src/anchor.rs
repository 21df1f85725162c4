//! Anchors: which awaited unit a worker's own deque is working for right now.
//!
//! When a worker starts a job taken from elsewhere (stolen, injected) *with an empty
//! deque*, every job it pushes until that job ends descends from it. It announces this by
//! setting its anchor to the job's awaited unit (the job itself for a `join` half, its scope
//! for a scope job). A thread waiting for that unit may then steal from this worker and run
//! what it gets: the work it steals is work its own wait depends on (*leapfrogging*). Any
//! other worker's deque may hold unrelated jobs, which a waiter must not run (see
//! `docs/design.md`, "What a waiting thread runs").
//!
//! The slot is a seqlock: the owner bumps `seq` to odd, writes `anchor`, bumps it to even.
//! A thief reads `seq`, the anchor, steals, then reads `seq` again; an unchanged even `seq`
//! proves the stolen job was pushed during the announced period, because the owner's bump
//! (AcqRel) precedes every push of the next period and the thief's steal acquires the job.

use crate::job::Header;
use crate::sync::{AtomicUsize, Ordering, fence};

/// One worker's anchor; written only by its owner.
#[derive(Debug, Default)]
pub(crate) struct AnchorSlot {
    seq: AtomicUsize,
    anchor: AtomicUsize,
}

impl AnchorSlot {
    /// Announces `anchor` (null: none). Cheap no-op when nothing changes from "none".
    #[inline]
    pub(crate) fn set(&self, anchor: *const Header) {
        let new = anchor as usize;
        if new == 0 && self.anchor.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.seq.fetch_add(1, Ordering::AcqRel);
        self.anchor.store(new, Ordering::Relaxed);
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// The owner's current anchor (for save/restore around nested runs).
    pub(crate) fn get(&self) -> *const Header {
        self.anchor.load(Ordering::Relaxed) as *const Header
    }

    /// If the slot announces `target`, returns the period's sequence number.
    #[inline]
    pub(crate) fn matches(&self, target: *const Header) -> Option<usize> {
        let seq = self.seq.load(Ordering::Acquire);
        if seq & 1 == 1 {
            return None;
        }
        let anchor = self.anchor.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (anchor == target as usize && self.seq.load(Ordering::Relaxed) == seq).then_some(seq)
    }

    /// Whether the period `seq` is still the current one (read after a steal).
    #[inline]
    pub(crate) fn still(&self, seq: usize) -> bool {
        self.seq.load(Ordering::Acquire) == seq
    }
}
