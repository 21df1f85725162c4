//! Nested workloads: a tree walked with one task per node, and how each contender walks it.
//!
//! - sequential: depth-first with an explicit stack;
//! - skewer and rayon `scope`: each node's task spawns one task per child;
//! - the two channel peers: each node's job submits one job per child into the channel;
//! - `join` (skewer and rayon): a node's children are split in halves with recursive `join`;
//! - static split and cursor: the bench thread expands the tree breadth-first until there
//!   are at least P subtrees (the obvious way to cut a tree without a scheduler); then
//!   thread i walks subtrees i, i+P, ... (static) or takes the next one from a shared
//!   cursor, each depth-first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::contenders::{Contender, Engine};
use super::peer_channel::ChannelHandle;
use super::peer_mutex::MutexHandle;
use super::tally::{self, Digest};
use super::workload::Outcome;

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
fn visit<T: Tree>(t: &T, n: Node) -> u32 {
    tally::record(t.work(n), u64::from(n.depth));
    t.num_children(n)
}

fn walk_sequential<T: Tree>(t: &T, root: Node) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let k = visit(t, n);
        stack.extend((0..k).rev().map(|i| t.child(n, i)));
    }
}

fn walk_skewer<'s, T: Tree>(s: &skewer::Scope<'s>, t: &'s T, n: Node) {
    for i in 0..visit(t, n) {
        let c = t.child(n, i);
        s.spawn(move |s| walk_skewer(s, t, c));
    }
}

fn walk_rayon<'s, T: Tree>(s: &rayon::Scope<'s>, t: &'s T, n: Node) {
    for i in 0..visit(t, n) {
        let c = t.child(n, i);
        s.spawn(move |s| walk_rayon(s, t, c));
    }
}

fn walk_channel<T: Tree>(h: &ChannelHandle, t: &'static T, n: Node) {
    for i in 0..visit(t, n) {
        let c = t.child(n, i);
        h.execute(move |h| walk_channel(h, t, c));
    }
}

fn walk_mutex<T: Tree>(h: &MutexHandle, t: &'static T, n: Node) {
    for i in 0..visit(t, n) {
        let c = t.child(n, i);
        h.execute(move |h| walk_mutex(h, t, c));
    }
}

fn join_skewer<T: Tree>(t: &T, n: Node) -> Digest {
    let own = Digest::one(t.work(n), u64::from(n.depth));
    own.merge(children_skewer(t, n, 0, t.num_children(n)))
}

fn children_skewer<T: Tree>(t: &T, n: Node, lo: u32, hi: u32) -> Digest {
    match hi - lo {
        0 => Digest::default(),
        1 => join_skewer(t, t.child(n, lo)),
        len => {
            let mid = lo + len / 2;
            let (a, b) = skewer::join(
                || children_skewer(t, n, lo, mid),
                || children_skewer(t, n, mid, hi),
            );
            a.merge(b)
        }
    }
}

fn join_rayon<T: Tree>(t: &T, n: Node) -> Digest {
    let own = Digest::one(t.work(n), u64::from(n.depth));
    own.merge(children_rayon(t, n, 0, t.num_children(n)))
}

fn children_rayon<T: Tree>(t: &T, n: Node, lo: u32, hi: u32) -> Digest {
    match hi - lo {
        0 => Digest::default(),
        1 => join_rayon(t, t.child(n, lo)),
        len => {
            let mid = lo + len / 2;
            let (a, b) = rayon::join(
                || children_rayon(t, n, lo, mid),
                || children_rayon(t, n, mid, hi),
            );
            a.merge(b)
        }
    }
}

/// Expands the tree breadth-first from the root (doing each expanded node's work) until at
/// least `p` unexpanded subtrees remain, and returns their roots.
fn frontier<T: Tree>(t: &T, p: usize) -> Vec<Node> {
    let mut queue = VecDeque::from([t.root()]);
    while queue.len() < p {
        let Some(n) = queue.pop_front() else { break };
        let k = visit(t, n);
        queue.extend((0..k).map(|i| t.child(n, i)));
    }
    queue.into()
}

/// Walks the whole tree once with `contender`.
pub fn run_nested<T: Tree>(t: &'static T, engine: &Engine, contender: Contender) -> Outcome {
    match contender {
        Contender::Sequential => walk_sequential(t, t.root()),
        Contender::SkewerSteal | Contender::SkewerChan => {
            engine.skewer().scope(|s| walk_skewer(s, t, t.root()))
        }
        Contender::SkewerStealJoin => {
            return Outcome::Returned(engine.skewer().install(|| join_skewer(t, t.root())));
        }
        Contender::RayonSpawn => engine.rayon().scope(|s| walk_rayon(s, t, t.root())),
        Contender::RayonJoin => {
            return Outcome::Returned(engine.rayon().install(|| join_rayon(t, t.root())));
        }
        Contender::CbChannel => {
            let pool = engine.channel();
            pool.execute(move |h| walk_channel(h, t, t.root()));
            pool.wait();
        }
        Contender::MutexMpsc => {
            let pool = engine.mutex();
            pool.execute(move |h| walk_mutex(h, t, t.root()));
            pool.wait();
        }
        Contender::StaticRr => {
            let gang = engine.gang();
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
        Contender::Cursor => {
            let gang = engine.gang();
            let roots = Arc::new(frontier(t, gang.threads()));
            let cursor = Arc::new(AtomicUsize::new(0));
            gang.run(Arc::new(move |_| {
                while let Some(&r) = roots.get(cursor.fetch_add(1, Ordering::Relaxed)) {
                    walk_sequential(t, r);
                }
            }));
        }
        Contender::RayonIter => panic!("{contender} does not apply to a nested workload"),
    }
    Outcome::Tallied
}
