//! Panic plumbing: catching, re-raising, reporting, and the abort guard.
//!
//! Panics of jobs are caught with `catch_unwind` and either re-raised in the waiting caller
//! (`join`, `scope`, `install`) or handed to the pool's panic policy (detached `spawn`).
//! To say *where* a detached job panicked, a panic hook records the location at the moment
//! of the panic (a payload alone does not carry it). The hook wraps whatever hook was
//! installed before and stays silent only for panics of detached jobs, which skewer reports
//! itself, exactly once.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic;
use std::sync::Once;

/// What a panicking detached job left behind; given to the pool's panic handler.
///
/// # Examples
/// ```
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let pool = skewer::Pool::builder()
///     .num_threads(1)
///     .panic_handler(move |p: skewer::JobPanic| {
///         sink.lock().unwrap().push((p.message().to_string(), p.location().map(String::from)))
///     })
///     .build()
///     .unwrap();
/// pool.spawn(|| panic!("poison job")).unwrap();
/// pool.shutdown();
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[0].0, "poison job");
/// assert!(seen[0].1.as_deref().unwrap().contains(".rs:"));
/// ```
pub struct JobPanic {
    payload: Box<dyn Any + Send>,
    location: Option<String>,
    worker: Option<usize>,
}

impl JobPanic {
    /// The panic message, when the payload is a string (as for `panic!("...")`).
    pub fn message(&self) -> &str {
        payload_message(&*self.payload)
    }

    /// `file:line:column` of the `panic!`, captured when it happened.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The index of the worker that ran the job.
    pub fn worker(&self) -> Option<usize> {
        self.worker
    }

    /// The payload, as `std::panic::catch_unwind` would have returned it.
    pub fn into_payload(self) -> Box<dyn Any + Send> {
        self.payload
    }
}

impl fmt::Debug for JobPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobPanic")
            .field("message", &self.message())
            .field("location", &self.location)
            .field("worker", &self.worker)
            .finish()
    }
}

impl fmt::Display for JobPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job panicked")?;
        if let Some(worker) = self.worker {
            write!(f, " on worker {worker}")?;
        }
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        write!(f, ": {}", self.message())
    }
}

pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

thread_local! {
    /// Set while this thread runs a detached job: the hook then records instead of printing.
    static IN_DETACHED: Cell<bool> = const { Cell::new(false) };
    /// The location of the last panic seen by the hook while `IN_DETACHED` was set.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the location-recording hook once per process, chaining the previous hook.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_DETACHED.with(Cell::get) {
                let location = info.location().map(|l| l.to_string());
                LAST_LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs a detached job's closure, turning a panic into a [`JobPanic`]. `worker` names the
/// worker it ran on; it is asked only after a panic, on the same thread, so a job that
/// returns pays nothing for it.
pub(crate) fn catch_detached<F: FnOnce()>(
    f: F,
    worker: impl FnOnce() -> Option<usize>,
) -> Result<(), JobPanic> {
    let was = IN_DETACHED.with(|flag| flag.replace(true));
    let result = panic::catch_unwind(panic::AssertUnwindSafe(f));
    IN_DETACHED.with(|flag| flag.set(was));
    result.map_err(|payload| JobPanic {
        payload,
        location: LAST_LOCATION.with(|slot| slot.borrow_mut().take()),
        worker: worker(),
    })
}

/// Re-raises a caught panic in the current thread.
pub(crate) fn resume(payload: Box<dyn Any + Send>) -> ! {
    panic::resume_unwind(payload)
}

/// Aborts the process if dropped during unwinding: guards scheduler code that must never
/// unwind (a worker in an unknown state would lose or repeat jobs).
pub(crate) struct AbortIfPanic;

impl Drop for AbortIfPanic {
    fn drop(&mut self) {
        eprintln!("skewer: internal error, unwinding out of scheduler code; aborting");
        std::process::abort();
    }
}
