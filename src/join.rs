//! Fork-join: `join(a, b)` runs `a` on the calling thread while `b` waits as a private fork
//! that any idle thread may take once it is published (see `sched/context/`).
//!
//! The fork lives in the frame of `join_forked` (`StackJob`): no allocation. On the common
//! path nobody took it, and the caller takes it back and calls it like a plain function. If
//! it was published, the caller waits by helping (`wait.rs`). A thread that already keeps
//! its bound of publishable forks does not fork at all (`join_unforked`), and that `join`,
//! the most common one, is compiled into its caller.

use crate::job::StackJob;
use crate::sched::context::Ctx;
use crate::sched::target::Target;
use crate::sched::wait;

/// Runs `a` and `b`, potentially in parallel, and returns both results; `ctx` is the
/// calling thread's context.
///
/// Always inline, with the `join` that forks out of line: in a fine tree nearly every
/// `join` finds its fork stack full, so the common case is `join_unforked`, and inlined
/// into the caller it is a few loads and two calls in the caller's own frame. The `join`
/// that forks needs a `StackJob` in its frame and several callee-saved registers, and
/// inlined together the two made every `join` pay for that frame
/// (`docs/work-stealing.md`, "A `join` that does not fork, in the caller's frame").
#[inline(always)]
pub(crate) fn join_in<A, B, RA, RB>(ctx: &Ctx, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if ctx.forks_are_full() {
        return join_unforked(ctx, a, b);
    }
    join_forked(ctx, a, b)
}

/// `join` with `b` pushed as a private fork; see the module docs.
#[inline(never)]
fn join_forked<A, B, RA, RB>(ctx: &Ctx, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(ctx.frame(), b);
    // SAFETY: `job_b` stays in this frame until it has run: every path below either takes
    // it back unexecuted and runs it inline, or waits for its latch (also when `a` panics).
    let b_ref = unsafe { job_b.as_fork() };
    ctx.fork(b_ref);

    // `a` runs under `catch_unwind`, not beside a drop guard: if it panics, `b` must still
    // run (exactly once, and finished before this frame goes away, since it may borrow from
    // it), and running it from a destructor during unwinding would make a panic of `b` a
    // panic while panicking (the default hook then prints a forced full backtrace).
    let ra = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(a)) {
        Ok(ra) => ra,
        Err(payload) => {
            if ctx.take_back(b_ref) {
                // `b`'s own panic is dropped: `a`'s is the one re-raised.
                // SAFETY: taken back before anyone else saw it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                    job_b.run_inline()
                }));
            } else {
                wait::wait(ctx, Target::unit(job_b.header()), &job_b.latch);
            }
            crate::job::unwind::resume(payload)
        }
    };

    // The return of `a` is a decision point too: with coarse leaves, the next fork may be
    // a whole leaf away (`b` runs inline without forking), and a heartbeat that expired
    // during `a` publishes the oldest fork now, which may be `b` itself.
    ctx.poll_forked_return();
    if ctx.take_back(b_ref) {
        // Nobody saw `b`: call it like a function. Its forks take the enclosing frame as
        // parent, which is exact enough: nobody waits for an inline `b` itself.
        // SAFETY: taken back before anyone else saw it.
        let rb = unsafe { job_b.run_inline() };
        return (ra, rb);
    }
    wait::wait(ctx, Target::unit(job_b.header()), &job_b.latch);
    (ra, job_b.into_result().into_return_value())
}

/// `join` on a thread whose fork stack is full (`sched/context/forks.rs`): `b` could be
/// shared only after the older forks already kept, so it is not kept at all and runs after
/// `a` like a plain call. Both halves still run when `a` panics, as in every `join`; the
/// fork and return of `a` stay decision points, so a heartbeat or a hungry thread still
/// gets the oldest fork. Always inline, as `join_in` is.
#[inline(always)]
fn join_unforked<A, B, RA, RB>(ctx: &Ctx, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB,
{
    ctx.poll();
    let ra = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(a)) {
        Ok(ra) => ra,
        Err(payload) => {
            // `b`'s own panic is dropped: `a`'s is the one re-raised.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(b));
            crate::job::unwind::resume(payload)
        }
    };
    ctx.poll_return();
    (ra, b())
}
