//! The two ways of writing parallel work that skewer and rayon share name for name, behind
//! one trait each, so that a workload is written once and runs on both: `join` (`Join`,
//! implemented by `SkewerJoin` and `RayonJoin`) and a scope's `spawn` (`TaskScope`,
//! implemented by both `Scope` types). Dispatch is static: the compiled code is what a
//! direct call of `skewer::join` or `rayon::join` gives. chili's `join` takes its scope as an
//! argument and has no `spawn`, so chili's contenders are written out on their own.

/// A `join` function: runs `a` and `b`, potentially in parallel, and returns both results.
pub trait Join {
    /// Runs `a` and `b` and returns their results.
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
}

/// `skewer::join`.
#[derive(Debug)]
pub struct SkewerJoin;

impl Join for SkewerJoin {
    #[inline]
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        skewer::join(a, b)
    }
}

/// `rayon::join`.
#[derive(Debug)]
pub struct RayonJoin;

impl Join for RayonJoin {
    #[inline]
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        rayon::join(a, b)
    }
}

/// A scope that spawns tasks which may borrow for `'s` and spawn more into the same scope.
pub trait TaskScope<'s>: Sync + Sized {
    /// Spawns `task` into the scope.
    fn spawn_task<F>(&self, task: F)
    where
        F: FnOnce(&Self) + Send + 's;
}

impl<'s> TaskScope<'s> for skewer::Scope<'s> {
    #[inline]
    fn spawn_task<F>(&self, task: F)
    where
        F: FnOnce(&Self) + Send + 's,
    {
        self.spawn(task);
    }
}

impl<'s> TaskScope<'s> for rayon::Scope<'s> {
    #[inline]
    fn spawn_task<F>(&self, task: F)
    where
        F: FnOnce(&Self) + Send + 's,
    {
        self.spawn(task);
    }
}
