//! k-way merge of per-bot session pages, each already in the requested order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::domain::{Session, SessionOrder};

struct Head<'a> {
    order: &'a SessionOrder,
    session: Session,
    source: usize,
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head<'_> {}
impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head<'_> {
    // BinaryHeap is a max-heap: reverse so the first session in order pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.order.compare(&other.session, &self.session)
    }
}

/// Merges sorted runs into the first `limit` sessions in `order`; returns them
/// and whether any session was left over.
pub fn merge_sorted(
    runs: Vec<Vec<Session>>,
    order: &SessionOrder,
    limit: usize,
) -> (Vec<Session>, bool) {
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
