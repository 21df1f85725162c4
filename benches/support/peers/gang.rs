//! Peer threads for the two no-queue baselines: the static round-robin split and the shared
//! atomic cursor.
//!
//! What a user writes for these is `std::thread::scope` with P threads, each running the same
//! closure with its own index. To keep thread creation out of the timed region (as for every
//! pool), the P threads are started once and kept: `run` hands each of them the closure over
//! its own channel and waits until all P have returned from it. Nothing else is shared, and
//! nothing moves between threads once a run has started.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// The body every thread runs, given its index `0..P`.
pub type Body = Arc<dyn Fn(usize) + Send + Sync + 'static>;

/// P threads that run one body each per `run`.
pub struct Gang {
    starts: Vec<Sender<Option<Body>>>,
    done: Receiver<()>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Gang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gang")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Gang {
    /// Starts `n` threads.
    pub fn new(n: usize) -> Gang {
        let (done_tx, done) = unbounded();
        let mut starts = Vec::with_capacity(n);
        let threads = (0..n)
            .map(|i| {
                let (start_tx, start_rx) = unbounded::<Option<Body>>();
                starts.push(start_tx);
                let done_tx = done_tx.clone();
                std::thread::Builder::new()
                    .name(format!("gang-{i}"))
                    .spawn(move || {
                        while let Ok(Some(body)) = start_rx.recv() {
                            body(i);
                            done_tx.send(()).expect("the gang outlives its runs");
                        }
                    })
                    .expect("spawn a gang thread")
            })
            .collect();
        Gang {
            starts,
            done,
            threads,
        }
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.starts.len()
    }

    /// Runs `body(i)` on thread `i` for every `i`, and returns when all have finished.
    pub fn run(&self, body: Body) {
        for start in &self.starts {
            start
                .send(Some(Arc::clone(&body)))
                .expect("gang threads live until drop");
        }
        for _ in &self.starts {
            self.done.recv().expect("gang threads live until drop");
        }
    }
}

impl Drop for Gang {
    fn drop(&mut self) {
        for start in &self.starts {
            let _ = start.send(None);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
