//! static-rr and cursor: P threads and no queue. The static split gives thread i the jobs
//! (or subtrees) i, i+P, ...; the cursor hands out the next chunk of jobs (or the next
//! subtree) from a shared atomic counter. Trees are first cut breadth-first into at least P
//! subtrees (the obvious way to cut a tree without a scheduler), each then walked depth first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::peers::gang::Gang;
use crate::workloads::flat::{FlatJobs, job};
use crate::workloads::nested::{Tree, frontier, walk_sequential};

/// The cursor hands out about this many chunks per thread: small enough to balance skew,
/// large enough that the shared counter is touched rarely.
const CURSOR_CHUNKS_PER_THREAD: usize = 256;

/// Thread i runs jobs i, i+P, ...
pub fn flat_static<W: FlatJobs>(gang: &Gang, w: &'static W) {
    let (n, p) = (w.len(), gang.threads());
    gang.run(Arc::new(move |t| (t..n).step_by(p).for_each(|i| job(w, i))));
}

/// Each thread takes the next chunk of indices from a shared cursor until none is left.
pub fn flat_cursor<W: FlatJobs>(gang: &Gang, w: &'static W) {
    let n = w.len();
    let chunk = n.div_ceil(gang.threads() * CURSOR_CHUNKS_PER_THREAD).max(1);
    let cursor = Arc::new(AtomicUsize::new(0));
    gang.run(Arc::new(move |_| {
        loop {
            let start = cursor.fetch_add(chunk, Ordering::Relaxed);
            if start >= n {
                break;
            }
            (start..(start + chunk).min(n)).for_each(|i| job(w, i));
        }
    }));
}

/// Thread i walks subtrees i, i+P, ... of the cut.
pub fn nested_static<T: Tree>(gang: &Gang, t: &'static T) {
    let p = gang.threads();
    let roots = Arc::new(frontier(t, p));
    gang.run(Arc::new(move |i| {
        roots
            .iter()
            .skip(i)
            .step_by(p)
            .for_each(|&r| walk_sequential(t, r))
    }));
}

/// Each thread takes the next subtree of the cut from a shared cursor.
pub fn nested_cursor<T: Tree>(gang: &Gang, t: &'static T) {
    let roots = Arc::new(frontier(t, gang.threads()));
    let cursor = Arc::new(AtomicUsize::new(0));
    gang.run(Arc::new(move |_| {
        while let Some(&r) = roots.get(cursor.fetch_add(1, Ordering::Relaxed)) {
            walk_sequential(t, r);
        }
    }));
}
