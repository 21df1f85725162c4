//! cb-channel (the plain crossbeam-channel pool) and mutex-mpsc (the `threadpool`-style
//! `Mutex<mpsc::Receiver>` pool): every job or node is one job submitted into the pool's one
//! queue; a job that has children submits them from inside, through its handle (which
//! spawns the way a scope task does, so the scope workloads run unchanged). The bench thread
//! submits from outside and then sleeps in `wait` until every job has run.

use crate::support::peers::channel::{ChannelHandle, ChannelPool};
use crate::support::peers::mutex::{MutexHandle, MutexPool};
use crate::support::workloads::binary_tree::Node;
use crate::support::workloads::fork::TaskScope;
use crate::workloads::flat::{FlatJobs, Producer, spawn_all};
use crate::workloads::nested::{Tree, walk_spawn};
use crate::workloads::treesum::spawn_node;

/// A channel peer as the bench thread sees it.
pub trait Peer {
    /// What its jobs receive, and what submits from outside.
    type Handle: TaskScope<'static>;
    /// The handle.
    fn handle(&self) -> &Self::Handle;
    /// Blocks until every submitted job, and every job they submitted, has run.
    fn wait(&self);
}

impl Peer for ChannelPool {
    type Handle = ChannelHandle;
    fn handle(&self) -> &ChannelHandle {
        ChannelPool::handle(self)
    }
    fn wait(&self) {
        ChannelPool::wait(self);
    }
}

impl Peer for MutexPool {
    type Handle = MutexHandle;
    fn handle(&self) -> &MutexHandle {
        MutexPool::handle(self)
    }
    fn wait(&self) {
        MutexPool::wait(self);
    }
}

/// One pool job per job, submitted by the bench thread (`Outside`) or by one job.
pub fn flat<P: Peer, W: FlatJobs>(pool: &P, w: &'static W, producer: Producer) {
    spawn_all(pool.handle(), w, producer);
    pool.wait();
}

/// One pool job per node: each node's job submits one job per child.
pub fn nested<P: Peer, T: Tree>(pool: &P, t: &'static T) {
    pool.handle()
        .spawn_task(move |h| walk_spawn(h, t, t.root()));
    pool.wait();
}

/// One pool job per node of the stored tree.
pub fn tree_sum<P: Peer>(pool: &P, root: &'static Node) {
    pool.handle().spawn_task(move |h| spawn_node(h, root, 0));
    pool.wait();
}
