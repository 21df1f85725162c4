//! The first-error hand-off of an error group: the first job to fail stores its error and
//! then cancels the group's token, so every sibling that sees the token cancelled also
//! finds the error stored (the store happens-before the `Release` of `cancel`, which
//! happens-before the `Acquire` of whoever saw it cancelled). In collect-all mode every
//! error is kept and nothing is cancelled by an error.
//!
//! A panic is kept the same way (the first payload), and always cancels.

use std::any::Any;

use crate::fanout::cancel::CancelToken;
use crate::sync::Mutex;

pub(crate) struct FirstError<E> {
    pub(crate) token: CancelToken,
    collect_all: bool,
    errors: Mutex<Vec<E>>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<E> FirstError<E> {
    pub(crate) fn new(token: CancelToken, collect_all: bool) -> Self {
        FirstError {
            token,
            collect_all,
            errors: Mutex::new(Vec::new()),
            panic: Mutex::new(None),
        }
    }

    /// Records a job's error: kept if it is the first (or in collect-all mode), dropped
    /// otherwise; the first one cancels the token.
    pub(crate) fn fail(&self, error: E) {
        let first = {
            let mut errors = self.errors.lock();
            let first = errors.is_empty();
            if first || self.collect_all {
                errors.push(error);
            }
            first
        };
        if first && !self.collect_all {
            self.token.cancel();
        }
    }

    /// Records a job's panic (the first payload is kept) and cancels the token.
    pub(crate) fn panicked(&self, payload: Box<dyn Any + Send>) {
        {
            let mut slot = self.panic.lock();
            if slot.is_none() {
                *slot = Some(payload);
            }
        }
        self.token.cancel();
    }

    /// The first panic, if any job panicked.
    pub(crate) fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        self.panic.lock().take()
    }

    /// The kept errors, first first.
    pub(crate) fn take_errors(&self) -> Vec<E> {
        std::mem::take(&mut *self.errors.lock())
    }

    /// Whether an error was stored (for a thread that saw the token cancelled).
    #[cfg(all(test, loom))]
    pub(crate) fn has_error(&self) -> bool {
        !self.errors.lock().is_empty()
    }
}
