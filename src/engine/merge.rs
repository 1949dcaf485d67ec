//! k-way merge of per-bot pages, each already in the requested order.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::domain::{Session, SessionOrder};

struct Head<'a, T, C> {
    order: &'a C,
    item: T,
    source: usize,
}

impl<T, C: Fn(&T, &T) -> Ordering> PartialEq for Head<'_, T, C> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T, C: Fn(&T, &T) -> Ordering> Eq for Head<'_, T, C> {}
impl<T, C: Fn(&T, &T) -> Ordering> PartialOrd for Head<'_, T, C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T, C: Fn(&T, &T) -> Ordering> Ord for Head<'_, T, C> {
    // BinaryHeap is a max-heap: reverse so the first item in order pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.order)(&other.item, &self.item)
    }
}

/// Merges sorted runs into the first `limit` sessions in `order`; returns them
/// and whether any session was left over. `S` is `Session` or a shared
/// `Arc<Session>`: the merge moves whatever it is given, never copies a session.
pub fn merge_sorted<S: Borrow<Session>>(
    runs: Vec<Vec<S>>,
    order: &SessionOrder,
    limit: usize,
) -> (Vec<S>, bool) {
    merge_sorted_by(runs, limit, |a: &S, b: &S| {
        order.compare(a.borrow(), b.borrow())
    })
}

/// Merges runs each sorted by `order` into the first `limit` items; returns
/// them and whether any item was left over.
pub fn merge_sorted_by<T>(
    runs: Vec<Vec<T>>,
    limit: usize,
    order: impl Fn(&T, &T) -> Ordering,
) -> (Vec<T>, bool) {
    let mut iters: Vec<_> = runs.into_iter().map(Vec::into_iter).collect();
    let mut heap = BinaryHeap::with_capacity(iters.len());
    for (source, it) in iters.iter_mut().enumerate() {
        if let Some(item) = it.next() {
            heap.push(Head {
                order: &order,
                item,
                source,
            });
        }
    }
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let Some(Head { item, source, .. }) = heap.pop() else {
            break;
        };
        out.push(item);
        if let Some(next) = iters[source].next() {
            heap.push(Head {
                order: &order,
                item: next,
                source,
            });
        }
    }
    (out, !heap.is_empty())
}
