//! uts-geo and uts-bin: UTS-like unbalanced trees (after the Unbalanced Tree Search
//! benchmark), generated on the fly from a splitmix hash per node.
//!
//! A node is its hash and depth; its number of children is drawn from its hash, and child
//! i's hash is the hash of (parent, i). Nothing is stored: the tree exists only as the
//! tasks that walk it. Each node costs one calibrated spin (seeded by its hash), and every
//! node is a new task.
//!
//! - Geometric (like UTS T1): every node above the depth limit has a geometric number of
//!   children with the given mean; shallow and bushy.
//! - Binomial (like UTS T3): the root has `root_children`; every other node has `m` children
//!   with probability `q`, else none. With m*q just under 1 the tree is deep and narrow,
//!   and its subtrees differ wildly in size: the hard case for load balance.

use crate::contenders::{Contender, Engine, run_nested};
use crate::support::reporting::units::{fmt_count, fmt_ns};
use crate::support::workloads::rng::{mix, unit};
use crate::support::workloads::spin::{iters_for_ns, spin};
use crate::workloads::nested::{Node, Tree};
use crate::workloads::{Outcome, Workload};

/// How children are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Geometric branching with mean `mean` down to depth `max_depth`, `root_children` at
    /// the root.
    Geometric {
        /// Children of the root.
        root_children: u32,
        /// Mean children of every other node above the limit.
        mean: f64,
        /// Nodes at this depth have no children.
        max_depth: u32,
    },
    /// Binomial branching: `m` children with probability `q`.
    Binomial {
        /// Children of the root.
        root_children: u32,
        /// Probability that a node has children.
        q: f64,
        /// How many children such a node has.
        m: u32,
    },
}

/// One UTS-like tree with its per-node cost.
#[derive(Debug)]
pub struct Uts {
    shape: Shape,
    seed: u64,
    node_ns: f64,
    node_iters: u64,
    nodes: u64,
    depth: u32,
}

impl Uts {
    /// The tree of `shape` rooted at `seed`, each node spinning about `node_ns`. Walks the
    /// tree once (without the spin) to count its nodes and depth.
    pub fn new(shape: Shape, seed: u64, node_ns: f64) -> Uts {
        let mut uts = Uts {
            shape,
            seed,
            node_ns,
            node_iters: iters_for_ns(node_ns),
            nodes: 0,
            depth: 0,
        };
        let mut stack = vec![uts.root()];
        while let Some(n) = stack.pop() {
            uts.nodes += 1;
            uts.depth = uts.depth.max(n.depth);
            stack.extend((0..uts.num_children(n)).map(|i| uts.child(n, i)));
        }
        uts
    }

    /// A geometric tree (mean 4) of about `target` nodes: the depth limit is as deep as
    /// leaves room for at least 4 root subtrees of expected size, and root children are
    /// added until the tree holds `target` nodes (subtree sizes vary a lot, so the count is
    /// what is fixed, not the number of root children).
    pub fn geometric_of_size(target: u64, seed: u64, node_ns: f64) -> Uts {
        // Expected nodes under one root child with depth limit d + 1.
        let subtree = |d: u32| (4f64.powi(d as i32 + 1) - 1.0) / 3.0;
        let mut depth = 1;
        while subtree(depth + 1) * 4.0 <= target as f64 {
            depth += 1;
        }
        let shape = |root_children| Shape::Geometric {
            root_children,
            mean: 4.0,
            max_depth: depth + 1,
        };
        Uts::grown(shape, target, seed, node_ns)
    }

    /// A binomial tree (m = 8) of about `target` nodes whose branching product m*q is
    /// `criticality` (just under 1: deep, narrow subtrees of wildly different sizes), with
    /// as many root children as it takes to reach `target` nodes.
    pub fn binomial_of_size(target: u64, criticality: f64, seed: u64, node_ns: f64) -> Uts {
        let m = 8;
        let shape = |root_children| Shape::Binomial {
            root_children,
            q: criticality / f64::from(m),
            m,
        };
        Uts::grown(shape, target, seed, node_ns)
    }

    /// The tree of `shape(k)` with the smallest number k of root children that makes it
    /// hold at least `target` nodes. Child i of the root does not depend on k, so the
    /// subtrees are counted one by one. Subtree sizes are heavy-tailed (one subtree can
    /// hold most of the tree), so seeds `seed, seed + 1, ...` are tried until the tree
    /// overshoots `target` by at most a quarter.
    fn grown(shape: impl Fn(u32) -> Shape, target: u64, seed: u64, node_ns: f64) -> Uts {
        let limit = target + target / 4;
        let mut best: Option<(u64, u32, u64)> = None; // (nodes, root children, seed)
        for seed in seed..seed + 1000 {
            let probe = Uts::new(shape(0), seed, node_ns);
            let (mut nodes, mut k) = (1u64, 0u32);
            while nodes < target {
                let mut stack = vec![probe.child(probe.root(), k)];
                while let Some(n) = stack.pop() {
                    nodes += 1;
                    stack.extend((0..probe.num_children(n)).map(|i| probe.child(n, i)));
                }
                k += 1;
            }
            if best.is_none_or(|b| nodes < b.0) {
                best = Some((nodes, k.max(1), seed));
            }
            if nodes <= limit {
                break;
            }
        }
        let (_, k, seed) = best.expect("at least one seed tried");
        Uts::new(shape(k), seed, node_ns)
    }
}

impl Tree for Uts {
    fn root(&self) -> Node {
        Node {
            hash: mix(self.seed),
            depth: 0,
        }
    }

    fn num_children(&self, n: Node) -> u32 {
        let u = unit(mix(n.hash ^ 0xC0FF_EE00_D15E_A5E5));
        match self.shape {
            Shape::Geometric {
                root_children,
                mean,
                max_depth,
            } => {
                if n.depth == 0 {
                    root_children
                } else if n.depth >= max_depth {
                    0
                } else {
                    // Geometric on {0, 1, ...} with mean `mean`: P(k) = p (1-p)^k, p = 1/(1+mean).
                    let p = 1.0 / (1.0 + mean);
                    ((1.0 - u).ln() / (1.0 - p).ln()).floor() as u32
                }
            }
            Shape::Binomial {
                root_children,
                q,
                m,
            } => {
                if n.depth == 0 {
                    root_children
                } else if u < q {
                    m
                } else {
                    0
                }
            }
        }
    }

    fn child(&self, n: Node, i: u32) -> Node {
        Node {
            hash: mix(n.hash ^ mix(u64::from(i) + 1)),
            depth: n.depth + 1,
        }
    }

    #[inline]
    fn work(&self, n: Node) -> u64 {
        spin(self.node_iters, n.hash)
    }
}

impl Workload for Uts {
    fn describe(&self) -> String {
        let shape = match self.shape {
            Shape::Geometric {
                root_children,
                mean,
                max_depth,
            } => format!(
                "geometric (T1-like): {root_children} root children, mean {mean}, depth limit {max_depth}"
            ),
            Shape::Binomial {
                root_children,
                q,
                m,
            } => format!(
                "binomial (T3-like): {root_children} root children, m = {m}, q = {q:.6} (m*q = {:.4})",
                q * f64::from(m)
            ),
        };
        format!(
            "UTS-like {shape}; {} nodes, depth {}, {} per node",
            fmt_count(self.nodes),
            self.depth,
            fmt_ns(self.node_ns)
        )
    }

    fn jobs(&self) -> u64 {
        self.nodes
    }

    fn run(&'static self, engine: &Engine, contender: Contender) -> Outcome {
        run_nested(self, engine, contender)
    }
}
