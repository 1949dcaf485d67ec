//! Every metric family over Lex's analytics API, through one path.
//!
//! ListSessionMetrics, ListIntentStageMetrics, ListIntentMetrics and
//! ListUtteranceMetrics take the same request (metrics, one `binBy`,
//! `groupBy`, filters, `nextToken`) and send the same answer (bin keys, group
//! keys, metric results), each in its own SDK types. [`LexFamily`] names what
//! differs — the operation, its limits and its words — and one page function
//! per operation (written once, by [`metrics_page!`]) turns the SDK's answer
//! into [`LexRow`]s; `LexSource::family_metrics` does the rest for all four.

use std::future::Future;

use aws_sdk_lexmodelsv2::types::{
    self as lex, AnalyticsBinByName, AnalyticsBinBySpecification, AnalyticsInterval,
};
use tracing::Instrument;

use super::client::{LEX_MAX_RESULTS, LexClient, lex_time};
use super::error::classify;
use super::mapping::{self, Pushdown};
use crate::domain::{
    BinInterval, Family, IntentGroupField, IntentMetricName, IntentMetrics, IntentStageGroupField,
    IntentStageMetrics, NO_VALUE, SessionGroupField, SessionMetrics, Statistic, TimeRange,
    UtteranceGroupField, UtteranceMetricName, UtteranceMetrics,
};
use crate::error::{Error, Result};

/// One result of a metrics page, in Lex's words.
pub struct LexRow {
    /// The first bin key's value (seconds or milliseconds).
    pub bin: Option<i64>,
    /// Group-by keys: Lex's field name and value.
    pub groups: Vec<(String, Option<String>)>,
    /// Metric results: Lex's metric name, statistic and value.
    pub values: Vec<(String, String, Option<f64>)>,
}

/// What one call of a metrics operation asks, besides the range and token.
pub struct LexMetricsCall<Filter> {
    /// Lex's metric names and the statistics.
    pub metrics: Vec<(String, Statistic)>,
    pub bin_by: Option<AnalyticsBinBySpecification>,
    /// Lex's group-by field names.
    pub group_by: Vec<String>,
    pub filters: Vec<Filter>,
}

/// How one metric family travels over Lex.
pub trait LexFamily: Family {
    /// The operation, for spans and errors.
    const OPERATION: &'static str;
    /// Metrics per call (the model's `max` on `metrics`).
    const MAX_METRICS: usize;
    /// What bins go by (`UtteranceTimestamp` for utterances).
    const BIN_BY: AnalyticsBinByName;
    type LexFilter: Clone + Send + Sync;

    /// The Lex filters for a unified filter, and what Lex cannot take.
    fn pushdown(filter: &Self::Filter) -> Result<Pushdown<Self::LexFilter>>;
    fn metric_word(metric: Self::Metric) -> String;
    /// Lex's group-by field; `None` for `BOT` (a source serves one bot).
    fn field_word(field: Self::Group) -> Option<String>;
    /// A group value in the unified vocabulary.
    fn group_value(_field: Self::Group, value: Option<&str>) -> String {
        value.unwrap_or(NO_VALUE).to_owned()
    }
    /// One page of the operation.
    fn page(
        client: &LexClient,
        range: &TimeRange,
        call: &LexMetricsCall<Self::LexFilter>,
        token: Option<String>,
    ) -> impl Future<Output = Result<(Vec<LexRow>, Option<String>)>> + Send;
}

pub fn bin_by(
    name: AnalyticsBinByName,
    interval: BinInterval,
) -> Result<AnalyticsBinBySpecification> {
    AnalyticsBinBySpecification::builder()
        .name(name)
        .interval(match interval {
            BinInterval::OneHour => AnalyticsInterval::OneHour,
            BinInterval::OneDay => AnalyticsInterval::OneDay,
        })
        .build()
        .map_err(|e| Error::internal(format!("cannot build binBy: {e}")))
}

fn some_if_any<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// One page of a metrics operation: builds the request from a
/// [`LexMetricsCall`] in the operation's SDK types and reads the results
/// into [`LexRow`]s. The four operations differ only in these types.
macro_rules! metrics_page {
    ($client:expr, $range:expr, $call:expr, $token:expr,
     $method:ident, $op:expr, $metric:ident, $group:ident) => {{
        let (client, range, call): (&LexClient, &TimeRange, &LexMetricsCall<_>) =
            ($client, $range, $call);
        let built = |e: aws_sdk_lexmodelsv2::error::BuildError| {
            Error::internal(format!("cannot build a {} request: {e}", $op))
        };
        let metrics = call
            .metrics
            .iter()
            .map(|(name, statistic)| {
                lex::$metric::builder()
                    .name(name.as_str().into())
                    .statistic(mapping::statistic_word(*statistic))
                    .build()
                    .map_err(built)
            })
            .collect::<Result<Vec<_>>>()?;
        let group_by = call
            .group_by
            .iter()
            .map(|g| {
                lex::$group::builder()
                    .name(g.as_str().into())
                    .build()
                    .map_err(built)
            })
            .collect::<Result<Vec<_>>>()?;
        client.wait_for_slot().await;
        let out = client
            .sdk()
            .$method()
            .bot_id(client.lex_bot_id())
            .start_date_time(lex_time(range.start()))
            .end_date_time(lex_time(range.end()))
            .set_metrics(Some(metrics))
            .set_bin_by(call.bin_by.clone().map(|b| vec![b]))
            .set_group_by(some_if_any(group_by))
            .set_filters(some_if_any(call.filters.clone()))
            .max_results(LEX_MAX_RESULTS)
            .set_next_token($token)
            .send()
            .instrument(client.span($op))
            .await
            .map_err(|e| classify(e, client.gateway_bot(), $op))?;
        let rows = out
            .results()
            .iter()
            .map(|r| LexRow {
                bin: r.bin_keys().first().and_then(|k| k.value()),
                groups: r
                    .group_by_keys()
                    .iter()
                    .map(|k| {
                        (
                            k.name().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                            k.value().map(str::to_owned),
                        )
                    })
                    .collect(),
                values: r
                    .metrics_results()
                    .iter()
                    .map(|m| {
                        (
                            m.name().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                            m.statistic()
                                .map(|s| s.as_str().to_owned())
                                .unwrap_or_default(),
                            m.value(),
                        )
                    })
                    .collect(),
            })
            .collect();
        Ok((rows, out.next_token().map(str::to_owned)))
    }};
}

impl LexFamily for SessionMetrics {
    const OPERATION: &'static str = "ListSessionMetrics";
    const MAX_METRICS: usize = 7;
    const BIN_BY: AnalyticsBinByName = AnalyticsBinByName::ConversationStartTime;
    type LexFilter = lex::AnalyticsSessionFilter;

    fn pushdown(filter: &Self::Filter) -> Result<Pushdown<Self::LexFilter>> {
        mapping::session_pushdown(filter)
    }
    fn metric_word(metric: Self::Metric) -> String {
        mapping::session_metric_word(metric).as_str().to_owned()
    }
    fn field_word(field: SessionGroupField) -> Option<String> {
        mapping::session_field_word(field).map(|w| w.as_str().to_owned())
    }
    fn group_value(field: SessionGroupField, value: Option<&str>) -> String {
        mapping::session_group_value(field, value)
    }
    async fn page(
        client: &LexClient,
        range: &TimeRange,
        call: &LexMetricsCall<Self::LexFilter>,
        token: Option<String>,
    ) -> Result<(Vec<LexRow>, Option<String>)> {
        metrics_page!(
            client,
            range,
            call,
            token,
            list_session_metrics,
            Self::OPERATION,
            AnalyticsSessionMetric,
            AnalyticsSessionGroupBySpecification
        )
    }
}

impl LexFamily for IntentStageMetrics {
    const OPERATION: &'static str = "ListIntentStageMetrics";
    const MAX_METRICS: usize = 5;
    const BIN_BY: AnalyticsBinByName = AnalyticsBinByName::ConversationStartTime;
    type LexFilter = lex::AnalyticsIntentStageFilter;

    fn pushdown(filter: &Self::Filter) -> Result<Pushdown<Self::LexFilter>> {
        mapping::stage_pushdown(filter)
    }
    fn metric_word(metric: Self::Metric) -> String {
        mapping::stage_metric_word(metric).as_str().to_owned()
    }
    fn field_word(field: IntentStageGroupField) -> Option<String> {
        mapping::stage_field_word(field).map(|w| w.as_str().to_owned())
    }
    async fn page(
        client: &LexClient,
        range: &TimeRange,
        call: &LexMetricsCall<Self::LexFilter>,
        token: Option<String>,
    ) -> Result<(Vec<LexRow>, Option<String>)> {
        metrics_page!(
            client,
            range,
            call,
            token,
            list_intent_stage_metrics,
            Self::OPERATION,
            AnalyticsIntentStageMetric,
            AnalyticsIntentStageGroupBySpecification
        )
    }
}

impl LexFamily for IntentMetrics {
    const OPERATION: &'static str = "ListIntentMetrics";
    const MAX_METRICS: usize = 5;
    const BIN_BY: AnalyticsBinByName = AnalyticsBinByName::ConversationStartTime;
    type LexFilter = lex::AnalyticsIntentFilter;

    fn pushdown(filter: &Self::Filter) -> Result<Pushdown<Self::LexFilter>> {
        mapping::intent_pushdown(filter)
    }
    fn metric_word(metric: IntentMetricName) -> String {
        mapping::intent_metric_word(metric).as_str().to_owned()
    }
    fn field_word(field: IntentGroupField) -> Option<String> {
        mapping::intent_field_word(field).map(|w| w.as_str().to_owned())
    }
    fn group_value(field: IntentGroupField, value: Option<&str>) -> String {
        mapping::intent_group_value(field, value)
    }
    async fn page(
        client: &LexClient,
        range: &TimeRange,
        call: &LexMetricsCall<Self::LexFilter>,
        token: Option<String>,
    ) -> Result<(Vec<LexRow>, Option<String>)> {
        metrics_page!(
            client,
            range,
            call,
            token,
            list_intent_metrics,
            Self::OPERATION,
            AnalyticsIntentMetric,
            AnalyticsIntentGroupBySpecification
        )
    }
}

impl LexFamily for UtteranceMetrics {
    const OPERATION: &'static str = "ListUtteranceMetrics";
    const MAX_METRICS: usize = 4;
    const BIN_BY: AnalyticsBinByName = AnalyticsBinByName::UtteranceTimestamp;
    type LexFilter = lex::AnalyticsUtteranceFilter;

    fn pushdown(filter: &Self::Filter) -> Result<Pushdown<Self::LexFilter>> {
        mapping::utterance_pushdown(filter)
    }
    fn metric_word(metric: UtteranceMetricName) -> String {
        mapping::utterance_metric_word(metric).as_str().to_owned()
    }
    fn field_word(field: UtteranceGroupField) -> Option<String> {
        mapping::utterance_field_word(field).map(|w| w.as_str().to_owned())
    }
    fn group_value(field: UtteranceGroupField, value: Option<&str>) -> String {
        mapping::utterance_group_value(field, value)
    }
    async fn page(
        client: &LexClient,
        range: &TimeRange,
        call: &LexMetricsCall<Self::LexFilter>,
        token: Option<String>,
    ) -> Result<(Vec<LexRow>, Option<String>)> {
        metrics_page!(
            client,
            range,
            call,
            token,
            list_utterance_metrics,
            Self::OPERATION,
            AnalyticsUtteranceMetric,
            AnalyticsUtteranceGroupBySpecification
        )
    }
}
