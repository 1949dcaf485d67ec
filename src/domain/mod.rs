//! The vendor-neutral model: what a session, a metric bin and an intent stage are,
//! whatever platform served them. Adapters map vendor words onto these types; the
//! engine and GraphQL layer know nothing else.
//!
//! Values that must obey a rule (a time range, a page size) have parse constructors,
//! so an invalid one cannot exist past the boundary that received it.

mod aggregate;
mod data;
mod family;
mod filter;
mod packed;
mod paths;
mod query;
mod range;
mod rollup;

pub use aggregate::{
    Counted, NO_VALUE, SessionAggregator, StageOutcome, Tally, bin_start, check_group_count,
};
pub use data::BotData;
pub use family::{
    Family, FamilyBins, FamilyQuery, IntentMetrics, IntentStageMetrics, MetricSpec, MetricsQuery,
    SessionMetrics, UtteranceMetrics, Vocabulary, text_key,
};
pub use filter::{
    DurationFilter, IntentFilter, IntentPathFilter, IntentStageFilter, SessionFilter, SharedFields,
    UtteranceFilter,
};
pub(crate) use filter::{filter_field_type, shared_field};
pub use packed::{BinKey, PackedBin, PackedBins};
pub use paths::{intent_path_nodes, merge_nodes, sort_nodes};
pub use query::{
    IntentMetricSpec, IntentMetricsQuery, IntentPath, IntentPathQuery, IntentStageMetricSpec,
    IntentStageMetricsQuery, PageSize, SessionKey, SessionMetricSpec, SessionMetricsQuery,
    SessionOrder, SessionPage, SessionQuery, UtteranceKey, UtteranceMetricSpec,
    UtteranceMetricsQuery, UtterancePage, UtteranceQuery, utterance_order,
};
pub use range::TimeRange;
pub use rollup::{RollupMetric, rollup};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{EnumCount, IntoStaticStr, VariantArray};

/// Every value of an enum, in declaration order, as an array: `ALL` of the
/// enums below, from strum's `VARIANTS` (so a new variant cannot be missed).
const fn every<E: Copy, const N: usize>(variants: &[E]) -> [E; N] {
    match variants.first_chunk::<N>() {
        Some(all) => *all,
        None => panic!("fewer variants than the enum's count"),
    }
}

/// Declares a vocabulary enum: a GraphQL enum that is also a serde value, a
/// hash key and a sort key, so that every enum of the model can serve in a
/// group key, a cache key or a cursor alike. A `named` enum also has `ALL`
/// (every value, in declaration order) and `as_str` (its GraphQL name, for
/// group values and vendor words).
macro_rules! domain_enum {
    (named $(#[$meta:meta])* pub enum $name:ident { $($variants:tt)* }) => {
        domain_enum! {
            #[derive(IntoStaticStr, VariantArray, EnumCount)]
            #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
            $(#[$meta])*
            pub enum $name { $($variants)* }
        }

        impl $name {
            // `EnumCount` named: metric enums have `RollupMetric::COUNT` too.
            pub const ALL: [$name; <Self as EnumCount>::COUNT] = every(Self::VARIANTS);

            /// The GraphQL name (`SUCCESS`, `LEX_V2`…).
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
    ($(#[$meta:meta])* pub enum $name:ident { $($variants:tt)* }) => {
        #[derive(
            async_graphql::Enum,
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
        )]
        $(#[$meta])*
        pub enum $name { $($variants)* }
    };
}

domain_enum! {
    named
    /// A bot platform botscope speaks to.
    #[serde(rename_all = "snake_case")]
    pub enum Vendor {
        #[serde(rename = "lex_v2")]
        LexV2,
        Kore,
    }
}

domain_enum! {
    named
    /// How a conversation ended, in Lex's vocabulary (DESIGN §4).
    pub enum ConversationEndState {
        Success,
        Failure,
        Dropped,
    }
}

domain_enum! {
    /// The channel kind a conversation used.
    pub enum Modality {
        Speech,
        Text,
        Dtmf,
        MultiMode,
    }
}

domain_enum! {
    #[derive(Default)]
    pub enum SortOrder {
        Asc,
        #[default]
        Desc,
    }
}

domain_enum! {
    pub enum BinInterval {
        OneHour,
        OneDay,
    }
}

impl BinInterval {
    pub fn seconds(self) -> i64 {
        match self {
            BinInterval::OneHour => 3_600,
            BinInterval::OneDay => 86_400,
        }
    }
}

domain_enum! {
    pub enum Statistic {
        Sum,
        Avg,
        Max,
    }
}

domain_enum! {
    named
    pub enum SessionMetricName {
        Count,
        Success,
        Failure,
        Dropped,
        Duration,
        TurnsPerConversation,
        Concurrency,
    }
}

domain_enum! {
    pub enum SessionGroupField {
        EndState,
        Locale,
        Bot,
    }
}

domain_enum! {
    named
    pub enum IntentStageMetricName {
        Count,
        Success,
        Failed,
        Dropped,
        Retry,
    }
}

domain_enum! {
    pub enum IntentStageGroupField {
        IntentStageName,
        SwitchedToIntent,
        Bot,
    }
}

domain_enum! {
    named
    pub enum IntentMetricName {
        Count,
        Success,
        Failure,
        Switched,
        Dropped,
    }
}

domain_enum! {
    pub enum IntentGroupField {
        IntentName,
        IntentEndState,
        /// 1 for a conversation's first intent, 2 for the next, …
        IntentLevel,
        Bot,
    }
}

domain_enum! {
    named
    pub enum UtteranceMetricName {
        Count,
        Detected,
        Missed,
    }
}

domain_enum! {
    pub enum UtteranceGroupField {
        UtteranceText,
        UtteranceState,
        Bot,
    }
}

domain_enum! {
    #[derive(Default)]
    pub enum SessionOrderField {
        #[default]
        StartTime,
        Duration,
        Turns,
    }
}

/// A tag a vendor attached to a session (Kore's `userTags` / `sessionTags`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// `user` or `session`: which of the vendor's tag lists it came from.
    pub scope: String,
    pub name: String,
    pub value: String,
}

/// One conversation with a bot, in the unified vocabulary.
///
/// A field the vendor does not have is `None`, never invented (DESIGN §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The gateway's id of the bot (config `bots[].id`).
    pub bot_id: String,
    pub vendor: Vendor,
    pub session_id: String,
    pub originating_request_id: Option<String>,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub locale: Option<String>,
    pub modality: Option<Modality>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub duration_seconds: i64,
    pub end_state: Option<ConversationEndState>,
    /// The vendor's own word for how the conversation ended.
    pub vendor_end_state: Option<String>,
    pub turns: Option<i64>,
    pub intents: Option<Vec<String>>,
    pub bot_alias_id: Option<String>,
    pub bot_version: Option<String>,
    pub interactive: Option<bool>,
    pub tasks_executed: Option<i64>,
    pub tags: Option<Vec<Tag>>,
    /// Kore's `isDeveloper`: test traffic from the bot builder. `None` where
    /// the vendor has no such notion (Lex).
    pub is_developer: Option<bool>,
}

impl Session {
    /// The globally unique, stable id: bot, session id and (for Lex, where a
    /// conversation is the pair) the originating request id.
    pub fn global_id(&self) -> String {
        match &self.originating_request_id {
            Some(r) => format!("{}/{}/{}", self.bot_id, self.session_id, r),
            None => format!("{}/{}", self.bot_id, self.session_id),
        }
    }
}

/// One intent stage a conversation went through (Lex's intent-stage analytics):
/// the raw record intent-stage metrics are computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentStageRecord {
    pub bot_id: String,
    pub session_id: String,
    pub intent_name: String,
    pub stage_name: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub outcome: StageOutcome,
    pub switched_to_intent: Option<String>,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub modality: Option<Modality>,
    pub bot_alias_id: Option<String>,
    pub bot_version: Option<String>,
    /// Developer (test) traffic, where the vendor marks it (Kore).
    pub is_developer: Option<bool>,
}

domain_enum! {
    named
    /// How one intent of a conversation ended (Lex's intent end states).
    pub enum IntentEndState {
        Success,
        Failure,
        /// The user moved on to another intent.
        Switched,
        Dropped,
    }
}

/// One intent a conversation went through, in order (Lex's intent analytics;
/// Kore calls it a task): the raw record intent metrics and intent paths are
/// computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentRecord {
    pub bot_id: String,
    pub session_id: String,
    pub originating_request_id: Option<String>,
    pub intent_name: String,
    pub end_state: IntentEndState,
    /// 1 for the conversation's first intent, 2 for the next, …
    pub level: u32,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub modality: Option<Modality>,
    pub bot_alias_id: Option<String>,
    pub bot_version: Option<String>,
    pub is_developer: Option<bool>,
}

domain_enum! {
    named
    /// Whether the bot understood what the user said.
    pub enum UtteranceState {
        Detected,
        Missed,
    }
}

/// One thing a user said to a bot, and what the bot made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtteranceRecord {
    pub bot_id: String,
    pub session_id: String,
    pub originating_request_id: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub text: String,
    pub state: UtteranceState,
    /// The intent the utterance went to (for a missed one: the fallback, or
    /// the intent whose slot it failed to fill), if any.
    pub intent_name: Option<String>,
    pub slot_name: Option<String>,
    /// The intent's state after the turn, in the vendor's words.
    pub intent_state: Option<String>,
    pub dialog_action_type: Option<String>,
    pub bot_responses: Vec<String>,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub modality: Option<Modality>,
    pub input_type: Option<String>,
    pub output_type: Option<String>,
    /// Length of the spoken input, for voice.
    pub duration_millis: Option<i64>,
    pub bot_alias_id: Option<String>,
    pub bot_version: Option<String>,
    pub is_developer: Option<bool>,
}

domain_enum! {
    /// Whether conversations went on past a node of the intent-path tree.
    pub enum IntentPathNodeType {
        /// Some conversation continued with another intent.
        Inner,
        /// Every conversation that reached it ended there.
        Exit,
    }
}

/// One node of the intent-path tree: the intents that follow a path prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentPathNode {
    /// `None` when the nodes of several bots were merged.
    pub bot_id: Option<String>,
    pub intent_name: String,
    /// `/First/Second/…/intent_name`.
    pub path: String,
    /// Conversations that followed the path to this intent.
    pub count: u64,
    /// 1 for a conversation's first intent.
    pub level: u32,
    pub node_type: IntentPathNodeType,
}

/// A group key of a metric bin: which field, and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupKey<F> {
    pub field: F,
    pub value: String,
}

/// One metric value in a bin. `None` when it cannot be computed for this source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue<M> {
    pub metric: M,
    pub statistic: Statistic,
    pub value: Option<f64>,
}

/// One bin of metrics: a time bin, a combination of group values, and the values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin<F, M> {
    /// `None` for a rollup across bots.
    pub bot_id: Option<String>,
    /// Start of the time bin, or of the range when not binned.
    pub bin_start: DateTime<Utc>,
    pub bin_interval: Option<BinInterval>,
    pub groups: Vec<GroupKey<F>>,
    pub values: Vec<MetricValue<M>>,
}

pub type MetricBin = Bin<SessionGroupField, SessionMetricName>;
pub type IntentStageBin = Bin<IntentStageGroupField, IntentStageMetricName>;
pub type IntentBin = Bin<IntentGroupField, IntentMetricName>;
pub type UtteranceBin = Bin<UtteranceGroupField, UtteranceMetricName>;

impl<F: Copy + PartialEq, M: Copy + PartialEq> Bin<F, M> {
    pub fn value(&self, metric: M, statistic: Statistic) -> Option<f64> {
        self.values
            .iter()
            .find(|v| v.metric == metric && v.statistic == statistic)
            .and_then(|v| v.value)
    }

    pub fn group(&self, field: F) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.field == field)
            .map(|g| g.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` is the GraphQL name of the value (what async-graphql shows).
    #[test]
    fn names_are_the_graphql_names() {
        use async_graphql::resolver_utils::enum_value;
        fn check<E: async_graphql::resolver_utils::EnumType + Copy>(
            all: &[E],
            name: fn(E) -> &'static str,
        ) {
            for &e in all {
                assert_eq!(
                    enum_value(e),
                    async_graphql::Value::Enum(async_graphql::Name::new(name(e)))
                );
            }
        }
        check(&Vendor::ALL, Vendor::as_str);
        check(&ConversationEndState::ALL, ConversationEndState::as_str);
        check(&IntentEndState::ALL, IntentEndState::as_str);
        check(UtteranceState::VARIANTS, UtteranceState::as_str);
        check(&UtteranceState::ALL, UtteranceState::as_str);
        check(&IntentMetricName::ALL, IntentMetricName::as_str);
        check(&UtteranceMetricName::ALL, UtteranceMetricName::as_str);
        assert_eq!(Vendor::ALL, [Vendor::LexV2, Vendor::Kore]);
        assert_eq!(IntentMetricName::ALL.len(), 5);
    }
}
