//! Fork-join: `join(a, b)` runs `a` on the calling thread while `b` waits as a private fork
//! that any idle thread may take once it is published (see `context.rs`).
//!
//! The fork lives in this function's frame (`StackJob`): no allocation. On the common path
//! nobody took it, and the caller takes it back and calls it like a plain function. If it
//! was published, the caller waits by helping (`wait.rs`).

use crate::context::Ctx;
use crate::job::StackJob;

/// Runs `a` and `b`, potentially in parallel, and returns both results; `ctx` is the
/// calling thread's context.
pub(crate) fn join_in<A, B, RA, RB>(ctx: &Ctx, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(ctx.frame(), b);
    // SAFETY: `job_b` stays in this frame until it has run: every path below either takes
    // it back unexecuted and runs it inline, or waits for its latch (also when `a` panics,
    // through `Guard`).
    let b_ref = unsafe { job_b.as_fork() };
    ctx.fork(b_ref);

    /// Runs only if `a` unwinds (the normal path forgets it): `b` must still run, exactly
    /// once, and finish before this frame goes away, since it may borrow from it and may
    /// be running on another thread.
    struct Guard<'a, F: FnOnce() -> R + Send, R: Send> {
        ctx: &'a Ctx,
        job: &'a StackJob<F, R>,
    }
    impl<F: FnOnce() -> R + Send, R: Send> Drop for Guard<'_, F, R> {
        #[cold]
        fn drop(&mut self) {
            // SAFETY: same frame, same job as above.
            let fork = unsafe { self.job.as_fork() };
            if self.ctx.take_back(fork) {
                let job = self.job;
                // `b`'s own panic is dropped: `a`'s is already propagating.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // SAFETY: taken back before anyone else saw it.
                    unsafe { job.run_inline() }
                }));
            } else {
                self.ctx
                    .engine()
                    .wait(self.ctx, self.job.header(), &self.job.latch);
            }
        }
    }

    let guard = Guard { ctx, job: &job_b };
    let ra = a();
    std::mem::forget(guard);

    if ctx.take_back(b_ref) {
        // Nobody saw `b`: call it like a function. Its forks take the enclosing frame as
        // parent, which is exact enough: nobody waits for an inline `b` itself.
        // SAFETY: taken back before anyone else saw it.
        let rb = unsafe { job_b.run_inline() };
        return (ra, rb);
    }
    ctx.engine().wait(ctx, job_b.header(), &job_b.latch);
    (ra, job_b.into_result().into_return_value())
}
