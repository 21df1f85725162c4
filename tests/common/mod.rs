//! Helpers shared by the integration tests: the per-backend test macro, a thread counter
//! reading `/proc/self/task`, bounded waiting, a hang watchdog, and a quiet panic payload.

#![allow(dead_code, unused_macros, unused_imports)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Instantiates the test items it is given once per backend, as the modules `stealing` and
/// `channel` (like tokio's `rt_test!`). Inside, `BACKEND` names the module's backend, and
/// `pool(n)` / `builder()` build pools on it. Items of the enclosing file are in scope.
///
/// ```ignore
/// common::for_each_backend! {
///     #[test]
///     fn join_works() {
///         assert_eq!(pool(2).join(|| 1, || 2), (1, 2));
///     }
/// }
/// ```
macro_rules! for_each_backend {
    ($($body:tt)*) => {
        mod stealing {
            #[allow(unused_imports)]
            use super::*;

            /// The backend every test of this module runs on.
            #[allow(dead_code)]
            const BACKEND: ::skewer::Backend = ::skewer::Backend::Stealing;

            $crate::common::backend_helpers!();

            $($body)*
        }

        mod channel {
            #[allow(unused_imports)]
            use super::*;

            /// The backend every test of this module runs on.
            #[allow(dead_code)]
            const BACKEND: ::skewer::Backend = ::skewer::Backend::Channel;

            $crate::common::backend_helpers!();

            $($body)*
        }
    };
}
pub(crate) use for_each_backend;

/// The helpers every backend module gets (they read the module's `BACKEND`).
macro_rules! backend_helpers {
    () => {
        /// A builder already set to this module's backend.
        #[allow(dead_code)]
        fn builder() -> ::skewer::Builder {
            ::skewer::Pool::builder().backend(BACKEND)
        }

        /// A pool of `threads` workers on this module's backend.
        #[allow(dead_code)]
        fn pool(threads: usize) -> ::skewer::Pool {
            let pool = builder().num_threads(threads).build().expect("build pool");
            assert_eq!(pool.backend(), BACKEND);
            assert_eq!(pool.current_num_threads(), threads);
            pool
        }
    };
}
pub(crate) use backend_helpers;

/// Both backends, for the few tests that loop over them by hand.
pub const BACKENDS: [skewer::Backend; 2] = [skewer::Backend::Stealing, skewer::Backend::Channel];

/// `normal`, or `miri` when the test runs under Miri (where every step is ~1000x slower):
/// the Miri subset of the suite (see `.ci/run`) runs the same code paths on small inputs.
pub const fn miri_or(normal: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { normal }
}

/// The number of threads of this process, from `/proc/self/task`. Under Miri, which
/// cannot read `/proc`, always 0: thread counting is checked by the normal run only.
#[cfg(miri)]
pub fn thread_count() -> usize {
    0
}

/// The number of threads of this process, from `/proc/self/task`.
#[cfg(not(miri))]
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .count()
}

/// The number of threads of this process whose name (`comm`, at most 15 bytes) starts with
/// `prefix`. Threads that exit while we read are skipped.
pub fn threads_named(prefix: &str) -> usize {
    if cfg!(miri) {
        return 0;
    }
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("comm")).ok())
        .filter(|comm| comm.trim_end().starts_with(prefix))
        .count()
}

/// The scheduler states (`R` running, `S` sleeping, ...) of this process's threads whose
/// name starts with `prefix`, from `/proc/self/task/*/stat`.
pub fn thread_states(prefix: &str) -> Vec<char> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| {
            // "tid (comm) S ...": comm may hold anything, so split at the last ')'.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = &stat[open + 1..close];
            let state = stat[close + 1..].trim_start().chars().next()?;
            comm.starts_with(prefix).then_some(state)
        })
        .collect()
}

/// Polls `cond` every millisecond until it holds or `timeout` passed; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `counter` reaches `target` (bounded by `timeout`); returns its last value.
pub fn wait_for_count(counter: &AtomicUsize, target: usize, timeout: Duration) -> usize {
    wait_until(timeout, || counter.load(Ordering::SeqCst) >= target);
    counter.load(Ordering::SeqCst)
}

/// The process's thread count once it has stopped changing (the test harness may be
/// starting or retiring its own threads): five equal samples 5 ms apart, at most 2 s.
pub fn settled_thread_count() -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = thread_count();
    let mut same = 0;
    while same < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        let now = thread_count();
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
    }
    last
}

/// Serializes the tests of one binary that count the process's threads (any test running
/// beside them would add threads of its own).
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Aborts the whole process with a message if it is not dropped within `limit`: a hung
/// scheduler must fail the run, not stall it.
pub struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub fn arm(what: &str, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let what = what.to_string();
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    eprintln!("WATCHDOG: `{what}` did not finish within {limit:?}; aborting");
                    std::process::abort();
                }
            })
            .expect("spawn watchdog");
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `f` on a helper thread and returns its result, re-raising its panic; fails the test
/// if `f` has not finished within `limit`. For tests that would otherwise hang on a
/// scheduler deadlock: the test then fails with a message, the rest of the binary goes on
/// (the stuck threads stay behind until the process exits).
pub fn within<R: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("within".into())
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out);
        })
        .expect("spawn helper thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("HANG: `{what}` did not finish within {limit:?}"),
    }
}

/// A panic payload the tests raise on purpose; [`quiet_boom`] keeps it off stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boom(pub usize);

/// Installs (once per process) a panic hook that stays silent for [`Boom`] payloads and
/// hands every other panic to the hook installed before. Call it before building any pool
/// so that skewer's own hook (installed by the first build) wraps this one.
pub fn quiet_boom() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Boom>().is_none() {
                previous(info);
            }
        }));
    });
}

/// Raises a quiet [`Boom`] panic.
pub fn boom(id: usize) -> ! {
    std::panic::panic_any(Boom(id))
}

/// The `Boom` id a caught panic carries; fails the test on any other payload.
pub fn boom_id(payload: &(dyn std::any::Any + Send)) -> usize {
    match payload.downcast_ref::<Boom>() {
        Some(Boom(id)) => *id,
        None => panic!(
            "unexpected panic payload: {:?}",
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
        ),
    }
}

/// Busy-waits for about `d` (keeps a thread on the CPU without sleeping).
pub fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// `fib(n)` computed with nested `skewer::join`s (one task per call).
pub fn fib_join(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = skewer::join(|| fib_join(n - 1), || fib_join(n - 2));
    a + b
}

/// `fib(n)` computed sequentially.
pub fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}
