//! A source's metric bins, packed for reading many times.
//!
//! A source answers once and the answer is read by every request the source
//! cache serves it to: a 30-day hourly answer by intent is ≈ 6 000 bins a
//! bot. As a `Vec<Bin>` each bin is five heap blocks (its bot id, its groups
//! and their texts, its values) scattered over memory, and writing such an
//! answer waited on cache misses more than it wrote (BENCHMARKS.md, session
//! 7). Packed, the few distinct (bot, groups) of an answer are a small table
//! of [`BinKey`]s, each bin is one fixed-size row naming its key, and the
//! values lie in one array in row order: reading an answer walks two arrays.
//!
//! A source's answer is packed **ordered** (by bin start, then key; keys in
//! their natural order), so that the engine can merge several bots' answers
//! without sorting their bins. Bins built per request (rollups, rankings)
//! are packed as given.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::Hash;

use super::{Bin, BinInterval, GroupKey, MetricValue};

/// The bot and groups a bin belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BinKey<G> {
    /// `None` for a rollup across bots.
    pub bot_id: Option<String>,
    pub groups: Vec<GroupKey<G>>,
}

/// One bin: its time bin, its key, and where its values are.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    bin_start: DateTime<Utc>,
    bin_interval: Option<BinInterval>,
    key: u32,
    values_from: u32,
    values_to: u32,
}

/// A row before its values are laid out in the one array.
type Unlaid<M> = (Row, Vec<MetricValue<M>>);

/// Metric bins packed for reading (see the module's note).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedBins<G, M> {
    keys: Vec<BinKey<G>>,
    rows: Vec<Row>,
    values: Vec<MetricValue<M>>,
    ordered: bool,
}

/// One bin of [`PackedBins`], read in place.
#[derive(Debug)]
pub struct PackedBin<'a, G, M> {
    row: &'a Row,
    pub key: &'a BinKey<G>,
    pub values: &'a [MetricValue<M>],
}

impl<G, M> Clone for PackedBin<'_, G, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G, M> Copy for PackedBin<'_, G, M> {}

impl<G, M> PackedBin<'_, G, M> {
    pub fn bin_start(&self) -> DateTime<Utc> {
        self.row.bin_start
    }

    pub fn bin_interval(&self) -> Option<BinInterval> {
        self.row.bin_interval
    }

    /// The index of the bin's key in [`PackedBins::keys`].
    pub fn key_index(&self) -> u32 {
        self.row.key
    }
}

impl<G: Copy + Ord + Hash, M: Copy> PackedBins<G, M> {
    /// A source's answer: rows ordered by bin start, then key, and keys in
    /// their natural order (bot id, then groups as the bins hold them).
    pub fn ordered(bins: Vec<Bin<G, M>>) -> Self {
        let (keys, mut rows) = Self::intern(bins);
        let mut order: Vec<(BinKey<G>, u32)> = keys.into_iter().zip(0..).collect();
        order.sort();
        let mut rank = vec![0u32; order.len()];
        for (sorted, (_, seen)) in order.iter().enumerate() {
            rank[*seen as usize] = sorted as u32;
        }
        for row in &mut rows {
            row.0.key = rank[row.0.key as usize];
        }
        // Stable: bins that share start and key (a source's duplicates)
        // keep the source's order.
        rows.sort_by_key(|(row, _)| (row.bin_start, row.key));
        let keys = order.into_iter().map(|(key, _)| key).collect();
        Self::laid_out(keys, rows, true)
    }

    /// Bins in the order given (rankings, rollups already ordered).
    pub fn in_order(bins: Vec<Bin<G, M>>) -> Self {
        let (keys, rows) = Self::intern(bins);
        Self::laid_out(keys, rows, false)
    }

    fn intern(bins: Vec<Bin<G, M>>) -> (Vec<BinKey<G>>, Vec<Unlaid<M>>) {
        let mut seen: FxHashMap<BinKey<G>, u32> = FxHashMap::default();
        let mut keys: Vec<BinKey<G>> = Vec::new();
        let rows = bins
            .into_iter()
            .map(|bin| {
                let key = BinKey {
                    bot_id: bin.bot_id,
                    groups: bin.groups,
                };
                let index = match seen.get(&key) {
                    Some(&index) => index,
                    None => {
                        let index = keys.len() as u32;
                        seen.insert(key.clone(), index);
                        keys.push(key);
                        index
                    }
                };
                let row = Row {
                    bin_start: bin.bin_start,
                    bin_interval: bin.bin_interval,
                    key: index,
                    values_from: 0,
                    values_to: 0,
                };
                (row, bin.values)
            })
            .collect();
        (keys, rows)
    }

    fn laid_out(keys: Vec<BinKey<G>>, rows: Vec<Unlaid<M>>, ordered: bool) -> Self {
        let mut values = Vec::with_capacity(rows.iter().map(|(_, v)| v.len()).sum());
        let rows = rows
            .into_iter()
            .map(|(mut row, v)| {
                row.values_from = values.len() as u32;
                values.extend(v);
                row.values_to = values.len() as u32;
                row
            })
            .collect();
        PackedBins {
            keys,
            rows,
            values,
            ordered,
        }
    }
}

impl<G: Clone, M: Clone> PackedBins<G, M> {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the rows are ordered by bin start, then key, and the keys in
    /// their natural order ([`PackedBins::ordered`]).
    pub fn is_ordered(&self) -> bool {
        self.ordered
    }

    pub fn keys(&self) -> &[BinKey<G>] {
        &self.keys
    }

    /// The `i`-th bin. Panics when out of range, like indexing.
    pub fn get(&self, i: usize) -> PackedBin<'_, G, M> {
        let row = &self.rows[i];
        PackedBin {
            row,
            key: &self.keys[row.key as usize],
            values: &self.values[row.values_from as usize..row.values_to as usize],
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = PackedBin<'_, G, M>> + '_ {
        (0..self.rows.len()).map(|i| self.get(i))
    }

    /// The bins unpacked, in row order.
    pub fn to_bins(&self) -> Vec<Bin<G, M>> {
        self.iter()
            .map(|b| Bin {
                bot_id: b.key.bot_id.clone(),
                bin_start: b.bin_start(),
                bin_interval: b.bin_interval(),
                groups: b.key.groups.clone(),
                values: b.values.to_vec(),
            })
            .collect()
    }

    /// A rough size in bytes, for the cache's weigher.
    pub fn estimated_bytes(&self) -> usize {
        let keys: usize = self
            .keys
            .iter()
            .map(|k| {
                64 + k.bot_id.as_ref().map_or(0, String::len)
                    + k.groups.iter().map(|g| 32 + g.value.len()).sum::<usize>()
            })
            .sum();
        keys + self.rows.len() * std::mem::size_of::<Row>()
            + self.values.len() * std::mem::size_of::<MetricValue<M>>()
    }
}

/// On the wire (the shared L2 cache) packed bins are the plain bins, in row
/// order; they are packed again as they are read.
impl<G: Serialize + Clone, M: Serialize + Clone> Serialize for PackedBins<G, M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a, G, M> {
            ordered: bool,
            bins: &'a [Bin<G, M>],
        }
        Wire {
            ordered: self.ordered,
            bins: &self.to_bins(),
        }
        .serialize(s)
    }
}

impl<'de, G, M> Deserialize<'de> for PackedBins<G, M>
where
    G: Deserialize<'de> + Copy + Ord + Hash,
    M: Deserialize<'de> + Copy,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire<G, M> {
            ordered: bool,
            bins: Vec<Bin<G, M>>,
        }
        let wire = Wire::<G, M>::deserialize(d)?;
        Ok(if wire.ordered {
            PackedBins::ordered(wire.bins)
        } else {
            PackedBins::in_order(wire.bins)
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{SessionGroupField as G, SessionMetricName as M, Statistic};

    fn bin(bot: &str, hour: u32, state: &str, count: f64) -> Bin<G, M> {
        Bin {
            bot_id: Some(bot.into()),
            bin_start: Utc.with_ymd_and_hms(2026, 11, 2, hour, 0, 0).unwrap(),
            bin_interval: Some(BinInterval::OneHour),
            groups: vec![GroupKey {
                field: G::EndState,
                value: state.into(),
            }],
            values: vec![MetricValue {
                metric: M::Count,
                statistic: Statistic::Sum,
                value: Some(count),
            }],
        }
    }

    fn shuffled() -> Vec<Bin<G, M>> {
        let mut bins = Vec::new();
        for k in 0..30u32 {
            let hour = (k * 7) % 10;
            let state = ["SUCCESS", "FAILURE", "DROPPED"][(k % 3) as usize];
            bins.push(bin("b", hour, state, f64::from(k)));
        }
        bins
    }

    #[test]
    fn ordered_packing_sorts_by_start_then_key_and_unpacks_to_the_same_bins() {
        let bins = shuffled();
        let packed = PackedBins::ordered(bins.clone());
        assert!(packed.is_ordered());
        let mut want = bins;
        want.sort_by(|a, b| {
            (a.bin_start, &a.bot_id, &a.groups).cmp(&(b.bin_start, &b.bot_id, &b.groups))
        });
        assert_eq!(packed.to_bins(), want);
        // Keys are few and in their natural order; rows name them.
        let states: Vec<&str> = packed
            .keys()
            .iter()
            .map(|k| k.groups[0].value.as_str())
            .collect();
        assert_eq!(states, ["DROPPED", "FAILURE", "SUCCESS"]);
        for b in packed.iter() {
            assert_eq!(packed.keys()[b.key_index() as usize], *b.key);
        }
    }

    #[test]
    fn in_order_packing_keeps_the_given_order() {
        let bins = shuffled();
        let packed = PackedBins::in_order(bins.clone());
        assert!(!packed.is_ordered());
        assert_eq!(packed.to_bins(), bins);
    }

    #[test]
    fn packed_bins_cross_the_wire_unchanged() {
        for packed in [
            PackedBins::ordered(shuffled()),
            PackedBins::in_order(shuffled()),
        ] {
            let json = serde_json::to_string(&packed).unwrap();
            let back: PackedBins<G, M> = serde_json::from_str(&json).unwrap();
            assert_eq!(back, packed);
        }
    }
}
