//! tree-sum: fork-join over a stored binary tree, the sum of its node values through `join`.
//!
//! The per-node work is one addition, so this measures the cost of `join` itself (a fork
//! that is usually not stolen) and, on the small tree, the cost of waking the pool up for a
//! few microseconds of work. Contenders that cannot `join` spawn one task per node instead.

use crate::contenders::{Contender, Engine, run_tree_sum};
use crate::support::measurement::tally::{self, Digest};
use crate::support::reporting::units::fmt_count;
use crate::support::workloads::binary_tree::{self, Node};
use crate::support::workloads::fork::{Join, TaskScope};
use crate::support::workloads::rng::SplitMix64;
use crate::workloads::{Outcome, Workload};

/// A complete binary tree of `2^levels - 1` nodes with random values.
#[derive(Debug)]
pub struct TreeSum {
    root: Box<Node>,
    levels: u32,
}

impl TreeSum {
    /// A complete tree of `levels` levels (`levels >= 1`), values from `seed`.
    pub fn new(levels: u32, seed: u64) -> TreeSum {
        let mut rng = SplitMix64::new(seed);
        let root = Node::complete(levels, &mut || rng.next_u64());
        TreeSum { root, levels }
    }
}

/// The sum of the subtree of `n` (at `depth`) with one `J::join` per node.
pub fn sum_join<J: Join>(n: &Node, depth: u64) -> Digest {
    let (l, r) = J::join(
        || {
            n.left
                .as_deref()
                .map(|l| sum_join::<J>(l, depth + 1))
                .unwrap_or_default()
        },
        || {
            n.right
                .as_deref()
                .map(|r| sum_join::<J>(r, depth + 1))
                .unwrap_or_default()
        },
    );
    Digest::one(n.value, depth).merge(l).merge(r)
}

/// One scope task per node, each recording its value into the tally.
pub fn spawn_node<'s, S: TaskScope<'s>>(s: &S, n: &'s Node, depth: u64) {
    tally::record(n.value, depth);
    for c in n.children() {
        s.spawn_task(move |s| spawn_node(s, c, depth + 1));
    }
}

impl Workload for TreeSum {
    fn describe(&self) -> String {
        format!(
            "complete binary tree, {} nodes ({} levels), one addition per node",
            fmt_count(binary_tree::nodes(self.levels)),
            self.levels
        )
    }

    fn jobs(&self) -> u64 {
        binary_tree::nodes(self.levels)
    }

    fn run(&'static self, engine: &Engine, contender: Contender) -> Outcome {
        run_tree_sum(&self.root, engine, contender)
    }
}
