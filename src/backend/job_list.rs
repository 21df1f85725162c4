//! A locked FIFO of jobs with a relaxed length: a look costs one relaxed load, a push or a
//! take one short critical section, and in steady state nothing is allocated (the ring
//! grows by doubling and keeps its room while the pool is busy).
//!
//! Four uses: the stealing backend's shared queue (outside submissions, detached spawns;
//! `backend/stealing.rs`), the relocation queue (jobs a waiter stole while their worker's
//! anchor changed, see `sched/search.rs`; they may belong to anyone, so they go where every
//! waiter and searching worker looks first), each worker's inbox (its share of a
//! `broadcast`) and, in the stealing backend, each worker's overflow (the newest part of
//! its own queue once its deque is full; its owner takes from the newest end).
//!
//! Why a lock and not crossbeam-deque's lock-free `Injector` for the shared queue: the
//! `Injector` keeps its jobs in linked blocks of 63 slots, allocated by the pusher and freed
//! by the taker. A slot holds a `JobRef` (five words) and a state word, so a block is about
//! 3 KiB, beyond the 1 KiB that glibc caches per thread. One thread feeding the pool from
//! outside then takes the allocator's arena lock once a block while a worker takes it to
//! free the one before, and the arena's top is trimmed and faulted back in: 20% of all
//! samples of 1M outside spawns of 100 ns jobs on 2 workers (`docs/work-stealing.md`, "The
//! shared queue"). tokio's injection queue and Go's global run queue are locked queues too.
//!
//! A ring that grew in a burst keeps its room until no ring has grown past [`RING_KEEP`]
//! for `pacing::TRIM_AFTER`; then a worker about to park trims every empty ring back to
//! `RING_KEEP` (`Registry::before_park`, `sched/sleep/trim.rs`), and a parked worker wakes
//! by then to do it. A pool fed in bursts keeps its room between them; one that went quiet,
//! or sees only a trickle of work, gives it back (`docs/work-stealing.md`, "A quiet pool
//! gives back its queues' memory").
//!
//! The length is written under the lock and read without it. A stale read is never relied
//! on, with one exception: only its owner pushes to a worker's overflow, so once a thief
//! has stored 0 nobody else changes it and the owner's read of 0 is exact; a stale
//! non-zero read only sends the owner through the lock. Whoever pushes
//! into the shared or the relocation queue then issues a SeqCst fence before it looks for
//! sleepers or waiters (`Sleep::notify_work`), and a sleeper or waiter
//! issues one before its last look, so one of the two sees the other (the loom model
//! `loom_sleep_*` runs this queue). An inbox has its own hand-off: the broadcaster counts
//! the job in `Registry::inboxed` before it wakes every worker, and a job put back into an
//! inbox is put back by the one worker that reads it. A push into an overflow is a local
//! push: its wake-up is best effort (`Sleep::notify_local_work`), since the owner comes
//! back for it.

use std::collections::VecDeque;

use crate::job::JobRef;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering};

/// The room, in jobs, that a ring keeps when it is trimmed: 80 KiB, under glibc's first
/// threshold for serving an allocation with its own mapping, and the stealing backend's
/// deque bound. Under Miri 8, so that its test reaches it in a few pushes.
pub(crate) const RING_KEEP: usize = if cfg!(miri) { 8 } else { 2048 };

/// See the module docs.
#[derive(Default)]
pub(crate) struct JobList {
    /// Jobs in `queue`; read without the lock to skip it when empty.
    len: AtomicUsize,
    /// Whether the ring may have more room than [`RING_KEEP`]: set under the lock by the
    /// push that takes the length past it, cleared by `trim`; read without the lock. The
    /// ring's room doubles from a power of two (`with_capacity`), so past its start that
    /// push is the only way its room grows past `RING_KEEP`.
    spare: AtomicBool,
    /// Set with `spare` by every push that takes the length past [`RING_KEEP`]; cleared by
    /// `take_growth`.
    grew: AtomicBool,
    queue: Mutex<Locked>,
}

/// What the lock guards.
#[derive(Default)]
struct Locked {
    jobs: VecDeque<JobRef>,
    /// Pushes made with `push_counted` so far: counted inside the critical section the push
    /// takes anyway, where a shared counter beside it would cost a locked instruction more
    /// per push.
    counted: u64,
}

impl std::fmt::Debug for JobList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobList")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl JobList {
    /// An empty list with room for `capacity` jobs before its ring first grows: a power of
    /// two (see `spare`; a ring that starts with more than [`RING_KEEP`] starts spare).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        debug_assert!(capacity.is_power_of_two());
        JobList {
            len: AtomicUsize::new(0),
            spare: AtomicBool::new(capacity > RING_KEEP),
            grew: AtomicBool::new(false),
            queue: Mutex::new(Locked {
                jobs: VecDeque::with_capacity(capacity),
                counted: 0,
            }),
        }
    }

    /// Appends a job. The caller then makes it visible to whoever should take it: see the
    /// module docs.
    pub(crate) fn push(&self, job: JobRef) {
        self.push_counting(job, 0);
    }

    /// `push`, counted: returns how many pushes were counted so far, this one included.
    pub(crate) fn push_counted(&self, job: JobRef) -> u64 {
        self.push_counting(job, 1)
    }

    /// Appends a job and adds `count` to the counted pushes; returns their number.
    #[inline]
    fn push_counting(&self, job: JobRef, count: u64) -> u64 {
        let mut queue = self.queue.lock();
        queue.jobs.push_back(job);
        queue.counted += count;
        let len = queue.jobs.len();
        self.len.store(len, Ordering::Relaxed);
        if len == RING_KEEP + 1 {
            self.spare.store(true, Ordering::Relaxed);
            self.grew.store(true, Ordering::Relaxed);
        }
        queue.counted
    }

    /// How many pushes `push_counted` made so far.
    pub(crate) fn counted_pushes(&self) -> u64 {
        self.queue.lock().counted
    }

    /// Takes the oldest job, if any.
    #[inline]
    pub(crate) fn pop(&self) -> Option<JobRef> {
        self.take(VecDeque::pop_front)
    }

    /// Takes the newest job, if any (the owner's end of a worker's overflow).
    #[inline]
    pub(crate) fn pop_newest(&self) -> Option<JobRef> {
        self.take(VecDeque::pop_back)
    }

    /// Takes one job from the end `end` picks, skipping the lock when the list looks empty.
    #[inline]
    fn take(&self, end: fn(&mut VecDeque<JobRef>) -> Option<JobRef>) -> Option<JobRef> {
        if self.is_empty() {
            return None;
        }
        let mut queue = self.queue.lock();
        let job = end(&mut queue.jobs);
        self.len.store(queue.jobs.len(), Ordering::Relaxed);
        job
    }

    /// Takes the oldest half of the jobs, rounded up (crossbeam-deque's rule for its own
    /// `Injector`): the oldest is returned, the others go into `rest`, oldest first, as
    /// far as `rest` has room; the slots after the last job taken are left as they were.
    /// Returns the first job and how many went into `rest`. The copy is made under the
    /// lock; whatever the caller does with the jobs comes after it.
    pub(crate) fn pop_batch(&self, rest: &mut [Option<JobRef>]) -> Option<(JobRef, usize)> {
        if self.is_empty() {
            return None;
        }
        let mut queue = self.queue.lock();
        let jobs = &mut queue.jobs;
        let half = jobs.len().div_ceil(2);
        let first = jobs.pop_front()?;
        let extra = (half - 1).min(rest.len());
        for (slot, job) in rest.iter_mut().zip(jobs.drain(..extra)) {
            *slot = Some(job);
        }
        self.len.store(jobs.len(), Ordering::Relaxed);
        Some((first, extra))
    }

    /// The jobs the ring has room for without growing (takes the lock).
    pub(crate) fn capacity(&self) -> usize {
        self.queue.lock().jobs.capacity()
    }

    /// Whether the ring may have more room than [`RING_KEEP`] (one relaxed load; a stale
    /// answer only moves a trim to a later park).
    #[inline]
    pub(crate) fn holds_spare_room(&self) -> bool {
        self.spare.load(Ordering::Relaxed)
    }

    /// Whether the ring grew past [`RING_KEEP`] since the last call; clears that. A relaxed
    /// load, and a swap when it did (a stale answer only moves a trim).
    pub(crate) fn take_growth(&self) -> bool {
        self.grew.load(Ordering::Relaxed) && self.grew.swap(false, Ordering::Relaxed)
    }

    /// If the list is empty, frees the ring's room beyond [`RING_KEEP`] jobs. A list that
    /// holds jobs is left as it is: somebody is about to take them. Returns whether the
    /// ring still holds spare room.
    pub(crate) fn trim(&self) -> bool {
        if !self.holds_spare_room() {
            return false;
        }
        let mut queue = self.queue.lock();
        if !queue.jobs.is_empty() {
            return true;
        }
        queue.jobs.shrink_to(RING_KEEP);
        self.spare.store(false, Ordering::Relaxed);
        false
    }

    /// The number of jobs as of the last change (one relaxed load).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the queue looked empty (one relaxed load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Takes the growth of every ring in `rings` (none is skipped once one reports it);
/// whether some ring grew.
pub(crate) fn take_growth_of<'a>(rings: impl IntoIterator<Item = &'a JobList>) -> bool {
    rings
        .into_iter()
        .fold(false, |grew, ring| ring.take_growth() | grew)
}

/// Trims every ring in `rings` (`JobList::trim`); whether some ring, not empty, kept its
/// spare room.
pub(crate) fn trim_all<'a>(rings: impl IntoIterator<Item = &'a JobList>) -> bool {
    rings
        .into_iter()
        .fold(false, |kept, ring| ring.trim() | kept)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicU8, AtomicUsize};

    use proptest::prelude::*;

    use super::*;
    use crate::job::inline::{InlineJob, detached_header};

    /// A job that counts its own runs in `runs[i]`.
    fn job(runs: &'static [AtomicU8], i: usize) -> JobRef {
        // SAFETY: the closure borrows only 'static data; the header is the static one.
        unsafe {
            InlineJob::into_job_ref(detached_header(), move |_| {
                runs[i].fetch_add(1, Ordering::Relaxed);
            })
        }
    }

    fn counters(n: usize) -> &'static [AtomicU8] {
        Box::leak((0..n).map(|_| AtomicU8::new(0)).collect())
    }

    /// Runs `job` and returns which counter it bumped.
    fn run(runs: &[AtomicU8], job: JobRef) -> usize {
        let before: Vec<u8> = runs.iter().map(|r| r.load(Ordering::Relaxed)).collect();
        // SAFETY: each job comes out of the list once and runs once.
        unsafe { job.execute() };
        (0..runs.len())
            .find(|&i| runs[i].load(Ordering::Relaxed) != before[i])
            .expect("the job ran")
    }

    #[test]
    fn jobs_come_out_oldest_first() {
        let runs = counters(5);
        let list = JobList::with_capacity(2);
        for i in 0..5 {
            list.push(job(runs, i));
        }
        assert_eq!(list.len(), 5);
        for i in 0..5 {
            assert_eq!(run(runs, list.pop().expect("five jobs")), i);
        }
        assert!(list.is_empty());
        assert!(list.pop().is_none());
    }

    #[test]
    fn a_batch_takes_the_oldest_half_as_far_as_there_is_room() {
        let runs = counters(100);
        let list = JobList::default();
        for i in 0..9 {
            list.push(job(runs, i));
        }
        let mut rest = [None; 32];
        // Half of 9, rounded up, is 5: 0 is returned, 1..=4 go into `rest`, oldest first.
        let (first, n) = list.pop_batch(&mut rest).expect("nine jobs");
        assert_eq!((run(runs, first), n), (0, 4));
        for (k, slot) in rest.iter_mut().take(n).enumerate() {
            assert_eq!(run(runs, slot.take().expect("filled")), k + 1);
        }
        assert!(rest.iter().all(Option::is_none), "nothing past the batch");
        assert_eq!(list.len(), 4);
        // Half of the four left is two: 5 is returned, 6 goes into `rest`.
        let (first, n) = list.pop_batch(&mut rest).expect("four jobs");
        assert_eq!((run(runs, first), n), (5, 1));
        for slot in &mut rest[..n] {
            run(runs, slot.take().expect("filled"));
        }
        // A batch never takes more than `rest` holds.
        for i in 9..100 {
            list.push(job(runs, i));
        }
        let mut small = [None; 4];
        let (first, n) = list.pop_batch(&mut small).expect("jobs");
        assert_eq!((run(runs, first), n), (7, 4));
        for slot in &mut small {
            run(runs, slot.take().expect("filled"));
        }
        while let Some(j) = list.pop() {
            run(runs, j);
        }
        assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn only_counted_pushes_are_counted_and_they_count_from_one() {
        let runs = counters(4);
        let list = JobList::default();
        list.push(job(runs, 0));
        assert_eq!(list.push_counted(job(runs, 1)), 1);
        list.push(job(runs, 2));
        assert_eq!(list.push_counted(job(runs, 3)), 2);
        assert_eq!(list.counted_pushes(), 2);
        assert_eq!(list.len(), 4);
        // Counted or not, the jobs keep their order.
        for i in 0..4 {
            assert_eq!(run(runs, list.pop().expect("four jobs")), i);
        }
        assert_eq!(list.counted_pushes(), 2, "taking jobs counts nothing");
    }

    #[test]
    fn trimming_frees_the_room_of_an_empty_ring_beyond_the_keep_and_nothing_else() {
        let runs = counters(3 * RING_KEEP);
        let list = JobList::default();
        for i in 0..3 * RING_KEEP {
            list.push(job(runs, i));
        }
        assert!(list.holds_spare_room());
        // The growth is reported once.
        assert!(list.take_growth());
        assert!(!list.take_growth());
        // A list that holds jobs is not trimmed, and says it kept its room.
        assert!(list.trim());
        assert!(list.capacity() >= 3 * RING_KEEP);
        let mut ran = 0;
        while let Some(j) = list.pop() {
            run(runs, j);
            ran += 1;
        }
        assert_eq!(ran, 3 * RING_KEEP);
        assert!(list.holds_spare_room(), "taking jobs frees no room");
        assert!(!list.trim(), "an empty list gives its room back");
        assert!(!list.holds_spare_room());
        let room = list.capacity();
        assert!(
            (RING_KEEP..3 * RING_KEEP).contains(&room),
            "the keep stays, the rest goes: {room}"
        );
        assert!(!list.take_growth());
        // The trimmed ring works as before.
        let more = counters(2);
        list.push(job(more, 0));
        list.push(job(more, 1));
        assert_eq!(run(more, list.pop().expect("two jobs")), 0);
        assert_eq!(run(more, list.pop().expect("one job")), 1);
        // Grown again past the keep, it says so again.
        let again = counters(RING_KEEP + 1);
        for i in 0..=RING_KEEP {
            list.push(job(again, i));
        }
        assert!(list.holds_spare_room() && list.take_growth());
        while let Some(j) = list.pop() {
            run(again, j);
        }
        // A small ring is left alone.
        let small = JobList::with_capacity(4);
        let before = small.capacity();
        assert!(!small.trim());
        assert_eq!(small.capacity(), before);
    }

    #[test]
    fn a_batch_from_an_empty_list_touches_nothing() {
        let list = JobList::default();
        let mut rest = [None; 4];
        assert!(list.pop_batch(&mut rest).is_none());
        assert!(rest.iter().all(Option::is_none));
    }

    /// One step of the model test.
    #[derive(Clone, Debug)]
    enum Op {
        Push,
        /// A push the list counts itself.
        PushCounted,
        Pop,
        /// A batch into a buffer of this many slots.
        Batch(usize),
    }

    std::thread_local! {
        /// The index of the job the test thread ran last.
        static LAST: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }

    /// Runs `job`, made by `indexed`, and returns its index.
    fn index_of(job: JobRef) -> usize {
        // SAFETY: each job comes out of the list once and runs once.
        unsafe { job.execute() };
        LAST.with(std::cell::Cell::get)
    }

    fn indexed(i: usize) -> JobRef {
        // SAFETY: the closure borrows nothing; the header is the static one.
        unsafe { InlineJob::into_job_ref(detached_header(), move |_| LAST.with(|l| l.set(i))) }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: if cfg!(miri) { 4 } else { 256 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Any sequence of pushes (counted or not), pops and batches takes the jobs out
        /// exactly as a plain FIFO would, a batch taking the oldest half (rounded up) as far
        /// as its buffer has room; the length read without the lock and the count of
        /// counted pushes are right after every step.
        #[test]
        fn the_list_behaves_as_a_fifo_with_half_batches_and_counts_counted_pushes(
            ops in proptest::collection::vec(
                prop_oneof![
                    3 => Just(Op::Push),
                    1 => Just(Op::PushCounted),
                    1 => Just(Op::Pop),
                    1 => (0usize..40).prop_map(Op::Batch),
                ],
                0..200,
            )
        ) {
            let list = JobList::with_capacity(4);
            let mut model = std::collections::VecDeque::new();
            let mut next = 0;
            let mut counted = 0u64;
            for op in ops {
                match op {
                    Op::Push => {
                        list.push(indexed(next));
                        model.push_back(next);
                        next += 1;
                    }
                    Op::PushCounted => {
                        counted += 1;
                        prop_assert_eq!(list.push_counted(indexed(next)), counted);
                        model.push_back(next);
                        next += 1;
                    }
                    Op::Pop => {
                        prop_assert_eq!(list.pop().map(index_of), model.pop_front());
                    }
                    Op::Batch(room) => {
                        let mut rest = vec![None; room];
                        let half = model.len().div_ceil(2);
                        match list.pop_batch(&mut rest) {
                            None => prop_assert!(model.is_empty()),
                            Some((first, n)) => {
                                prop_assert_eq!(Some(index_of(first)), model.pop_front());
                                prop_assert_eq!(n, (half - 1).min(room));
                                for slot in &mut rest[..n] {
                                    let job = slot.take().expect("filled");
                                    prop_assert_eq!(Some(index_of(job)), model.pop_front());
                                }
                                prop_assert!(rest.iter().all(Option::is_none));
                            }
                        }
                    }
                }
                prop_assert_eq!(list.len(), model.len());
                prop_assert_eq!(list.counted_pushes(), counted);
            }
            while let Some(job) = list.pop() {
                prop_assert_eq!(Some(index_of(job)), model.pop_front());
            }
        }
    }

    #[test]
    fn concurrent_pushers_and_takers_run_every_job_once() {
        const PUSHERS: usize = 3;
        const EACH: usize = if cfg!(miri) { 100 } else { 20_000 };
        const TOTAL: usize = PUSHERS * EACH;
        let runs = counters(TOTAL);
        let list = JobList::default();
        let done = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for p in 0..PUSHERS {
                let list = &list;
                s.spawn(move || {
                    for i in 0..EACH {
                        list.push(job(runs, p * EACH + i));
                    }
                });
            }
            for _ in 0..2 {
                let (list, done) = (&list, &done);
                s.spawn(move || {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                    let mut rest = [None; 8];
                    while done.load(Ordering::Relaxed) < TOTAL {
                        assert!(std::time::Instant::now() < deadline, "jobs went missing");
                        let Some((first, n)) = list.pop_batch(&mut rest) else {
                            std::thread::yield_now();
                            continue;
                        };
                        // SAFETY: taken out of the list: its only execution.
                        unsafe { first.execute() };
                        for slot in &mut rest[..n] {
                            // SAFETY: as above.
                            unsafe { slot.take().expect("filled").execute() };
                        }
                        done.fetch_add(1 + n, Ordering::Relaxed);
                    }
                });
            }
        });
        assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1));
        assert!(list.is_empty());
    }
}
