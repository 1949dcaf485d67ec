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
mod family;
mod mapping;
mod range;
mod replay;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lexmodelsv2::types::SessionDataSortBy;
use chrono::{DateTime, Utc};

pub use client::LexClient;
pub use config::{LexConfig, LexCredentials};
pub use range::{LexPiece, LexRangePlan};
pub use replay::{REPLAY_BOT, map_session_answer, map_session_page_json};

use self::client::LEX_MAX_RESULTS;
use self::error::bad_response;
use self::family::{LexFamily, LexMetricsCall};
use super::{AnalyticsSource, BotInfo, Capabilities};
use crate::domain::{
    Bin, BinInterval, FamilyBins, FamilyQuery, GroupKey, IntentMetricName, IntentPathNode,
    IntentPathQuery, MetricValue, MetricsQuery, RollupMetric, Session, SessionOrderField,
    SessionPage, SessionQuery, SortOrder, Statistic, Tally, TimeRange, UtteranceGroupField,
    UtteranceMetricName, UtteranceMetrics, UtterancePage, UtteranceQuery, UtteranceRecord, Vendor,
    rollup, utterance_order,
};
use crate::error::{Error, Result};

pub struct LexSource {
    bot: BotInfo,
    capabilities: Capabilities,
    client: LexClient,
}

impl LexSource {
    pub async fn new(bot: BotInfo, config: &LexConfig) -> LexSource {
        let client = LexClient::build(&bot.id, config).await;
        LexSource {
            bot,
            capabilities: Capabilities {
                session_metrics: crate::domain::SessionMetricName::ALL.to_vec(),
                native_session_metrics: true,
                intent_stage_metrics: crate::domain::IntentStageMetricName::ALL.to_vec(),
                intent_metrics: IntentMetricName::ALL.to_vec(),
                utterance_metrics: UtteranceMetricName::ALL.to_vec(),
                utterances: true,
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
        key: Option<i64>,
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        match key {
            Some(v) if binned => mapping::bin_key_time(v)
                .ok_or_else(|| bad_response(&self.bot.id, "Lex sent a bad bin key")),
            _ => Ok(range.start()),
        }
    }
}

#[async_trait]
impl AnalyticsSource for LexSource {
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

    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        match q {
            FamilyQuery::Session(q) => self.family_metrics(q).await.map(FamilyBins::from),
            FamilyQuery::IntentStage(q) => self.family_metrics(q).await.map(FamilyBins::from),
            FamilyQuery::Intent(q) => self.family_metrics(q).await.map(FamilyBins::from),
            FamilyQuery::Utterance(q) => self.utterance_metrics(q).await.map(FamilyBins::from),
        }
    }

    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        self.utterance_page(q).await
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

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        (&self.bot, &self.capabilities)
    }
}

impl LexSource {
    /// Metrics of any family: what Lex can filter is pushed down, the range
    /// is split by the range rules, and each piece is one call chain.
    async fn family_metrics<F: LexFamily>(
        &self,
        q: &MetricsQuery<F>,
    ) -> Result<Vec<Bin<F::Group, F::Metric>>> {
        if q.metrics.is_empty() {
            return Err(Error::bad_input("metrics", "name at least one metric"));
        }
        let push = F::pushdown(&q.filter)?;
        if push.matches_none {
            return Ok(Vec::new());
        }
        if !push.complete {
            return Err(self.unsupported_filter(&push));
        }
        let specs = q.specs();
        self.metrics_over_pieces(
            &q.range,
            &specs,
            q.bin_by,
            &q.group_by,
            |range, bin_by, specs| self.family_call::<F>(range, bin_by, specs, &q.group_by, &push),
        )
        .await
    }

    /// One metrics operation over one range (at most one month), all pages,
    /// metrics split over calls of at most `F::MAX_METRICS`.
    async fn family_call<F: LexFamily>(
        &self,
        range: TimeRange,
        bin_by_unified: Option<BinInterval>,
        specs: Vec<(F::Metric, Statistic)>,
        group_by_unified: &[F::Group],
        push: &mapping::Pushdown<F::LexFilter>,
    ) -> Result<Vec<Bin<F::Group, F::Metric>>> {
        let bin_by = bin_by_unified
            .map(|i| family::bin_by(F::BIN_BY, i))
            .transpose()?;
        let words: Vec<(F::Group, Option<String>)> = group_by_unified
            .iter()
            .map(|f| (*f, F::field_word(*f)))
            .collect();
        let mut cells: Cells<F::Group, F::Metric> = HashMap::new();
        for chunk in specs.chunks(F::MAX_METRICS) {
            let call = LexMetricsCall {
                metrics: chunk
                    .iter()
                    .map(|(m, s)| (F::metric_word(*m), *s))
                    .collect(),
                bin_by: bin_by.clone(),
                group_by: words.iter().filter_map(|(_, w)| w.clone()).collect(),
                filters: push.filters.clone(),
            };
            let mut token: Option<String> = None;
            loop {
                let (rows, received) = F::page(&self.client, &range, &call, token.clone()).await?;
                for r in rows {
                    let bin = self.bin_start(bin_by_unified.is_some(), &range, r.bin)?;
                    let groups = words
                        .iter()
                        .map(|(f, w)| {
                            let value = match w {
                                None => self.bot.id.clone(),
                                Some(w) => F::group_value(
                                    *f,
                                    r.groups
                                        .iter()
                                        .find(|(name, _)| name == w)
                                        .and_then(|(_, v)| v.as_deref()),
                                ),
                            };
                            GroupKey { field: *f, value }
                        })
                        .collect();
                    let cell = cells.entry((bin.timestamp_millis(), groups)).or_default();
                    for (name, statistic, value) in &r.values {
                        if let Some((m, s)) = chunk.iter().find(|(m, s)| {
                            F::metric_word(*m) == *name
                                && mapping::statistic_word(*s).as_str() == statistic
                        }) {
                            cell.push((*m, *s, *value));
                        }
                    }
                }
                match client::next(received.as_deref(), &token) {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        Ok(cells
            .into_iter()
            .map(|((ms, groups), found)| Bin {
                bot_id: Some(self.bot.id.clone()),
                bin_start: DateTime::from_timestamp_millis(ms).unwrap_or(range.start()),
                bin_interval: bin_by_unified,
                groups,
                values: values_in_order(&specs, &found),
            })
            .collect())
    }
}

impl LexSource {
    /// ListUtteranceMetrics when Lex can apply the whole filter; otherwise
    /// (`textContains`, `intentNames`) counted by botscope from the records
    /// of ListUtteranceAnalyticsData, where those filters can be applied.
    async fn utterance_metrics(
        &self,
        q: &MetricsQuery<UtteranceMetrics>,
    ) -> Result<Vec<Bin<UtteranceGroupField, UtteranceMetricName>>> {
        let push = mapping::utterance_pushdown(&q.filter)?;
        if push.complete || push.matches_none {
            return self.family_metrics(q).await;
        }
        if q.metrics.is_empty() {
            return Err(Error::bad_input("metrics", "name at least one metric"));
        }
        let mut tally = Tally::new(Some(self.bot.id.clone()), q)?;
        let everything = UtteranceQuery {
            range: q.range,
            filter: q.filter.clone(),
            after: None,
            limit: crate::domain::PageSize::parse(i64::MAX, usize::MAX)?,
        };
        for u in self.utterance_page(&everything).await?.utterances {
            tally.push(&*u);
        }
        Ok(tally.finish())
    }

    /// Utterances newest first, read from ListUtteranceAnalyticsData sorted
    /// by time, descending, piece by piece of the range plan, until the page
    /// is certain: `limit` utterances after the cursor and one more that is
    /// strictly newer than anything not yet read (so ties are complete).
    async fn utterance_page(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        let push = mapping::utterance_pushdown(&q.filter)?;
        if push.matches_none {
            return Ok(UtterancePage {
                utterances: Vec::new(),
                has_more: false,
                total_count: Some(0),
            });
        }
        let plan = LexRangePlan::new(&q.range, Utc::now()).map_err(|e| self.tag(e))?;
        let limit = q.limit.get();
        let after = |u: &UtteranceRecord| q.after.as_ref().is_none_or(|key| key.is_before(u));
        let mut kept: Vec<Arc<UtteranceRecord>> = Vec::new();
        let mut oldest_seen: Option<DateTime<Utc>> = None;
        // Utterances are instants: each piece is asked exactly the span it
        // owns, and nothing newer than the cursor (everything after it in the
        // order was said at or before its time), so a deep page does not
        // re-read the pages before it.
        let mut start_of_next = match &q.after {
            Some(key) => DateTime::from_timestamp_millis(key.at + 1)
                .map_or(q.range.end(), |t| t.min(q.range.end())),
            None => q.range.end(),
        };
        for piece in plan.pieces.iter().rev() {
            let Some(span) =
                TimeRange::new_unbounded(piece.asked.start(), start_of_next.min(piece.owned_end))
            else {
                continue;
            };
            start_of_next = piece.asked.start();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .utterances_page(&span, push.filters.clone(), token.clone())
                    .await?;
                for spec in page.utterances() {
                    let u = mapping::utterance(spec, &self.bot.id)?;
                    if oldest_seen.is_some_and(|t| u.timestamp > t) {
                        return Err(bad_response(
                            &self.bot.id,
                            "ListUtteranceAnalyticsData did not sort by utteranceTimestamp, \
                             descending, as asked",
                        ));
                    }
                    oldest_seen = Some(u.timestamp);
                    if span.contains_instant(u.timestamp) && q.filter.matches(&u) && after(&u) {
                        kept.push(Arc::new(u));
                    }
                }
                // Sorted only once the page could be complete: reading all of
                // a range (utterance metrics) sorts once, at the end.
                let certain = kept.len() > limit && {
                    kept.sort_unstable_by(|a, b| utterance_order(a, b));
                    oldest_seen.is_some_and(|t| kept[limit].timestamp > t)
                };
                if certain {
                    kept.truncate(limit);
                    return Ok(UtterancePage {
                        utterances: kept,
                        has_more: true,
                        total_count: None,
                    });
                }
                match client::next(page.next_token(), &token) {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        kept.sort_unstable_by(|a, b| utterance_order(a, b));
        let total = q.after.is_none().then_some(kept.len() as u64);
        let has_more = kept.len() > limit;
        kept.truncate(limit);
        Ok(UtterancePage {
            utterances: kept,
            has_more,
            total_count: total,
        })
    }
}
