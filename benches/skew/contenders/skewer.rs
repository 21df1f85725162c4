//! skewer-steal and skewer-chan (`scope`/`spawn`, one task per job or node; `join` on
//! tree-sum), and skewer-steal-join (recursive `skewer::join`: halving over flat jobs, over a
//! tree's children). Everything runs inside `install`, so the scope body and the root of a
//! fork tree run on one of the pool's P workers and the calling thread only waits.

use skewer::Pool;

use crate::support::measurement::tally::Digest;
use crate::support::workloads::binary_tree::Node;
use crate::support::workloads::fork::SkewerJoin;
use crate::workloads::flat::{FlatJobs, Producer, halves, spawn_all};
use crate::workloads::nested::{Tree, join_node, walk_spawn};
use crate::workloads::treesum::sum_join;

/// One `spawn` per job into a scope, from the scope's body (`Outside`) or from one job.
pub fn flat_spawn<W: FlatJobs>(pool: &Pool, w: &'static W, producer: Producer) {
    pool.install(|| skewer::scope(|s| spawn_all(s, w, producer)));
}

/// Every job by recursive halving with `skewer::join`.
pub fn flat_join<W: FlatJobs>(pool: &Pool, w: &'static W) {
    pool.install(|| halves::<SkewerJoin, W>(w, 0, w.len()));
}

/// One scope task per node: each node's task spawns one task per child.
pub fn nested_spawn<T: Tree>(pool: &Pool, t: &'static T) {
    pool.install(|| skewer::scope(|s| walk_spawn(s, t, t.root())));
}

/// A node's children split in halves with recursive `skewer::join`, inside `install`.
pub fn nested_join<T: Tree>(pool: &Pool, t: &'static T) -> Digest {
    pool.install(|| join_node::<SkewerJoin, T>(t, t.root()))
}

/// One `skewer::join` per node, inside `install`.
pub fn tree_sum_join(pool: &Pool, root: &'static Node) -> Digest {
    pool.install(|| sum_join::<SkewerJoin>(root, 0))
}
