//! The fork-join workloads of the overhead bench: fib with one `join` per call (bare, and
//! with a little work per call), the sum of a
//! stored complete binary tree with one `join` per inner node, and a recursive halving over
//! the leaves of a probe (`halves`, for the wake-latency and end-idle tables). skewer and
//! rayon share one generic version of each (`Join`); chili's `join` takes its scope as an
//! argument, so its versions (`fib_chili`, `sum_chili`, `halves_chili`) are written out
//! beside them.

use std::hint::black_box;

use skewer::Pool;

use crate::support::workloads::binary_tree::{self, Node};
use crate::support::workloads::fork::{Join, SkewerJoin};
use crate::support::workloads::rng::mix;
use crate::support::workloads::spin::spin;

/// fib's argument in every fib row.
pub const FIB_N: u64 = 30;
/// fib(FIB_N).
pub const FIB_EXPECTED: u64 = 832_040;
/// Levels of the large tree: 8,388,607 nodes.
pub const BIG_TREE_LEVELS: u32 = 23;
/// Levels of the small tree: 1023 nodes.
pub const SMALL_TREE_LEVELS: u32 = 10;

/// Plain recursion.
pub fn fib_seq(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

/// Plain recursion with one real call per node: `black_box` on the results keeps LLVM from
/// turning the second recursive call into a loop (which it does to `fib_seq`, halving the
/// calls). Reported as an extra baseline, not used for the ratios.
pub fn fib_calls(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    black_box(fib_calls(n - 1)) + black_box(fib_calls(n - 2))
}

/// One `J::join` per call, no cutoff.
pub fn fib<J: Join>(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = J::join(|| fib::<J>(n - 1), || fib::<J>(n - 2));
    a + b
}

/// One chili `join` per call, no cutoff.
pub fn fib_chili(s: &mut chili::Scope<'_>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = s.join(|s| fib_chili(s, n - 1), |s| fib_chili(s, n - 2));
    a + b
}

/// fib's argument in the rows with a little work per call.
pub const FIB_WORK_N: u64 = 25;
/// The work each call of `fib_work` does: this many dependent splitmix steps (a few tens of
/// nanoseconds), whose result joins the call's return value.
pub const FIB_WORK_STEPS: u64 = 8;

/// A call's own work in the `fib_work` rows.
fn call_work(n: u64) -> u64 {
    spin(FIB_WORK_STEPS, n)
}

/// fib with a little work per call, by plain recursion: each call adds its own work's
/// result to its children's.
pub fn fib_work_seq(n: u64) -> u64 {
    let own = call_work(n);
    if n < 2 {
        return own.wrapping_add(n);
    }
    own.wrapping_add(fib_work_seq(n - 1))
        .wrapping_add(fib_work_seq(n - 2))
}

/// `fib_work_seq` with one `J::join` per call, no cutoff.
pub fn fib_work<J: Join>(n: u64) -> u64 {
    let own = call_work(n);
    if n < 2 {
        return own.wrapping_add(n);
    }
    let (a, b) = J::join(|| fib_work::<J>(n - 1), || fib_work::<J>(n - 2));
    own.wrapping_add(a).wrapping_add(b)
}

/// `fib_work_seq` with one chili `join` per call, no cutoff.
pub fn fib_work_chili(s: &mut chili::Scope<'_>, n: u64) -> u64 {
    let own = call_work(n);
    if n < 2 {
        return own.wrapping_add(n);
    }
    let (a, b) = s.join(|s| fib_work_chili(s, n - 1), |s| fib_work_chili(s, n - 2));
    own.wrapping_add(a).wrapping_add(b)
}

/// A complete binary tree of `levels` levels whose values are `mix(1), mix(2), ...` shifted
/// right by 20 bits (so that the sum never wraps), in preorder.
pub fn tree(levels: u32) -> Box<Node> {
    let mut next = 0u64;
    let root = Node::complete(levels, &mut || {
        next += 1;
        mix(next) >> 20
    });
    assert_eq!(next, binary_tree::nodes(levels));
    root
}

/// The tree's sum by plain recursion.
pub fn sum_seq(node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => node.value + sum_seq(l) + sum_seq(r),
        (Some(c), None) | (None, Some(c)) => node.value + sum_seq(c),
        (None, None) => node.value,
    }
}

/// The tree's sum by plain recursion with both recursive calls kept as calls: `black_box` on
/// the left subtree's sum keeps LLVM from turning the right call into a loop, which it does
/// to `sum_seq` (an accumulator carried down the right spine). The two forms read the tree
/// in the same order but do not run at the same speed, and the summary takes its ratios
/// against the faster (`summary.rs`): on the project's AMD EPYC VM the loop ran 1.4-2x
/// slower on the 8M-node tree, by build, and faster on the 1023-node one (`docs/benchmarks.md`,
/// "The tree sum's sequential baseline").
pub fn sum_calls(node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let a = black_box(sum_calls(l));
            node.value + a + sum_calls(r)
        }
        (Some(c), None) | (None, Some(c)) => node.value + sum_calls(c),
        (None, None) => node.value,
    }
}

/// One `J::join` per inner node.
pub fn sum<J: Join>(node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let (a, b) = J::join(|| sum::<J>(l), || sum::<J>(r));
            node.value + a + b
        }
        (Some(c), None) | (None, Some(c)) => node.value + sum::<J>(c),
        (None, None) => node.value,
    }
}

/// One chili `join` per inner node, the left subtree first like every other contender.
///
/// chili's `join(a, b)` runs `b` on the calling thread first, then `a` (unless `a` was
/// shared with another thread): the right child goes in `a`'s place so that the walk reads
/// the tree in the same order as `sum_seq`, `skewer::join` and `rayon::join`, and the right
/// subtree is the one offered to other threads, as it is with theirs. The order is not a
/// detail: the tree is allocated children before parent (`Node::complete`), so a walk that
/// takes the right child first reads memory as one descending stream: on the 8M-node tree
/// chili's right-first walk ran 7-8x faster than its left-first walk, on one thread and with
/// the same instructions per node.
pub fn sum_chili(s: &mut chili::Scope<'_>, node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let (b, a) = s.join(|s| sum_chili(s, r), |s| sum_chili(s, l));
            node.value + a + b
        }
        (Some(c), None) | (None, Some(c)) => node.value + sum_chili(s, c),
        (None, None) => node.value,
    }
}

/// The root split with `pool.join` from outside the pool, `skewer::join` below.
pub fn sum_skewer_outside(pool: &Pool, node: &Node) -> u64 {
    match (&node.left, &node.right) {
        (Some(l), Some(r)) => {
            let (a, b) = pool.join(|| sum::<SkewerJoin>(l), || sum::<SkewerJoin>(r));
            node.value + a + b
        }
        _ => sum_seq(node),
    }
}

/// Leaves a halving runs by index: each returns a value, and the halving sums them.
pub trait Leaves: Sync {
    /// Runs leaf `i`.
    fn leaf(&self, i: usize) -> u64;
}

/// Leaves `lo..hi` of `l` by recursive halving with `J::join`, one leaf per call.
pub fn halves<J: Join, L: Leaves>(l: &L, lo: usize, hi: usize) -> u64 {
    if hi - lo == 1 {
        return l.leaf(lo);
    }
    let mid = lo + (hi - lo) / 2;
    let (a, b) = J::join(|| halves::<J, L>(l, lo, mid), || halves::<J, L>(l, mid, hi));
    a.wrapping_add(b)
}

/// `halves` with chili's `join`.
pub fn halves_chili<L: Leaves>(s: &mut chili::Scope<'_>, l: &L, lo: usize, hi: usize) -> u64 {
    if hi - lo == 1 {
        return l.leaf(lo);
    }
    let mid = lo + (hi - lo) / 2;
    let (a, b) = s.join(
        |s| halves_chili(s, l, lo, mid),
        |s| halves_chili(s, l, mid, hi),
    );
    a.wrapping_add(b)
}
