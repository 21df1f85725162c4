//! Peer: a bare-bones pool on crossbeam-deque: one global `Injector`, a FIFO `Worker` per
//! thread and its `Stealer`s, the `find_task` loop of crossbeam-deque's documentation (own
//! deque, then a batch from the injector, then the peers), and a busy-wait when nothing is
//! found. The floor of what a stealing pool with one outside producer can cost; its threads
//! never sleep, so build it just before it is measured and drop it right after.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use crossbeam_deque::{Injector, Steal, Worker};

/// A job of this pool.
pub type BoxJob = Box<dyn FnOnce() + Send + 'static>;

/// N busy-waiting threads over one injector.
pub struct InjectorPool {
    injector: Arc<Injector<BoxJob>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for InjectorPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InjectorPool")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl InjectorPool {
    /// Starts `n` threads, which spin until the pool is dropped.
    pub fn new(n: usize) -> Self {
        let injector = Arc::new(Injector::<BoxJob>::new());
        let stop = Arc::new(AtomicBool::new(false));
        let locals: Vec<Worker<BoxJob>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let stealers: Arc<Vec<_>> = Arc::new(locals.iter().map(Worker::stealer).collect());
        let threads = locals
            .into_iter()
            .map(|local| {
                let injector = Arc::clone(&injector);
                let stealers = Arc::clone(&stealers);
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    loop {
                        let task = local.pop().or_else(|| {
                            std::iter::repeat_with(|| {
                                injector
                                    .steal_batch_and_pop(&local)
                                    .or_else(|| stealers.iter().map(|s| s.steal()).collect())
                            })
                            .find(|s| !s.is_retry())
                            .and_then(Steal::success)
                        });
                        match task {
                            Some(job) => job(),
                            None if stop.load(Ordering::Acquire) => break,
                            None => std::hint::spin_loop(),
                        }
                    }
                })
            })
            .collect();
        InjectorPool {
            injector,
            stop,
            threads,
        }
    }

    /// Submits a job.
    pub fn spawn(&self, job: BoxJob) {
        self.injector.push(job);
    }
}

impl Drop for InjectorPool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}
