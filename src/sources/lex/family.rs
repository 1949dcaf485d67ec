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

use super::client::{LEX_MAX_RESULTS, LexClient, lex_time, some_if_any};
use super::mapping::{self, Pushdown};
use crate::domain::{
    BinInterval, Family, IntentMetrics, IntentStageMetrics, NO_VALUE, SessionMetrics, Statistic,
    TimeRange, UtteranceMetrics,
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
        let request = client
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
            .set_next_token($token);
        let out = client.call($op, request.send()).await?;
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

/// One operation's `LexFamily`: its name, limits, filter type, words and
/// SDK types; everything else is shared.
macro_rules! lex_family {
    ($family:ty, $op:literal, max_metrics = $max:expr, bins_by = $bins:ident,
     filter = $filter:ident, pushdown = $push:path,
     words = ($metric:path, $field:path $(, $value:path)?),
     sdk = ($method:ident, $sdk_metric:ident, $sdk_group:ident)) => {
        impl LexFamily for $family {
            const OPERATION: &'static str = $op;
            const MAX_METRICS: usize = $max;
            const BIN_BY: AnalyticsBinByName = AnalyticsBinByName::$bins;
            type LexFilter = lex::$filter;

            fn pushdown(filter: &Self::Filter) -> Result<Pushdown<Self::LexFilter>> {
                $push(filter)
            }
            fn metric_word(metric: Self::Metric) -> String {
                $metric(metric).as_str().to_owned()
            }
            fn field_word(field: Self::Group) -> Option<String> {
                $field(field).map(|w| w.as_str().to_owned())
            }
            $(fn group_value(field: Self::Group, value: Option<&str>) -> String {
                $value(field, value)
            })?
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
                    $method,
                    Self::OPERATION,
                    $sdk_metric,
                    $sdk_group
                )
            }
        }
    };
}

// The model's limits (lex.md §11): metrics per call 7 / 5 / 5 / 4. One family a block
// (laid out as a table, so rustfmt leaves it alone):
// words = (metric word, group-field word, group value, if the family maps values).
#[rustfmt::skip]
lex_family! { SessionMetrics, "ListSessionMetrics", max_metrics = 7, bins_by = ConversationStartTime,
    filter = AnalyticsSessionFilter, pushdown = mapping::session_pushdown,
    words = (mapping::session_metric_word, mapping::session_field_word, mapping::session_group_value),
    sdk = (list_session_metrics, AnalyticsSessionMetric, AnalyticsSessionGroupBySpecification) }

#[rustfmt::skip]
lex_family! { IntentStageMetrics, "ListIntentStageMetrics", max_metrics = 5, bins_by = ConversationStartTime,
    filter = AnalyticsIntentStageFilter, pushdown = mapping::stage_pushdown,
    words = (mapping::stage_metric_word, mapping::stage_field_word),
    sdk = (list_intent_stage_metrics, AnalyticsIntentStageMetric, AnalyticsIntentStageGroupBySpecification) }

#[rustfmt::skip]
lex_family! { IntentMetrics, "ListIntentMetrics", max_metrics = 5, bins_by = ConversationStartTime,
    filter = AnalyticsIntentFilter, pushdown = mapping::intent_pushdown,
    words = (mapping::intent_metric_word, mapping::intent_field_word, mapping::intent_group_value),
    sdk = (list_intent_metrics, AnalyticsIntentMetric, AnalyticsIntentGroupBySpecification) }

#[rustfmt::skip]
lex_family! { UtteranceMetrics, "ListUtteranceMetrics", max_metrics = 4, bins_by = UtteranceTimestamp,
    filter = AnalyticsUtteranceFilter, pushdown = mapping::utterance_pushdown,
    words = (mapping::utterance_metric_word, mapping::utterance_field_word, mapping::utterance_group_value),
    sdk = (list_utterance_metrics, AnalyticsUtteranceMetric, AnalyticsUtteranceGroupBySpecification) }
