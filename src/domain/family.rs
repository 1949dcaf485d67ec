//! Metric families: sessions, intent stages, intents and utterances each have
//! metric names, group fields and a filter, and otherwise the same shape — the
//! same query ([`MetricsQuery`]), the same bins ([`Bin`]), the same rules for
//! rollups and partial answers. [`Family`] names a family's vocabulary once,
//! so that the engine, the layers and GraphQL have one generic path and a new
//! family is a set of enums, a filter and its vendors' mappings.
//!
//! The [`AnalyticsSource`](crate::sources::AnalyticsSource) seam is object
//! safe, so a query crosses it as a [`FamilyQuery`] (one variant per family)
//! and its answer comes back as [`FamilyBins`]; [`Family::query`] and
//! [`Family::bins`] convert, so only a source's own dispatch ever matches on
//! the variants.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    Bin, BinInterval, IntentFilter, IntentGroupField, IntentMetricName, IntentStageFilter,
    IntentStageGroupField, IntentStageMetricName, PackedBins, RollupMetric, SessionFilter,
    SessionGroupField, SessionMetricName, Statistic, TimeRange, UtteranceFilter,
    UtteranceGroupField, UtteranceMetricName,
};

/// One metric asked for: a name and a statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetricSpec<M> {
    pub name: M,
    pub statistic: Statistic,
}

/// What a family's metric names, group fields and filter have in common:
/// compared, hashed and printed, serialised into cache keys and cursors,
/// and shared across tasks.
pub trait Vocabulary:
    Eq + Hash + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<T: Eq + Hash + Debug + Serialize + DeserializeOwned + Send + Sync + 'static> Vocabulary for T {}

/// A family's vocabulary. Implemented by the unit types below.
pub trait Family:
    Debug + Clone + Copy + Default + PartialEq + Eq + Hash + Send + Sync + 'static
{
    type Metric: RollupMetric + Vocabulary + Ord;
    type Group: Vocabulary + Copy + Ord;
    type Filter: Vocabulary + Clone + Default;

    /// For messages and metric labels: "session", "intent", …
    const NAME: &'static str;
    /// The group field that groups by bot: the engine's job, never a source's.
    const BOT: Self::Group;
    /// Group fields whose values are texts people typed: merged case- and
    /// whitespace-insensitively (see [`text_key`]).
    const TEXT_GROUPS: &'static [Self::Group] = &[];
    /// Group fields a query may ask (`BOT` included): Lex's `groupBy` limit
    /// for the family's operation, 2, and 3 for ListIntentMetrics.
    const MAX_GROUP_BY: usize = 2;

    /// The filter in one canonical form (sorted, deduplicated lists), so
    /// equal questions have equal cache keys and cursors.
    fn canonical(filter: Self::Filter) -> Self::Filter;

    /// Groups that a query may not combine (a vendor-neutral rule, e.g. a
    /// field that only exists per record of another field). Default: any.
    fn check_group_by(_group_by: &[Self::Group]) -> crate::error::Result<()> {
        Ok(())
    }

    fn query(q: MetricsQuery<Self>) -> FamilyQuery;
    fn bins(b: FamilyBins) -> Option<SharedBins<Self>>;
    fn wrap(b: Vec<Bin<Self::Group, Self::Metric>>) -> FamilyBins;
}

/// A family's bins as they cross the seam: shared, not copied.
pub type SharedBins<F> = Arc<PackedBins<<F as Family>::Group, <F as Family>::Metric>>;

/// One bot's metrics of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct MetricsQuery<F: Family> {
    pub range: TimeRange,
    pub metrics: Vec<MetricSpec<F::Metric>>,
    pub bin_by: Option<BinInterval>,
    pub group_by: Vec<F::Group>,
    pub filter: F::Filter,
}

impl<F: Family> MetricsQuery<F> {
    pub fn specs(&self) -> Vec<(F::Metric, Statistic)> {
        self.metrics.iter().map(|m| (m.name, m.statistic)).collect()
    }
}

/// Session metrics (Lex's ListSessionMetrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionMetrics;
/// Intent-stage metrics (Lex's ListIntentStageMetrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentStageMetrics;
/// Intent metrics (Lex's ListIntentMetrics; Kore's tasks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentMetrics;
/// Utterance metrics (Lex's ListUtteranceMetrics; Kore's intent records).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UtteranceMetrics;

/// A metrics query of any family, as it crosses the source seam.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FamilyQuery {
    Session(MetricsQuery<SessionMetrics>),
    IntentStage(MetricsQuery<IntentStageMetrics>),
    Intent(MetricsQuery<IntentMetrics>),
    Utterance(MetricsQuery<UtteranceMetrics>),
}

/// The bins of any family, as they come back across the seam. Shared, not
/// copied: the source cache and every answer built from it hold the same
/// bins (a 30-day hourly answer is thousands of them), packed and ordered
/// once as the source answers ([`PackedBins::ordered`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FamilyBins {
    Session(Arc<PackedBins<SessionGroupField, SessionMetricName>>),
    IntentStage(Arc<PackedBins<IntentStageGroupField, IntentStageMetricName>>),
    Intent(Arc<PackedBins<IntentGroupField, IntentMetricName>>),
    Utterance(Arc<PackedBins<UtteranceGroupField, UtteranceMetricName>>),
}

impl FamilyQuery {
    pub fn range(&self) -> &TimeRange {
        match self {
            FamilyQuery::Session(q) => &q.range,
            FamilyQuery::IntentStage(q) => &q.range,
            FamilyQuery::Intent(q) => &q.range,
            FamilyQuery::Utterance(q) => &q.range,
        }
    }

    /// The operation's name (metric labels, cache keys): `session_metrics`, …
    pub fn operation(&self) -> &'static str {
        match self {
            FamilyQuery::Session(_) => "session_metrics",
            FamilyQuery::IntentStage(_) => "intent_stage_metrics",
            FamilyQuery::Intent(_) => "intent_metrics",
            FamilyQuery::Utterance(_) => "utterance_metrics",
        }
    }

    /// The family's name (messages).
    pub fn family(&self) -> &'static str {
        match self {
            FamilyQuery::Session(_) => SessionMetrics::NAME,
            FamilyQuery::IntentStage(_) => IntentStageMetrics::NAME,
            FamilyQuery::Intent(_) => IntentMetrics::NAME,
            FamilyQuery::Utterance(_) => UtteranceMetrics::NAME,
        }
    }
}

impl FamilyBins {
    /// A rough size in bytes, for the cache's weigher.
    pub fn estimated_bytes(&self) -> usize {
        match self {
            FamilyBins::Session(b) => b.estimated_bytes(),
            FamilyBins::IntentStage(b) => b.estimated_bytes(),
            FamilyBins::Intent(b) => b.estimated_bytes(),
            FamilyBins::Utterance(b) => b.estimated_bytes(),
        }
    }
}

macro_rules! family {
    ($ty:ident, $variant:ident, $name:literal, $metric:ty, $group:ty, $filter:ty, $bot:expr
     $(, text = $text:expr)? $(, max_group_by = $max:expr)?) => {
        impl Family for $ty {
            type Metric = $metric;
            type Group = $group;
            type Filter = $filter;
            const NAME: &'static str = $name;
            const BOT: $group = $bot;
            $(const TEXT_GROUPS: &'static [$group] = $text;)?
            $(const MAX_GROUP_BY: usize = $max;)?

            fn canonical(filter: $filter) -> $filter {
                filter.canonical()
            }

            fn query(q: MetricsQuery<Self>) -> FamilyQuery {
                FamilyQuery::$variant(q)
            }

            fn bins(b: FamilyBins) -> Option<SharedBins<Self>> {
                match b {
                    FamilyBins::$variant(b) => Some(b),
                    _ => None,
                }
            }

            fn wrap(b: Vec<Bin<$group, $metric>>) -> FamilyBins {
                FamilyBins::$variant(Arc::new(PackedBins::ordered(b)))
            }
        }

        impl From<Vec<Bin<$group, $metric>>> for FamilyBins {
            fn from(b: Vec<Bin<$group, $metric>>) -> FamilyBins {
                <$ty as Family>::wrap(b)
            }
        }
    };
}

family!(
    SessionMetrics,
    Session,
    "session",
    SessionMetricName,
    SessionGroupField,
    SessionFilter,
    SessionGroupField::Bot
);
family!(
    IntentStageMetrics,
    IntentStage,
    "intent-stage",
    IntentStageMetricName,
    IntentStageGroupField,
    IntentStageFilter,
    IntentStageGroupField::Bot
);
family!(
    IntentMetrics,
    Intent,
    "intent",
    IntentMetricName,
    IntentGroupField,
    IntentFilter,
    IntentGroupField::Bot,
    max_group_by = 3
);

family!(
    UtteranceMetrics,
    Utterance,
    "utterance",
    UtteranceMetricName,
    UtteranceGroupField,
    UtteranceFilter,
    UtteranceGroupField::Bot,
    text = &[UtteranceGroupField::UtteranceText]
);

/// The key two spellings of one text share: lower case, runs of whitespace
/// as one space, no leading or trailing whitespace. "Where is  my Order " and
/// "where is my order" are one utterance.
pub fn text_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_ignore_case_and_whitespace_only() {
        assert_eq!(text_key("  Where is  my\tOrder "), "where is my order");
        assert_eq!(text_key("where is my order"), "where is my order");
        assert_ne!(
            text_key("where is my order?"),
            text_key("where is my order")
        );
        assert_eq!(text_key("ÉTÉ"), "été");
        assert_eq!(text_key("   "), "");
    }
}
