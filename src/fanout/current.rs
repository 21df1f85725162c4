//! The token of the group job running on this thread, so that a map or group started
//! inside it becomes its child (cancellation flows down nested fan-outs by itself).
//!
//! A waiting thread of this crate runs only work its wait depends on, so whatever runs
//! nested on this thread while a group job waits descends from that job: inheriting its
//! token is right for it too.

use std::cell::RefCell;

use crate::fanout::cancel::CancelToken;

thread_local! {
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
}

/// Restores the previous current token when dropped (also when the job unwinds).
pub(crate) struct Entered {
    previous: Option<CancelToken>,
}

/// Makes `token` the current one until the returned guard is dropped.
pub(crate) fn enter(token: &CancelToken) -> Entered {
    let previous = CURRENT.with(|c| c.replace(Some(token.clone())));
    Entered { previous }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// A child of `parent`, else of the current group job's token, else a new root.
pub(crate) fn child_of(parent: Option<&CancelToken>) -> CancelToken {
    match parent {
        Some(parent) => parent.child_token(),
        None => CURRENT
            .with(|c| c.borrow().as_ref().map(CancelToken::child_token))
            .unwrap_or_default(),
    }
}
