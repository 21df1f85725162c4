//! The contenders of one run, the pools they run on (built once per cell, outside the timed
//! region), and which code runs each contender on each workload shape.
//!
//! The code of a contender lives in the file of its library: `sequential.rs`, `skewer.rs`,
//! `rayon.rs`, `chili.rs`, `channel.rs` (the crossbeam-channel and `Mutex<mpsc::Receiver>`
//! pools) and `gang.rs` (the static split and the cursor). The three `run_*` functions below are the
//! table of which function runs which (contender, shape) pair: "rayon-spawn on uts-bin" is
//! `run_nested`'s `RayonSpawn` arm, `rayon::nested_spawn`.
//!
//! Every contender runs jobs on exactly P threads. skewer and rayon run the body of a scope
//! (the producer of flat jobs, the root of a tree) on one of their P workers (`install`;
//! `pool.scope` called from outside would make the calling thread a P+1-th runner of jobs),
//! and run `join` trees inside `install`; chili's pool is P - 1 workers plus the bench thread,
//! which runs the root of its fork tree; the channel pools' P workers run every job while the
//! bench thread only submits and then sleeps; the static split and the cursor are P threads.

use std::fmt;

use ::skewer::{Backend, Metrics, Pool};

use crate::support::peers::channel::ChannelPool;
use crate::support::peers::gang::Gang;
use crate::support::peers::mutex::MutexPool;
use crate::support::peers::pools;
use crate::support::workloads::binary_tree::Node;
use crate::workloads::Outcome;
use crate::workloads::flat::{FlatJobs, Producer};
use crate::workloads::nested::Tree;

mod channel;
mod chili;
mod gang;
mod rayon;
mod sequential;
mod skewer;

/// One way of running a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contender {
    /// One thread, no pool: the reference every speedup is measured against.
    Sequential,
    /// skewer, `Backend::Stealing`, through the workload's natural API: `scope`/`spawn` for
    /// flat and nested work (one task per job or node; the scope entered inside `install`),
    /// `join` for fork-join.
    SkewerSteal,
    /// skewer, `Backend::Channel`, through the same API as `SkewerSteal`.
    SkewerChan,
    /// skewer, `Backend::Stealing`, through recursive `skewer::join` inside `install`: flat
    /// jobs by recursive halving down to single jobs (as rayon's `par_iter` splits), trees
    /// with each node's children split in halves.
    SkewerStealJoin,
    /// rayon: `ThreadPool::scope` with one `spawn` per job or node.
    RayonSpawn,
    /// rayon: recursive `rayon::join` inside `install`, split as `SkewerStealJoin` splits
    /// (flat, nested and fork-join work).
    RayonJoin,
    /// rayon: `(0..n).into_par_iter().for_each(..)` inside `install` (flat work).
    RayonIter,
    /// chili: recursive `Scope::join` on a chili pool, split as `SkewerStealJoin` splits
    /// (flat, nested and fork-join work).
    ChiliJoin,
    /// The plain crossbeam-channel pool (`support/peers/channel.rs`).
    CbChannel,
    /// The `threadpool`-style `Mutex<mpsc::Receiver>` pool (`support/peers/mutex.rs`).
    MutexMpsc,
    /// Static round-robin split, no stealing: thread i takes jobs i, i+P, ...
    /// (`support/peers/gang.rs`).
    StaticRr,
    /// A shared atomic cursor handing out chunks of job indices (`support/peers/gang.rs`).
    Cursor,
}

impl Contender {
    /// The short name used in benchmark ids, tables and plots.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Sequential => "sequential",
            Contender::SkewerSteal => "skewer-steal",
            Contender::SkewerChan => "skewer-chan",
            Contender::SkewerStealJoin => "skewer-steal-join",
            Contender::RayonSpawn => "rayon-spawn",
            Contender::RayonJoin => "rayon-join",
            Contender::RayonIter => "rayon-iter",
            Contender::ChiliJoin => "chili-join",
            Contender::CbChannel => "cb-channel",
            Contender::MutexMpsc => "mutex-mpsc",
            Contender::StaticRr => "static-rr",
            Contender::Cursor => "cursor",
        }
    }

    /// Whether this contender runs on a skewer pool (and so has metrics).
    pub fn is_skewer(self) -> bool {
        matches!(
            self,
            Contender::SkewerSteal | Contender::SkewerChan | Contender::SkewerStealJoin
        )
    }
}

impl fmt::Display for Contender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The threads a contender runs on.
#[derive(Debug)]
pub enum Engine {
    /// The bench thread itself.
    Sequential,
    /// A skewer pool.
    Skewer(Pool),
    /// A rayon pool.
    Rayon(::rayon::ThreadPool),
    /// A chili pool.
    Chili(::chili::ThreadPool),
    /// The crossbeam-channel peer.
    Channel(ChannelPool),
    /// The `Mutex<mpsc::Receiver>` peer.
    Mutex(MutexPool),
    /// The threads of the static split and the cursor.
    Gang(Gang),
}

impl Engine {
    /// Starts the threads `contender` needs, `threads` of them.
    pub fn build(contender: Contender, threads: usize) -> Engine {
        match contender {
            Contender::Sequential => Engine::Sequential,
            Contender::SkewerSteal | Contender::SkewerStealJoin => {
                Engine::Skewer(pools::skewer(threads, Backend::Stealing))
            }
            Contender::SkewerChan => Engine::Skewer(pools::skewer(threads, Backend::Channel)),
            Contender::RayonSpawn | Contender::RayonJoin | Contender::RayonIter => {
                Engine::Rayon(pools::rayon(threads))
            }
            Contender::ChiliJoin => Engine::Chili(pools::chili(threads)),
            Contender::CbChannel => Engine::Channel(ChannelPool::new(threads)),
            Contender::MutexMpsc => Engine::Mutex(MutexPool::new(threads)),
            Contender::StaticRr | Contender::Cursor => Engine::Gang(Gang::new(threads)),
        }
    }

    /// The skewer pool (panics for other engines: a bug in a workload's dispatch).
    pub fn skewer(&self) -> &Pool {
        match self {
            Engine::Skewer(pool) => pool,
            other => panic!("expected a skewer pool, got {other:?}"),
        }
    }

    /// The rayon pool.
    pub fn rayon(&self) -> &::rayon::ThreadPool {
        match self {
            Engine::Rayon(pool) => pool,
            other => panic!("expected a rayon pool, got {other:?}"),
        }
    }

    /// The chili pool.
    pub fn chili(&self) -> &::chili::ThreadPool {
        match self {
            Engine::Chili(pool) => pool,
            other => panic!("expected a chili pool, got {other:?}"),
        }
    }

    /// The crossbeam-channel peer.
    pub fn channel(&self) -> &ChannelPool {
        match self {
            Engine::Channel(pool) => pool,
            other => panic!("expected the crossbeam-channel pool, got {other:?}"),
        }
    }

    /// The `Mutex<mpsc::Receiver>` peer.
    pub fn mutex(&self) -> &MutexPool {
        match self {
            Engine::Mutex(pool) => pool,
            other => panic!("expected the mutex pool, got {other:?}"),
        }
    }

    /// The static-split / cursor threads.
    pub fn gang(&self) -> &Gang {
        match self {
            Engine::Gang(gang) => gang,
            other => panic!("expected the gang threads, got {other:?}"),
        }
    }

    /// A metrics snapshot, for skewer pools.
    pub fn metrics(&self) -> Option<Metrics> {
        match self {
            Engine::Skewer(pool) => Some(pool.metrics()),
            _ => None,
        }
    }
}

/// Runs all jobs of a flat workload once with `contender`; the jobs record into the tally.
pub fn run_flat<W: FlatJobs>(
    w: &'static W,
    engine: &Engine,
    contender: Contender,
    producer: Producer,
) -> Outcome {
    use Contender::*;
    use Producer::*;
    match (contender, producer) {
        (Sequential, _) => sequential::flat(w),
        (SkewerSteal | SkewerChan, p) => skewer::flat_spawn(engine.skewer(), w, p),
        (SkewerStealJoin, Outside) => skewer::flat_join(engine.skewer(), w),
        (RayonSpawn, p) => rayon::flat_spawn(engine.rayon(), w, p),
        (RayonJoin, Outside) => rayon::flat_join(engine.rayon(), w),
        (RayonIter, Outside) => rayon::flat_iter(engine.rayon(), w),
        (ChiliJoin, Outside) => chili::flat_join(engine.chili(), w),
        (CbChannel, p) => channel::flat(engine.channel(), w, p),
        (MutexMpsc, p) => channel::flat(engine.mutex(), w, p),
        (StaticRr, Outside) => gang::flat_static(engine.gang(), w),
        (Cursor, Outside) => gang::flat_cursor(engine.gang(), w),
        (c, p) => panic!("{c} does not apply to a flat workload with producer {p:?}"),
    }
    Outcome::Tallied
}

/// Walks a nested workload's whole tree once with `contender`.
pub fn run_nested<T: Tree>(t: &'static T, engine: &Engine, contender: Contender) -> Outcome {
    use Contender::*;
    match contender {
        Sequential => sequential::nested(t),
        SkewerSteal | SkewerChan => skewer::nested_spawn(engine.skewer(), t),
        SkewerStealJoin => return Outcome::Returned(skewer::nested_join(engine.skewer(), t)),
        RayonSpawn => rayon::nested_spawn(engine.rayon(), t),
        RayonJoin => return Outcome::Returned(rayon::nested_join(engine.rayon(), t)),
        ChiliJoin => return Outcome::Returned(chili::nested_join(engine.chili(), t)),
        CbChannel => channel::nested(engine.channel(), t),
        MutexMpsc => channel::nested(engine.mutex(), t),
        StaticRr => gang::nested_static(engine.gang(), t),
        Cursor => gang::nested_cursor(engine.gang(), t),
        RayonIter => panic!("{contender} does not apply to a nested workload"),
    }
    Outcome::Tallied
}

/// Sums a stored binary tree once with `contender` (tree-sum).
pub fn run_tree_sum(root: &'static Node, engine: &Engine, contender: Contender) -> Outcome {
    use Contender::*;
    match contender {
        Sequential => Outcome::Returned(sequential::tree_sum(root)),
        SkewerSteal | SkewerChan => Outcome::Returned(skewer::tree_sum_join(engine.skewer(), root)),
        RayonJoin => Outcome::Returned(rayon::tree_sum_join(engine.rayon(), root)),
        ChiliJoin => Outcome::Returned(chili::tree_sum_join(engine.chili(), root)),
        RayonSpawn => {
            rayon::tree_sum_spawn(engine.rayon(), root);
            Outcome::Tallied
        }
        CbChannel => {
            channel::tree_sum(engine.channel(), root);
            Outcome::Tallied
        }
        c => panic!("{c} does not apply to a fork-join workload"),
    }
}
