//! sequential: one thread, no pool, the reference every speedup is measured against.

use crate::support::measurement::tally::Digest;
use crate::support::workloads::binary_tree::Node;
use crate::workloads::flat::{FlatJobs, job};
use crate::workloads::nested::{Tree, walk_sequential};

/// Every job in index order.
pub fn flat<W: FlatJobs>(w: &W) {
    (0..w.len()).for_each(|i| job(w, i));
}

/// The tree depth first.
pub fn nested<T: Tree>(t: &T) {
    walk_sequential(t, t.root());
}

/// The tree's sum by plain recursion: the join contenders' walk (`treesum::sum_join`) with
/// each `join` replaced by its two calls, left subtree first.
pub fn tree_sum(root: &Node) -> Digest {
    fn sum(n: &Node, depth: u64) -> Digest {
        let l = n
            .left
            .as_deref()
            .map(|l| sum(l, depth + 1))
            .unwrap_or_default();
        let r = n
            .right
            .as_deref()
            .map(|r| sum(r, depth + 1))
            .unwrap_or_default();
        Digest::one(n.value, depth).merge(l).merge(r)
    }
    sum(root, 0)
}
