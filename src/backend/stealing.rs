//! The work-stealing backend: a crossbeam-deque per worker and one shared queue, the
//! *injector* (a locked ring, `job_list.rs`, which says why it is not crossbeam's
//! lock-free `Injector`).
//!
//! Search order of an idle worker (after its own deque, which the worker loop pops itself):
//! 1. a batch from the injector (outside submissions, detached spawns): its oldest half,
//!    at most [`INJECTOR_BATCH`] jobs, run oldest first;
//! 2. the peers, starting at a random victim and visiting each once; a steal that reports
//!    `Retry` (it lost a race) is retried on the same victim, an `Empty` one moves on.
//!
//! A batch steal (`steal_batch_and_pop`) takes about half of the victim's queue, at most 32
//! jobs, into the thief's own deque and runs the first; `Tuning::steal_batch = false` takes
//! one job. `docs/work-stealing.md` has the measurement that chose the default.
//!
//! A worker's own queue is its deque and, behind it, its *overflow*: once the deque holds
//! [`DEQUE_BOUND`] jobs, pushes go to a locked list (`job_list.rs`) until that is empty
//! again. The overflow holds the newest jobs, so the owner pops from its newest end before
//! the deque, and a thief takes from a victim's overflow only when the victim's deque is
//! empty: a searching worker its oldest half (at most [`INJECTOR_BATCH`] jobs, under one
//! lock), a waiter's or spare's single steal its oldest job. So both ends see the order
//! one unbounded deque would give, with one exception that changes no outcome: a thief
//! that found the deque empty and then stalls while the owner drains the overflow and
//! pushes past the bound again takes an overflow job newer than the deque's. The owner
//! skips the overflow on a flag of its own (`Local::overflowing`), one plain load per push
//! and pop.
//!
//! The bound exists because crossbeam-deque doubles a full buffer and halves one left a
//! quarter full, copying the jobs each time: a loop spawning 200 000 jobs churned through
//! buffers of up to 10 MB, page faults included, every round (`docs/work-stealing.md`, "A
//! deep deque overflows into a list"). At 2 048 jobs the largest buffer is 80 KiB, under
//! glibc's first mmap threshold. The overflow's ring keeps the room of its deepest moment
//! (40 bytes a job: 8 MB after 200 000 queued jobs) until no queue has grown for
//! `TRIM_AFTER`, then shrinks back to 2 048 jobs (`job_list.rs`).

use std::cell::Cell;

use crossbeam_utils::CachePadded;

use super::job_list::{self, JobList};
use super::queue::{Steal, Stealer, Worker};
use super::{Queues, Search, Tuning};
use crate::job::JobRef;
use crate::sync::Arc;

/// The most jobs a worker takes from the injector at once, the one it runs included
/// (crossbeam-deque's limit for its own `Injector`, `MAX_BATCH + 1`); also from a victim's
/// overflow.
pub(crate) const INJECTOR_BATCH: usize = 33;

/// The most jobs a worker's deque holds; later pushes go to its overflow (module docs).
/// Under Miri 8, so that its tests reach the overflow in a few pushes.
pub(crate) const DEQUE_BOUND: usize = if cfg!(miri) { 8 } else { 2048 };

/// The shared half of the stealing backend.
#[derive(Debug)]
pub(crate) struct Stealing {
    /// On a cache line of its own: every push writes it, every steal reads `stealers`.
    injector: CachePadded<JobList>,
    stealers: Vec<Stealer<JobRef>>,
    /// Every worker's overflow, for thieves (`Local::overflow` is the owner's handle).
    overflows: Vec<Arc<CachePadded<JobList>>>,
    tuning: Tuning,
}

/// What one worker owns: its deque, its overflow and the state of its choice of first
/// victim.
#[derive(Debug)]
pub(crate) struct Local {
    deque: Worker<JobRef>,
    /// The jobs pushed while the deque was full, or while this list was not yet empty:
    /// the newest part of the worker's queue (module docs).
    overflow: Arc<CachePadded<JobList>>,
    /// Whether the owner may have jobs in its overflow: set by each push there, cleared by
    /// a pop that found it empty. Only the owner pushes there, so while this is clear the
    /// overflow is empty, and the owner's push and pop skip it with one plain load.
    overflowing: Cell<bool>,
    rng: Cell<XorShift>,
}

/// Cheap per-worker xorshift, for picking a random first victim.
#[derive(Clone, Copy, Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 32) as usize * n) >> 32
    }
}

/// Retries `steal` while it reports a lost race.
fn retrying(mut steal: impl FnMut() -> Steal<JobRef>) -> Steal<JobRef> {
    loop {
        match steal() {
            Steal::Retry => crate::sync::spin_hint(),
            done => return done,
        }
    }
}

impl Stealing {
    /// One steal from `victim` into `local`, by the configured tuning.
    fn steal_from(&self, victim: usize, local: &Worker<JobRef>, search: &mut Search) -> bool {
        let stealer = &self.stealers[victim];
        let before = local.len();
        let result = retrying(|| {
            if self.tuning.steal_batch {
                stealer.steal_batch_and_pop(local)
            } else {
                stealer.steal()
            }
        });
        match result {
            Steal::Success(job) => {
                search.job = Some(job);
                search.stolen = 1 + local.len().saturating_sub(before);
                true
            }
            _ => false,
        }
    }
}

impl Stealing {
    /// After `victim`'s deque came up empty: the oldest half of its overflow (at most
    /// `INJECTOR_BATCH` jobs) under one lock, into `local`'s deque as an injector batch
    /// goes (newest first, so that the oldest of them is popped first), the first to run;
    /// its oldest job alone with `Tuning::steal_batch` off.
    fn steal_overflow(&self, victim: usize, local: &Local, search: &mut Search) -> bool {
        let overflow = &self.overflows[victim];
        if self.tuning.steal_batch || overflow.is_empty() {
            return take_batch(overflow, local, search);
        }
        search.job = overflow.pop();
        search.stolen = usize::from(search.job.is_some());
        search.job.is_some()
    }
}

/// Takes the oldest half of `list` (at most `INJECTOR_BATCH` jobs), copied out under its
/// lock: the oldest is the job to run, the others go onto `local`'s deque after the lock,
/// newest first as crossbeam's batch does, so that the owner pops the oldest of them first
/// and a thief takes the newest. Whether it found a job.
fn take_batch(list: &JobList, local: &Local, search: &mut Search) -> bool {
    if list.is_empty() {
        return false;
    }
    let mut rest = [None; INJECTOR_BATCH - 1];
    let Some((job, n)) = list.pop_batch(&mut rest) else {
        return false;
    };
    for extra in rest[..n].iter().rev().flatten() {
        local.deque.push(*extra);
    }
    search.job = Some(job);
    search.stolen = 1 + n;
    true
}

impl Stealing {
    /// The shared queue and every overflow.
    fn rings(&self) -> impl Iterator<Item = &JobList> {
        std::iter::once(&*self.injector).chain(self.overflows.iter().map(|o| &***o))
    }
}

impl Queues for Stealing {
    type Local = Local;
    const HAS_LOCAL_QUEUES: bool = true;

    fn new(num_workers: usize, tuning: Tuning) -> (Self, Vec<Self::Local>) {
        let deques: Vec<Worker<JobRef>> = (0..num_workers).map(|_| Worker::new_lifo()).collect();
        let stealers = deques.iter().map(Worker::stealer).collect();
        let overflows: Vec<_> = (0..num_workers)
            .map(|_| Arc::new(CachePadded::new(JobList::default())))
            .collect();
        let locals = deques
            .into_iter()
            .zip(&overflows)
            .enumerate()
            .map(|(i, (deque, overflow))| Local {
                deque,
                overflow: Arc::clone(overflow),
                overflowing: Cell::new(false),
                rng: Cell::new(XorShift::new(i as u64 + 1)),
            })
            .collect();
        (
            Stealing {
                injector: CachePadded::new(JobList::with_capacity(256)),
                stealers,
                overflows,
                tuning,
            },
            locals,
        )
    }

    fn queue_room(&self) -> usize {
        self.rings().map(JobList::capacity).sum()
    }

    fn holds_spare_room(&self) -> bool {
        self.rings().any(JobList::holds_spare_room)
    }

    fn take_growth(&self) -> bool {
        job_list::take_growth_of(self.rings())
    }

    fn trim_rings(&self) -> bool {
        job_list::trim_all(self.rings())
    }

    fn push_global(&self, job: JobRef) {
        self.injector.push(job);
    }

    fn push_global_counted(&self, job: JobRef) -> Option<u64> {
        Some(self.injector.push_counted(job))
    }

    fn counted_global_pushes(&self) -> u64 {
        self.injector.counted_pushes()
    }

    fn pop_global(&self) -> Option<JobRef> {
        self.injector.pop()
    }

    fn global_len(&self) -> usize {
        self.injector.len()
    }

    fn global_is_empty(&self) -> bool {
        self.injector.is_empty()
    }

    fn push_local(&self, local: &Local, job: JobRef) -> usize {
        let len = local.deque.len();
        // Once the overflow holds jobs every push goes there, behind them, until the owner
        // or thieves have emptied it: the deque's jobs stay the oldest.
        if len < DEQUE_BOUND && !local.overflowing.get() {
            local.deque.push(job);
            // The depth as of this push (a thief may take some at any time).
            return len + 1;
        }
        local.overflowing.set(true);
        local.overflow.push(job);
        len + local.overflow.len()
    }

    #[inline(always)]
    fn pop_local(&self, local: &Local) -> Option<JobRef> {
        // The overflow holds the newest jobs (thieves may have taken them all).
        if local.overflowing.get() {
            if let Some(job) = local.overflow.pop_newest() {
                return Some(job);
            }
            local.overflowing.set(false);
        }
        // Read back one word at a time (`JobRef::copied_by_words`). Always inline, as the
        // path from here to the job's call (`search::pop_own`), so the words stay in
        // registers.
        local.deque.pop().as_ref().map(JobRef::copied_by_words)
    }

    fn local_is_empty(&self, local: &Local) -> bool {
        local.deque.is_empty() && local.overflow.is_empty()
    }

    fn steal_one(&self, victim: usize) -> Option<JobRef> {
        match retrying(|| self.stealers[victim].steal()) {
            Steal::Success(job) => Some(job),
            // The deque is empty: the oldest jobs left are the overflow's.
            _ => self.overflows[victim].pop(),
        }
    }

    fn find_work(&self, local: &Local, index: usize) -> Search {
        let mut search = Search::default();
        // 1. The injector, in batches: one producer feeding many workers must not pay one
        //    contended operation per job.
        if take_batch(&self.injector, local, &mut search) {
            return search;
        }
        // 2. The peers, from a random first victim, each once.
        let n = self.stealers.len();
        if n > 1 {
            let mut rng = local.rng.get();
            let start = rng.next_below(n);
            local.rng.set(rng);
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == index {
                    continue;
                }
                if self.steal_from(victim, &local.deque, &mut search)
                    || self.steal_overflow(victim, local, &mut search)
                {
                    search.from_peer = true;
                    break;
                }
                search.failed_steals += 1;
            }
        }
        search
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            || self.overflows.iter().any(|o| !o.is_empty())
    }

    fn publish_target_is_empty(&self, local: &Local) -> bool {
        self.local_is_empty(local)
    }

    fn local_lens(&self) -> Vec<usize> {
        self.stealers
            .iter()
            .zip(&self.overflows)
            .map(|(s, o)| s.len() + o.len())
            .collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::job::job_ref::Word;
    use crate::job::{Header, Kind};

    unsafe fn never(_: *const Header, _: Word, _: Word, _: Word) {
        unreachable!("these tests only queue jobs");
    }

    /// A full deque and 100 jobs in the overflow behind it; the headers the jobs point to.
    fn past_the_bound() -> (Stealing, Vec<Local>, Vec<Header>) {
        let headers: Vec<Header> = (0..DEQUE_BOUND + 100)
            .map(|_| Header::new(std::ptr::null(), Kind::Stack))
            .collect();
        let (q, locals) = Stealing::new(2, Tuning::default());
        for h in &headers {
            // SAFETY: never executed; `headers` outlives every queued job in these tests.
            q.push_local(&locals[0], unsafe { JobRef::new(h, never) });
        }
        (q, locals, headers)
    }

    /// The position in `headers` of the job's header.
    fn index(headers: &[Header], job: Option<JobRef>) -> usize {
        let job = job.expect("a job");
        headers
            .iter()
            .position(|h| std::ptr::eq(h, job.header()))
            .expect("one of ours")
    }

    #[test]
    fn past_the_bound_pushes_overflow_and_the_owner_pops_newest_first() {
        let (q, locals, headers) = past_the_bound();
        let n = headers.len();
        assert_eq!(locals[0].deque.len(), DEQUE_BOUND);
        assert_eq!(locals[0].overflow.len(), 100);
        assert_eq!(q.local_lens(), [n, 0]);
        // Newest first, through the overflow and on into the deque.
        let k = 100 + DEQUE_BOUND / 2;
        let popped: Vec<usize> = (0..k)
            .map(|_| index(&headers, q.pop_local(&locals[0])))
            .collect();
        assert_eq!(popped, (n - k..n).rev().collect::<Vec<_>>());
        // With the overflow empty and room in the deque, a push goes on top of the deque.
        let newest = Header::new(std::ptr::null(), Kind::Stack);
        // SAFETY: never executed; popped again below, before `newest` goes.
        q.push_local(&locals[0], unsafe { JobRef::new(&newest, never) });
        assert_eq!(locals[0].overflow.len(), 0);
        let top = q.pop_local(&locals[0]).expect("the new job");
        assert!(std::ptr::eq(top.header(), &newest));
        while q.pop_local(&locals[0]).is_some() {}
        assert!(q.local_is_empty(&locals[0]) && !q.has_work());
    }

    #[test]
    fn while_the_overflow_holds_jobs_pushes_go_behind_them_even_with_room_in_the_deque() {
        let (q, locals, headers) = past_the_bound();
        // Thieves make room in the deque; the overflow still holds 100 jobs.
        for i in 0..5 {
            assert_eq!(index(&headers, q.steal_one(0)), i);
        }
        let newest = Header::new(std::ptr::null(), Kind::Stack);
        // SAFETY: never executed; popped again below, before `newest` goes.
        q.push_local(&locals[0], unsafe { JobRef::new(&newest, never) });
        assert_eq!(
            locals[0].overflow.len(),
            101,
            "went behind the overflow's jobs"
        );
        let top = q.pop_local(&locals[0]).expect("the new job");
        assert!(
            std::ptr::eq(top.header(), &newest),
            "the newest comes out first"
        );
        assert_eq!(index(&headers, q.pop_local(&locals[0])), headers.len() - 1);
        while q.pop_local(&locals[0]).is_some() {}
    }

    #[test]
    // Thousands of contended steals: too slow under Miri, whose subset runs the tests above.
    #[cfg_attr(miri, ignore)]
    fn an_owner_and_two_thieves_take_every_job_once() {
        use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
        // Past the bound before the thieves start, then more while they steal.
        const HEAD_START: usize = DEQUE_BOUND + 100;
        const JOBS: usize = 3 * DEQUE_BOUND;
        let headers: Vec<Header> = (0..JOBS)
            .map(|_| Header::new(std::ptr::null(), Kind::Stack))
            .collect();
        let taken: Vec<AtomicU8> = (0..JOBS).map(|_| AtomicU8::new(0)).collect();
        let left = AtomicUsize::new(JOBS);
        let go = AtomicBool::new(false);
        let (q, mut locals) = Stealing::new(3, Tuning::default());
        // Where the headers start, as a number: a job's index from its header's address.
        let base = headers.as_ptr() as usize;
        let take = |job: JobRef| {
            let i = (job.header() as usize - base) / size_of::<Header>();
            taken[i].fetch_add(1, Ordering::Relaxed);
            left.fetch_sub(1, Ordering::Relaxed);
        };
        let thief_locals = locals.split_off(1);
        // A lost job would keep every loop below going: fail instead.
        let started = std::time::Instant::now();
        let in_time = || {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "jobs went missing: {} never taken",
                left.load(Ordering::Relaxed)
            );
        };
        std::thread::scope(|s| {
            for (i, local) in thief_locals.into_iter().enumerate() {
                let (q, take, left, go, in_time) = (&q, &take, &left, &go, &in_time);
                s.spawn(move || {
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    while left.load(Ordering::Relaxed) > 0 {
                        in_time();
                        // Single steals (waiters) and searches (batches) in turn.
                        if let Some(job) = q.steal_one(0) {
                            take(job);
                        }
                        let search = q.find_work(&local, i + 1);
                        if let Some(job) = search.job {
                            take(job);
                        }
                        while let Some(job) = q.pop_local(&local) {
                            take(job);
                        }
                    }
                });
            }
            // The owner pushes in bursts past the bound and pops some between them.
            let owner = &locals[0];
            for (n, h) in headers.iter().enumerate() {
                // SAFETY: never executed; `headers` outlives the scope of threads.
                q.push_local(owner, unsafe { JobRef::new(h, never) });
                if n + 1 == HEAD_START {
                    assert_eq!(owner.overflow.len(), 100);
                    go.store(true, Ordering::Release);
                }
                if n >= HEAD_START
                    && n % 7 == 0
                    && let Some(job) = q.pop_local(owner)
                {
                    take(job);
                }
            }
            while left.load(Ordering::Relaxed) > 0 {
                in_time();
                if let Some(job) = q.pop_local(owner) {
                    take(job);
                }
            }
        });
        let wrong: Vec<_> = taken
            .iter()
            .enumerate()
            .filter(|(_, t)| t.load(Ordering::Relaxed) != 1)
            .take(5)
            .map(|(i, t)| (i, t.load(Ordering::Relaxed)))
            .collect();
        assert!(wrong.is_empty(), "jobs not taken exactly once: {wrong:?}");
        assert!(!q.has_work());
    }

    #[test]
    fn thieves_take_the_deque_first_then_the_overflow_oldest_first() {
        let (q, locals, headers) = past_the_bound();
        // Single steals: the deque's jobs in order, then the overflow's oldest.
        let stolen: Vec<usize> = (0..DEQUE_BOUND + 1)
            .map(|_| index(&headers, q.steal_one(0)))
            .collect();
        assert_eq!(stolen, (0..=DEQUE_BOUND).collect::<Vec<_>>());
        // A thief's search: the oldest half of the 99 left (50), at most 33, under one
        // lock; it runs the oldest and pops the rest oldest first.
        let search = q.find_work(&locals[1], 1);
        assert_eq!(search.stolen, INJECTOR_BATCH);
        assert_eq!(index(&headers, search.job), DEQUE_BOUND + 1);
        let next: Vec<usize> = (0..INJECTOR_BATCH - 1)
            .map(|_| index(&headers, q.pop_local(&locals[1])))
            .collect();
        assert_eq!(
            next,
            (DEQUE_BOUND + 2..DEQUE_BOUND + 1 + INJECTOR_BATCH).collect::<Vec<_>>()
        );
        assert!(q.local_is_empty(&locals[1]));
        assert_eq!(
            q.local_lens(),
            [headers.len() - DEQUE_BOUND - 1 - INJECTOR_BATCH, 0]
        );
        while q.pop_local(&locals[0]).is_some() {}
        assert!(!q.has_work());
    }
}
