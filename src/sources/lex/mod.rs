//! `LexSource`: Amazon Lex V2 analytics through the official
//! `aws-sdk-lexmodelsv2` client.
//!
//! API facts and limits (`../shared/vendors/lex.md`):
//! - three operations: ListSessionAnalyticsData, ListSessionMetrics,
//!   ListIntentStageMetrics (§2, §4); `POST /bots/{botId}/analytics/…`;
//! - `maxResults` 1..1000 with `nextToken` pages; at most 10 session filters
//!   (9 for stages), 1..5 values each, operators `EQ | GT | LT` (GT/LT only for
//!   `Duration`) (§4, §5);
//! - metrics: at most 7 session metrics (5 stage metrics) per call, one `binBy`,
//!   two `groupBy`; bin keys of unconfirmed unit (§4.2);
//! - errors and retries: §6; the SDK retries throttling and 5xx itself.
//!
//! How unified queries map (DESIGN §4, README's mapping table):
//! - the time range is Lex's own rule, sent as is;
//! - filters Lex can express are pushed down; a list of more than 5 values
//!   stays local for sessions (and is `UNSUPPORTED_BY_VENDOR` for metrics,
//!   which Lex computes); `userIds` matches none (Lex has no user id);
//! - order: Lex's `sortBy` on the same field. Lex orders ties arbitrarily, so
//!   `LexSource` streams pages in Lex's order and only stops once the page's
//!   last session is followed by a strictly different key value; the page is
//!   then sorted with `SessionOrder::compare`. For ascending start time the
//!   keyset `after` narrows `startDateTime`; for the other orders Lex cannot
//!   narrow on the key, so sessions before `after` are fetched and skipped
//!   (deep pages cost more calls);
//! - metrics and stages pass through with enum translation; more than 7 metrics
//!   are split across calls; `BOT` grouping is added locally.

mod client;
mod config;
mod error;
mod mapping;
mod range;
mod replay;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lexmodelsv2::types::{
    AnalyticsIntentStageGroupBySpecification, AnalyticsIntentStageMetric,
    AnalyticsSessionGroupBySpecification, AnalyticsSessionMetric, SessionDataSortBy,
};
use chrono::{DateTime, Utc};

pub use client::LexClient;
pub use config::{LexCredentials, LexSourceConfig};
pub use range::{LexPiece, LexRangePlan};
pub use replay::{REPLAY_BOT, map_session_answer, map_session_page_json};

use self::client::{LEX_MAX_RESULTS, LexMetricsRequest};
use self::error::bad_response;
use super::{AnalyticsSource, BotInfo, Capabilities};
use crate::domain::{
    Bin, BinInterval, GroupKey, IntentPathNode, IntentPathQuery, IntentStageBin,
    IntentStageGroupField, IntentStageMetricName, IntentStageMetricsQuery, MetricBin, MetricValue,
    RollupMetric, Session, SessionMetricName, SessionMetricsQuery, SessionOrderField, SessionPage,
    SessionQuery, SortOrder, Statistic, TimeRange, Vendor, rollup,
};
use crate::error::{Error, Result};

/// Lex's per-call metric limits (lex.md §4.2, §4.3).
const MAX_SESSION_METRICS: usize = 7;
const MAX_STAGE_METRICS: usize = 5;

pub struct LexSource {
    bot: BotInfo,
    capabilities: Capabilities,
    client: LexClient,
}

impl LexSource {
    pub async fn new(bot: BotInfo, config: &LexSourceConfig) -> LexSource {
        use IntentStageMetricName as I;
        use SessionMetricName as S;
        let client = LexClient::build(&bot.id, config).await;
        LexSource {
            bot,
            capabilities: Capabilities {
                session_metrics: vec![
                    S::Count,
                    S::Success,
                    S::Failure,
                    S::Dropped,
                    S::Duration,
                    S::TurnsPerConversation,
                    S::Concurrency,
                ],
                native_session_metrics: true,
                intent_stage_metrics: vec![I::Count, I::Success, I::Failed, I::Dropped, I::Retry],
                session_fields: vec![
                    "sessionId",
                    "originatingRequestId",
                    "channel",
                    "locale",
                    "modality",
                    "startTime",
                    "endTime",
                    "durationSeconds",
                    "endState",
                    "vendorEndState",
                    "turns",
                    "intents",
                    "botAliasId",
                    "botVersion",
                ],
                intent_paths: true,
            },
            client,
        }
    }

    fn tag(&self, e: Error) -> Error {
        e.with_bot(&self.bot.id, Vendor::LexV2)
    }

    /// A metric filter Lex cannot take whole: Lex computes metrics itself, so
    /// botscope cannot apply the rest afterwards.
    fn unsupported_filter<F>(&self, push: &mapping::Pushdown<F>) -> Error {
        self.tag(Error::unsupported(push.left_over.clone().unwrap_or_else(|| {
            format!(
                "Lex takes at most {} values per filter, and computes metrics itself; narrow the filter lists",
                mapping::LEX_MAX_FILTER_VALUES
            )
        })))
    }

    /// Whether a piece can hold sessions after the cursor, for the start-time
    /// orders (where pieces are read in order).
    fn piece_after_cursor(q: &SessionQuery, piece: &LexPiece) -> bool {
        let Some(key) = q.after.as_ref() else {
            return true;
        };
        let Some(t) = DateTime::from_timestamp_millis(key.value) else {
            return true;
        };
        match q.order.direction {
            SortOrder::Desc => piece.asked.start() <= t,
            SortOrder::Asc => piece.owned_end > t,
        }
    }

    /// One piece's page: at most `limit` sessions the piece owns, after the
    /// cursor and matching the filter, and whether there are more.
    async fn piece_sessions(
        &self,
        q: &SessionQuery,
        piece: &LexPiece,
        push: &mapping::Pushdown<aws_sdk_lexmodelsv2::types::AnalyticsSessionFilter>,
        limit: usize,
    ) -> Result<SessionPage> {
        let empty = SessionPage {
            sessions: Vec::new(),
            has_more: false,
            total_count: None,
        };
        let mut start = piece.asked.start();
        if let (SessionOrderField::StartTime, SortOrder::Asc, Some(key)) =
            (q.order.field, q.order.direction, &q.after)
            && let Some(t) = DateTime::from_timestamp_millis(key.value)
        {
            // Sessions after the key started at or after its start time.
            start = start.max(t);
        }
        if start >= piece.asked.end() {
            return Ok(empty);
        }
        let sort_by = SessionDataSortBy::builder()
            .name(mapping::sort_name(q.order.field))
            .order(mapping::sort_order(q.order.direction))
            .build()
            .map_err(|e| Error::internal(format!("cannot build sortBy: {e}")))?;
        let mut kept: Vec<Session> = Vec::new();
        let mut token: Option<String> = None;
        let mut page_size = (limit + 1).min(LEX_MAX_RESULTS as usize) as i32;
        loop {
            let out = self
                .client
                .sessions_page(
                    start,
                    piece.asked.end(),
                    sort_by.clone(),
                    push.filters.clone(),
                    page_size,
                    token.clone(),
                )
                .await?;
            page_size = LEX_MAX_RESULTS;
            let mut last_value = None;
            for spec in out.sessions() {
                let s = mapping::session(spec, &self.bot.id)?;
                last_value = Some(q.order.key_value(&s));
                let after = q.after.as_ref().is_none_or(|k| q.order.is_after(&s, k));
                // What the piece sees past its owned part is the next piece's.
                if after && piece.owns(s.start_time) && q.filter.matches(&s) {
                    kept.push(s);
                }
            }
            token = client::next(out.next_token(), &token);
            if token.is_none() {
                break;
            }
            if kept.len() > limit {
                // Only the first limit + 1 can matter: later pages can only add
                // sessions at or beyond the last key value seen.
                kept.sort_by(|a, b| q.order.compare(a, b));
                kept.truncate(limit + 1);
                let boundary = q.order.key_value(&kept[limit - 1]);
                if last_value.is_some_and(|v| strictly_beyond(v, boundary, q.order.direction)) {
                    break;
                }
            }
        }
        kept.sort_by(|a, b| q.order.compare(a, b));
        let has_more = kept.len() > limit;
        kept.truncate(limit);
        Ok(SessionPage {
            sessions: kept.into_iter().map(Arc::new).collect(),
            has_more,
            total_count: None,
        })
    }

    /// Metrics of any family over a range of any length: one call chain
    /// (`fetch`) when the range keeps Lex's one-month rule, else one per piece
    /// of the [`LexRangePlan`], combined exactly. With bins, every bin comes
    /// whole from the piece owning its start. Without, the pieces are asked
    /// for day bins (so the extra day of a piece can be dropped) which are
    /// then folded into the one bin: `SUM` adds, `MAX` takes the largest,
    /// `AVG` is weighted by the `COUNT SUM` fetched with it.
    async fn metrics_over_pieces<F, M, Fut>(
        &self,
        range: &TimeRange,
        specs: &[(M, Statistic)],
        bin_by: Option<BinInterval>,
        group_by: &[F],
        fetch: impl Fn(TimeRange, Option<BinInterval>, Vec<(M, Statistic)>) -> Fut,
    ) -> Result<Vec<Bin<F, M>>>
    where
        F: Copy + Ord,
        M: RollupMetric,
        Fut: std::future::Future<Output = Result<Vec<Bin<F, M>>>>,
    {
        let plan = LexRangePlan::new(range, Utc::now()).map_err(|e| self.tag(e))?;
        if !plan.is_split() {
            return fetch(*range, bin_by, specs.to_vec()).await;
        }
        if let Some((m, _)) = specs.iter().find(|(m, _)| !m.combines()) {
            return Err(self.tag(Error::unsupported(format!(
                "{m:?} over a range longer than one month cannot be exact: Lex takes at most one \
                 month per call, and conversations open across the boundary of two calls count \
                 in neither; ask for one month at a time"
            ))));
        }
        let mut asked = specs.to_vec();
        let count = (M::COUNT, Statistic::Sum);
        if bin_by.is_none()
            && specs.iter().any(|(_, s)| *s == Statistic::Avg)
            && !asked.contains(&count)
        {
            asked.push(count);
        }
        let piece_bins = bin_by.unwrap_or(BinInterval::OneDay);
        let answers = futures::future::try_join_all(
            plan.pieces
                .iter()
                .map(|p| fetch(p.asked, Some(piece_bins), asked.clone())),
        )
        .await?;
        let mut bins: Vec<Bin<F, M>> = plan
            .pieces
            .iter()
            .zip(answers)
            .flat_map(|(piece, bins)| {
                let owned_end = piece.owned_end;
                bins.into_iter().filter(move |b| b.bin_start < owned_end)
            })
            .collect();
        if bin_by.is_some() {
            return Ok(bins);
        }
        for b in &mut bins {
            b.bin_start = range.start();
            b.bin_interval = None;
        }
        let mut folded = rollup(bins, specs);
        for b in &mut folded {
            b.bot_id = Some(self.bot.id.clone());
            b.groups
                .sort_by_key(|g| group_by.iter().position(|f| *f == g.field));
        }
        Ok(folded)
    }
}

/// Whether key value `v`, met later in Lex's order, lies strictly beyond `boundary`.
fn strictly_beyond(v: i64, boundary: i64, direction: SortOrder) -> bool {
    match direction {
        SortOrder::Asc => v > boundary,
        SortOrder::Desc => v < boundary,
    }
}

/// Values of `metrics` in query order, looked up by (metric, statistic).
fn values_in_order<M: Copy + PartialEq>(
    specs: &[(M, Statistic)],
    found: &[(M, Statistic, Option<f64>)],
) -> Vec<MetricValue<M>> {
    specs
        .iter()
        .map(|(m, s)| MetricValue {
            metric: *m,
            statistic: *s,
            value: found
                .iter()
                .find(|(fm, fs, _)| fm == m && fs == s)
                .and_then(|f| f.2),
        })
        .collect()
}

type CellKey<F> = (i64, Vec<GroupKey<F>>);
/// One call chain's values per (bin, groups) cell, as Lex named them.
type Cells<F, M> = HashMap<CellKey<F>, Vec<(M, Statistic, Option<f64>)>>;

impl LexSource {
    /// A result's bin start: its bin key (seconds or milliseconds) when the
    /// query was binned, else the range start. Shared by both metric operations.
    fn bin_start(
        &self,
        binned: bool,
        range: &crate::domain::TimeRange,
        keys: &[aws_sdk_lexmodelsv2::types::AnalyticsBinKey],
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        match keys.first().and_then(|k| k.value()) {
            Some(v) if binned => mapping::bin_key_time(v)
                .ok_or_else(|| bad_response(&self.bot.id, "Lex sent a bad bin key")),
            _ => Ok(range.start()),
        }
    }
}

#[async_trait]
impl AnalyticsSource for LexSource {
    fn bot(&self) -> &BotInfo {
        &self.bot
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Within one month, one piece. Longer ranges are read piece by piece
    /// (`range`): for the start-time orders in the order's direction, stopping
    /// once the page is full (pieces own disjoint start times, so later pieces
    /// cannot come first); for the other orders every piece gives its best
    /// `limit` and the pages are merged.
    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        let plan = LexRangePlan::new(&q.range, Utc::now()).map_err(|e| self.tag(e))?;
        let push = mapping::session_pushdown(&q.filter)?;
        let limit = q.limit.get();
        if push.matches_none {
            return Ok(SessionPage {
                sessions: Vec::new(),
                has_more: false,
                total_count: None,
            });
        }
        if !plan.is_split() {
            return self.piece_sessions(q, &plan.pieces[0], &push, limit).await;
        }
        let by_start = q.order.field == SessionOrderField::StartTime;
        let mut pieces = plan.pieces;
        if by_start && q.order.direction == SortOrder::Desc {
            pieces.reverse();
        }
        let mut kept: Vec<Arc<Session>> = Vec::new();
        let mut has_more = false;
        for piece in &pieces {
            if by_start && !Self::piece_after_cursor(q, piece) {
                continue;
            }
            // In start order one more session than the page decides `has_more`.
            let want = if by_start {
                limit.saturating_sub(kept.len()).max(1)
            } else {
                limit
            };
            let page = self.piece_sessions(q, piece, &push, want).await?;
            has_more |= page.has_more;
            kept.extend(page.sessions);
            if by_start && (has_more || kept.len() > limit) {
                break;
            }
        }
        kept.sort_by(|a, b| q.order.compare(a, b));
        has_more |= kept.len() > limit;
        kept.truncate(limit);
        Ok(SessionPage {
            sessions: kept,
            has_more,
            total_count: None,
        })
    }

    async fn session_metrics(&self, q: &SessionMetricsQuery) -> Result<Vec<MetricBin>> {
        if q.metrics.is_empty() {
            return Err(Error::bad_input("metrics", "name at least one metric"));
        }
        let push = mapping::session_pushdown(&q.filter)?;
        if push.matches_none {
            return Ok(Vec::new());
        }
        if !push.complete {
            return Err(self.unsupported_filter(&push));
        }
        let specs: Vec<_> = q.metrics.iter().map(|m| (m.name, m.statistic)).collect();
        self.metrics_over_pieces(
            &q.range,
            &specs,
            q.bin_by,
            &q.group_by,
            |range, bin_by, specs| {
                self.session_metrics_call(range, bin_by, specs, &q.group_by, &push)
            },
        )
        .await
    }

    /// ListIntentPaths, one call per level asked. Counts of conversations
    /// cannot be combined exactly across calls (the pieces of a longer range
    /// overlap by a day, and without the overlap conversations across a
    /// boundary would be lost), so a range over one month is refused.
    async fn intent_paths(&self, q: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        let plan = LexRangePlan::new(&q.range, Utc::now()).map_err(|e| self.tag(e))?;
        if plan.is_split() {
            return Err(self.tag(Error::unsupported(
                "intent paths over a range longer than one month cannot be exact: Lex takes at \
                 most one month per call and conversation counts of two calls do not add up; \
                 ask for one month at a time",
            )));
        }
        let push = mapping::path_pushdown(&q.filter)?;
        if push.matches_none {
            return Ok(Vec::new());
        }
        if !push.complete {
            return Err(self.unsupported_filter(&push));
        }
        let nodes = self
            .client
            .intent_paths(&q.range, &q.path.as_path(), push.filters)
            .await?;
        let mut out = nodes
            .iter()
            .map(|n| mapping::path_node(n, &self.bot.id))
            .collect::<Result<Vec<_>>>()?;
        crate::domain::sort_nodes(&mut out);
        Ok(out)
    }

    async fn intent_stage_metrics(
        &self,
        q: &IntentStageMetricsQuery,
    ) -> Result<Vec<IntentStageBin>> {
        if q.metrics.is_empty() {
            return Err(Error::bad_input("metrics", "name at least one metric"));
        }
        let push = mapping::stage_pushdown(&q.filter)?;
        if push.matches_none {
            return Ok(Vec::new());
        }
        if !push.complete {
            return Err(self.unsupported_filter(&push));
        }
        let specs: Vec<_> = q.metrics.iter().map(|m| (m.name, m.statistic)).collect();
        self.metrics_over_pieces(
            &q.range,
            &specs,
            q.bin_by,
            &q.group_by,
            |range, bin_by, specs| {
                self.stage_metrics_call(range, bin_by, specs, &q.group_by, &push)
            },
        )
        .await
    }
}

impl LexSource {
    /// ListSessionMetrics over one range (at most one month), all pages,
    /// metrics split over calls of at most 7.
    async fn session_metrics_call(
        &self,
        range: TimeRange,
        bin_by_unified: Option<BinInterval>,
        specs: Vec<(SessionMetricName, Statistic)>,
        group_by_unified: &[crate::domain::SessionGroupField],
        push: &mapping::Pushdown<aws_sdk_lexmodelsv2::types::AnalyticsSessionFilter>,
    ) -> Result<Vec<MetricBin>> {
        let lex_fields: Vec<_> = group_by_unified
            .iter()
            .filter_map(|f| mapping::session_field_word(*f).map(|w| (*f, w)))
            .collect();
        let group_by: Vec<AnalyticsSessionGroupBySpecification> = lex_fields
            .iter()
            .map(|(_, w)| {
                AnalyticsSessionGroupBySpecification::builder()
                    .name(w.clone())
                    .build()
                    .map_err(|e| Error::internal(format!("cannot build groupBy: {e}")))
            })
            .collect::<Result<_>>()?;
        let bin_by = bin_by_unified.map(mapping::bin_by).transpose()?;
        let mut cells: Cells<_, SessionMetricName> = HashMap::new();
        for chunk in specs.chunks(MAX_SESSION_METRICS) {
            let metrics = chunk
                .iter()
                .map(|(name, statistic)| {
                    AnalyticsSessionMetric::builder()
                        .name(mapping::session_metric_word(*name))
                        .statistic(mapping::statistic_word(*statistic))
                        .build()
                        .map_err(|e| Error::internal(format!("cannot build metrics: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let results = self
                .client
                .session_metrics(
                    &range,
                    LexMetricsRequest {
                        metrics,
                        bin_by: bin_by.clone(),
                        group_by: group_by.clone(),
                        filters: push.filters.clone(),
                    },
                )
                .await?;
            for r in results {
                let bin = self.bin_start(bin_by_unified.is_some(), &range, r.bin_keys())?;
                let groups = group_by_unified
                    .iter()
                    .map(|f| {
                        let value = match mapping::session_field_word(*f) {
                            None => self.bot.id.clone(),
                            Some(w) => mapping::session_group_value(
                                *f,
                                r.group_by_keys()
                                    .iter()
                                    .find(|k| k.name() == Some(&w))
                                    .and_then(|k| k.value()),
                            ),
                        };
                        GroupKey { field: *f, value }
                    })
                    .collect();
                let cell = cells.entry((bin.timestamp_millis(), groups)).or_default();
                for m in r.metrics_results() {
                    if let (Some(name), Some(stat)) = (
                        m.name().and_then(mapping::session_metric),
                        m.statistic().and_then(mapping::statistic),
                    ) {
                        cell.push((name, stat, m.value()));
                    }
                }
            }
        }
        Ok(self.cells_to_bins(cells, &specs, &range, bin_by_unified))
    }

    /// ListIntentStageMetrics over one range (at most one month), all pages,
    /// metrics split over calls of at most 5.
    async fn stage_metrics_call(
        &self,
        range: TimeRange,
        bin_by_unified: Option<BinInterval>,
        specs: Vec<(IntentStageMetricName, Statistic)>,
        group_by_unified: &[IntentStageGroupField],
        push: &mapping::Pushdown<aws_sdk_lexmodelsv2::types::AnalyticsIntentStageFilter>,
    ) -> Result<Vec<IntentStageBin>> {
        let group_by: Vec<AnalyticsIntentStageGroupBySpecification> = group_by_unified
            .iter()
            .filter_map(|f| mapping::stage_field_word(*f))
            .map(|w| {
                AnalyticsIntentStageGroupBySpecification::builder()
                    .name(w)
                    .build()
                    .map_err(|e| Error::internal(format!("cannot build groupBy: {e}")))
            })
            .collect::<Result<_>>()?;
        let bin_by = bin_by_unified.map(mapping::bin_by).transpose()?;
        let mut cells: Cells<IntentStageGroupField, IntentStageMetricName> = HashMap::new();
        for chunk in specs.chunks(MAX_STAGE_METRICS) {
            let metrics = chunk
                .iter()
                .map(|(name, statistic)| {
                    AnalyticsIntentStageMetric::builder()
                        .name(mapping::stage_metric_word(*name))
                        .statistic(mapping::statistic_word(*statistic))
                        .build()
                        .map_err(|e| Error::internal(format!("cannot build metrics: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let results = self
                .client
                .intent_stage_metrics(
                    &range,
                    LexMetricsRequest {
                        metrics,
                        bin_by: bin_by.clone(),
                        group_by: group_by.clone(),
                        filters: push.filters.clone(),
                    },
                )
                .await?;
            for r in results {
                let bin = self.bin_start(bin_by_unified.is_some(), &range, r.bin_keys())?;
                let groups = group_by_unified
                    .iter()
                    .map(|f| {
                        let value = match mapping::stage_field_word(*f) {
                            None => self.bot.id.clone(),
                            Some(w) => r
                                .group_by_keys()
                                .iter()
                                .find(|k| k.name() == Some(&w))
                                .and_then(|k| k.value())
                                .unwrap_or(crate::domain::NO_VALUE)
                                .to_owned(),
                        };
                        GroupKey { field: *f, value }
                    })
                    .collect();
                let cell = cells.entry((bin.timestamp_millis(), groups)).or_default();
                for m in r.metrics_results() {
                    if let (Some(name), Some(stat)) = (
                        m.name().and_then(mapping::stage_metric),
                        m.statistic().and_then(mapping::statistic),
                    ) {
                        cell.push((name, stat, m.value()));
                    }
                }
            }
        }
        Ok(self.cells_to_bins(cells, &specs, &range, bin_by_unified))
    }

    /// The bins of one call chain's cells, values in the order asked.
    fn cells_to_bins<F, M: Copy + PartialEq>(
        &self,
        cells: Cells<F, M>,
        specs: &[(M, Statistic)],
        range: &TimeRange,
        bin_by: Option<BinInterval>,
    ) -> Vec<Bin<F, M>> {
        cells
            .into_iter()
            .map(|((ms, groups), found)| Bin {
                bot_id: Some(self.bot.id.clone()),
                bin_start: DateTime::from_timestamp_millis(ms).unwrap_or(range.start()),
                bin_interval: bin_by,
                groups,
                values: values_in_order(specs, &found),
            })
            .collect()
    }
}
