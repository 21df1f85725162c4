//! The reorder buffer of `map_ordered`: results that finished early wait here until every
//! earlier one has been yielded. It never holds more than the window, because the input is
//! never pulled more than a window ahead of the next result to yield.

use std::collections::VecDeque;

#[derive(Debug)]
pub(crate) struct Reorder<V> {
    /// The index of `slots[0]`: the next result to yield.
    next: usize,
    slots: VecDeque<Option<V>>,
}

impl<V> Reorder<V> {
    pub(crate) fn new() -> Self {
        Reorder {
            next: 0,
            slots: VecDeque::new(),
        }
    }

    /// Stores the result of item `index` (which is `next` or later, and not seen before).
    pub(crate) fn insert(&mut self, index: usize, value: V) {
        let at = index - self.next;
        if self.slots.len() <= at {
            self.slots.resize_with(at + 1, || None);
        }
        debug_assert!(self.slots[at].is_none(), "item {index} finished twice");
        self.slots[at] = Some(value);
    }

    /// The next result in input order, if it has arrived.
    pub(crate) fn pop(&mut self) -> Option<V> {
        if !matches!(self.slots.front(), Some(Some(_))) {
            return None;
        }
        self.next += 1;
        self.slots.pop_front().flatten()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Reorder;

    #[test]
    fn yields_in_index_order_whatever_the_arrival_order() {
        let mut r = Reorder::new();
        r.insert(2, 'c');
        r.insert(1, 'b');
        assert_eq!(r.pop(), None);
        r.insert(0, 'a');
        assert_eq!(
            (r.pop(), r.pop(), r.pop(), r.pop()),
            (Some('a'), Some('b'), Some('c'), None)
        );
        r.insert(3, 'd');
        assert_eq!(r.pop(), Some('d'));
    }
}
