//! The private fork stack: the second halves of a thread's `join`s that no other thread can
//! see yet, oldest first.
//!
//! An entry stays until its own `join` takes it back; publishing marks it, so the `join`
//! knows to wait for it instead of calling it.
//!
//! Publication goes oldest first, but never below `floor`: forks older than the innermost
//! scope open on this thread stay private while it is open. Otherwise such a fork,
//! published after the scope pushed its jobs, would sit *above* them in the deque, where
//! the scope's wait (which only looks at the top of its own deque for its jobs) would find
//! a job it must not run covering the ones it must.
//!
//! The stack holds at most [`PUBLISHABLE_FORKS`] publishable forks: a `join` that finds it
//! full does not fork at all (`join.rs`). Publication takes the oldest first, so a newer
//! fork would be shared only after those older (and larger) ones were taken; by then the
//! stack has room again and the `join`s that start from there on fork. What a full stack
//! saves is the push and the take-back on every deep `join` of a fine tree, nearly all
//! of them (chili elides forks the same way).
//!
//! While the other threads of the pool only sleep (nobody searches or waits), the bound
//! is [`DROWSY_FORKS`], one fork. Only the heartbeat (or a coarse root job's eager start,
//! `publish.rs`) publishes then, one oldest fork at a time, and a second private fork would
//! be shared only after a woken sleeper took the first, by which time the thread has forked
//! again. The policy decides which bound holds at its looks at the clock (`Policy::sharing`),
//! so the `join` reads one flag, not the sleep state; a sleeper that wakes and searches is
//! seen at the next look, which restores three (or `HUNGRY_FORKS` for a searcher that
//! runs), as does a heartbeat. A shallow tree run in
//! a short call (the 1023-node tree from outside, `docs/work-stealing.md`) forked 129 of its
//! 511 `join`s under the bound of three, since every take-back freed room and the `join`s
//! after it forked until the stack was full again. The price: a `join` at
//! the second level of a tree begun on a sleeping pool keeps its `b` until it starts it, as
//! a fourth-level one does under three.
//!
//! While another thread is hungry (searching, or waiting for work of its own) at the
//! policy's last look, the bound is [`HUNGRY_FORKS`] instead. Under three, once a thread's
//! shallow forks were handed out, the slots they free go to the deep `join`s that run next,
//! so what it can share is small while the large second halves wait in the `join`s between
//! that did not fork; on a narrow tree (the binomial UTS-like tree, `docs/work-stealing.md`)
//! thieves then come back for more again and again. Forking deeper while somebody waits for
//! work keeps the large pieces publishable; the forks cost only while somebody is hungry.

use super::publish::Sharing;
use crate::job::{Fork, JobRef};

/// The most publishable (private, at or above the floor) forks a thread keeps; see the
/// module docs.
pub(crate) const PUBLISHABLE_FORKS: usize = 3;

/// The most publishable forks a thread keeps while every idle thread of its pool sleeps
/// (nobody searches or waits): see the module docs.
pub(crate) const DROWSY_FORKS: usize = 1;

/// The most publishable forks a thread keeps while another thread of its pool is hungry:
/// see the module docs.
pub(crate) const HUNGRY_FORKS: usize = 64;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct ForkStack {
    forks: Vec<Fork>,
    floor: usize,
    /// Every entry in `floor..cursor` is published and every entry from `cursor` on is
    /// private; `floor <= cursor` (both start at the stack's length when a scope opens,
    /// publication only raises `cursor`, and a take-back lowers it at most to the length,
    /// which stays at or above the floor while the scope is open).
    cursor: usize,
}

/// What `enter_scope` saved, for `exit_scope`.
#[derive(Debug)]
pub(crate) struct SavedFloor {
    floor: usize,
    cursor: usize,
}

/// Room for a 64-deep recursion without regrowing: no allocation per fork.
const INITIAL_CAPACITY: usize = 64;

/// The most forks a kept spare has room for (16 KiB). Under loom no spare is kept.
#[cfg(not(loom))]
const MAX_SPARE: usize = 1024;

#[cfg(not(loom))]
thread_local! {
    /// The storage of the last fork stack this thread dropped, emptied, for the next one
    /// made on it: a thread outside the pool makes a new context (and stack) per call, and
    /// without this every call would allocate and free 1 KiB (75 of the 741 instructions
    /// of a trivial outside call, `docs/work-stealing.md`, "Small calls from outside").
    /// A spare above [`MAX_SPARE`] forks is freed instead, so a deep recursion does not
    /// leave its storage behind for the thread's life.
    static SPARE: std::cell::Cell<Vec<Fork>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The storage for a new stack: the thread's spare if it has one, else a new allocation.
fn storage() -> Vec<Fork> {
    #[cfg(not(loom))]
    let forks = SPARE.try_with(std::cell::Cell::take).unwrap_or_default();
    #[cfg(loom)]
    let forks = Vec::new();
    if forks.capacity() == 0 {
        Vec::with_capacity(INITIAL_CAPACITY)
    } else {
        forks
    }
}

impl ForkStack {
    pub(crate) fn new() -> Self {
        ForkStack {
            forks: storage(),
            floor: 0,
            cursor: 0,
        }
    }

    /// Whether the stack holds [`PUBLISHABLE_FORKS`] publishable forks, [`DROWSY_FORKS`]
    /// when the policy's last look found the pool's idle threads all asleep (and no
    /// heartbeat came since), or [`HUNGRY_FORKS`] when it found somebody hungry: a `join`
    /// then runs both halves itself instead of forking.
    #[inline]
    pub(crate) fn is_full(&self, sharing: Sharing) -> bool {
        let bound = match sharing {
            Sharing::Busy => PUBLISHABLE_FORKS,
            Sharing::Drowsy => DROWSY_FORKS,
            Sharing::Hungry => HUNGRY_FORKS,
        };
        self.forks.len() - self.cursor >= bound
    }

    #[inline]
    pub(crate) fn push(&mut self, fork: Fork) {
        self.forks.push(fork);
    }

    /// Removes `fork`, the newest (every fork pushed after it was removed by its own `join`
    /// before this one's first half returned). Returns true if it is still private: the
    /// caller runs it. False if it was published: it may be anywhere, running or done.
    #[inline]
    pub(crate) fn take_back(&mut self, fork: Fork) -> bool {
        let last = self.forks.pop().expect("a join's fork is on the stack");
        debug_assert_eq!(
            last.header(),
            fork.header(),
            "forks are taken back newest first"
        );
        if self.cursor > self.forks.len() {
            self.cursor = self.forks.len();
        }
        !last.is_published()
    }

    /// Marks the oldest private fork at or above the floor published and returns it as a
    /// job, if there is one.
    ///
    /// # Safety
    /// The caller hands the job to a queue: every fork's header stays valid until it ran,
    /// because its `join` waits for it once it sees it published.
    pub(crate) unsafe fn publish_oldest(&mut self) -> Option<JobRef> {
        debug_assert!(self.floor <= self.cursor);
        let fork = self.forks.get_mut(self.cursor)?;
        debug_assert!(!fork.is_published(), "forks from the cursor on are private");
        self.cursor += 1;
        // SAFETY: not published before (every fork from the cursor on is private);
        // validity is the caller's.
        Some(unsafe { fork.publish() })
    }

    /// Whether a fork at or above the floor is still private.
    pub(crate) fn has_publishable(&self) -> bool {
        self.cursor < self.forks.len()
    }

    /// Whether a fork at or above the floor older than the newest one is still private:
    /// publishing the oldest then leaves the newest, which its `join` is about to take
    /// back, private.
    pub(crate) fn has_publishable_below_newest(&self) -> bool {
        self.cursor + 1 < self.forks.len()
    }

    /// Whether a `join` that did not fork (its `b` still to run) may be running below these
    /// forks. Such a `join` started on a full stack, and the forks that filled it are its
    /// ancestors, on the stack until it returns: so it is running only if the stack holds
    /// at least [`PUBLISHABLE_FORKS`] forks, or at least one if the drowsy bound may have
    /// applied since the stack was last empty (`lowered`, kept by the policy). The converse
    /// does not hold (the forks may all have been published, and no such `join` be
    /// running): a count of those `join`s would be exact, and cost two memory increments
    /// around every `a` that does not fork.
    pub(crate) fn may_hide_unforked(&self, lowered: bool) -> bool {
        let len = self.forks.len();
        len >= PUBLISHABLE_FORKS || (lowered && len > 0)
    }

    /// Whether the stack holds no fork at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.forks.is_empty()
    }

    /// Whether any fork, below the floor or not, is still private.
    pub(crate) fn has_private(&self) -> bool {
        self.forks.iter().any(|f| !f.is_published())
    }

    /// A scope opens on this thread: older forks stay private until it closes.
    pub(crate) fn enter_scope(&mut self) -> SavedFloor {
        let saved = SavedFloor {
            floor: self.floor,
            cursor: self.cursor,
        };
        self.floor = self.forks.len();
        self.cursor = self.forks.len();
        saved
    }

    /// The scope closes (all its forks are gone): restore the outer floor.
    pub(crate) fn exit_scope(&mut self, saved: SavedFloor) {
        debug_assert_eq!(self.forks.len(), self.floor, "a scope's forks outlived it");
        self.floor = saved.floor;
        self.cursor = saved.cursor;
    }
}

impl Drop for ForkStack {
    /// Leaves the storage to the thread's next stack (keeping the larger of two spares, and
    /// none above `MAX_SPARE`).
    fn drop(&mut self) {
        #[cfg(not(loom))]
        {
            let mut forks = std::mem::take(&mut self.forks);
            if forks.capacity() > MAX_SPARE {
                return;
            }
            forks.clear();
            // `try_with`: a stack dropped while the thread's locals are torn down frees
            // its storage instead.
            let _ = SPARE.try_with(|spare| {
                let other = spare.take();
                spare.set(if other.capacity() > forks.capacity() {
                    other
                } else {
                    forks
                });
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::job_ref::Word;
    use crate::job::{Header, Kind};

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("a test fork is never executed");
    }

    fn headers(n: usize) -> Vec<Header> {
        (0..n)
            .map(|_| Header::new(std::ptr::null(), Kind::Stack))
            .collect()
    }

    fn fork(h: &Header) -> Fork {
        // SAFETY: test forks are never executed and their headers outlive the stack.
        unsafe { Fork::new(h, never) }
    }

    fn publish(stack: &mut ForkStack) -> Option<*const Header> {
        // SAFETY: the jobs are only compared, never executed.
        unsafe { stack.publish_oldest() }.map(|job| job.header())
    }

    #[test]
    #[cfg(not(loom))]
    fn a_new_stack_reuses_the_storage_of_the_last_one_dropped_on_its_thread() {
        let hs = headers(2);
        let mut first = ForkStack::new();
        first.push(fork(&hs[0]));
        let storage = first.forks.as_ptr();
        // Another stack alive at the same time gets storage of its own.
        let mut nested = ForkStack::new();
        assert_ne!(nested.forks.as_ptr(), storage);
        nested.push(fork(&hs[1]));
        assert!(nested.take_back(fork(&hs[1])));
        drop(nested);
        assert!(first.take_back(fork(&hs[0])));
        drop(first);
        // Two spares were left; the thread kept one, and the next stack starts empty on it.
        let next = ForkStack::new();
        assert!(next.forks.is_empty());
        assert!(next.forks.capacity() >= INITIAL_CAPACITY);
        let next_storage = next.forks.as_ptr();
        drop(next);
        // Had it been freed, an allocation of the same size made now would likely get it.
        let decoy: Vec<Fork> = Vec::with_capacity(INITIAL_CAPACITY);
        assert_eq!(ForkStack::new().forks.as_ptr(), next_storage);
        assert_ne!(decoy.as_ptr(), next_storage);
        // A thread of its own starts with storage of its own.
        let elsewhere = std::thread::spawn(|| ForkStack::new().forks.as_ptr() as usize)
            .join()
            .unwrap();
        assert_ne!(elsewhere, next_storage as usize);
    }

    #[test]
    #[cfg(not(loom))]
    fn a_stack_grown_past_the_spare_limit_is_not_kept() {
        let hs = headers(MAX_SPARE + 1);
        let mut big = ForkStack::new();
        for h in &hs {
            big.push(fork(h));
        }
        for h in hs.iter().rev() {
            assert!(big.take_back(fork(h)));
        }
        assert!(big.forks.capacity() > MAX_SPARE);
        drop(big);
        assert!(ForkStack::new().forks.capacity() <= MAX_SPARE);
    }

    #[test]
    fn only_a_fork_older_than_the_newest_counts_as_publishable_below_it() {
        let hs = headers(3);
        let mut stack = ForkStack::new();
        stack.push(fork(&hs[0]));
        assert!(stack.has_publishable());
        assert!(
            !stack.has_publishable_below_newest(),
            "only the newest is private"
        );
        stack.push(fork(&hs[1]));
        assert!(stack.has_publishable_below_newest());
        publish(&mut stack);
        assert!(
            !stack.has_publishable_below_newest(),
            "the older one is published"
        );
        // A scope's floor hides the forks below it.
        let saved = stack.enter_scope();
        stack.push(fork(&hs[2]));
        assert!(!stack.has_publishable_below_newest());
        assert!(stack.take_back(fork(&hs[2])));
        stack.exit_scope(saved);
        assert!(stack.take_back(fork(&hs[1])));
        assert!(!stack.take_back(fork(&hs[0])));
    }

    #[test]
    fn publication_goes_oldest_first_and_skips_published_forks() {
        let hs = headers(3);
        let mut stack = ForkStack::new();
        for h in &hs {
            stack.push(fork(h));
        }
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
        assert_eq!(publish(&mut stack), Some(&hs[1] as *const Header));
        assert_eq!(publish(&mut stack), Some(&hs[2] as *const Header));
        assert_eq!(publish(&mut stack), None);
        assert!(!stack.has_publishable());
        // Taken back newest first: each reports that it was published.
        assert!(!stack.take_back(fork(&hs[2])));
        assert!(!stack.take_back(fork(&hs[1])));
        assert!(!stack.take_back(fork(&hs[0])));
    }

    #[test]
    fn a_private_fork_taken_back_is_run_by_its_joiner() {
        let hs = headers(2);
        let mut stack = ForkStack::new();
        stack.push(fork(&hs[0]));
        stack.push(fork(&hs[1]));
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
        assert!(
            stack.take_back(fork(&hs[1])),
            "the newer fork stayed private"
        );
        assert!(!stack.take_back(fork(&hs[0])));
    }

    #[test]
    fn the_cursor_follows_forks_taken_back() {
        let hs = headers(3);
        let mut stack = ForkStack::new();
        stack.push(fork(&hs[0]));
        stack.push(fork(&hs[1]));
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
        assert_eq!(publish(&mut stack), Some(&hs[1] as *const Header));
        assert!(!stack.take_back(fork(&hs[1])));
        // The cursor came down with the stack: a new fork in that slot is found.
        stack.push(fork(&hs[2]));
        assert_eq!(publish(&mut stack), Some(&hs[2] as *const Header));
    }

    #[test]
    fn forks_below_an_open_scope_stay_private_until_it_closes() {
        let hs = headers(2);
        let mut stack = ForkStack::new();
        stack.push(fork(&hs[0]));
        let saved = stack.enter_scope();
        assert!(
            !stack.has_publishable(),
            "the outer fork is below the floor"
        );
        assert_eq!(publish(&mut stack), None);
        stack.push(fork(&hs[1]));
        assert_eq!(publish(&mut stack), Some(&hs[1] as *const Header));
        assert!(!stack.take_back(fork(&hs[1])));
        stack.exit_scope(saved);
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
    }

    #[test]
    fn the_stack_is_full_at_the_bound_of_publishable_forks() {
        // The three bounds, by what the policy's last look saw.
        let busy = |s: &ForkStack| s.is_full(Sharing::Busy);
        let drowsy = |s: &ForkStack| s.is_full(Sharing::Drowsy);
        let hungry = |s: &ForkStack| s.is_full(Sharing::Hungry);
        let hs = headers(HUNGRY_FORKS + 2);
        let mut stack = ForkStack::new();
        assert!(!drowsy(&stack) && !busy(&stack) && !hungry(&stack));
        for h in &hs[..PUBLISHABLE_FORKS - 1] {
            stack.push(fork(h));
            assert!(!busy(&stack));
            // While the pool only sleeps, one publishable fork fills it.
            assert!(drowsy(&stack));
        }
        stack.push(fork(&hs[PUBLISHABLE_FORKS - 1]));
        assert!(busy(&stack));
        // A published fork no longer counts...
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
        assert!(!busy(&stack));
        stack.push(fork(&hs[PUBLISHABLE_FORKS]));
        assert!(busy(&stack));
        // ...nor does one below an open scope's floor.
        let saved = stack.enter_scope();
        assert!(!busy(&stack) && !drowsy(&stack));
        stack.push(fork(&hs[PUBLISHABLE_FORKS + 1]));
        assert!(drowsy(&stack));
        assert!(!busy(&stack));
        assert!(stack.take_back(fork(&hs[PUBLISHABLE_FORKS + 1])));
        stack.exit_scope(saved);
        assert!(busy(&stack));
        // While somebody is hungry the thread keeps forking (three publishable forks
        // so far), up to the hungry bound.
        for h in &hs[PUBLISHABLE_FORKS + 1..HUNGRY_FORKS + 1] {
            assert!(!hungry(&stack));
            stack.push(fork(h));
        }
        assert!(hungry(&stack) && busy(&stack) && drowsy(&stack));
    }

    /// A thread's `join`s as a complete binary tree walked depth first, in `join.rs`'s
    /// order, with the real publication policy (`publish.rs`) deciding at each of its
    /// decision points. `choices` say, in walk order, what each decision point sees: the
    /// pool (busy, only sleepers, a searcher, a waiter), how far the clock moved (not at
    /// all, 1 µs, a heartbeat's interval) and whether the context's publication, when the
    /// policy asks for one, finds room in the queue.
    #[cfg(not(loom))]
    struct Walk<'h> {
        stack: ForkStack,
        policy: super::super::publish::Policy,
        headers: &'h [Header],
        choices: std::vec::IntoIter<(u8, u8, bool)>,
        clock: std::time::Instant,
        /// `join`s that did not fork and are still running.
        unforked: usize,
    }

    #[cfg(not(loom))]
    impl Walk<'_> {
        /// What `current_thread_has_pending_tasks` relies on: never `false` while a `b` of
        /// a `join` that did not fork waits.
        fn check(&self) {
            assert!(self.unforked == 0 || self.stack.may_hide_unforked(self.policy.lowered()));
        }

        /// A decision point (`Ctx::poll`, `poll_return`, `poll_forked_return`) and what
        /// the context does with its decision.
        fn decide(&mut self, point: u8) {
            use super::super::publish::Decision;
            use crate::sched::sleep::Snapshot;
            use crate::sched::sleep::pacing::HEARTBEAT;
            let (pool, step, room) = self.choices.next().unwrap_or((0, 0, false));
            let s = match pool % 4 {
                0 => Snapshot::of(0, 0, 0),
                1 => Snapshot::of(0, 1, 0),
                2 => Snapshot::of(1, 1, 0),
                _ => Snapshot::of(0, 0, 1),
            };
            self.clock += match step % 3 {
                0 => std::time::Duration::ZERO,
                1 => std::time::Duration::from_micros(1),
                _ => HEARTBEAT,
            };
            let now = || self.clock;
            let decision = match point {
                0 => self.policy.on_fork(s, now),
                1 => self.policy.on_return(s, now),
                _ => self.policy.on_forked_return(s, now),
            };
            if decision != Decision::Keep && room && self.stack.has_publishable() {
                publish(&mut self.stack);
            }
            self.check();
        }

        fn join(&mut self, depth: usize) {
            self.check();
            if depth == 0 {
                return;
            }
            if self.stack.is_full(self.policy.sharing()) {
                self.unforked += 1;
                self.decide(0);
                self.join(depth - 1);
                self.decide(1);
                self.unforked -= 1;
                self.join(depth - 1);
            } else {
                self.stack.push(fork(&self.headers[depth]));
                self.decide(0);
                self.join(depth - 1);
                self.decide(2);
                // `Ctx::take_back`.
                self.stack.take_back(fork(&self.headers[depth]));
                if self.stack.is_empty() {
                    self.policy.stack_emptied();
                }
                self.check();
                self.join(depth - 1);
            }
        }
    }

    #[cfg(not(loom))]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: if cfg!(miri) { 4 } else { 256 },
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn a_join_that_did_not_fork_is_always_seen(
            depth in 1usize..9,
            choices in proptest::collection::vec(
                proptest::prelude::any::<(u8, u8, bool)>(),
                0..1600,
            ),
        ) {
            let headers = headers(depth + 1);
            let mut walk = Walk {
                stack: ForkStack::new(),
                policy: super::super::publish::Policy::new(),
                headers: &headers,
                choices: choices.into_iter(),
                clock: std::time::Instant::now(),
                unforked: 0,
            };
            walk.join(depth);
            proptest::prop_assert!(walk.stack.is_empty());
            proptest::prop_assert!(!walk.stack.may_hide_unforked(true));
        }
    }

    #[test]
    fn one_fork_hides_an_unforked_join_only_once_the_bound_was_lowered() {
        let hs = headers(1);
        let mut stack = ForkStack::new();
        stack.push(fork(&hs[0]));
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
        // A forked `join` whose `b` was taken: nothing pending below it...
        assert!(!stack.may_hide_unforked(false));
        // ...unless the drowsy bound may have let a `join` run below it without forking.
        assert!(stack.may_hide_unforked(true));
        assert!(!stack.take_back(fork(&hs[0])));
        assert!(!stack.may_hide_unforked(true));
    }

    #[test]
    fn nested_scopes_restore_each_outer_floor() {
        let hs = headers(3);
        let mut stack = ForkStack::new();
        stack.push(fork(&hs[0]));
        let outer = stack.enter_scope();
        stack.push(fork(&hs[1]));
        let inner = stack.enter_scope();
        stack.push(fork(&hs[2]));
        assert_eq!(publish(&mut stack), Some(&hs[2] as *const Header));
        assert!(!stack.take_back(fork(&hs[2])));
        stack.exit_scope(inner);
        assert_eq!(publish(&mut stack), Some(&hs[1] as *const Header));
        assert!(!stack.take_back(fork(&hs[1])));
        stack.exit_scope(outer);
        assert_eq!(publish(&mut stack), Some(&hs[0] as *const Header));
    }
}
