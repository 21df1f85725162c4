//! tree-sum: fork-join over a stored binary tree, the sum of its node values through `join`.
//!
//! The per-node work is one addition, so this measures the cost of `join` itself (a fork
//! that is usually not stolen) and, on the small tree, the cost of waking the pool up for a
//! few microseconds of work. Contenders that cannot `join` spawn one task per node instead.

use super::contenders::{Contender, Engine};
use super::peer_channel::ChannelHandle;
use super::rng::SplitMix64;
use super::tally::{self, Digest};
use super::units::fmt_count;
use super::workload::{Outcome, Workload};

/// A node of the stored tree.
#[derive(Debug)]
struct TreeNode {
    value: u64,
    left: Option<Box<TreeNode>>,
    right: Option<Box<TreeNode>>,
}

/// A complete binary tree of `2^levels - 1` nodes with random values.
#[derive(Debug)]
pub struct TreeSum {
    root: Box<TreeNode>,
    levels: u32,
}

fn build(levels: u32, rng: &mut SplitMix64) -> Option<Box<TreeNode>> {
    (levels > 0).then(|| {
        let value = rng.next_u64();
        let left = build(levels - 1, rng);
        let right = build(levels - 1, rng);
        Box::new(TreeNode { value, left, right })
    })
}

impl TreeSum {
    /// A complete tree of `levels` levels (`levels >= 1`), values from `seed`.
    pub fn new(levels: u32, seed: u64) -> TreeSum {
        let root = build(levels, &mut SplitMix64::new(seed)).expect("at least one level");
        TreeSum { root, levels }
    }
}

fn sum_sequential(n: &TreeNode, depth: u64) -> Digest {
    let mut d = Digest::one(n.value, depth);
    if let Some(l) = &n.left {
        d = d.merge(sum_sequential(l, depth + 1));
    }
    if let Some(r) = &n.right {
        d = d.merge(sum_sequential(r, depth + 1));
    }
    d
}

fn sum_skewer(n: &TreeNode, depth: u64) -> Digest {
    let (l, r) = skewer::join(
        || {
            n.left
                .as_deref()
                .map(|l| sum_skewer(l, depth + 1))
                .unwrap_or_default()
        },
        || {
            n.right
                .as_deref()
                .map(|r| sum_skewer(r, depth + 1))
                .unwrap_or_default()
        },
    );
    Digest::one(n.value, depth).merge(l).merge(r)
}

fn sum_rayon(n: &TreeNode, depth: u64) -> Digest {
    let (l, r) = rayon::join(
        || {
            n.left
                .as_deref()
                .map(|l| sum_rayon(l, depth + 1))
                .unwrap_or_default()
        },
        || {
            n.right
                .as_deref()
                .map(|r| sum_rayon(r, depth + 1))
                .unwrap_or_default()
        },
    );
    Digest::one(n.value, depth).merge(l).merge(r)
}

fn spawn_rayon<'s>(s: &rayon::Scope<'s>, n: &'s TreeNode, depth: u64) {
    tally::record(n.value, depth);
    for c in [&n.left, &n.right].into_iter().flatten() {
        s.spawn(move |s| spawn_rayon(s, c, depth + 1));
    }
}

fn spawn_channel(h: &ChannelHandle, n: &'static TreeNode, depth: u64) {
    tally::record(n.value, depth);
    for c in [&n.left, &n.right].into_iter().flatten() {
        let c: &'static TreeNode = c;
        h.execute(move |h| spawn_channel(h, c, depth + 1));
    }
}

impl Workload for TreeSum {
    fn describe(&self) -> String {
        format!(
            "complete binary tree, {} nodes ({} levels), one addition per node",
            fmt_count((1u64 << self.levels) - 1),
            self.levels
        )
    }

    fn jobs(&self) -> u64 {
        (1u64 << self.levels) - 1
    }

    fn run(&'static self, engine: &Engine, contender: Contender) -> Outcome {
        let root: &'static TreeNode = &self.root;
        match contender {
            Contender::Sequential => Outcome::Returned(sum_sequential(root, 0)),
            Contender::SkewerSteal | Contender::SkewerChan => {
                Outcome::Returned(engine.skewer().install(|| sum_skewer(root, 0)))
            }
            Contender::RayonJoin => {
                Outcome::Returned(engine.rayon().install(|| sum_rayon(root, 0)))
            }
            Contender::RayonSpawn => {
                engine.rayon().scope(|s| spawn_rayon(s, root, 0));
                Outcome::Tallied
            }
            Contender::CbChannel => {
                let pool = engine.channel();
                pool.execute(move |h| spawn_channel(h, root, 0));
                pool.wait();
                Outcome::Tallied
            }
            c => panic!("{c} does not apply to a fork-join workload"),
        }
    }
}
