//! The contenders of one run, and the pools they run on (built once per cell, outside the
//! timed region).

use std::fmt;

use skewer::{Backend, Metrics, Pool};

use super::peer_channel::ChannelPool;
use super::peer_gang::Gang;
use super::peer_mutex::MutexPool;

/// One way of running a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contender {
    /// One thread, no pool: the reference every speedup is measured against.
    Sequential,
    /// skewer, `Backend::Stealing`, through the workload's natural API: `scope`/`spawn` for
    /// flat and nested work (one task per job or node), `join` for fork-join.
    SkewerSteal,
    /// skewer, `Backend::Channel`, through the same API as `SkewerSteal`.
    SkewerChan,
    /// skewer, `Backend::Stealing`, through recursive `skewer::join` inside `install`
    /// (nested trees only: the fork-join way to walk them).
    SkewerStealJoin,
    /// rayon: `ThreadPool::scope` with one `spawn` per job or node.
    RayonSpawn,
    /// rayon: recursive `rayon::join` inside `install` (nested and fork-join work).
    RayonJoin,
    /// rayon: `(0..n).into_par_iter().for_each(..)` inside `install` (flat work).
    RayonIter,
    /// The plain crossbeam-channel pool (`peer_channel`).
    CbChannel,
    /// The `threadpool`-style `Mutex<mpsc::Receiver>` pool (`peer_mutex`).
    MutexMpsc,
    /// Static round-robin split, no stealing: thread i takes jobs i, i+P, ... (`peer_gang`).
    StaticRr,
    /// A shared atomic cursor handing out chunks of job indices (`peer_gang`).
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
    Rayon(rayon::ThreadPool),
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
        let skewer = |backend: Backend| {
            let pool = Pool::builder()
                .num_threads(threads)
                .backend(backend)
                .thread_name(|i| format!("skewer-{i}"))
                .build()
                .unwrap_or_else(|e| panic!("building a skewer pool of {threads} threads: {e}"));
            Engine::Skewer(pool)
        };
        match contender {
            Contender::Sequential => Engine::Sequential,
            Contender::SkewerSteal | Contender::SkewerStealJoin => skewer(Backend::Stealing),
            Contender::SkewerChan => skewer(Backend::Channel),
            Contender::RayonSpawn | Contender::RayonJoin | Contender::RayonIter => Engine::Rayon(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("rayon-{i}"))
                    .build()
                    .expect("building a rayon pool"),
            ),
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
    pub fn rayon(&self) -> &rayon::ThreadPool {
        match self {
            Engine::Rayon(pool) => pool,
            other => panic!("expected a rayon pool, got {other:?}"),
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
