//! The per-worker deque the stealing backend uses: crossbeam-deque's normally, and under
//! `cfg(loom)` a mutex-guarded twin with the same API, because crossbeam-deque's atomics are
//! invisible to loom. The models then explore the sleep protocol and latches around a deque
//! that is trivially correct. The shared queue is skewer's own (`job_list.rs`), which
//! loom runs as it is.

pub(super) use crossbeam_deque::Steal;

#[cfg(not(loom))]
pub(super) use crossbeam_deque::{Stealer, Worker};

#[cfg(loom)]
pub(super) use twin::{Stealer, Worker};

#[cfg(loom)]
mod twin {
    use std::collections::VecDeque;

    use super::Steal;
    use crate::sync::{Arc, Mutex};

    #[derive(Debug)]
    pub(crate) struct Worker<T>(Arc<Mutex<VecDeque<T>>>);
    #[derive(Debug)]
    pub(crate) struct Stealer<T>(Arc<Mutex<VecDeque<T>>>);

    /// Takes the oldest job of `src` and moves about half of the rest into `dest`.
    fn batch_and_pop<T>(src: &Mutex<VecDeque<T>>, dest: &Worker<T>) -> Steal<T> {
        let mut src = src.lock();
        let Some(first) = src.pop_front() else {
            return Steal::Empty;
        };
        let extra = src.len().div_ceil(2);
        let moved: Vec<T> = src.drain(..extra).collect();
        drop(src);
        dest.0.lock().extend(moved);
        Steal::Success(first)
    }

    impl<T> Worker<T> {
        pub(crate) fn new_lifo() -> Self {
            Worker(Arc::new(Mutex::new(VecDeque::new())))
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }
        pub(crate) fn push(&self, t: T) {
            self.0.lock().push_back(t);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.lock().pop_back()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal(&self) -> Steal<T> {
            self.0
                .lock()
                .pop_front()
                .map_or(Steal::Empty, Steal::Success)
        }
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            batch_and_pop(&self.0, dest)
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
    }
}
