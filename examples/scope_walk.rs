//! A tree walked with one scope task per node: what the scope costs per node next to the
//! sequential walk, a `join` walk and rayon's scope (`docs/work-stealing.md`, "The scope
//! walk's gap was a copy").
//!
//! The tree is UTS-like (geometric branching, mean 4, depth limit 7, 60 root children:
//! 294 730 nodes); each node's work is a chain of `steps` dependent splitmix steps (60 by
//! default: about 180 ns on the machines of the docs) whose result goes into the tally of
//! the thread that ran it. Each case walks it `ROUNDS` times on pools of `threads` threads
//! (1 by default) and checks the tallies' count and sum against the sequential walk's
//! before its time counts:
//! - `seq`: depth first with an explicit stack, on the calling thread;
//! - `skewer`: `pool.install(|| scope(..))`, one `Scope::spawn` per child;
//! - `rayon`: the same, written with rayon's scope;
//! - `join`: `skewer::join` over each node's children split in halves;
//! - `skewer-flat` and `rayon-flat`: as many jobs of the same work, all spawned by the
//!   scope's body (jobs that spawn nothing).
//!
//! With `fence` (x86-64 only) an `lfence` goes right before each node's work: the work
//! then starts only once every instruction before it has completed, so nothing of the
//! scheduler's own path runs beside it.
//!
//! Prints the median time per node of each case.
//!
//! Run: `cargo run --release --example scope_walk [steps] [threads] [fence]`.

use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 15;
const ROOT_CHILDREN: u32 = 60;
const MAX_DEPTH: u32 = 7;
/// Work per node, in dependent hash steps, unless given on the command line.
const STEPS: u64 = 60;

/// splitmix64's finalizer.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A chain of `steps` dependent hash steps from `seed`.
#[inline(never)]
fn chain(steps: u64, seed: u64) -> u64 {
    (0..steps).fold(seed, |x, _| mix(x))
}

#[derive(Clone, Copy)]
struct Node {
    hash: u64,
    depth: u32,
}

/// The tree's rules and the work per node.
struct Tree {
    steps: u64,
    fence: bool,
}

impl Tree {
    fn root(&self) -> Node {
        Node {
            hash: mix(19),
            depth: 0,
        }
    }

    fn num_children(&self, n: Node) -> u32 {
        if n.depth == 0 {
            return ROOT_CHILDREN;
        }
        if n.depth >= MAX_DEPTH {
            return 0;
        }
        // Geometric on {0, 1, ...} with mean 4.
        let u = (mix(n.hash ^ 0xC0FF_EE00_D15E_A5E5) >> 11) as f64 / (1u64 << 53) as f64;
        ((1.0 - u).ln() / 0.8f64.ln()).floor() as u32
    }

    fn child(&self, n: Node, i: u32) -> Node {
        Node {
            hash: mix(n.hash ^ mix(u64::from(i) + 1)),
            depth: n.depth + 1,
        }
    }

    /// Does the node's work, adds it to the thread's tally, and returns how many
    /// children the node has.
    fn visit(&self, n: Node) -> u32 {
        if self.fence {
            fence_before_work();
        }
        let work = chain(self.steps, n.hash);
        TALLY.with(|t| {
            let (count, sum) = t.get();
            t.set((count + 1, sum.wrapping_add(work)));
        });
        self.num_children(n)
    }
}

#[cfg(target_arch = "x86_64")]
fn fence_before_work() {
    // SAFETY: `lfence` has no operands and no effect on memory; SSE2 is part of x86-64.
    unsafe { std::arch::x86_64::_mm_lfence() }
}

#[cfg(not(target_arch = "x86_64"))]
fn fence_before_work() {}

thread_local! {
    /// Nodes visited on this thread and the wrapping sum of their work, since the last
    /// `take_tally`.
    static TALLY: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn take_tally() -> (u64, u64) {
    TALLY.with(|t| t.replace((0, 0)))
}

/// The tallies of several threads, added up.
fn sum(tallies: Vec<(u64, u64)>) -> (u64, u64) {
    tallies.into_iter().fold((0, 0), |(c, s), (count, total)| {
        (c + count, s.wrapping_add(total))
    })
}

fn walk_seq(t: &Tree) {
    let mut stack = vec![t.root()];
    while let Some(n) = stack.pop() {
        let k = t.visit(n);
        stack.extend((0..k).rev().map(|i| t.child(n, i)));
    }
}

fn walk_skewer<'s>(s: &skewer::Scope<'s>, t: &'s Tree, n: Node) {
    for i in 0..t.visit(n) {
        let c = t.child(n, i);
        s.spawn(move |s| walk_skewer(s, t, c));
    }
}

fn walk_rayon<'s>(s: &rayon::Scope<'s>, t: &'s Tree, n: Node) {
    for i in 0..t.visit(n) {
        let c = t.child(n, i);
        s.spawn(move |s| walk_rayon(s, t, c));
    }
}

/// Children `lo..hi` of `n` (each visited, then its own children), halved with `join`.
fn walk_join(t: &Tree, n: Node, lo: u32, hi: u32) {
    if hi - lo == 1 {
        let c = t.child(n, lo);
        let k = t.visit(c);
        if k > 0 {
            walk_join(t, c, 0, k);
        }
        return;
    }
    let mid = lo + (hi - lo) / 2;
    skewer::join(|| walk_join(t, n, lo, mid), || walk_join(t, n, mid, hi));
}

/// The `count` leaves-to-be of the flat cases: nodes with the tree's hashes, no children.
fn flat_node(i: u64) -> Node {
    Node {
        hash: mix(i),
        depth: MAX_DEPTH,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let steps = args.next().map_or(STEPS, |s| s.parse().expect("steps"));
    let threads = args.next().map_or(1, |s| s.parse().expect("threads"));
    let fence = args.next().is_some_and(|a| a == "fence");
    let tree: &'static Tree = Box::leak(Box::new(Tree { steps, fence }));
    let skewer_pool = skewer::Pool::builder()
        .num_threads(threads)
        .build()
        .unwrap();
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    // Every thread's tally, summed: what a walk on a pool did.
    let skewer_tally = || sum(skewer_pool.broadcast(|_| take_tally()));
    let rayon_tally = || sum(rayon_pool.broadcast(|_| take_tally()));

    walk_seq(tree);
    let expected = take_tally();
    let nodes = expected.0;
    let flat_expected = {
        (0..nodes).for_each(|i| {
            tree.visit(flat_node(i));
        });
        take_tally()
    };
    println!(
        "{nodes} nodes, {steps} steps of work each{}; {threads}-thread pools, median of {ROUNDS} rounds",
        if fence { ", lfence before each" } else { "" }
    );

    type Case<'a> = (&'a str, (u64, u64), Box<dyn Fn() -> (u64, u64) + 'a>);
    let cases: Vec<Case> = vec![
        (
            "seq",
            expected,
            Box::new(|| {
                walk_seq(tree);
                take_tally()
            }),
        ),
        (
            "skewer",
            expected,
            Box::new(|| {
                skewer_pool.install(|| skewer::scope(|s| walk_skewer(s, tree, tree.root())));
                skewer_tally()
            }),
        ),
        (
            "rayon",
            expected,
            Box::new(|| {
                rayon_pool.install(|| rayon::scope(|s| walk_rayon(s, tree, tree.root())));
                rayon_tally()
            }),
        ),
        (
            "join",
            expected,
            Box::new(|| {
                skewer_pool.install(|| {
                    let root = tree.root();
                    let k = tree.visit(root);
                    walk_join(tree, root, 0, k);
                });
                skewer_tally()
            }),
        ),
        (
            "skewer-flat",
            flat_expected,
            Box::new(|| {
                skewer_pool.install(|| {
                    skewer::scope(|s| {
                        for i in 0..nodes {
                            s.spawn(move |_| {
                                tree.visit(flat_node(i));
                            });
                        }
                    })
                });
                skewer_tally()
            }),
        ),
        (
            "rayon-flat",
            flat_expected,
            Box::new(|| {
                rayon_pool.install(|| {
                    rayon::scope(|s| {
                        for i in 0..nodes {
                            s.spawn(move |_| {
                                tree.visit(flat_node(i));
                            });
                        }
                    })
                });
                rayon_tally()
            }),
        ),
    ];
    for (name, want, run) in &cases {
        let mut times: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                let got = black_box(run());
                let elapsed = start.elapsed().as_secs_f64();
                assert_eq!(got, *want, "{name}: every node once, with its work");
                elapsed
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[ROUNDS / 2];
        println!(
            "{name:>12}: {:7.1} ns per node ({:.2} ms per walk)",
            median * 1e9 / nodes as f64,
            median * 1e3
        );
    }
}
