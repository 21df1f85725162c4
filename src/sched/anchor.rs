//! Anchors: which awaited unit a worker's own deque is working for right now.
//!
//! A worker announces an anchor only while it is an ancestor of every job in its deque and
//! of every job it will push until the announcement ends: the awaited unit of the job it
//! runs (the job itself for a `join` half, its scope for a scope job). That holds
//! - for a job taken from elsewhere (stolen, injected) *with an empty deque*: everything
//!   pushed until it ends descends from it (`Worker::run_root`);
//! - for a job whose batch steal brought more jobs along, when each of them descends from
//!   the first one's anchor too (checked by `Worker::batch_anchor`);
//! - in the worker's main loop, for each job it pops from its own deque while the deque's
//!   anchor holds: those jobs, and what they push, descend from it (`sched/worker.rs`).
//!
//! A thread waiting for that unit may then steal from this worker and run what it gets:
//! the work it steals is work its own wait depends on (*leapfrogging*). Any other worker's
//! deque may hold unrelated jobs, which a waiter must not run (see `docs/design.md`, "What
//! a waiting thread runs").
//!
//! The slot is a seqlock: the owner bumps `seq` to odd, writes `anchor`, bumps it to even.
//! A thief reads `seq`, the anchor, steals, then reads `seq` again; an unchanged even `seq`
//! proves the stolen job was in the deque during the announced period, when every job
//! there descended from the anchor.
//!
//! # Memory ordering (the seqlock the memory model supports)
//! - **Writer** (the slot's owner, its only writer, so a plain load and store bump `seq`
//!   exactly as an RMW would): `seq += 1` (odd), then a **release fence**, then the relaxed
//!   `anchor` store, then `seq += 1` (even) with a release store. The fence is what orders the odd bump
//!   before the anchor store *for a reader*: a release RMW orders what comes before it, not
//!   what follows, so without the fence a reader could see the new anchor together with the
//!   old, even sequence and take an unrelated job for its own.
//! - **Reader**: `seq` with acquire, the relaxed `anchor` load, an **acquire fence**, `seq`
//!   again. If the anchor load read the new value, the reader's acquire fence synchronizes
//!   with the writer's release fence, so the second `seq` load sees at least the odd value
//!   and the read is rejected.
//! - **After a steal**: the owner's closing bump (release) is sequenced before every push of
//!   the next period, and the steal acquires the job it takes, so a job pushed after the
//!   period ended makes the thief's later acquire load of `seq` see the change.

use crate::job::Header;
use crate::sync::{AtomicPtr, AtomicUsize, Ordering, fence};

/// One worker's anchor; written only by its owner.
#[derive(Debug)]
pub(crate) struct AnchorSlot {
    seq: AtomicUsize,
    anchor: AtomicPtr<Header>,
}

impl Default for AnchorSlot {
    fn default() -> Self {
        AnchorSlot {
            seq: AtomicUsize::new(0),
            anchor: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

impl AnchorSlot {
    /// Announces `anchor` (null: none). Cheap no-op when nothing changes from "none".
    #[inline]
    pub(crate) fn set(&self, anchor: *const Header) {
        let new = anchor.cast_mut();
        if new.is_null() && self.anchor.load(Ordering::Relaxed).is_null() {
            return;
        }
        // The owner is the only writer of `seq`: a load and a store bump it as an RMW
        // would, without a locked instruction (two per announcement, four per root job).
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.anchor.store(new, Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The owner's current anchor (for save/restore around nested runs).
    pub(crate) fn get(&self) -> *const Header {
        self.anchor.load(Ordering::Relaxed)
    }

    /// If the slot announces `target`, returns the period's sequence number. The anchor is
    /// only compared, never dereferenced.
    #[inline]
    pub(crate) fn matches(&self, target: *const Header) -> Option<usize> {
        let seq = self.seq.load(Ordering::Acquire);
        if seq & 1 == 1 {
            return None;
        }
        let anchor = self.anchor.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (std::ptr::eq(anchor, target) && self.seq.load(Ordering::Relaxed) == seq).then_some(seq)
    }

    /// Whether the period `seq` is still the current one (read after a steal).
    #[inline]
    pub(crate) fn still(&self, seq: usize) -> bool {
        self.seq.load(Ordering::Acquire) == seq
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::job::Kind;

    #[test]
    fn a_period_matches_its_anchor_until_the_next_announcement() {
        let a = Header::new(std::ptr::null(), Kind::Stack);
        let b = Header::new(std::ptr::null(), Kind::Stack);
        let slot = AnchorSlot::default();
        assert_eq!(slot.matches(&a), None);
        slot.set(&a);
        let seq = slot.matches(&a).expect("announced");
        assert_eq!(slot.matches(&b), None);
        assert!(slot.still(seq));
        slot.set(&b);
        assert!(
            !slot.still(seq),
            "a new period invalidates what was stolen in the old"
        );
        assert!(slot.matches(&b).is_some());
        slot.set(std::ptr::null());
        assert_eq!(slot.matches(&b), None);
        // Clearing an empty slot is free: the period does not change.
        let quiet = slot.seq.load(Ordering::Relaxed);
        slot.set(std::ptr::null());
        assert_eq!(slot.seq.load(Ordering::Relaxed), quiet);
    }

    #[test]
    fn a_reader_that_sees_an_unchanged_period_read_the_announced_anchor() {
        // Two anchors announced in turn; a reader that matched `a` and then finds the
        // period unchanged must have read the slot while it held `a`.
        struct Shared {
            slot: AnchorSlot,
            a: Header,
            b: Header,
        }
        // SAFETY: the headers are never written, and the slot's pointers name them and are
        // only compared.
        unsafe impl Sync for Shared {}
        let shared = Shared {
            slot: AnchorSlot::default(),
            a: Header::new(std::ptr::null(), Kind::Stack),
            b: Header::new(std::ptr::null(), Kind::Stack),
        };
        let shared = &shared;
        let (slot, a) = (&shared.slot, &shared.a);
        let stop = &crate::sync::AtomicBool::new(false);
        let target = if cfg!(miri) { 3 } else { 10_000 };
        std::thread::scope(|s| {
            s.spawn(move || {
                let sh: &Shared = shared;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    sh.slot.set(if i.is_multiple_of(2) { &sh.a } else { &sh.b });
                    i += 1;
                }
            });
            let started = std::time::Instant::now();
            let mut confirmed = 0u64;
            while confirmed < target && started.elapsed() < std::time::Duration::from_secs(20) {
                if let Some(seq) = slot.matches(a) {
                    let seen = slot.get();
                    fence(Ordering::Acquire);
                    if slot.still(seq) {
                        assert!(
                            std::ptr::eq(seen, a),
                            "an unchanged period read another anchor"
                        );
                        confirmed += 1;
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
            assert!(confirmed > 0, "the reader never matched a period in 20 s");
        });
    }
}
