//! Waiting by helping: what a thread does between the end of its own part of a `join`,
//! `scope` or `install` and the moment the rest is done.
//!
//! It searches every pool on its chain of contexts (`context/chain.rs`), its own first,
//! for work its wait depends on (`search.rs` has the order and the rule) and runs what it
//! finds. When nothing is found it steps through the idle sequence (`sleep/pacing.rs`):
//! spinning — counted as *waiting* while a worker is anchored at its target, which makes
//! that worker publish its next fork — then yielding, then blocking on the latch until it
//! is set, poked (work arrived in a shared queue of a pool on its chain, `watchers.rs`) or
//! the backstop passed, after which it searches again. The backstop rescues relocated
//! jobs, and one case of the channel backend: a search looks only at the head of the
//! shared queue and puts a job that is not the waiter's back at the tail, without a poke,
//! so a blocked waiter whose own job sits behind others' that no free thread can run
//! reaches it as the queue turns, a head or two per search, its searches then coming from
//! the backstop. A worker's push onto its own queue pokes without the fence of the
//! ordering in `watchers.rs` (`Registry::push_local`: the pusher comes back for the job
//! itself), so a waiter that would take such a job (leapfrogging, or from the channel
//! backend's shared queue) may miss that poke and find the job at the backstop, up to
//! `WAIT_BACKSTOP` later. Other pushes that a waiter may take fence before they poke.

use crate::job::latch::Latch;
use crate::sched::context::Ctx;
use crate::sched::sleep::pacing::{Idle, Next, OUTSIDE_SPIN, WAIT_BACKSTOP, spin_until};
use crate::sched::target::{Dug, Helped, Target};
use crate::sync::{Ordering, fence};

/// Waits until `latch` is set, helping with work that descends from `target` in every pool
/// on the thread's chain of contexts (`ctx`, the waiting one, first).
pub(crate) fn wait(ctx: &Ctx, target: Target, latch: &Latch) {
    // An `install` body runs in another pool (or on another thread of this one): what it
    // sends back into our pools arrives in their shared queues, so look there from the start.
    let mut scan_global = !target.may_run_itself;
    let mut idle = Idle::waiter();
    let mut hungry = false;
    let mut slept = false;
    while !latch.probe() {
        let helped = search(ctx, target, scan_global);
        if helped == Helped::Ran {
            if hungry {
                ctx.sleep().stop_waiting();
                hungry = false;
            }
            idle.reset();
            continue;
        }
        // Nothing to run: what this thread counted and did not subtract yet goes to its
        // scope now, before it idles (`context/settle.rs`). It may be what `latch` waits for.
        ctx.settle().flush();
        // Hungry only while some worker works for our target: its next fork is then
        // published, and we can steal it. Otherwise publishing would help nobody.
        let want = helped == Helped::Anchored;
        if want != hungry {
            if want {
                ctx.sleep().start_waiting();
            } else {
                ctx.sleep().stop_waiting();
            }
            hungry = want;
        }
        if idle.pause(|| latch.probe()) == Next::Sleep {
            if hungry {
                ctx.sleep().stop_waiting();
                hungry = false;
            }
            slept = true;
            match block(ctx, target, latch) {
                Blocked::Set => return, // seen set under the lock: the setter is done
                Blocked::Ran => {}
                Blocked::Woken => scan_global = true,
            }
        }
    }
    if hungry {
        ctx.sleep().stop_waiting();
    }
    if slept {
        latch.leave();
    }
}

/// Waits for `latch` on a thread outside every pool, which has nothing to help with. If
/// the submission woke no worker (one was awake to take the job), it first probes the latch
/// for up to `OUTSIDE_SPIN`, so that a small job's end is seen without a block and a
/// wake-up; then it blocks. After waking a worker it blocks at once: the OS may have placed
/// that worker on this thread's CPU, where a spin would only delay it. Spinning never
/// registers the waiter, so a latch seen set while spinning may be freed at once.
pub(crate) fn wait_outside(latch: &Latch, woke_a_worker: bool) {
    // Loom has no clock: a model's outside waiter blocks at once.
    let spin = !woke_a_worker && !cfg!(loom);
    if spin && spin_until(OUTSIDE_SPIN, || latch.probe()) {
        return;
    }
    while !latch.wait_timeout(std::time::Duration::from_secs(1)) {}
}

/// One search of every pool on the chain: the waiting context's own first, then the others
/// (each made current while it runs what it found there).
fn search(ctx: &Ctx, target: Target, scan_global: bool) -> Helped {
    if ctx.member().run_own(ctx, target) {
        return Helped::Ran;
    }
    let helped = ctx.member().help(ctx, target, scan_global);
    if helped == Helped::Ran {
        return helped;
    }
    let ran_elsewhere = Ctx::find_on_chain(|c| {
        if std::ptr::eq(c, ctx) {
            return None;
        }
        let ran = c.resume(|c| c.member().help(c, target, true) == Helped::Ran);
        ran.then_some(())
    });
    if ran_elsewhere.is_some() {
        Helped::Ran
    } else {
        helped
    }
}

/// How a blocking round ended.
enum Blocked {
    /// The latch is set (seen under its lock).
    Set,
    /// The search after registering found work and ran it.
    Ran,
    /// Poked, or the backstop passed: search again.
    Woken,
}

/// Blocks on the latch, watched by every pool on the chain so that work arriving in their
/// shared queues pokes us (see `watchers.rs`). Searches once more after registering.
fn block(ctx: &Ctx, target: Target, latch: &Latch) -> Blocked {
    Ctx::find_on_chain(|c| {
        c.member().watch(latch);
        None::<()>
    });
    fence(Ordering::SeqCst);
    let dug = if search(ctx, target, true) == Helped::Ran {
        Dug::Ran
    } else {
        ctx.member().dig_own(ctx, target)
    };
    let outcome = if dug == Dug::Ran {
        Blocked::Ran
    } else {
        // Every pool this thread is a worker of, other than the one whose work it waits
        // for, loses a worker while it blocks: such a pool may start a spare (`spare.rs`).
        // So does that one when its own deque may hide a job of the target below more
        // jobs than the dig looks through: a spare takes the deque's jobs oldest first and
        // reaches it. Without one, a one-worker pool waited for it for good.
        let hidden = dug == Dug::Hidden;
        let elsewhere = |c: &Ctx| {
            !(std::ptr::eq(c, ctx) && target.may_run_itself) || (hidden && std::ptr::eq(c, ctx))
        };
        Ctx::find_on_chain(|c| {
            if elsewhere(c) {
                c.member().blocked_elsewhere(true);
            }
            None::<()>
        });
        let set = latch.wait_timeout(WAIT_BACKSTOP);
        Ctx::find_on_chain(|c| {
            if elsewhere(c) {
                c.member().blocked_elsewhere(false);
            }
            None::<()>
        });
        if set { Blocked::Set } else { Blocked::Woken }
    };
    Ctx::find_on_chain(|c| {
        c.member().unwatch(latch);
        None::<()>
    });
    outcome
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::wait_outside;
    use crate::job::latch::Latch;
    use crate::sched::sleep::pacing::{OUTSIDE_SPIN, spin_until};
    use std::time::{Duration, Instant};

    #[test]
    fn a_spin_on_a_latch_nobody_sets_gives_up_after_its_budget() {
        let latch = Latch::new();
        let start = Instant::now();
        assert!(!spin_until(OUTSIDE_SPIN, || latch.probe()));
        assert!(start.elapsed() >= OUTSIDE_SPIN);
    }

    #[test]
    fn a_spin_sees_a_latch_that_is_already_set() {
        let latch = Latch::new();
        // SAFETY: `latch` outlives the call.
        unsafe { Latch::set(&latch) };
        assert!(spin_until(OUTSIDE_SPIN, || latch.probe()));
    }

    #[test]
    fn an_outside_waiter_returns_only_once_the_latch_is_set_spinning_first_or_not() {
        for woke_a_worker in [false, true] {
            let latch = Latch::new();
            let start = Instant::now();
            std::thread::scope(|s| {
                s.spawn(|| {
                    std::thread::sleep(Duration::from_millis(5));
                    // SAFETY: the waiter below frees nothing before this scope ends.
                    unsafe { Latch::set(&latch) };
                });
                wait_outside(&latch, woke_a_worker);
                assert!(latch.probe());
                assert!(start.elapsed() >= Duration::from_millis(5));
            });
        }
    }
}
