//! Where a map's runner jobs go: a pool (jobs and items `'static`) or a scope (jobs and
//! items may borrow anything that outlives the scope).

use crate::{Pool, Scope};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Pool {}
    impl Sealed for crate::Scope<'_> {}
}

/// Something a map can run on: a [`Pool`] (items and closure `'static`) or a [`Scope`]
/// (items and closure may borrow from outside the scope). Implemented by those two only.
///
/// # Examples
/// ```
/// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
/// let fan = skewer::FanOut::default();
/// let offset = 100; // borrowed by the closure: fine inside a scope
/// let out: Vec<i32> = pool.scope(|s| {
///     fan.map_ordered(s, 0..3, |x| x + offset).map(Result::unwrap).collect()
/// });
/// assert_eq!(out, [100, 101, 102]);
/// ```
pub trait FanOutTarget<'job>: sealed::Sealed {
    /// The number of threads the jobs will run on.
    fn target_threads(&self) -> usize;

    /// Spawns one runner job; `false` when the target refused it (a shut-down pool).
    #[doc(hidden)]
    fn spawn_runner(&self, job: Box<dyn FnOnce() + Send + 'job>) -> bool;
}

impl FanOutTarget<'static> for Pool {
    fn target_threads(&self) -> usize {
        self.current_num_threads()
    }

    fn spawn_runner(&self, job: Box<dyn FnOnce() + Send + 'static>) -> bool {
        self.spawn(job).is_ok()
    }
}

impl<'scope> FanOutTarget<'scope> for Scope<'scope> {
    fn target_threads(&self) -> usize {
        crate::current_num_threads()
    }

    fn spawn_runner(&self, job: Box<dyn FnOnce() + Send + 'scope>) -> bool {
        // A scope takes every job, also after its pool shut down (its caller then runs
        // them), and waits for all of them before it returns.
        self.spawn(move |_| job());
        true
    }
}
