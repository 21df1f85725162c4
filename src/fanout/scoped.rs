//! The borrowing maps: `Scope::map_unordered` and `Scope::map_ordered`, whose items and
//! closure may borrow anything that outlives the scope.
//!
//! # Why leaking the iterator is sound
//! Every job that touches an item or the closure is a runner spawned with
//! [`Scope::spawn`], and the scope does not return before every job spawned in it has
//! finished; the borrowed data outlives the scope. So nothing that borrows can outlive what
//! it borrows, whatever happens to the iterator: the iterator's `Drop` only cancels the
//! items not started (an optimisation), it is not what keeps the borrows valid. If the
//! iterator is leaked with `mem::forget`, the runners finish the items already queued (at
//! most a window), send their results into a channel that is leaked with it (unbounded,
//! so no send blocks), and exit; the scope then returns. This is the argument of
//! `std::thread::scope`, and it needs no `unsafe` code here: the borrow checker holds the
//! closure and the items to the scope's lifetime through `Scope::spawn`'s bound.

use crate::Scope;
use crate::fanout::map::{MapOrdered, MapUnordered};
use crate::fanout::options::FanOut;

impl<'scope> Scope<'scope> {
    /// [`Pool::map_unordered`](crate::Pool::map_unordered) inside a scope: `items` and `f`
    /// may borrow from outside the scope. Default [`FanOut`] settings; for others use
    /// [`FanOut::map_unordered`] with the scope as target.
    ///
    /// # Examples
    /// ```
    /// let words = vec!["alpha".to_string(), "be".to_string(), "gamma".to_string()];
    /// let min_len = 3;
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let mut long: Vec<&str> = pool.scope(|s| {
    ///     s.map_unordered(&words, |w| (w.len() >= min_len).then_some(w.as_str()))
    ///         .filter_map(|(_, r)| r.unwrap())
    ///         .collect()
    /// });
    /// long.sort();
    /// assert_eq!(long, ["alpha", "gamma"]);
    /// ```
    pub fn map_unordered<'a, I, T, R, F>(&'a self, items: I, f: F) -> MapUnordered<'a, T, R>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'scope,
        R: Send + 'scope,
        F: Fn(T) -> R + Send + Sync + 'scope,
    {
        FanOut::default().map_unordered(self, items, f)
    }

    /// As [`map_unordered`](Scope::map_unordered), in input order.
    ///
    /// # Examples
    /// ```
    /// let table = [10, 20, 30];
    /// let pool = skewer::Pool::builder().num_threads(2).build().unwrap();
    /// let looked_up: Vec<i32> = pool.scope(|s| {
    ///     s.map_ordered([2, 0, 1], |i| table[i]).map(Result::unwrap).collect()
    /// });
    /// assert_eq!(looked_up, [30, 10, 20]);
    /// ```
    pub fn map_ordered<'a, I, T, R, F>(&'a self, items: I, f: F) -> MapOrdered<'a, T, R>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
        T: Send + 'scope,
        R: Send + 'scope,
        F: Fn(T) -> R + Send + Sync + 'scope,
    {
        FanOut::default().map_ordered(self, items, f)
    }
}
