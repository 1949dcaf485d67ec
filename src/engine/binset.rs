//! The bins of a metrics answer as the engine hands them up.
//!
//! A 30-day hourly answer over four bots is ≈ 8 600 bins. Copying each one
//! out of the source cache, moving its groups into the asked order, dropping
//! the metrics nobody asked for, sorting them by comparing bot ids and group
//! texts, and dropping them again after writing was half the CPU of such a
//! request (BENCHMARKS.md, session 6). A [`BinSet`] instead keeps the
//! answers the sources gave — shared with the source cache, never copied —
//! and an order over them; each bin's asked groups (the `BOT` group among
//! them) and asked metrics are picked out as it is read.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{
    Bin, BinInterval, BinKey, GroupKey, MetricValue, PackedBin, PackedBins, Statistic,
};

/// What a bin shows: the asked group fields in order (the bot field among
/// them where asked) and the asked metrics in order.
#[derive(Debug, Clone)]
struct Shape<G, M> {
    group_by: Vec<G>,
    bot_field: G,
    specs: Vec<(M, Statistic)>,
}

/// The bins of one metrics answer, in the answer's order.
#[derive(Debug, Clone)]
pub struct BinSet<G, M> {
    answers: Vec<Arc<PackedBins<G, M>>>,
    /// Where each answer's keys start in the numbering of every key of the
    /// set ([`BinView::key_id`]).
    key_offsets: Vec<u32>,
    /// (answer, bin) in the answer's order.
    order: Vec<(u32, u32)>,
    shape: Shape<G, M>,
}

impl<G: Copy + Ord + std::hash::Hash, M: Copy + PartialEq> BinSet<G, M> {
    /// The bins of several bots' answers (one answer a bot), sorted by bin
    /// start, bot and groups — unique per bin — as [`Bin`]s are everywhere;
    /// bins that tie keep their answers' order.
    pub fn sorted(
        answers: Vec<Arc<PackedBins<G, M>>>,
        group_by: &[G],
        bot_field: G,
        specs: &[(M, Statistic)],
    ) -> Self {
        let mut set = Self::of(answers, group_by, bot_field, specs);
        set.order = set.sort_order();
        set
    }

    /// Bins already in their final shape and order (rollups, rankings).
    pub fn finished(
        bins: Vec<Bin<G, M>>,
        group_by: &[G],
        bot_field: G,
        specs: &[(M, Statistic)],
    ) -> Self {
        let answers = vec![Arc::new(PackedBins::in_order(bins))];
        let mut set = Self::of(answers, group_by, bot_field, specs);
        set.order = (0..set.answers[0].len() as u32).map(|i| (0, i)).collect();
        set
    }

    fn of(
        answers: Vec<Arc<PackedBins<G, M>>>,
        group_by: &[G],
        bot_field: G,
        specs: &[(M, Statistic)],
    ) -> Self {
        let mut key_offsets = Vec::with_capacity(answers.len());
        let mut keys = 0u32;
        for answer in &answers {
            key_offsets.push(keys);
            keys += answer.keys().len() as u32;
        }
        BinSet {
            answers,
            key_offsets,
            order: Vec::new(),
            shape: Shape {
                group_by: group_by.to_vec(),
                bot_field,
                specs: specs.to_vec(),
            },
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// How many keys ([`BinView::key_id`]) the set numbers.
    pub fn key_count(&self) -> usize {
        self.answers.iter().map(|a| a.keys().len()).sum()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = BinView<'_, G, M>> + '_ {
        self.order.iter().map(|&(a, i)| self.view(a, i))
    }

    fn view(&self, a: u32, i: u32) -> BinView<'_, G, M> {
        let bin = self.answers[a as usize].get(i as usize);
        BinView {
            key_id: self.key_offsets[a as usize] + bin.key_index(),
            bin,
            shape: &self.shape,
        }
    }

    /// The bins as owned values, each in the shape it shows.
    pub fn into_bins(self) -> Vec<Bin<G, M>> {
        self.iter().map(|b| b.to_bin()).collect()
    }

    /// The order of the bins. The keys — a few distinct (bot, groups) an
    /// answer — are ranked once by what they show; a bin's place is then its
    /// start and its key's rank. Sources' answers come packed in start and
    /// key order, so when ranking keeps each answer's key order (the asked
    /// groups are what the source was asked), the answers are merged as they
    /// are; otherwise the bins are sorted by one packed integer each.
    fn sort_order(&self) -> Vec<(u32, u32)> {
        let ranks = self.key_ranks();
        if self.merges(&ranks) {
            self.merge_order(&ranks)
        } else {
            self.sort_order_by_keys(&ranks)
        }
    }

    /// Whether every answer is ordered and ranking keeps its key order, so
    /// that the answers can be merged as they are.
    fn merges(&self, ranks: &[u32]) -> bool {
        self.answers.iter().enumerate().all(|(a, answer)| {
            let ranks = &ranks[self.key_offsets[a] as usize..][..answer.keys().len()];
            answer.is_ordered() && ranks.windows(2).all(|w| w[0] <= w[1])
        })
    }

    /// Each key's rank by what it shows (bot, then the asked groups in the
    /// asked order); keys that show the same share a rank.
    fn key_ranks(&self) -> Vec<u32> {
        let shown = |a: usize, k: usize| Shown {
            key: &self.answers[a].keys()[k],
            shape: &self.shape,
        };
        let mut keys: Vec<(usize, usize)> = self
            .answers
            .iter()
            .enumerate()
            .flat_map(|(a, answer)| (0..answer.keys().len()).map(move |k| (a, k)))
            .collect();
        keys.sort_by(|&(a, k), &(b, j)| shown(a, k).cmp(&shown(b, j)));
        let mut ranks = vec![0u32; keys.len()];
        let mut rank = 0u32;
        for (n, &(a, k)) in keys.iter().enumerate() {
            if n > 0 {
                let (b, j) = keys[n - 1];
                if shown(b, j).cmp(&shown(a, k)) != Ordering::Equal {
                    rank += 1;
                }
            }
            ranks[self.key_offsets[a] as usize + k] = rank;
        }
        ranks
    }

    /// Answers each ordered by (start, rank), merged; ties go to the earlier
    /// answer, and within an answer keep its order. The answer whose next
    /// bin comes first gives bins until its next one would come after the
    /// runner-up's: a run of one bot's bins of one hour, say, costs one
    /// comparison a bin.
    fn merge_order(&self, ranks: &[u32]) -> Vec<(u32, u32)> {
        let place = |a: usize, i: usize| {
            let bin = self.answers[a].get(i);
            let rank = ranks[self.key_offsets[a] as usize + bin.key_index() as usize];
            (bin.bin_start(), rank, a)
        };
        let mut next = vec![0usize; self.answers.len()];
        let mut order = Vec::with_capacity(self.answers.iter().map(|a| a.len()).sum());
        loop {
            let mut first = None;
            let mut second = None;
            for (a, &i) in next.iter().enumerate() {
                if i == self.answers[a].len() {
                    continue;
                }
                let head = Some(place(a, i));
                if head < first || first.is_none() {
                    second = first;
                    first = head;
                } else if head < second || second.is_none() {
                    second = head;
                }
            }
            let Some((.., a)) = first else {
                return order;
            };
            loop {
                order.push((a as u32, next[a] as u32));
                next[a] += 1;
                if next[a] == self.answers[a].len()
                    || second.is_some_and(|second| place(a, next[a]) > second)
                {
                    break;
                }
            }
        }
    }

    /// The same order for answers in no known order: one `sort_unstable` of
    /// start, rank and position packed into a `u128` a bin.
    fn sort_order_by_keys(&self, ranks: &[u32]) -> Vec<(u32, u32)> {
        let positions: Vec<(u32, u32)> = self
            .answers
            .iter()
            .enumerate()
            .flat_map(|(a, answer)| (0..answer.len() as u32).map(move |i| (a as u32, i)))
            .collect();
        let rank_of = |&(a, i): &(u32, u32)| {
            let bin = self.answers[a as usize].get(i as usize);
            ranks[self.key_offsets[a as usize] as usize + bin.key_index() as usize]
        };
        let start_of = |&(a, i): &(u32, u32)| self.answers[a as usize].get(i as usize).bin_start();
        let earliest = positions
            .iter()
            .map(|p| start_of(p).timestamp())
            .min()
            .unwrap_or(0);
        // Seconds since the earliest start (36 bits: two millennia), nanos
        // (30), rank (30), position (32).
        let fits = ranks.len() < (1 << 30) && positions.len() <= u32::MAX as usize;
        let mut keyed: Vec<u128> = Vec::with_capacity(positions.len());
        for (p, at) in positions.iter().enumerate() {
            let start = start_of(at);
            let secs = (start.timestamp() - earliest) as u128;
            // (A leap second's nanos pass 10⁹ and would not fit either.)
            if !fits || secs >= 1 << 36 || start.timestamp_subsec_nanos() >= 1 << 30 {
                let mut keyed: Vec<(DateTime<Utc>, u32, usize)> = positions
                    .iter()
                    .enumerate()
                    .map(|(p, at)| (start_of(at), rank_of(at), p))
                    .collect();
                keyed.sort_unstable();
                return keyed.into_iter().map(|(.., p)| positions[p]).collect();
            }
            keyed.push(
                secs << 92
                    | u128::from(start.timestamp_subsec_nanos()) << 62
                    | u128::from(rank_of(at)) << 32
                    | p as u128,
            );
        }
        keyed.sort_unstable();
        keyed
            .into_iter()
            .map(|k| positions[(k as u32) as usize])
            .collect()
    }
}

/// One bin of a [`BinSet`], read in place.
#[derive(Debug)]
pub struct BinView<'a, G, M> {
    bin: PackedBin<'a, G, M>,
    key_id: u32,
    shape: &'a Shape<G, M>,
}

impl<G, M> Clone for BinView<'_, G, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G, M> Copy for BinView<'_, G, M> {}

impl<'a, G: Copy + PartialEq, M: Copy + PartialEq> BinView<'a, G, M> {
    pub fn bot_id(&self) -> Option<&'a str> {
        self.bin.key.bot_id.as_deref()
    }

    pub fn bin_start(&self) -> DateTime<Utc> {
        self.bin.bin_start()
    }

    pub fn bin_interval(&self) -> Option<BinInterval> {
        self.bin.bin_interval()
    }

    /// Which of the set's few (bot, groups) keys the bin has, numbered
    /// `0..`[`BinSet::key_count`]: bins with one key show the same bot and
    /// groups, so what they show can be written once.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The asked groups in the asked order; the bot field's value is the
    /// bin's bot. A field the source did not answer is left out.
    pub fn groups(&self) -> impl Iterator<Item = (G, &'a str)> + 'a {
        shown_groups(self.bin.key, self.shape)
    }

    /// The asked metrics in the asked order; one the source did not answer
    /// is left out.
    pub fn values(&self) -> impl Iterator<Item = &'a MetricValue<M>> + 'a {
        let (values, shape) = (self.bin.values, self.shape);
        shape.specs.iter().filter_map(move |&(metric, statistic)| {
            values
                .iter()
                .find(|v| v.metric == metric && v.statistic == statistic)
        })
    }

    pub fn to_bin(&self) -> Bin<G, M> {
        Bin {
            bot_id: self.bot_id().map(str::to_owned),
            bin_start: self.bin_start(),
            bin_interval: self.bin_interval(),
            groups: self
                .groups()
                .map(|(field, value)| GroupKey {
                    field,
                    value: value.to_owned(),
                })
                .collect(),
            values: self.values().cloned().collect(),
        }
    }
}

fn shown_groups<'a, G: Copy + PartialEq, M>(
    key: &'a BinKey<G>,
    shape: &'a Shape<G, M>,
) -> impl Iterator<Item = (G, &'a str)> + 'a {
    shape.group_by.iter().filter_map(move |&field| {
        if field == shape.bot_field {
            Some((field, key.bot_id.as_deref().unwrap_or_default()))
        } else {
            key.groups
                .iter()
                .find(|g| g.field == field)
                .map(|g| (field, g.value.as_str()))
        }
    })
}

/// A key as a bin with it shows it: bot id, then the asked groups.
struct Shown<'a, G, M> {
    key: &'a BinKey<G>,
    shape: &'a Shape<G, M>,
}

impl<G: Copy + Ord, M> Shown<'_, G, M> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.bot_id.cmp(&other.key.bot_id).then_with(|| {
            shown_groups(self.key, self.shape).cmp(shown_groups(other.key, other.shape))
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, TimeZone};

    use super::*;
    use crate::domain::{SessionGroupField as G, SessionMetricName as M};

    /// A source's answer the way sources give them: groups in the source's
    /// order, a metric nobody asked for, times and groups out of order.
    fn answer(bot: &str, seed: u32) -> Vec<Bin<G, M>> {
        let mut bins = Vec::new();
        for k in 0..24u32 {
            let hour = (k * 7 + seed) % 6;
            let state = ["SUCCESS", "FAILURE", "DROPPED"][(k % 3) as usize];
            let locale = ["en_US", "de_DE"][((k / 3) % 2) as usize];
            let mut groups = vec![
                GroupKey {
                    field: G::Locale,
                    value: locale.into(),
                },
                GroupKey {
                    field: G::EndState,
                    value: state.into(),
                },
            ];
            if k == 5 {
                groups.remove(0); // a source that left a field out
            }
            bins.push(Bin {
                bot_id: Some(bot.into()),
                bin_start: Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap(),
                bin_interval: Some(BinInterval::OneHour),
                groups,
                values: vec![
                    MetricValue {
                        metric: M::Duration,
                        statistic: Statistic::Avg,
                        value: Some(f64::from(k) * 1.5),
                    },
                    MetricValue {
                        metric: M::Success,
                        statistic: Statistic::Sum,
                        value: Some(9.0),
                    },
                    MetricValue {
                        metric: M::Count,
                        statistic: Statistic::Sum,
                        value: Some(f64::from(k + seed)),
                    },
                ],
            });
        }
        bins
    }

    fn ordered(bins: Vec<Bin<G, M>>) -> Arc<PackedBins<G, M>> {
        Arc::new(PackedBins::ordered(bins))
    }

    /// The copied and re-arranged bins (`finish_bins`, which merged texts
    /// and rankings still use), sorted the plain way: by start, bot, groups.
    fn reference(
        answers: &[Vec<Bin<G, M>>],
        group_by: &[G],
        specs: &[(M, Statistic)],
    ) -> Vec<Bin<G, M>> {
        let packed: Vec<Bin<G, M>> = answers
            .iter()
            .flat_map(|a| PackedBins::ordered(a.clone()).to_bins())
            .collect();
        let mut bins = crate::engine::finish_bins(packed, group_by, G::Bot, specs, false);
        bins.sort_by(|a, b| {
            (a.bin_start, &a.bot_id, &a.groups).cmp(&(b.bin_start, &b.bot_id, &b.groups))
        });
        bins
    }

    /// Read in place, the bins are exactly what copying them out,
    /// re-arranging and sorting them gives: same order, groups, values.
    #[test]
    fn bins_read_in_place_equal_the_copied_and_rearranged_ones() {
        let answers = [
            answer("sales", 1),
            answer("billing", 4),
            answer("returns", 2),
        ];
        let specs = [(M::Count, Statistic::Sum), (M::Duration, Statistic::Avg)];
        for group_by in [
            vec![G::EndState, G::Bot, G::Locale],
            vec![G::Bot, G::EndState],
            vec![G::Locale],
            vec![],
        ] {
            let shared: Vec<_> = answers.iter().cloned().map(ordered).collect();
            let in_place = BinSet::sorted(shared, &group_by, G::Bot, &specs);
            let copied = reference(&answers, &group_by, &specs);
            assert_eq!(in_place.len(), copied.len());
            assert_eq!(in_place.into_bins(), copied, "{group_by:?}");
        }
    }

    /// Starts too far apart to pack into the sort key take the tuple sort,
    /// with the same order.
    #[test]
    fn far_apart_starts_sort_the_same() {
        let mut far = answer("sales", 3);
        far[0].bin_start = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        far[1].bin_start = Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap();
        let answers = [far, answer("billing", 4)];
        let specs = [(M::Count, Statistic::Sum)];
        let group_by = [G::Bot, G::EndState];
        let shared: Vec<_> = answers.iter().cloned().map(ordered).collect();
        let in_place = BinSet::sorted(shared, &group_by, G::Bot, &specs).into_bins();
        let copied = reference(&answers, &group_by, &specs);
        assert_eq!(in_place[0].bin_start.year(), 1);
        assert_eq!(in_place, copied);
    }

    /// Where the asked groups keep the answers' key order the answers are
    /// merged; the merge and the sort agree, and the groupings of the test
    /// above take both ways.
    #[test]
    fn merging_ordered_answers_equals_sorting_them() {
        let answers: Vec<_> = [answer("sales", 1), answer("billing", 4), answer("sales", 2)]
            .into_iter()
            .map(ordered)
            .collect();
        let specs = [(M::Count, Statistic::Sum)];
        let mut merged = 0;
        for group_by in [
            vec![G::Bot, G::Locale, G::EndState],
            vec![G::Locale],
            vec![],
            vec![G::EndState, G::Locale],
        ] {
            let set = BinSet::sorted(answers.clone(), &group_by, G::Bot, &specs);
            let ranks = set.key_ranks();
            let sorted = set.sort_order_by_keys(&ranks);
            assert_eq!(set.order, sorted, "{group_by:?}");
            if set.merges(&ranks) {
                assert_eq!(set.merge_order(&ranks), sorted, "{group_by:?}");
                merged += 1;
            }
        }
        assert_eq!(merged, 3, "all but the last grouping keep the key order");
    }
}
