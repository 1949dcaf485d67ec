//! Rollups: one bin per (bin start, groups) combining bins of several bots
//! (the engine's `rollup: true`) or of several calls (a Lex range split into
//! pieces).
//!
//! `SUM` adds, `MAX` takes the largest, `AVG` is weighted by each bot's `COUNT`
//! in that bin (so the engine asks every bot for `COUNT SUM` alongside an `AVG`).
//! This is exact for every metric whose per-session values add up. It is not
//! for `CONCURRENCY` across bots: sessions of two bots overlap in ways the
//! per-bot peaks do not reveal, so the engine refuses that request instead of
//! answering a wrong number.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{Bin, GroupKey, MetricValue, Statistic};

/// The metric vocabulary a rollup needs to know about.
pub trait RollupMetric: Copy + PartialEq + std::fmt::Debug {
    /// The metric that counts records (weights for `AVG`).
    const COUNT: Self;

    /// Whether bins of disjoint sets of records combine into the bin of their
    /// union (every metric whose per-record values add up). Not so for a
    /// metric that depends on records outside the set, like `CONCURRENCY`.
    fn combines(self) -> bool {
        true
    }
}

impl RollupMetric for crate::domain::SessionMetricName {
    const COUNT: Self = crate::domain::SessionMetricName::Count;

    fn combines(self) -> bool {
        self != crate::domain::SessionMetricName::Concurrency
    }
}

impl RollupMetric for crate::domain::IntentStageMetricName {
    const COUNT: Self = crate::domain::IntentStageMetricName::Count;
}

impl RollupMetric for crate::domain::IntentMetricName {
    const COUNT: Self = crate::domain::IntentMetricName::Count;
}

impl RollupMetric for crate::domain::UtteranceMetricName {
    const COUNT: Self = crate::domain::UtteranceMetricName::Count;
}

#[derive(Default, Clone, Copy)]
struct Acc {
    sum: f64,
    weight: f64,
    seen: bool,
}

/// Rolls per-bot bins up into one series. `specs` are the metrics the caller
/// asked for, in order; every input bin must also carry `COUNT SUM` when an
/// `AVG` is among them.
pub fn rollup<F, M>(bins: Vec<Bin<F, M>>, specs: &[(M, Statistic)]) -> Vec<Bin<F, M>>
where
    F: Copy + Ord,
    M: RollupMetric,
{
    type Key<F> = (DateTime<Utc>, Vec<GroupKey<F>>);
    let mut cells: BTreeMap<Key<F>, (Option<crate::domain::BinInterval>, Vec<Acc>)> =
        BTreeMap::new();
    for bin in bins {
        let count = bin.value(M::COUNT, Statistic::Sum).unwrap_or(0.0);
        let mut groups = bin.groups;
        groups.sort();
        let (_, accs) = cells
            .entry((bin.bin_start, groups))
            .or_insert_with(|| (bin.bin_interval, vec![Acc::default(); specs.len()]));
        for (acc, (metric, statistic)) in accs.iter_mut().zip(specs) {
            let Some(v) = bin
                .values
                .iter()
                .find(|v| v.metric == *metric && v.statistic == *statistic)
                .and_then(|v| v.value)
            else {
                continue;
            };
            match statistic {
                Statistic::Sum => acc.sum += v,
                Statistic::Max => acc.sum = if acc.seen { acc.sum.max(v) } else { v },
                Statistic::Avg => {
                    acc.sum += v * count;
                    acc.weight += count;
                }
            }
            acc.seen = true;
        }
    }
    cells
        .into_iter()
        .map(|((bin_start, groups), (bin_interval, accs))| Bin {
            bot_id: None,
            bin_start,
            bin_interval,
            groups,
            values: accs
                .iter()
                .zip(specs)
                .map(|(acc, (metric, statistic))| MetricValue {
                    metric: *metric,
                    statistic: *statistic,
                    value: match statistic {
                        _ if !acc.seen => None,
                        Statistic::Avg if acc.weight > 0.0 => Some(acc.sum / acc.weight),
                        Statistic::Avg => None,
                        _ => Some(acc.sum),
                    },
                })
                .collect(),
        })
        .collect()
}
