//! k-way merge of per-bot session pages, each already in the requested order.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::domain::{Session, SessionOrder};

struct Head<'a, S> {
    order: &'a SessionOrder,
    session: S,
    source: usize,
}

impl<S: Borrow<Session>> PartialEq for Head<'_, S> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<S: Borrow<Session>> Eq for Head<'_, S> {}
impl<S: Borrow<Session>> PartialOrd for Head<'_, S> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<S: Borrow<Session>> Ord for Head<'_, S> {
    // BinaryHeap is a max-heap: reverse so the first session in order pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.order
            .compare(other.session.borrow(), self.session.borrow())
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
    let mut iters: Vec<_> = runs.into_iter().map(Vec::into_iter).collect();
    let mut heap = BinaryHeap::with_capacity(iters.len());
    for (source, it) in iters.iter_mut().enumerate() {
        if let Some(session) = it.next() {
            heap.push(Head {
                order,
                session,
                source,
            });
        }
    }
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let Some(Head {
            session, source, ..
        }) = heap.pop()
        else {
            break;
        };
        out.push(session);
        if let Some(next) = iters[source].next() {
            heap.push(Head {
                order,
                session: next,
                source,
            });
        }
    }
    (out, !heap.is_empty())
}
