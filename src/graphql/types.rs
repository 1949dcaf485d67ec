//! GraphQL output types: thin views over domain values.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};

use super::scalars::DateTimeScalar;
use crate::domain::{
    self, Bin, BinInterval, ConversationEndState, Family, IntentStageGroupField,
    IntentStageMetricName, Modality, Statistic, Vendor,
};
use crate::engine::{Engine, PageCursors, UtteranceCursors};
use crate::sources::BotInfo;

/// How a record's field reads in GraphQL: a copy of a value, a borrow of a
/// text or a list, a time as [`DateTimeScalar`].
trait ReadField<'a, Out> {
    fn read(&'a self) -> Out;
}

impl<T: Copy> ReadField<'_, T> for T {
    fn read(&self) -> T {
        *self
    }
}

impl<'a> ReadField<'a, &'a str> for String {
    fn read(&'a self) -> &'a str {
        self
    }
}

impl<'a> ReadField<'a, Option<&'a str>> for Option<String> {
    fn read(&'a self) -> Option<&'a str> {
        self.as_deref()
    }
}

impl<'a> ReadField<'a, &'a [String]> for Vec<String> {
    fn read(&'a self) -> &'a [String] {
        self
    }
}

impl<'a> ReadField<'a, Option<&'a [String]>> for Option<Vec<String>> {
    fn read(&'a self) -> Option<&'a [String]> {
        self.as_deref()
    }
}

impl ReadField<'_, DateTimeScalar> for chrono::DateTime<chrono::Utc> {
    fn read(&self) -> DateTimeScalar {
        DateTimeScalar(*self)
    }
}

/// Writes `$name($holder)`, a GraphQL object with one field per listed field
/// of the record it holds, read as it is ([`ReadField`]), in the order listed.
/// A view flattens it in (`#[graphql(flatten)]`) between its own resolvers,
/// so that the fields stand where the view puts them and the record's field
/// list is written once. Only the view's type is in the schema.
macro_rules! record_fields {
    ($(#[$meta:meta])* $name:ident($holder:ty) {
        $($(#[$doc:meta])* $field:ident: $out:ty,)*
    }) => {
        $(#[$meta])*
        pub struct $name($holder);

        #[Object]
        impl $name {
            $(
                $(#[$doc])*
                async fn $field(&self) -> $out {
                    ReadField::read(&self.0.$field)
                }
            )*
        }
    };
}

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
    #[graphql(flatten)]
    async fn fields(&self) -> SessionFields {
        SessionFields(self.0.clone())
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
    /// What was said in this conversation, newest first, where the vendor
    /// can answer it (one utterance query over the session's own span; an
    /// error for vendors without utterance records).
    async fn utterances(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> async_graphql::Result<Vec<Utterance>> {
        use super::errors::GqlResult;
        let s = &self.0;
        let engine = ctx.data_unchecked::<Arc<Engine>>();
        let scope = ctx
            .data_opt::<crate::engine::BotScope>()
            .unwrap_or(&crate::engine::BotScope::All);
        // Utterances are said in [start, end]; the range is half-open.
        let range = domain::TimeRange::new_unbounded(
            s.start_time,
            s.end_time + chrono::Duration::seconds(1),
        )
        .ok_or_else(|| async_graphql::Error::new("the session's times are out of order"))?;
        let req = crate::engine::UtterancesRequest {
            bot_ids: Some(vec![s.bot_id.clone()]),
            range,
            filter: domain::UtteranceFilter {
                session_ids: Some(vec![s.session_id.clone()]),
                include_developer_sessions: true,
                ..Default::default()
            },
            first: i64::from(first),
            after: None,
        };
        let partial = engine.utterances(scope, req).await.gql()?;
        if let Some(e) = partial.errors.first() {
            return Err(super::errors::to_graphql(e));
        }
        Ok(partial
            .data
            .utterances
            .into_iter()
            .filter(|u| {
                u.originating_request_id.is_none()
                    || s.originating_request_id.is_none()
                    || u.originating_request_id == s.originating_request_id
            })
            .map(Utterance)
            .collect())
    }
}

record_fields! {
    /// The fields of a session that GraphQL shows as they are.
    SessionFields(Arc<domain::Session>) {
        session_id: &str,
        originating_request_id: Option<&str>,
        user_id: Option<&str>,
        channel: Option<&str>,
        locale: Option<&str>,
        modality: Option<Modality>,
        start_time: DateTimeScalar,
        end_time: DateTimeScalar,
        duration_seconds: i64,
        /// How the conversation ended, in the unified vocabulary.
        end_state: Option<ConversationEndState>,
        /// The vendor's own word (Lex `conversationEndState`, Kore `containmentType`).
        vendor_end_state: Option<&str>,
        /// Lex `numberOfTurns`; Kore `noOfMessagesExchanged` (messages, not turns: an approximation).
        turns: Option<i64>,
        intents: Option<&[String]>,
        bot_alias_id: Option<&str>,
        bot_version: Option<&str>,
        interactive: Option<bool>,
        tasks_executed: Option<i64>,
        /// Kore's `isDeveloper`: a test session started from the bot builder.
        /// `null` for vendors without the notion (Lex).
        is_developer: Option<bool>,
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
    async fn nodes(&self) -> super::bins::SessionNodes {
        super::bins::SessionNodes(self.0.sessions.clone())
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

/// A metric family as GraphQL shows it: its enums are GraphQL enums and its
/// bin, group and value types have the schema's names.
pub trait GqlFamily:
    Family<
        Group: async_graphql::OutputType + async_graphql::EnumType,
        Metric: async_graphql::OutputType + async_graphql::EnumType,
    >
{
    const BIN: &'static str;
    const GROUP: &'static str;
    const VALUE: &'static str;
}

impl GqlFamily for domain::SessionMetrics {
    const BIN: &'static str = "MetricBin";
    const GROUP: &'static str = "SessionGroup";
    const VALUE: &'static str = "SessionMetricValue";
}

impl GqlFamily for domain::IntentMetrics {
    const BIN: &'static str = "IntentMetricBin";
    const GROUP: &'static str = "IntentGroup";
    const VALUE: &'static str = "IntentMetricValue";
}

impl GqlFamily for domain::UtteranceMetrics {
    const BIN: &'static str = "UtteranceMetricBin";
    const GROUP: &'static str = "UtteranceGroup";
    const VALUE: &'static str = "UtteranceMetricValue";
}

/// Metrics of one time bin and one combination of group values. Group
/// and value objects point into the shared bin; nothing is copied.
pub struct FamilyBin<F: Family>(Arc<Bin<F::Group, F::Metric>>);

impl<F: Family> From<Bin<F::Group, F::Metric>> for FamilyBin<F> {
    fn from(b: Bin<F::Group, F::Metric>) -> Self {
        FamilyBin(Arc::new(b))
    }
}

impl<F: GqlFamily> async_graphql::TypeName for FamilyBin<F> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        F::BIN.into()
    }
}

#[Object(name_type)]
impl<F: GqlFamily> FamilyBin<F> {
    /// The bot; `null` for a rollup across bots.
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        self.0.bot_id.as_deref().and_then(|id| bot_of(ctx, id))
    }
    /// Start of the UTC bin (of the range when not binned).
    async fn bin_start(&self) -> DateTimeScalar {
        DateTimeScalar(self.0.bin_start)
    }
    /// `null` when the query had no `binBy`.
    async fn bin_interval(&self) -> Option<BinInterval> {
        self.0.bin_interval
    }
    async fn groups(&self) -> Vec<FamilyGroup<F>> {
        (0..self.0.groups.len())
            .map(|i| FamilyGroup(self.0.clone(), i))
            .collect()
    }
    async fn values(&self) -> Vec<FamilyValue<F>> {
        (0..self.0.values.len())
            .map(|i| FamilyValue(self.0.clone(), i))
            .collect()
    }
}

/// One group key of a bin: the field and its value.
pub struct FamilyGroup<F: Family>(Arc<Bin<F::Group, F::Metric>>, usize);

impl<F: GqlFamily> async_graphql::TypeName for FamilyGroup<F> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        F::GROUP.into()
    }
}

#[Object(name_type)]
impl<F: GqlFamily> FamilyGroup<F> {
    async fn field(&self) -> F::Group {
        self.0.groups[self.1].field
    }
    async fn value(&self) -> &str {
        &self.0.groups[self.1].value
    }
}

/// One metric value of a bin.
pub struct FamilyValue<F: Family>(Arc<Bin<F::Group, F::Metric>>, usize);

impl<F: GqlFamily> async_graphql::TypeName for FamilyValue<F> {
    fn type_name() -> std::borrow::Cow<'static, str> {
        F::VALUE.into()
    }
}

#[Object(name_type)]
impl<F: GqlFamily> FamilyValue<F> {
    async fn metric(&self) -> F::Metric {
        self.0.values[self.1].metric
    }
    async fn statistic(&self) -> Statistic {
        self.0.values[self.1].statistic
    }
    /// `null` when it cannot be computed (e.g. AVG over no records).
    async fn value(&self) -> Option<f64> {
        self.0.values[self.1].value
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
pub struct IntentStage(domain::IntentStageBin);

impl From<domain::IntentStageBin> for IntentStage {
    fn from(b: domain::IntentStageBin) -> Self {
        IntentStage(b)
    }
}

/// Intent-stage metrics of one time bin and one combination of group values.
#[Object]
impl IntentStage {
    async fn bin_start(&self) -> DateTimeScalar {
        DateTimeScalar(self.0.bin_start)
    }
    async fn bin_interval(&self) -> Option<BinInterval> {
        self.0.bin_interval
    }
    /// The stage name, when grouped by `INTENT_STAGE_NAME`.
    async fn intent_stage_name(&self) -> Option<&str> {
        self.0.group(IntentStageGroupField::IntentStageName)
    }
    /// The intent switched to, when grouped by `SWITCHED_TO_INTENT`.
    async fn switched_to_intent(&self) -> Option<&str> {
        self.0.group(IntentStageGroupField::SwitchedToIntent)
    }
    async fn groups(&self) -> Vec<IntentStageGroup> {
        self.0
            .groups
            .iter()
            .map(|g| IntentStageGroup {
                field: g.field,
                value: g.value.clone(),
            })
            .collect()
    }
    async fn values(&self) -> Vec<IntentStageMetricValue> {
        self.0
            .values
            .iter()
            .map(|v| IntentStageMetricValue {
                metric: v.metric,
                statistic: v.statistic,
                value: v.value,
            })
            .collect()
    }
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        self.0.bot_id.as_deref().and_then(|id| bot_of(ctx, id))
    }
}

/// One node of the intent-path tree: an intent that follows the asked path.
pub struct IntentPathNode(Arc<domain::IntentPathNode>);

/// One node of the intent-path tree: an intent that follows the asked path.
#[Object]
impl IntentPathNode {
    #[graphql(flatten)]
    async fn fields(&self) -> IntentPathNodeFields {
        IntentPathNodeFields(self.0.clone())
    }
    /// The bot, or `null` when the nodes of several bots were merged.
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        self.0.bot_id.as_deref().and_then(|id| bot_of(ctx, id))
    }
}

impl From<domain::IntentPathNode> for IntentPathNode {
    fn from(n: domain::IntentPathNode) -> Self {
        IntentPathNode(Arc::new(n))
    }
}

record_fields! {
    /// The fields of an intent-path node that GraphQL shows as they are.
    IntentPathNodeFields(Arc<domain::IntentPathNode>) {
        intent_name: &str,
        /// `/First/…/intentName`; pass it as `path` for the next level.
        path: &str,
        /// Conversations that followed the path to this intent.
        count: u64,
        /// 1 for a conversation's first intent.
        level: u32,
        node_type: domain::IntentPathNodeType,
    }
}

/// Something a user said to a bot, and what the bot made of it. A field the
/// vendor does not have is `null`.
pub struct Utterance(pub Arc<domain::UtteranceRecord>);

#[Object]
impl Utterance {
    /// Stable id: bot, session, time in epoch milliseconds and a hash of the text.
    async fn id(&self) -> ID {
        use sha2::Digest;
        let u = &self.0;
        let h = sha2::Sha256::digest(u.text.as_bytes());
        let hex: String = h[..6].iter().map(|b| format!("{b:02x}")).collect();
        ID(format!(
            "{}/{}/{}/{hex}",
            u.bot_id,
            u.session_id,
            u.timestamp.timestamp_millis()
        ))
    }
    async fn bot(&self, ctx: &Context<'_>) -> Option<Bot> {
        bot_of(ctx, &self.0.bot_id)
    }
    #[graphql(flatten)]
    async fn fields(&self) -> UtteranceFields {
        UtteranceFields(self.0.clone())
    }
}

record_fields! {
    /// The fields of an utterance that GraphQL shows as they are.
    UtteranceFields(Arc<domain::UtteranceRecord>) {
        session_id: &str,
        originating_request_id: Option<&str>,
        timestamp: DateTimeScalar,
        text: &str,
        state: domain::UtteranceState,
        /// The intent it went to; for a missed utterance the fallback or the
        /// intent whose slot it did not fill, where the vendor says.
        intent_name: Option<&str>,
        slot_name: Option<&str>,
        /// The intent's state after the turn, in the vendor's words.
        intent_state: Option<&str>,
        dialog_action_type: Option<&str>,
        bot_responses: &[String],
        locale: Option<&str>,
        channel: Option<&str>,
        modality: Option<Modality>,
        input_type: Option<&str>,
        output_type: Option<&str>,
        duration_millis: Option<i64>,
        bot_alias_id: Option<&str>,
        bot_version: Option<&str>,
        is_developer: Option<bool>,
    }
}

/// An utterance and its cursor, signed only when `cursor` is selected.
pub struct UtteranceEdge {
    node: Arc<domain::UtteranceRecord>,
    cursors: Arc<UtteranceCursors>,
}

#[Object]
impl UtteranceEdge {
    async fn cursor(&self) -> String {
        self.cursors.cursor(&self.node)
    }
    async fn node(&self) -> Utterance {
        Utterance(self.node.clone())
    }
}

/// A page of utterances, newest first.
pub struct UtteranceConnection(pub crate::engine::UtteranceConnection);

#[Object]
impl UtteranceConnection {
    async fn edges(&self) -> Vec<UtteranceEdge> {
        self.0
            .utterances
            .iter()
            .map(|u| UtteranceEdge {
                node: u.clone(),
                cursors: self.0.cursors.clone(),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Utterance> {
        self.0
            .utterances
            .iter()
            .map(|u| Utterance(u.clone()))
            .collect()
    }
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            end_cursor: self.0.utterances.last().map(|u| self.0.cursors.cursor(u)),
        }
    }
    /// Utterances matching the query over all pages; `null` unless known
    /// without extra upstream calls.
    async fn total_count(&self) -> Option<u64> {
        self.0.total_count
    }
}
