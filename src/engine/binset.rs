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
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;

use crate::domain::{Bin, BinInterval, GroupKey, MetricValue, Statistic};

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
    answers: Vec<Arc<Vec<Bin<G, M>>>>,
    /// (answer, bin) in the answer's order.
    order: Vec<(u32, u32)>,
    shape: Shape<G, M>,
}

impl<G: Copy + Ord + Hash, M: Copy + PartialEq> BinSet<G, M> {
    /// The bins of several bots' answers (one answer a bot), sorted by bin
    /// start, bot and groups — unique per bin — as [`Bin`]s are everywhere.
    pub fn sorted(
        answers: Vec<Arc<Vec<Bin<G, M>>>>,
        group_by: &[G],
        bot_field: G,
        specs: &[(M, Statistic)],
    ) -> Self {
        let mut set = BinSet {
            answers,
            order: Vec::new(),
            shape: Shape {
                group_by: group_by.to_vec(),
                bot_field,
                specs: specs.to_vec(),
            },
        };
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
        let order = (0..bins.len() as u32).map(|i| (0, i)).collect();
        BinSet {
            answers: vec![Arc::new(bins)],
            order,
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

    pub fn iter(&self) -> impl ExactSizeIterator<Item = BinView<'_, G, M>> + '_ {
        self.order.iter().map(|&(a, i)| BinView {
            bin: &self.answers[a as usize][i as usize],
            shape: &self.shape,
        })
    }

    /// The bins as owned values, each in the shape it shows.
    pub fn into_bins(self) -> Vec<Bin<G, M>> {
        self.iter().map(|b| b.to_bin()).collect()
    }

    /// Ranks the few distinct (bot, groups) identities once, so that sorting
    /// compares one integer a bin (start, rank, position packed into a
    /// `u128`), not bot ids and group texts.
    fn sort_order(&self) -> Vec<(u32, u32)> {
        let mut ranks: FxHashMap<Identity<'_, G, M>, u32> = FxHashMap::default();
        let total = self.answers.iter().map(|a| a.len()).sum();
        let mut positions: Vec<(u32, u32)> = Vec::with_capacity(total);
        let mut firsts: Vec<u32> = Vec::with_capacity(total);
        let mut earliest = i64::MAX;
        for (a, answer) in self.answers.iter().enumerate() {
            for (i, bin) in answer.iter().enumerate() {
                let id = Identity {
                    answer: a as u32,
                    view: BinView {
                        bin,
                        shape: &self.shape,
                    },
                };
                let next = ranks.len() as u32;
                firsts.push(*ranks.entry(id).or_insert(next));
                positions.push((a as u32, i as u32));
                earliest = earliest.min(bin.bin_start.timestamp());
            }
        }
        // Ranks so far are first-seen; make them the identities' order.
        let mut distinct: Vec<(Identity<'_, G, M>, u32)> = ranks.into_iter().collect();
        distinct.sort_by(|x, y| x.0.cmp(&y.0));
        let mut rank_of_first = vec![0u32; distinct.len()];
        for (sorted, (_, seen)) in distinct.iter().enumerate() {
            rank_of_first[*seen as usize] = sorted as u32;
        }
        // Seconds since the earliest start (36 bits: two millennia), nanos
        // (30), rank (30), position (32).
        let fits = distinct.len() < (1 << 30) && total <= u32::MAX as usize;
        let mut keyed: Vec<u128> = Vec::with_capacity(total);
        for (p, &(a, i)) in positions.iter().enumerate() {
            let start = self.answers[a as usize][i as usize].bin_start;
            let secs = (start.timestamp() - earliest) as u128;
            // (A leap second's nanos pass 10⁹ and would not fit either.)
            if !fits || secs >= 1 << 36 || start.timestamp_subsec_nanos() >= 1 << 30 {
                return self.sort_order_by_tuples(&positions, &firsts, &rank_of_first);
            }
            keyed.push(
                secs << 92
                    | u128::from(start.timestamp_subsec_nanos()) << 62
                    | u128::from(rank_of_first[firsts[p] as usize]) << 32
                    | p as u128,
            );
        }
        keyed.sort_unstable();
        keyed
            .into_iter()
            .map(|k| positions[(k as u32) as usize])
            .collect()
    }

    /// The same order for what does not pack into 128 bits.
    fn sort_order_by_tuples(
        &self,
        positions: &[(u32, u32)],
        firsts: &[u32],
        rank_of_first: &[u32],
    ) -> Vec<(u32, u32)> {
        let mut keyed: Vec<(DateTime<Utc>, u32, usize)> = positions
            .iter()
            .enumerate()
            .map(|(p, &(a, i))| {
                let start = self.answers[a as usize][i as usize].bin_start;
                (start, rank_of_first[firsts[p] as usize], p)
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(.., p)| positions[p]).collect()
    }
}

/// One bin of a [`BinSet`], read in place.
#[derive(Debug)]
pub struct BinView<'a, G, M> {
    bin: &'a Bin<G, M>,
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
        self.bin.bot_id.as_deref()
    }

    pub fn bin_start(&self) -> DateTime<Utc> {
        self.bin.bin_start
    }

    pub fn bin_interval(&self) -> Option<BinInterval> {
        self.bin.bin_interval
    }

    /// The asked groups in the asked order; the bot field's value is the
    /// bin's bot. A field the source did not answer is left out.
    pub fn groups(&self) -> impl Iterator<Item = (G, &'a str)> + 'a {
        let (bin, shape) = (self.bin, self.shape);
        shape.group_by.iter().filter_map(move |&field| {
            if field == shape.bot_field {
                Some((field, bin.bot_id.as_deref().unwrap_or_default()))
            } else {
                bin.groups
                    .iter()
                    .find(|g| g.field == field)
                    .map(|g| (field, g.value.as_str()))
            }
        })
    }

    /// The asked metrics in the asked order; one the source did not answer
    /// is left out.
    pub fn values(&self) -> impl Iterator<Item = &'a MetricValue<M>> + 'a {
        let (bin, shape) = (self.bin, self.shape);
        shape.specs.iter().filter_map(move |&(metric, statistic)| {
            bin.values
                .iter()
                .find(|v| v.metric == metric && v.statistic == statistic)
        })
    }

    pub fn to_bin(&self) -> Bin<G, M> {
        Bin {
            bot_id: self.bin.bot_id.clone(),
            bin_start: self.bin.bin_start,
            bin_interval: self.bin.bin_interval,
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

/// A bin's bot and shown groups, compared without copying them: bins of one
/// answer share a bot, so the answer's index stands for it when hashing.
struct Identity<'a, G, M> {
    answer: u32,
    view: BinView<'a, G, M>,
}

impl<G: Copy + Hash + PartialEq, M: Copy + PartialEq> Hash for Identity<'_, G, M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.answer.hash(state);
        for (field, value) in self.view.groups() {
            field.hash(state);
            value.hash(state);
        }
    }
}

impl<G: Copy + PartialEq, M: Copy + PartialEq> PartialEq for Identity<'_, G, M> {
    fn eq(&self, other: &Self) -> bool {
        self.answer == other.answer && self.view.groups().eq(other.view.groups())
    }
}

impl<G: Copy + PartialEq, M: Copy + PartialEq> Eq for Identity<'_, G, M> {}

impl<G: Copy + Ord, M: Copy + PartialEq> Identity<'_, G, M> {
    /// Bot id, then groups: the order bins of one start time are shown in.
    fn cmp(&self, other: &Self) -> Ordering {
        self.view
            .bot_id()
            .cmp(&other.view.bot_id())
            .then_with(|| self.view.groups().cmp(other.view.groups()))
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

    /// The copied and re-arranged bins (`finish_bins`, which merged texts
    /// and rankings still use), sorted the plain way: by start, bot, groups.
    fn reference(
        answers: &[Vec<Bin<G, M>>],
        group_by: &[G],
        specs: &[(M, Statistic)],
    ) -> Vec<Bin<G, M>> {
        let mut bins = crate::engine::finish_bins(answers.concat(), group_by, G::Bot, specs, false);
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
            let shared: Vec<_> = answers.iter().cloned().map(Arc::new).collect();
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
        let shared: Vec<_> = answers.iter().cloned().map(Arc::new).collect();
        let in_place = BinSet::sorted(shared, &group_by, G::Bot, &specs).into_bins();
        let copied = reference(&answers, &group_by, &specs);
        assert_eq!(in_place[0].bin_start.year(), 1);
        assert_eq!(in_place, copied);
    }
}
