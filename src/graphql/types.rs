//! GraphQL output types: thin views over domain values.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};

use super::scalars::DateTimeScalar;
use crate::domain::{
    self, BinInterval, ConversationEndState, IntentStageGroupField, IntentStageMetricName,
    Modality, SessionGroupField, SessionMetricName, Statistic, Vendor,
};
use crate::engine::{Engine, PageCursors};
use crate::sources::BotInfo;

/// A bot the gateway serves.
pub struct Bot(pub Arc<BotInfo>);

#[Object]
impl Bot {
    /// The gateway's id for the bot (use it in `botIds`).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn vendor(&self) -> Vendor {
        self.0.vendor
    }
    /// The vendor's own id for the bot.
    async fn vendor_bot_id(&self) -> &str {
        &self.0.vendor_bot_id
    }
}

fn bot_of(ctx: &Context<'_>, id: &str) -> Option<Bot> {
    let engine = ctx.data_unchecked::<Arc<Engine>>();
    engine.bot_info(id).map(|b| Bot(b.clone()))
}

/// One conversation. A field the vendor does not have is `null`.
pub struct Session(pub Arc<domain::Session>);

#[Object]
impl Session {
    /// Global, stable id: bot, session id and (Lex) originating request id.
    async fn id(&self) -> ID {
        ID(self.0.global_id())
    }
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        bot_of(ctx, &self.0.bot_id)
    }
    async fn session_id(&self) -> &str {
        &self.0.session_id
    }
    async fn originating_request_id(&self) -> Option<&str> {
        self.0.originating_request_id.as_deref()
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn channel(&self) -> Option<&str> {
        self.0.channel.as_deref()
    }
    async fn locale(&self) -> Option<&str> {
        self.0.locale.as_deref()
    }
    async fn modality(&self) -> Option<Modality> {
        self.0.modality
    }
    async fn start_time(&self) -> DateTimeScalar {
        DateTimeScalar(self.0.start_time)
    }
    async fn end_time(&self) -> DateTimeScalar {
        DateTimeScalar(self.0.end_time)
    }
    async fn duration_seconds(&self) -> i64 {
        self.0.duration_seconds
    }
    /// How the conversation ended, in the unified vocabulary.
    async fn end_state(&self) -> Option<ConversationEndState> {
        self.0.end_state
    }
    /// The vendor's own word (Lex `conversationEndState`, Kore `containmentType`).
    async fn vendor_end_state(&self) -> Option<&str> {
        self.0.vendor_end_state.as_deref()
    }
    /// Lex `numberOfTurns`; Kore `noOfMessagesExchanged` (messages, not turns: an approximation).
    async fn turns(&self) -> Option<i64> {
        self.0.turns
    }
    async fn intents(&self) -> Option<&[String]> {
        self.0.intents.as_deref()
    }
    async fn bot_alias_id(&self) -> Option<&str> {
        self.0.bot_alias_id.as_deref()
    }
    async fn bot_version(&self) -> Option<&str> {
        self.0.bot_version.as_deref()
    }
    async fn interactive(&self) -> Option<bool> {
        self.0.interactive
    }
    async fn tasks_executed(&self) -> Option<i64> {
        self.0.tasks_executed
    }
    /// Kore's `isDeveloper`: a test session started from the bot builder.
    /// `null` for vendors without the notion (Lex).
    async fn is_developer(&self) -> Option<bool> {
        self.0.is_developer
    }
    async fn tags(&self) -> Option<Vec<Tag>> {
        self.0.tags.as_ref().map(|t| {
            t.iter()
                .map(|t| Tag {
                    scope: t.scope.clone(),
                    name: t.name.clone(),
                    value: t.value.clone(),
                })
                .collect()
        })
    }
}

#[derive(SimpleObject)]
pub struct Tag {
    /// `user` or `session`.
    pub scope: String,
    pub name: String,
    pub value: String,
}

/// A session and its cursor, signed only when `cursor` is selected.
pub struct SessionEdge {
    node: Arc<domain::Session>,
    cursors: Arc<PageCursors>,
}

#[Object]
impl SessionEdge {
    async fn cursor(&self) -> String {
        self.cursors.cursor(&self.node)
    }
    async fn node(&self) -> Session {
        Session(self.node.clone())
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A page of sessions; nodes are shared between `edges` and `nodes`.
pub struct SessionConnection(crate::engine::SessionConnection);

impl From<crate::engine::SessionConnection> for SessionConnection {
    fn from(c: crate::engine::SessionConnection) -> Self {
        SessionConnection(c)
    }
}

#[Object]
impl SessionConnection {
    async fn edges(&self) -> Vec<SessionEdge> {
        self.0
            .sessions
            .iter()
            .map(|s| SessionEdge {
                node: s.clone(),
                cursors: self.0.cursors.clone(),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Session> {
        self.0.sessions.iter().map(|s| Session(s.clone())).collect()
    }
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            end_cursor: self.0.sessions.last().map(|s| self.0.cursors.cursor(s)),
        }
    }
    /// Sessions matching the query over all pages; `null` unless known
    /// without extra upstream calls.
    async fn total_count(&self) -> Option<u64> {
        self.0.total_count
    }
}

#[derive(SimpleObject)]
pub struct SessionGroup {
    pub field: SessionGroupField,
    pub value: String,
}

#[derive(SimpleObject)]
pub struct SessionMetricValue {
    pub metric: SessionMetricName,
    pub statistic: Statistic,
    /// `null` when it cannot be computed (e.g. AVG over no sessions).
    pub value: Option<f64>,
}

/// Session metrics of one time bin and one combination of group values.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MetricBin {
    #[graphql(skip)]
    pub bot_id: Option<String>,
    /// Start of the UTC bin (of the range when not binned).
    pub bin_start: DateTimeScalar,
    /// `null` when the query had no `binBy`.
    pub bin_interval: Option<BinInterval>,
    pub groups: Vec<SessionGroup>,
    pub values: Vec<SessionMetricValue>,
}

#[ComplexObject]
impl MetricBin {
    /// The bot; `null` for a rollup across bots.
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        self.bot_id.as_deref().and_then(|id| bot_of(ctx, id))
    }
}

impl From<domain::MetricBin> for MetricBin {
    fn from(b: domain::MetricBin) -> Self {
        MetricBin {
            bot_id: b.bot_id,
            bin_start: DateTimeScalar(b.bin_start),
            bin_interval: b.bin_interval,
            groups: b
                .groups
                .into_iter()
                .map(|g| SessionGroup {
                    field: g.field,
                    value: g.value,
                })
                .collect(),
            values: b
                .values
                .into_iter()
                .map(|v| SessionMetricValue {
                    metric: v.metric,
                    statistic: v.statistic,
                    value: v.value,
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct IntentStageGroup {
    pub field: IntentStageGroupField,
    pub value: String,
}

#[derive(SimpleObject)]
pub struct IntentStageMetricValue {
    pub metric: IntentStageMetricName,
    pub statistic: Statistic,
    pub value: Option<f64>,
}

/// Intent-stage metrics of one time bin and one combination of group values.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct IntentStage {
    #[graphql(skip)]
    pub bot_id: Option<String>,
    pub bin_start: DateTimeScalar,
    pub bin_interval: Option<BinInterval>,
    /// The stage name, when grouped by `INTENT_STAGE_NAME`.
    pub intent_stage_name: Option<String>,
    /// The intent switched to, when grouped by `SWITCHED_TO_INTENT`.
    pub switched_to_intent: Option<String>,
    pub groups: Vec<IntentStageGroup>,
    pub values: Vec<IntentStageMetricValue>,
}

#[ComplexObject]
impl IntentStage {
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        self.bot_id.as_deref().and_then(|id| bot_of(ctx, id))
    }
}

impl From<domain::IntentStageBin> for IntentStage {
    fn from(b: domain::IntentStageBin) -> Self {
        IntentStage {
            intent_stage_name: b
                .group(IntentStageGroupField::IntentStageName)
                .map(str::to_owned),
            switched_to_intent: b
                .group(IntentStageGroupField::SwitchedToIntent)
                .map(str::to_owned),
            bot_id: b.bot_id,
            bin_start: DateTimeScalar(b.bin_start),
            bin_interval: b.bin_interval,
            groups: b
                .groups
                .into_iter()
                .map(|g| IntentStageGroup {
                    field: g.field,
                    value: g.value,
                })
                .collect(),
            values: b
                .values
                .into_iter()
                .map(|v| IntentStageMetricValue {
                    metric: v.metric,
                    statistic: v.statistic,
                    value: v.value,
                })
                .collect(),
        }
    }
}

/// One node of the intent-path tree: an intent that follows the asked path.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct IntentPathNode {
    #[graphql(skip)]
    pub bot_id: Option<String>,
    pub intent_name: String,
    /// `/First/…/intentName`; pass it as `path` for the next level.
    pub path: String,
    /// Conversations that followed the path to this intent.
    pub count: u64,
    /// 1 for a conversation's first intent.
    pub level: u32,
    pub node_type: domain::IntentPathNodeType,
}

#[ComplexObject]
impl IntentPathNode {
    /// The bot, or `null` when the nodes of several bots were merged.
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        self.bot_id.as_deref().and_then(|id| bot_of(ctx, id))
    }
}

impl From<domain::IntentPathNode> for IntentPathNode {
    fn from(n: domain::IntentPathNode) -> Self {
        IntentPathNode {
            bot_id: n.bot_id,
            intent_name: n.intent_name,
            path: n.path,
            count: n.count,
            level: n.level,
            node_type: n.node_type,
        }
    }
}
