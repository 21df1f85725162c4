//! chili-join: chili's `Scope::join` (heartbeat scheduling, the Rust port of Spice), on a
//! chili pool of P threads: P - 1 workers plus the bench thread, which enters through
//! `scope()` and runs the root of the fork tree. Flat workloads are split by recursive
//! halving down to single jobs; trees are walked with each node's children split in halves;
//! tree-sum joins once per node.

use chili::{Scope, ThreadPool};

use crate::support::measurement::tally::Digest;
use crate::support::workloads::binary_tree::Node;
use crate::workloads::flat::{FlatJobs, job};
use crate::workloads::nested::{Node as TreeNode, Tree, own_digest};

fn halves<W: FlatJobs>(s: &mut Scope<'_>, w: &W, lo: usize, hi: usize) {
    match hi - lo {
        0 => {}
        1 => job(w, lo),
        len => {
            let mid = lo + len / 2;
            s.join(|s| halves(s, w, lo, mid), |s| halves(s, w, mid, hi));
        }
    }
}

/// Every job of `w`, by recursive halving with `join`.
pub fn flat_join<W: FlatJobs>(pool: &ThreadPool, w: &'static W) {
    halves(&mut pool.scope(), w, 0, w.len());
}

fn join_node<T: Tree>(s: &mut Scope<'_>, t: &T, n: TreeNode) -> Digest {
    own_digest(t, n).merge(join_children(s, t, n, 0, t.num_children(n)))
}

fn join_children<T: Tree>(s: &mut Scope<'_>, t: &T, n: TreeNode, lo: u32, hi: u32) -> Digest {
    match hi - lo {
        0 => Digest::default(),
        1 => join_node(s, t, t.child(n, lo)),
        len => {
            let mid = lo + len / 2;
            let (a, b) = s.join(
                |s| join_children(s, t, n, lo, mid),
                |s| join_children(s, t, n, mid, hi),
            );
            a.merge(b)
        }
    }
}

/// A node's children split in halves with recursive `join`.
pub fn nested_join<T: Tree>(pool: &ThreadPool, t: &'static T) -> Digest {
    join_node(&mut pool.scope(), t, t.root())
}

// chili's `join(a, b)` runs `b` on the calling thread first, then `a` (unless `a` was shared
// with another thread), so the right child goes in `a`'s place: the walk reads the tree left
// subtree first, like the sequential walk and `sum_join` under skewer and rayon, and the
// right subtree is the one offered to other threads. With the children the other way round
// chili would walk the right child first, which on this tree (allocated children before parent,
// `Node::complete`) reads memory as one descending stream: on an 8M-node tree, 7-8x faster on
// one thread than the left-first walk, with the same instructions per node.
fn sum(s: &mut Scope<'_>, n: &Node, depth: u64) -> Digest {
    let (r, l) = s.join(
        |s| {
            n.right
                .as_deref()
                .map(|r| sum(s, r, depth + 1))
                .unwrap_or_default()
        },
        |s| {
            n.left
                .as_deref()
                .map(|l| sum(s, l, depth + 1))
                .unwrap_or_default()
        },
    );
    Digest::one(n.value, depth).merge(l).merge(r)
}

/// One `join` per node, left subtree first.
pub fn tree_sum_join(pool: &ThreadPool, root: &'static Node) -> Digest {
    sum(&mut pool.scope(), root, 0)
}
