//! Peer: a `Mutex<mpsc::Receiver>` pool, as the `threadpool` crate does it.
//!
//! Every worker locks the shared receiver and blocks in `recv` while holding the lock (so
//! at most one worker waits on the channel and the others wait on the mutex), runs the job
//! it got, and goes back to the lock. `wait` is `threadpool`'s `join`. Jobs receive a handle
//! to submit more jobs, as in the crossbeam peer.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::super::workloads::fork::TaskScope;
use super::pending::Pending;

/// A job of this pool.
type Job = Box<dyn FnOnce(&MutexHandle) + Send + 'static>;

enum Msg {
    Run(Job),
    Stop,
}

/// What a job may use to submit more jobs.
#[derive(Clone)]
pub struct MutexHandle {
    tx: Sender<Msg>,
    pending: Arc<Pending>,
}

impl MutexHandle {
    /// Submits a job.
    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce(&MutexHandle) + Send + 'static,
    {
        self.pending.add();
        if self.tx.send(Msg::Run(Box::new(job))).is_err() {
            unreachable!("the workers hold the receiver until the pool is dropped");
        }
    }
}

/// N threads sharing one `Mutex<Receiver>`.
pub struct MutexPool {
    handle: MutexHandle,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for MutexPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutexPool")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl MutexPool {
    /// Starts `n` worker threads.
    pub fn new(n: usize) -> MutexPool {
        let (tx, rx): (Sender<Msg>, Receiver<Msg>) = channel();
        let rx = Arc::new(Mutex::new(rx));
        let handle = MutexHandle {
            tx,
            pending: Arc::new(Pending::default()),
        };
        let threads = (0..n)
            .map(|i| {
                let rx = Arc::clone(&rx);
                let handle = handle.clone();
                std::thread::Builder::new()
                    .name(format!("mutex-mpsc-{i}"))
                    .spawn(move || {
                        loop {
                            let msg = {
                                let rx = rx.lock().expect("no worker panics holding the lock");
                                rx.recv()
                            };
                            match msg {
                                Ok(Msg::Run(job)) => {
                                    job(&handle);
                                    handle.pending.done();
                                }
                                Ok(Msg::Stop) | Err(_) => break,
                            }
                        }
                    })
                    .expect("spawn a worker thread")
            })
            .collect();
        MutexPool { handle, threads }
    }

    /// The handle jobs receive, for submitting from outside the way a job submits.
    pub fn handle(&self) -> &MutexHandle {
        &self.handle
    }

    /// Blocks until every submitted job (and every job they submitted) has run.
    pub fn wait(&self) {
        self.handle.pending.wait();
    }
}

impl Drop for MutexPool {
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
impl TaskScope<'static> for MutexHandle {
    fn spawn_task<F>(&self, task: F)
    where
        F: FnOnce(&Self) + Send + 'static,
    {
        self.execute(task);
    }
}
