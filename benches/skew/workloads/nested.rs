//! Nested workloads: a tree defined by rules, walked with one task per node. How each
//! contender walks it is in `contenders/` (one file per library); this file holds the tree's
//! interface and the walks written once for several contenders: depth first on one thread;
//! the breadth-first cut into at least P subtrees that the static split and the cursor use;
//! one scope task per node (skewer and rayon `scope`); and recursive `join` over each node's
//! children split in halves (skewer and rayon `join`).

use std::collections::VecDeque;

use crate::support::measurement::tally::{self, Digest};
use crate::support::workloads::fork::{Join, TaskScope};

/// A tree node: everything about it follows from its hash.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    /// The node's hash (seeds its cost and its children).
    pub hash: u64,
    /// Distance from the root.
    pub depth: u32,
}

/// A tree defined by rules, not stored.
pub trait Tree: Sync + 'static {
    /// The root.
    fn root(&self) -> Node;
    /// How many children `n` has.
    fn num_children(&self, n: Node) -> u32;
    /// Child `i` of `n`.
    fn child(&self, n: Node, i: u32) -> Node;
    /// The node's own work; returns its result.
    fn work(&self, n: Node) -> u64;
}

/// Does the node's work, records it, and returns how many children it has.
#[inline]
pub fn visit<T: Tree>(t: &T, n: Node) -> u32 {
    tally::record(t.work(n), u64::from(n.depth));
    t.num_children(n)
}

/// Does the node's work and returns it as a digest (for walks that return their result).
#[inline]
pub fn own_digest<T: Tree>(t: &T, n: Node) -> Digest {
    Digest::one(t.work(n), u64::from(n.depth))
}

/// Walks the subtree of `root` depth first on the calling thread, with an explicit stack.
pub fn walk_sequential<T: Tree>(t: &T, root: Node) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let k = visit(t, n);
        stack.extend((0..k).rev().map(|i| t.child(n, i)));
    }
}

/// Expands the tree breadth-first from the root (doing each expanded node's work) until at
/// least `p` unexpanded subtrees remain, and returns their roots.
pub fn frontier<T: Tree>(t: &T, p: usize) -> Vec<Node> {
    let mut queue = VecDeque::from([t.root()]);
    while queue.len() < p {
        let Some(n) = queue.pop_front() else { break };
        let k = visit(t, n);
        queue.extend((0..k).map(|i| t.child(n, i)));
    }
    queue.into()
}

/// One scope task per node: the node's task does its work and spawns one task per child.
pub fn walk_spawn<'s, S: TaskScope<'s>, T: Tree>(s: &S, t: &'s T, n: Node) {
    for i in 0..visit(t, n) {
        let c = t.child(n, i);
        s.spawn_task(move |s| walk_spawn(s, t, c));
    }
}

/// The subtree of `n` with `J::join`: the node's own work, then its children split in
/// halves recursively; returns the subtree's digest.
pub fn join_node<J: Join, T: Tree>(t: &T, n: Node) -> Digest {
    own_digest(t, n).merge(join_children::<J, T>(t, n, 0, t.num_children(n)))
}

fn join_children<J: Join, T: Tree>(t: &T, n: Node, lo: u32, hi: u32) -> Digest {
    match hi - lo {
        0 => Digest::default(),
        1 => join_node::<J, T>(t, t.child(n, lo)),
        len => {
            let mid = lo + len / 2;
            let (a, b) = J::join(
                || join_children::<J, T>(t, n, lo, mid),
                || join_children::<J, T>(t, n, mid, hi),
            );
            a.merge(b)
        }
    }
}
