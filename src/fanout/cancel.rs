//! `CancelToken`: a cancellation tree with deadlines, named as in tokio-util.
//!
//! A token is a handle on one node. Cancelling a node cancels every node created from it by
//! [`child_token`](CancelToken::child_token), transitively; a child never cancels its
//! parent. A node with a deadline cancels itself the first time it is polled, waited on or
//! asked for children after the deadline passed (no timer thread): a child inherits the
//! earlier of its parent's deadline and its own, so it expires on time even if the parent
//! is never polled.
//!
//! Memory ordering: `cancelled` goes from `false` to `true` once, with a `Release` swap; a
//! reader that sees `true` issues an `Acquire` fence, so whatever the canceller wrote before
//! `cancel` is visible to a thread that saw the token cancelled. The fast path of
//! [`is_cancelled`](CancelToken::is_cancelled) is one relaxed load (plus a clock read only
//! for a token with a deadline). The children list and the waiters share one mutex: a child
//! registered under it before `cancel` takes the list is cancelled by `cancel`; one
//! registered after sees the flag under the same mutex and starts cancelled.

use std::fmt;
use std::sync::Weak;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::sync::{Arc, AtomicBool, Condvar, Mutex, Ordering, fence};

/// One node of the tree.
struct Node {
    cancelled: AtomicBool,
    /// The earliest deadline of this node and its ancestors at creation.
    deadline: Option<Instant>,
    /// Children not yet cancelled (dead ones are pruned as the list grows); taken, and so
    /// emptied for good, by the cancel that sets `cancelled`.
    children: Mutex<Vec<Weak<Node>>>,
    /// Signalled under `children`'s mutex when the node is cancelled.
    wake: Condvar,
    /// The senders of `cancelled_channel`s not yet disconnected; dropped, and so
    /// disconnected, by the cancel that sets `cancelled`.
    wakers: Mutex<Vec<Sender<()>>>,
}

impl Node {
    fn new(deadline: Option<Instant>) -> Arc<Node> {
        Arc::new(Node {
            cancelled: AtomicBool::new(false),
            deadline,
            children: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        })
    }

    /// Cancels this node and its descendants, iteratively (a deep tree cannot overflow the
    /// stack).
    fn cancel(self: &Arc<Node>) {
        let mut work = vec![Arc::clone(self)];
        while let Some(node) = work.pop() {
            if node.cancelled.swap(true, Ordering::Release) {
                continue;
            }
            let children = {
                let mut list = node.children.lock();
                node.wake.notify_all();
                std::mem::take(&mut *list)
            };
            drop(std::mem::take(&mut *node.wakers.lock()));
            work.extend(children.iter().filter_map(Weak::upgrade));
        }
    }

    fn is_cancelled(self: &Arc<Node>) -> bool {
        if self.cancelled.load(Ordering::Relaxed) {
            fence(Ordering::Acquire);
            return true;
        }
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => {
                self.cancel();
                true
            }
            _ => false,
        }
    }
}

/// A cancellation signal shared by the jobs of one fan-out, error group or request.
///
/// Clones share one signal and are cheap (a reference count). Cancelling is idempotent and
/// flows down the tree built with [`child_token`](CancelToken::child_token), never up.
/// Tokens with a deadline ([`with_deadline`](CancelToken::with_deadline),
/// [`with_timeout`](CancelToken::with_timeout)) cancel themselves when the time is up.
///
/// # Examples
/// ```
/// use skewer::CancelToken;
/// let request = CancelToken::new();
/// let backend_call = request.child_token();
/// assert!(!backend_call.is_cancelled());
/// request.cancel();
/// assert!(backend_call.is_cancelled()); // flows down
///
/// let parent = CancelToken::new();
/// parent.child_token().cancel();
/// assert!(!parent.is_cancelled()); // never up
/// ```
#[derive(Clone)]
pub struct CancelToken {
    node: Arc<Node>,
}

// A token holds no state a panic could leave half-written: a flag that only goes from
// false to true, and a list of children that is only pushed to or taken whole.
impl std::panic::UnwindSafe for CancelToken {}
impl std::panic::RefUnwindSafe for CancelToken {}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelToken {
    /// A new root token, not cancelled, without a deadline.
    ///
    /// # Examples
    /// ```
    /// let token = skewer::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// assert_eq!(token.deadline(), None);
    /// ```
    pub fn new() -> Self {
        CancelToken {
            node: Node::new(None),
        }
    }

    /// A new root token that cancels itself at `deadline`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// let token = skewer::CancelToken::with_deadline(Instant::now() + Duration::from_millis(5));
    /// assert!(token.wait_timeout(Duration::from_secs(5)));
    /// ```
    pub fn with_deadline(deadline: Instant) -> Self {
        CancelToken {
            node: Node::new(Some(deadline)),
        }
    }

    /// A new root token that cancels itself `timeout` from now.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let token = skewer::CancelToken::with_timeout(Duration::ZERO);
    /// assert!(token.is_cancelled());
    /// ```
    pub fn with_timeout(timeout: Duration) -> Self {
        Self::with_deadline(deadline_after(timeout))
    }

    /// Cancels this token and every token created from it by `child_token`, at any depth.
    /// Wakes every thread in [`wait`](CancelToken::wait). Idempotent.
    ///
    /// # Examples
    /// ```
    /// let token = skewer::CancelToken::new();
    /// token.cancel();
    /// token.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.node.cancel();
    }

    /// Whether this token is cancelled (by `cancel` on it or on an ancestor, or because its
    /// deadline passed). One relaxed load when it is not cancelled and has no deadline.
    ///
    /// # Examples
    /// ```
    /// let token = skewer::CancelToken::new();
    /// let job = token.clone();
    /// let worker = std::thread::spawn(move || {
    ///     let mut steps = 0u64;
    ///     while !job.is_cancelled() { steps += 1; std::hint::spin_loop(); }
    ///     steps
    /// });
    /// token.cancel();
    /// worker.join().unwrap();
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// A child token: cancelled when this one is (also when this one already is), and
    /// cancellable on its own without affecting this one. It inherits this token's deadline.
    ///
    /// # Examples
    /// ```
    /// let root = skewer::CancelToken::new();
    /// let a = root.child_token();
    /// let b = a.child_token();
    /// root.cancel();
    /// assert!(a.is_cancelled() && b.is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancelToken {
        self.child(self.node.deadline)
    }

    /// A child token that also cancels itself at `deadline` (or at this token's deadline,
    /// whichever comes first).
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// let request = skewer::CancelToken::new();
    /// let call = request.child_with_deadline(Instant::now());
    /// assert!(call.is_cancelled());
    /// assert!(!request.is_cancelled());
    /// ```
    pub fn child_with_deadline(&self, deadline: Instant) -> CancelToken {
        let deadline = match self.node.deadline {
            Some(own) => own.min(deadline),
            None => deadline,
        };
        self.child(Some(deadline))
    }

    /// A child token that also cancels itself `timeout` from now.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let request = skewer::CancelToken::new();
    /// let call = request.child_with_timeout(Duration::from_millis(1));
    /// call.wait();
    /// assert!(call.is_cancelled() && !request.is_cancelled());
    /// ```
    pub fn child_with_timeout(&self, timeout: Duration) -> CancelToken {
        self.child_with_deadline(deadline_after(timeout))
    }

    fn child(&self, deadline: Option<Instant>) -> CancelToken {
        let child = Node::new(deadline);
        // Expire an overdue parent now, so the child below starts cancelled.
        let _ = self.node.is_cancelled();
        {
            let mut list = self.node.children.lock();
            if !self.node.cancelled.load(Ordering::Acquire) {
                if list.len() == list.capacity() && list.len() >= 8 {
                    // Prune children whose tokens were all dropped before growing: the
                    // list stays within twice the number of live children.
                    list.retain(|weak| weak.strong_count() > 0);
                }
                list.push(Arc::downgrade(&child));
                return CancelToken { node: child };
            }
        }
        child.cancel();
        CancelToken { node: child }
    }

    /// A channel that disconnects when this token is cancelled (at once if it already is),
    /// for a thread that waits on other channels too: a map's consumer waits on it beside
    /// its results. Nothing is ever sent on it. A deadline disconnects it only once the
    /// token is polled after it: such a waiter also waits no longer than the deadline.
    pub(crate) fn cancelled_channel(&self) -> Receiver<()> {
        let (tx, rx) = crossbeam_channel::bounded(0);
        // Expire an overdue deadline now, so the channel below starts disconnected.
        let _ = self.node.is_cancelled();
        let mut wakers = self.node.wakers.lock();
        // Under the lock the cancel takes the list with: a sender pushed here is dropped
        // by that cancel, or the flag is seen set and the sender dropped now.
        if !self.node.cancelled.load(Ordering::Acquire) {
            wakers.push(tx);
        }
        rx
    }

    /// The deadline after which this token cancels itself, if any (inherited deadlines
    /// included).
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(60);
    /// let token = skewer::CancelToken::with_deadline(at);
    /// assert_eq!(token.child_token().deadline(), Some(at));
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// A guard that cancels this token when dropped (on every path out of a block,
    /// unwinding included), unless [`disarm`](DropGuard::disarm)ed.
    ///
    /// # Examples
    /// ```
    /// let token = skewer::CancelToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    /// }
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// Blocks until the token is cancelled (or its deadline passes).
    ///
    /// # Examples
    /// ```
    /// let token = skewer::CancelToken::new();
    /// let remote = token.clone();
    /// std::thread::spawn(move || remote.cancel());
    /// token.wait();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn wait(&self) {
        while !self.wait_timeout(Duration::from_secs(3600)) {}
    }

    /// Blocks until the token is cancelled or `timeout` passed; returns whether it is
    /// cancelled.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let token = skewer::CancelToken::new();
    /// assert!(!token.wait_timeout(Duration::from_millis(1)));
    /// token.cancel();
    /// assert!(token.wait_timeout(Duration::from_secs(1)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let until = deadline_after(timeout);
        let node = &self.node;
        let mut list = node.children.lock();
        loop {
            if node.cancelled.load(Ordering::Acquire) {
                return true;
            }
            let now = Instant::now();
            if node.deadline.is_some_and(|d| now >= d) {
                drop(list);
                node.cancel();
                return true;
            }
            if now >= until {
                return false;
            }
            let wake = node.deadline.map_or(until, |d| d.min(until));
            list = node.wake.wait_timeout(list, wake - now);
        }
    }

    /// Whether two tokens are handles on the same node.
    ///
    /// # Examples
    /// ```
    /// let a = skewer::CancelToken::new();
    /// assert!(a.same_as(&a.clone()));
    /// assert!(!a.same_as(&a.child_token()));
    /// ```
    pub fn same_as(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.node, &other.node)
    }
}

/// `now + timeout`, saturating far in the future instead of overflowing.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.node.cancelled.load(Ordering::Relaxed))
            .field("deadline", &self.node.deadline)
            .finish()
    }
}

/// Cancels its token when dropped; made by [`CancelToken::drop_guard`].
///
/// # Examples
/// ```
/// let token = skewer::CancelToken::new();
/// let guard = token.clone().drop_guard();
/// let kept = guard.disarm(); // no cancel on this path
/// assert!(!kept.is_cancelled() && !token.is_cancelled());
/// ```
#[derive(Debug)]
pub struct DropGuard {
    token: Option<CancelToken>,
}

impl DropGuard {
    /// Returns the token without cancelling it.
    pub fn disarm(mut self) -> CancelToken {
        self.token
            .take()
            .expect("a guard holds its token until disarmed")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crossbeam_channel::TryRecvError;

    #[test]
    fn dropped_children_do_not_pile_up_in_a_long_lived_parent() {
        let parent = CancelToken::new();
        let live: Vec<CancelToken> = (0..10).map(|_| parent.child_token()).collect();
        for _ in 0..100_000 {
            drop(parent.child_token());
        }
        let entries = parent.node.children.lock().len();
        assert!(
            entries <= 2 * live.len().max(8),
            "{entries} entries, {} live",
            live.len()
        );
        parent.cancel();
        assert!(live.iter().all(CancelToken::is_cancelled));
    }

    #[test]
    fn a_cancelled_channel_disconnects_at_the_cancel_or_at_once_after_it() {
        let parent = CancelToken::new();
        let child = parent.child_token();
        let rx = child.cancelled_channel();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        parent.cancel();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(
            child.cancelled_channel().try_recv(),
            Err(TryRecvError::Disconnected)
        );
        // A deadline that passed counts as a cancel when the channel is made.
        let late = CancelToken::with_deadline(Instant::now());
        assert_eq!(
            late.cancelled_channel().try_recv(),
            Err(TryRecvError::Disconnected)
        );
    }
}
