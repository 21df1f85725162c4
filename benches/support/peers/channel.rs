//! Peer: the plain crossbeam-channel pool, written the obvious way.
//!
//! N threads loop over one shared `crossbeam_channel::Receiver` of boxed jobs; `execute`
//! boxes the closure and sends it; `wait` blocks until every job has run. This is the pool
//! most people write first ("one channel, N workers"), and the idea behind skewer's
//! `Backend::Channel`. `send` submits a job that `wait` does not count, for a caller with a
//! completion signal of its own: it costs one box and one channel send, nothing else. A job receives a handle so it can submit more jobs into the same
//! channel (nested workloads); that saves it an `Arc` clone of the pool per spawn, a small
//! favour to the peer.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::super::workloads::fork::TaskScope;
use super::pending::Pending;

/// A job of this pool.
type Job = Box<dyn FnOnce(&ChannelHandle) + Send + 'static>;

enum Msg {
    Run(Job),
    Stop,
}

/// What a job may use to submit more jobs.
#[derive(Clone)]
pub struct ChannelHandle {
    tx: Sender<Msg>,
    pending: Arc<Pending>,
}

impl ChannelHandle {
    /// Submits a job.
    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce(&ChannelHandle) + Send + 'static,
    {
        self.pending.add();
        self.send(move |h: &ChannelHandle| {
            job(h);
            h.pending.done();
        });
    }

    /// Submits a job that `wait` does not count.
    pub fn send<F>(&self, job: F)
    where
        F: FnOnce(&ChannelHandle) + Send + 'static,
    {
        if self.tx.send(Msg::Run(Box::new(job))).is_err() {
            unreachable!("the workers hold the receiver until the pool is dropped");
        }
    }
}

/// N threads over one crossbeam channel.
pub struct ChannelPool {
    handle: ChannelHandle,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ChannelPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelPool")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl ChannelPool {
    /// Starts `n` worker threads.
    pub fn new(n: usize) -> ChannelPool {
        let (tx, rx): (Sender<Msg>, Receiver<Msg>) = unbounded();
        let handle = ChannelHandle {
            tx,
            pending: Arc::new(Pending::default()),
        };
        let threads = (0..n)
            .map(|i| {
                let rx = rx.clone();
                let handle = handle.clone();
                std::thread::Builder::new()
                    .name(format!("cb-channel-{i}"))
                    .spawn(move || {
                        while let Ok(Msg::Run(job)) = rx.recv() {
                            job(&handle);
                        }
                    })
                    .expect("spawn a worker thread")
            })
            .collect();
        ChannelPool { handle, threads }
    }

    /// Submits a job from outside the pool that `wait` does not count.
    pub fn send<F>(&self, job: F)
    where
        F: FnOnce(&ChannelHandle) + Send + 'static,
    {
        self.handle.send(job);
    }

    /// The handle jobs receive, for submitting from outside the way a job submits.
    pub fn handle(&self) -> &ChannelHandle {
        &self.handle
    }

    /// Blocks until every job submitted with `execute` (and every job they submitted) has run.
    pub fn wait(&self) {
        self.handle.pending.wait();
    }
}

impl Drop for ChannelPool {
    fn drop(&mut self) {
        for _ in &self.threads {
            let _ = self.handle.tx.send(Msg::Stop);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A job that submits more jobs spawns into the pool the way a scope task spawns into its
/// scope, so the workloads written for scopes run on this pool too.
impl TaskScope<'static> for ChannelHandle {
    fn spawn_task<F>(&self, task: F)
    where
        F: FnOnce(&Self) + Send + 'static,
    {
        self.execute(task);
    }
}
