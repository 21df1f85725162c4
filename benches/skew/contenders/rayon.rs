//! rayon-spawn (`ThreadPool::scope`, one `spawn` per job or node), rayon-join (recursive
//! `rayon::join` inside `install`; halving over flat jobs) and rayon-iter
//! (`into_par_iter().for_each`). rayon runs a scope's body on one of its P workers.

use ::rayon::ThreadPool;
use ::rayon::prelude::*;

use crate::support::measurement::tally::Digest;
use crate::support::workloads::binary_tree::Node;
use crate::support::workloads::fork::RayonJoin;
use crate::workloads::flat::{FlatJobs, Producer, halves, job, spawn_all};
use crate::workloads::nested::{Tree, join_node, walk_spawn};
use crate::workloads::treesum::{spawn_node, sum_join};

/// One `spawn` per job into a scope, from the scope's body (`Outside`; rayon runs the body
/// on one of its workers) or from one job.
pub fn flat_spawn<W: FlatJobs>(pool: &ThreadPool, w: &'static W, producer: Producer) {
    pool.scope(|s| spawn_all(s, w, producer));
}

/// Every job by recursive halving with `rayon::join`, inside `install`.
pub fn flat_join<W: FlatJobs>(pool: &ThreadPool, w: &'static W) {
    pool.install(|| halves::<RayonJoin, W>(w, 0, w.len()));
}

/// `(0..n).into_par_iter().for_each(..)` inside `install`.
pub fn flat_iter<W: FlatJobs>(pool: &ThreadPool, w: &'static W) {
    pool.install(|| (0..w.len()).into_par_iter().for_each(|i| job(w, i)));
}

/// One scope task per node: each node's task spawns one task per child.
pub fn nested_spawn<T: Tree>(pool: &ThreadPool, t: &'static T) {
    pool.scope(|s| walk_spawn(s, t, t.root()));
}

/// A node's children split in halves with recursive `rayon::join`, inside `install`.
pub fn nested_join<T: Tree>(pool: &ThreadPool, t: &'static T) -> Digest {
    pool.install(|| join_node::<RayonJoin, T>(t, t.root()))
}

/// One `rayon::join` per node, inside `install`.
pub fn tree_sum_join(pool: &ThreadPool, root: &'static Node) -> Digest {
    pool.install(|| sum_join::<RayonJoin>(root, 0))
}

/// One scope task per node.
pub fn tree_sum_spawn(pool: &ThreadPool, root: &'static Node) {
    pool.scope(|s| spawn_node(s, root, 0));
}
