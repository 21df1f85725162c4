//! Exactly once, against a sequential oracle: random task trees that mix `join`, `scope`
//! and spawning into an enclosing scope, with random depth and fan-out and panics at random
//! nodes, run on pools of 1 to 3 threads of each backend.
//!
//! Every node counts its run in its own atomic cell: after the root returns (or re-raises),
//! every node has run exactly once. The value (or the panic) the root produces is what a
//! sequential evaluation of the same tree predicts.

mod common;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Boom, boom_id, quiet_boom};
use proptest::prelude::*;
use skewer::{Pool, Scope};

/// How a node runs its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Nested `skewer::join`s, splitting the children in halves.
    Join,
    /// A new `skewer::scope`; each child is spawned into it and writes its result into a
    /// slot on this node's stack.
    Scope,
    /// Each child is spawned into the nearest enclosing scope (a new one if there is none);
    /// its result goes to that scope's accumulator.
    Fanout,
}

/// Where a node panics, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanicAt {
    No,
    /// After its children finished and their results came back.
    End,
    /// For a node that opens a scope: in the scope's body, after spawning the children.
    /// Otherwise the same as `End`.
    InBody,
}

#[derive(Clone, Debug)]
struct Tree {
    id: usize,
    value: u64,
    mode: Mode,
    panic: PanicAt,
    children: Vec<Tree>,
}

impl Tree {
    /// Numbers the nodes in depth-first order; returns the node count.
    fn number(&mut self, next: &mut usize) {
        self.id = *next;
        *next += 1;
        for c in &mut self.children {
            c.number(next);
        }
    }

    fn strip_panics(&mut self) {
        self.panic = PanicAt::No;
        self.children.iter_mut().for_each(Tree::strip_panics);
    }
}

/// How the test enters the pool with the root.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// `pool.install(|| root)`.
    Install,
    /// `pool.join(|| root, || 0)` from outside: the test thread is a guest.
    Join,
    /// `pool.scope(|s| root)` from outside; the root's fan-out goes to this scope.
    Scope,
}

fn panic_at() -> impl Strategy<Value = PanicAt> {
    prop_oneof![24 => Just(PanicAt::No), 1 => Just(PanicAt::End), 1 => Just(PanicAt::InBody)]
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (0u64..1000, panic_at()).prop_map(|(value, panic)| Tree {
        id: 0,
        value,
        mode: Mode::Join,
        panic,
        children: Vec::new(),
    });
    leaf.prop_recursive(7, 600, 4, |inner| {
        (
            0u64..1000,
            panic_at(),
            prop_oneof![Just(Mode::Join), Just(Mode::Scope), Just(Mode::Fanout)],
            prop::collection::vec(inner, 1..=5),
        )
            .prop_map(|(value, panic, mode, children)| Tree {
                id: 0,
                value,
                mode,
                panic,
                children,
            })
    })
}

/// A tree (numbered; panics kept only when `panics`), the pool size, and the entry.
fn case() -> impl Strategy<Value = (Tree, usize, usize, Entry)> {
    (
        tree(),
        any::<bool>(),
        1usize..=3,
        prop_oneof![Just(Entry::Install), Just(Entry::Join), Just(Entry::Scope)],
    )
        .prop_map(|(mut tree, panics, threads, entry)| {
            if !panics {
                tree.strip_panics();
            }
            let mut nodes = 0;
            tree.number(&mut nodes);
            (tree, nodes, threads, entry)
        })
}

// ---------------------------------------------------------------------------------------
// The parallel evaluation.

/// Shared by all nodes of one run.
struct Run {
    runs: Vec<AtomicU32>,
    threads: usize,
    /// Nodes that saw a `current_num_threads()` other than their pool's.
    wrong_pool: AtomicUsize,
}

/// The nearest enclosing scope and its accumulator.
type Enclosing<'a, 's> = Option<(&'a Scope<'s>, &'s AtomicU64)>;

fn eval<'s>(t: &'s Tree, enc: Enclosing<'_, 's>, run: &'s Run) -> u64 {
    run.runs[t.id].fetch_add(1, Ordering::SeqCst);
    if skewer::current_num_threads() != run.threads {
        run.wrong_pool.fetch_add(1, Ordering::SeqCst);
    }
    // A little work of a node-dependent size, so that some nodes are worth stealing.
    let mut x = t.value;
    for _ in 0..(t.value % 64) * 32 {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    std::hint::black_box(x);
    let children = if t.children.is_empty() {
        0
    } else {
        match (t.mode, enc) {
            (Mode::Join, _) => join_all(&t.children, enc, run),
            (Mode::Fanout, Some((s, acc))) => {
                for c in &t.children {
                    s.spawn(move |s2| {
                        let v = eval(c, Some((s2, acc)), run);
                        acc.fetch_add(v, Ordering::SeqCst);
                    });
                }
                0
            }
            (Mode::Scope, _) | (Mode::Fanout, None) => scope_children(t, run),
        }
    };
    if t.panic != PanicAt::No {
        common::boom(t.id);
    }
    t.value + children
}

fn join_all<'s>(cs: &'s [Tree], enc: Enclosing<'_, 's>, run: &'s Run) -> u64 {
    if cs.len() == 1 {
        return eval(&cs[0], enc, run);
    }
    let (l, r) = cs.split_at(cs.len() / 2);
    let (a, b) = skewer::join(|| join_all(l, enc, run), || join_all(r, enc, run));
    a + b
}

/// Opens a scope for `t`'s children; a panic `InBody` happens in the scope's body.
fn scope_children(t: &Tree, run: &Run) -> u64 {
    let mut slots = vec![0u64; t.children.len()];
    let acc = AtomicU64::new(0);
    skewer::scope(|s| {
        for (slot, c) in slots.iter_mut().zip(&t.children) {
            let acc = &acc;
            s.spawn(move |s2| *slot = eval(c, Some((s2, acc)), run));
        }
        if t.panic == PanicAt::InBody {
            common::boom(t.id);
        }
    });
    slots.iter().sum::<u64>() + acc.into_inner()
}

// ---------------------------------------------------------------------------------------
// The sequential oracle: the value, or the set of node ids whose panic may come out.

type Outcome = Result<u64, BTreeSet<usize>>;

fn oracle(t: &Tree, enc: Option<&mut Vec<Outcome>>) -> Outcome {
    let children = if t.children.is_empty() {
        Ok(0)
    } else {
        match (t.mode, enc) {
            (Mode::Join, enc) => oracle_join(&t.children, enc),
            (Mode::Fanout, Some(col)) => {
                for c in &t.children {
                    let out = oracle(c, Some(&mut *col));
                    col.push(out);
                }
                Ok(0)
            }
            (Mode::Scope, _) | (Mode::Fanout, None) => {
                let mut col = Vec::new();
                for c in &t.children {
                    let out = oracle(c, Some(&mut col));
                    col.push(out);
                }
                if t.panic == PanicAt::InBody {
                    // The body's own panic wins over its jobs'.
                    return Err(BTreeSet::from([t.id]));
                }
                settle(Ok(0), col)
            }
        }
    };
    match children {
        Err(ids) => Err(ids),
        Ok(_) if t.panic != PanicAt::No => Err(BTreeSet::from([t.id])),
        Ok(sum) => Ok(t.value + sum),
    }
}

fn oracle_join(cs: &[Tree], mut enc: Option<&mut Vec<Outcome>>) -> Outcome {
    if cs.len() == 1 {
        return oracle(&cs[0], enc);
    }
    let (l, r) = cs.split_at(cs.len() / 2);
    let a = oracle_join(l, enc.as_deref_mut());
    let b = oracle_join(r, enc);
    // Both halves run; `a`'s panic is re-raised first.
    match (a, b) {
        (Err(ids), _) | (Ok(_), Err(ids)) => Err(ids),
        (Ok(x), Ok(y)) => Ok(x + y),
    }
}

/// A scope's outcome: the body's, then any job's panic (whichever was recorded first).
fn settle(body: Outcome, jobs: Vec<Outcome>) -> Outcome {
    let body = body?;
    let mut sum = 0;
    let mut panics = BTreeSet::new();
    for out in jobs {
        match out {
            Ok(v) => sum += v,
            Err(ids) => panics.extend(ids),
        }
    }
    if panics.is_empty() {
        Ok(body + sum)
    } else {
        Err(panics)
    }
}

fn oracle_entry(tree: &Tree, entry: Entry) -> Outcome {
    match entry {
        Entry::Install | Entry::Join => oracle(tree, None),
        Entry::Scope => {
            let mut col = Vec::new();
            let body = oracle(tree, Some(&mut col));
            settle(body, col)
        }
    }
}

// ---------------------------------------------------------------------------------------

/// A case takes milliseconds; only a hang reaches this.
const CASE_LIMIT: Duration = Duration::from_secs(5);

fn run_entry(pool: &Pool, tree: &Tree, entry: Entry, run: &Run) -> u64 {
    match entry {
        Entry::Install => pool.install(|| eval(tree, None, run)),
        Entry::Join => pool.join(|| eval(tree, None, run), || 0).0,
        Entry::Scope => {
            let acc = AtomicU64::new(0);
            let body = pool.scope(|s| eval(tree, Some((s, &acc)), run));
            body + acc.into_inner()
        }
    }
}

fn check(
    backend: skewer::Backend,
    tree: &Tree,
    nodes: usize,
    threads: usize,
    entry: Entry,
) -> Result<(), TestCaseError> {
    let expected = oracle_entry(tree, entry);
    let pool = Pool::builder()
        .backend(backend)
        .num_threads(threads)
        .build()
        .expect("pool");
    // The same tree twice on the same pool: a second, differently timed interleaving.
    for round in 0..2 {
        let run = Run {
            runs: (0..nodes).map(|_| AtomicU32::new(0)).collect(),
            threads,
            wrong_pool: AtomicUsize::new(0),
        };
        let got = catch_unwind(AssertUnwindSafe(|| run_entry(&pool, tree, entry, &run)));
        let wrong: Vec<(usize, u32)> = run
            .runs
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .enumerate()
            .filter(|&(_, n)| n != 1)
            .collect();
        prop_assert!(
            wrong.is_empty(),
            "round {round}: (node, runs) != 1: {wrong:?}"
        );
        prop_assert_eq!(run.wrong_pool.load(Ordering::SeqCst), 0);
        match (&got, &expected) {
            (Ok(v), Ok(e)) => prop_assert_eq!(v, e, "round {}", round),
            (Err(payload), Err(ids)) => {
                let id = boom_id(&**payload);
                prop_assert!(
                    ids.contains(&id),
                    "round {round}: panic of node {id}, expected one of {ids:?}"
                );
            }
            (Ok(v), Err(ids)) => {
                prop_assert!(
                    false,
                    "round {round}: returned {v}, expected a panic of {ids:?}"
                )
            }
            (Err(payload), Ok(e)) => prop_assert!(
                false,
                "round {round}: panicked ({:?}), expected {e}",
                payload.downcast_ref::<Boom>()
            ),
        }
    }
    Ok(())
}

common::for_each_backend! {
    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            failure_persistence: None,
            max_shrink_iters: 200,
            max_shrink_time: 20_000,
            ..ProptestConfig::default()
        })]

        #[test]
        fn every_node_runs_exactly_once_and_matches_the_oracle(
            (tree, nodes, threads, entry) in case()
        ) {
            quiet_boom();
            // A hung case fails (and shrinks) instead of stalling the run.
            common::within(CASE_LIMIT, "tree case", move || {
                check(BACKEND, &tree, nodes, threads, entry)
            })?;
        }
    }
}
