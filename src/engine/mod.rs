//! The engine: resolves which bots a question concerns, fans it out to their
//! sources concurrently, and puts the answers together — k-way merge and signed
//! cursors for sessions, rollups for metrics, and partial results when a bot
//! fails (its error is reported; the other bots' data still comes back).

mod cursor;
mod merge;

pub use crate::domain::{RollupMetric, rollup};
pub use cursor::{CursorKey, fingerprint};
pub use merge::merge_sorted;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::domain::{
    Bin, BinInterval, GroupKey, IntentStageBin, IntentStageFilter, IntentStageGroupField,
    IntentStageMetricSpec, IntentStageMetricsQuery, MetricBin, PageSize, Session, SessionFilter,
    SessionGroupField, SessionMetricName, SessionMetricSpec, SessionMetricsQuery, SessionOrder,
    SessionQuery, Statistic, TimeRange,
};
use crate::error::{Error, ErrorKind, Result};
use crate::sources::{AnalyticsSource, BotInfo};

/// Bounds the engine enforces on every question.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_page_size: usize,
    pub max_range_days: u32,
    pub max_bots_per_query: usize,
    /// Bots queried at once per question.
    pub fanout: usize,
    /// How long one bot may take to answer a question; past it that bot gets
    /// `UPSTREAM_UNAVAILABLE` and the others' answers still come back. Set
    /// inside the request deadline, so that a slow or failing vendor (retries,
    /// a spent call budget) cannot take the whole answer down with it.
    pub bot_deadline: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_page_size: 1000,
            max_range_days: 92,
            max_bots_per_query: 100,
            fanout: 16,
            bot_deadline: None,
        }
    }
}

/// Which bots a caller may see (from the JWT `bots` claim; everything when auth is off).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BotScope {
    All,
    Only(BTreeSet<String>),
}

impl BotScope {
    pub fn allows(&self, bot_id: &str) -> bool {
        match self {
            BotScope::All => true,
            BotScope::Only(ids) => ids.contains(bot_id),
        }
    }
}

/// An answer with the per-bot errors that did not stop it.
#[derive(Debug)]
pub struct Partial<T> {
    pub data: T,
    pub errors: Vec<Error>,
}

/// A page of sessions across bots.
#[derive(Debug)]
pub struct SessionConnection {
    pub sessions: Vec<Arc<Session>>,
    pub has_next_page: bool,
    pub total_count: Option<u64>,
    /// Signs the cursor of any session of the page, on demand: a query that
    /// selects only `nodes` and `pageInfo.endCursor` signs one cursor, not one
    /// per session.
    pub cursors: Arc<PageCursors>,
}

/// What a cursor of one result sequence is made of.
pub struct PageCursors {
    key: CursorKey,
    fingerprint: String,
    order: SessionOrder,
}

impl PageCursors {
    /// The cursor pointing at `session` in this sequence.
    pub fn cursor(&self, session: &Session) -> String {
        self.key.encode(&self.fingerprint, &self.order.key(session))
    }
}

impl std::fmt::Debug for PageCursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCursors")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The arguments of `Query.sessions`, as the GraphQL layer received them.
#[derive(Debug, Clone)]
pub struct SessionsRequest {
    pub bot_ids: Option<Vec<String>>,
    pub range: TimeRange,
    pub filter: SessionFilter,
    pub order: SessionOrder,
    pub first: i64,
    pub after: Option<String>,
}

/// The arguments of `Query.sessionMetrics`.
#[derive(Debug, Clone)]
pub struct SessionMetricsRequest {
    pub bot_ids: Option<Vec<String>>,
    pub range: TimeRange,
    pub metrics: Vec<SessionMetricSpec>,
    pub bin_by: Option<BinInterval>,
    pub group_by: Vec<SessionGroupField>,
    pub filter: SessionFilter,
    pub rollup: bool,
}

/// The arguments of `Query.intentStageMetrics`.
#[derive(Debug, Clone)]
pub struct IntentStageMetricsRequest {
    pub bot_ids: Option<Vec<String>>,
    pub range: TimeRange,
    pub metrics: Vec<IntentStageMetricSpec>,
    pub bin_by: Option<BinInterval>,
    pub group_by: Vec<IntentStageGroupField>,
    pub filter: IntentStageFilter,
    pub rollup: bool,
}

/// The arguments of `Query.intentPaths`.
#[derive(Debug, Clone)]
pub struct IntentPathsRequest {
    pub bot_ids: Option<Vec<String>>,
    pub range: TimeRange,
    pub path: String,
    pub filter: crate::domain::IntentPathFilter,
}

/// One bot and the pending answer of its source.
type BotCall<T> = (Arc<dyn AnalyticsSource>, BoxFuture<'static, Result<T>>);
type BotBins<F, M> = Vec<Bin<F, M>>;

pub struct Engine {
    bots: Vec<Arc<dyn AnalyticsSource>>,
    index: HashMap<String, usize>,
    /// Shared descriptions, so GraphQL `bot` fields cost a reference count.
    infos: Vec<Arc<BotInfo>>,
    limits: Limits,
    cursors: CursorKey,
}

/// Everything that defines a session sequence; cursors are bound to it.
#[derive(Serialize)]
struct SequenceId<'a> {
    bots: &'a [&'a str],
    range: &'a TimeRange,
    filter: &'a SessionFilter,
    order: &'a SessionOrder,
}

impl Engine {
    pub fn new(bots: Vec<Arc<dyn AnalyticsSource>>, limits: Limits, cursors: CursorKey) -> Self {
        let index = bots
            .iter()
            .enumerate()
            .map(|(i, b)| (b.bot().id.clone(), i))
            .collect();
        let infos = bots.iter().map(|b| Arc::new(b.bot().clone())).collect();
        Engine {
            bots,
            index,
            infos,
            limits,
            cursors,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The bots the caller may see, in configuration order.
    pub fn visible_bots(&self, scope: &BotScope) -> Vec<&BotInfo> {
        self.bots
            .iter()
            .map(|b| b.bot())
            .filter(|b| scope.allows(&b.id))
            .collect()
    }

    /// A configured bot's description, whatever the caller's scope.
    pub fn bot_info(&self, id: &str) -> Option<&Arc<BotInfo>> {
        self.index.get(id).map(|&i| &self.infos[i])
    }

    /// One bot by id: `None` when unknown, `FORBIDDEN` when the caller may not see it.
    pub fn bot(&self, scope: &BotScope, id: &str) -> Result<Option<&BotInfo>> {
        match self.index.get(id) {
            None => Ok(None),
            Some(_) if !scope.allows(id) => Err(forbidden(id)),
            Some(&i) => Ok(Some(self.bots[i].bot())),
        }
    }

    /// Resolves `botIds` (omitted = every visible bot) to sources, in
    /// configuration order, checking existence, permission and the per-query cap.
    fn resolve(
        &self,
        scope: &BotScope,
        bot_ids: Option<&[String]>,
    ) -> Result<Vec<Arc<dyn AnalyticsSource>>> {
        let chosen: Vec<usize> = match bot_ids {
            None => (0..self.bots.len())
                .filter(|&i| scope.allows(&self.bots[i].bot().id))
                .collect(),
            Some([]) => {
                return Err(Error::bad_input(
                    "botIds",
                    "must not be empty; omit it to ask every bot you may see",
                ));
            }
            Some(ids) => {
                let mut chosen = BTreeSet::new();
                for id in ids {
                    let Some(&i) = self.index.get(id) else {
                        return Err(Error::bad_input(
                            "botIds",
                            format!("unknown bot id {id:?}; `bots` lists the ones you may use"),
                        ));
                    };
                    if !scope.allows(id) {
                        return Err(forbidden(id));
                    }
                    chosen.insert(i);
                }
                chosen.into_iter().collect()
            }
        };
        if chosen.len() > self.limits.max_bots_per_query {
            return Err(Error::bad_input(
                "botIds",
                format!(
                    "{} bots asked at once; at most {} are allowed (limits.max_bots_per_query)",
                    chosen.len(),
                    self.limits.max_bots_per_query
                ),
            ));
        }
        Ok(chosen.into_iter().map(|i| self.bots[i].clone()).collect())
    }

    /// Asks every bot concurrently (bounded); returns the answers in bot order
    /// and the errors of the bots that failed, each naming its bot.
    async fn fan_out<T: Send + 'static>(
        &self,
        calls: Vec<BotCall<T>>,
    ) -> (Vec<(Arc<dyn AnalyticsSource>, T)>, Vec<Error>) {
        type Call<T> = BoxFuture<'static, (Arc<dyn AnalyticsSource>, Result<T>)>;
        let deadline = self.limits.bot_deadline;
        let calls: Vec<Call<T>> = calls
            .into_iter()
            .map(|(bot, fut)| {
                Box::pin(async move {
                    let Some(limit) = deadline else {
                        return (bot, fut.await);
                    };
                    match tokio::time::timeout(limit, fut).await {
                        Ok(r) => (bot, r),
                        Err(_) => {
                            let e = Error::new(
                                ErrorKind::UpstreamUnavailable,
                                format!(
                                    "the bot did not answer within {} (its share of \
                                     limits.request_timeout)",
                                    humantime::format_duration(limit)
                                ),
                            )
                            .with_retryable(true);
                            (bot, Err(e))
                        }
                    }
                }) as Call<T>
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(calls)
            .buffered(self.limits.fanout.max(1))
            .collect()
            .await;
        let mut ok = Vec::with_capacity(results.len());
        let mut errors = Vec::new();
        for (bot, result) in results {
            match result {
                Ok(v) => ok.push((bot, v)),
                Err(e) => {
                    let info = bot.bot();
                    errors.push(if e.bot.is_some() {
                        e
                    } else {
                        e.with_bot(info.id.clone(), info.vendor)
                    });
                }
            }
        }
        (ok, errors)
    }

    pub async fn sessions(
        &self,
        scope: &BotScope,
        req: SessionsRequest,
    ) -> Result<Partial<SessionConnection>> {
        let limit = PageSize::parse(req.first, self.limits.max_page_size)?;
        check_range(&req.range, self.limits.max_range_days)?;
        let bots = self.resolve(scope, req.bot_ids.as_deref())?;
        let filter = req.filter.canonical();
        let bot_ids: Vec<&str> = bots.iter().map(|b| b.bot().id.as_str()).collect();
        let fp = fingerprint(&SequenceId {
            bots: &bot_ids,
            range: &req.range,
            filter: &filter,
            order: &req.order,
        });
        let after = req
            .after
            .as_deref()
            .map(|c| self.cursors.decode(&fp, c))
            .transpose()?;
        let query = SessionQuery {
            range: req.range,
            filter,
            order: req.order,
            after,
            limit,
        };
        let calls = bots
            .iter()
            .map(|b| {
                let (b2, q) = (b.clone(), query.clone());
                let call: BoxFuture<'static, _> = Box::pin(async move { b2.sessions(&q).await });
                (b.clone(), call)
            })
            .collect();
        let (pages, errors) = self.fan_out(calls).await;
        let any_more = pages.iter().any(|(_, p)| p.has_more);
        let total_count = if errors.is_empty() {
            pages
                .iter()
                .map(|(_, p)| p.total_count)
                .sum::<Option<u64>>()
        } else {
            None
        };
        let runs = pages.into_iter().map(|(_, p)| p.sessions).collect();
        let (sessions, left_over) = merge_sorted(runs, &query.order, limit.get());
        Ok(Partial {
            data: SessionConnection {
                sessions,
                has_next_page: left_over || any_more,
                total_count,
                cursors: Arc::new(PageCursors {
                    key: self.cursors.clone(),
                    fingerprint: fp,
                    order: query.order,
                }),
            },
            errors,
        })
    }

    pub async fn session_metrics(
        &self,
        scope: &BotScope,
        req: SessionMetricsRequest,
    ) -> Result<Partial<Vec<MetricBin>>> {
        check_range(&req.range, self.limits.max_range_days)?;
        let specs = check_metrics(req.metrics.iter().map(|m| (m.name, m.statistic)))?;
        let group_by = check_group_by(&req.group_by, SessionGroupField::Bot, req.rollup)?;
        let bots = self.resolve(scope, req.bot_ids.as_deref())?;
        if req.rollup
            && bots.len() > 1
            && specs
                .iter()
                .any(|(m, _)| *m == SessionMetricName::Concurrency)
        {
            return Err(Error::bad_input(
                "metrics",
                "CONCURRENCY cannot be rolled up across bots exactly (their peaks need not \
                 coincide); ask with rollup: false, or for one bot",
            ));
        }
        let mut metrics = req.metrics.clone();
        if req.rollup && needs_count(&specs) {
            metrics.push(SessionMetricSpec {
                name: SessionMetricName::Count,
                statistic: Statistic::Sum,
            });
        }
        let query = SessionMetricsQuery {
            range: req.range,
            metrics: dedup(metrics),
            bin_by: req.bin_by,
            group_by: group_by.clone(),
            filter: req.filter.canonical(),
        };
        let calls = bots
            .iter()
            .map(|b| {
                let (src, q) = (b.clone(), query.clone());
                let call: BoxFuture<'static, _> = Box::pin(async move {
                    let caps = src.capabilities();
                    if let Some(m) = q
                        .metrics
                        .iter()
                        .find(|m| !caps.session_metrics.contains(&m.name))
                    {
                        return Err(Error::unsupported(format!(
                            "{:?} is not available for this bot's vendor",
                            m.name
                        )));
                    }
                    src.session_metrics(&q).await
                });
                (b.clone(), call)
            })
            .collect();
        let (answers, mut errors) = self.fan_out(calls).await;
        let bins = finish_bins(
            answers,
            &req.group_by,
            SessionGroupField::Bot,
            &specs,
            req.rollup,
        );
        errors.sort_by(|a, b| a.bot.cmp(&b.bot));
        Ok(Partial { data: bins, errors })
    }

    pub async fn intent_stage_metrics(
        &self,
        scope: &BotScope,
        req: IntentStageMetricsRequest,
    ) -> Result<Partial<Vec<IntentStageBin>>> {
        check_range(&req.range, self.limits.max_range_days)?;
        let specs = check_metrics(req.metrics.iter().map(|m| (m.name, m.statistic)))?;
        let group_by = check_group_by(&req.group_by, IntentStageGroupField::Bot, req.rollup)?;
        let bots = self.resolve(scope, req.bot_ids.as_deref())?;
        let mut metrics = req.metrics.clone();
        if req.rollup && needs_count(&specs) {
            metrics.push(IntentStageMetricSpec {
                name: crate::domain::IntentStageMetricName::Count,
                statistic: Statistic::Sum,
            });
        }
        let query = IntentStageMetricsQuery {
            range: req.range,
            metrics: dedup(metrics),
            bin_by: req.bin_by,
            group_by,
            filter: req.filter.canonical(),
        };
        let calls = bots
            .iter()
            .map(|b| {
                let (src, q) = (b.clone(), query.clone());
                let call: BoxFuture<'static, _> = Box::pin(async move {
                    let caps = src.capabilities();
                    if let Some(m) = q
                        .metrics
                        .iter()
                        .find(|m| !caps.intent_stage_metrics.contains(&m.name))
                    {
                        return Err(Error::unsupported(format!(
                            "intent-stage metric {:?} is not available for this bot's vendor",
                            m.name
                        )));
                    }
                    src.intent_stage_metrics(&q).await
                });
                (b.clone(), call)
            })
            .collect();
        let (answers, errors) = self.fan_out(calls).await;
        let bins = finish_bins(
            answers,
            &req.group_by,
            IntentStageGroupField::Bot,
            &specs,
            req.rollup,
        );
        Ok(Partial { data: bins, errors })
    }
}

impl Engine {
    /// The intents that follow `path`, one level, from every bot asked; with
    /// several bots the nodes are merged by path (counts add, `bot` is null).
    pub async fn intent_paths(
        &self,
        scope: &BotScope,
        req: IntentPathsRequest,
    ) -> Result<Partial<Vec<crate::domain::IntentPathNode>>> {
        check_range(&req.range, self.limits.max_range_days)?;
        let path = crate::domain::IntentPath::parse(&req.path)?;
        let bots = self.resolve(scope, req.bot_ids.as_deref())?;
        let query = crate::domain::IntentPathQuery {
            range: req.range,
            path,
            filter: req.filter.canonical(),
        };
        let calls = bots
            .iter()
            .map(|b| {
                let (src, q) = (b.clone(), query.clone());
                let call: BoxFuture<'static, _> = Box::pin(async move {
                    if !src.capabilities().intent_paths {
                        return Err(Error::unsupported(
                            "intent paths are not available for this bot's vendor",
                        ));
                    }
                    src.intent_paths(&q).await
                });
                (b.clone(), call)
            })
            .collect();
        let (answers, errors) = self.fan_out(calls).await;
        let data = if bots.len() == 1 {
            answers.into_iter().flat_map(|(_, nodes)| nodes).collect()
        } else {
            crate::domain::merge_nodes(answers.into_iter().flat_map(|(_, nodes)| nodes))
        };
        Ok(Partial { data, errors })
    }
}

fn forbidden(id: &str) -> Error {
    Error::new(ErrorKind::Forbidden, format!("you may not see bot {id:?}")).with_retryable(false)
}

fn check_range(range: &TimeRange, max_days: u32) -> Result<()> {
    TimeRange::parse(range.start(), range.end(), max_days).map(|_| ())
}

fn check_metrics<M: Copy + PartialEq>(
    metrics: impl Iterator<Item = (M, Statistic)>,
) -> Result<Vec<(M, Statistic)>> {
    let specs = dedup(metrics.collect());
    if specs.is_empty() {
        return Err(Error::bad_input("metrics", "ask for at least one metric"));
    }
    Ok(specs)
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn needs_count<M>(specs: &[(M, Statistic)]) -> bool {
    specs.iter().any(|(_, s)| *s == Statistic::Avg)
}

/// Checks `groupBy` and returns what the sources see: grouping by bot is the
/// engine's job, so `BOT` is removed.
fn check_group_by<F: Copy + PartialEq + std::fmt::Debug>(
    group_by: &[F],
    bot: F,
    rollup: bool,
) -> Result<Vec<F>> {
    if group_by.len() > 2 {
        return Err(Error::bad_input(
            "groupBy",
            format!(
                "at most 2 group-by fields are allowed, got {}",
                group_by.len()
            ),
        ));
    }
    if group_by.len() == 2 && group_by[0] == group_by[1] {
        return Err(Error::bad_input("groupBy", "a field is listed twice"));
    }
    if rollup && group_by.contains(&bot) {
        return Err(Error::bad_input(
            "groupBy",
            "BOT grouping contradicts rollup: true; drop one of them",
        ));
    }
    Ok(group_by.iter().copied().filter(|f| *f != bot).collect())
}

/// Puts per-bot bins together: adds the `BOT` group key where asked, keeps only
/// the requested metrics, rolls up when asked, and sorts by bin start, bot and groups.
fn finish_bins<F, M>(
    answers: Vec<(Arc<dyn AnalyticsSource>, BotBins<F, M>)>,
    group_by: &[F],
    bot_field: F,
    specs: &[(M, Statistic)],
    rollup_bots: bool,
) -> Vec<Bin<F, M>>
where
    F: Copy + Ord,
    M: RollupMetric,
{
    let all: Vec<Bin<F, M>> = answers.into_iter().flat_map(|(_, bins)| bins).collect();
    if rollup_bots {
        return rollup(all, specs);
    }
    let mut out: Vec<Bin<F, M>> = all
        .into_iter()
        .map(|mut bin| {
            let by_bot = bin.bot_id.clone().unwrap_or_default();
            let mut groups = Vec::with_capacity(group_by.len());
            for field in group_by {
                if *field == bot_field {
                    groups.push(GroupKey {
                        field: *field,
                        value: by_bot.clone(),
                    });
                } else if let Some(g) = bin.groups.iter().find(|g| g.field == *field) {
                    groups.push(g.clone());
                }
            }
            bin.groups = groups;
            bin.values
                .retain(|v| specs.contains(&(v.metric, v.statistic)));
            bin.values.sort_by_key(|v| {
                specs
                    .iter()
                    .position(|s| *s == (v.metric, v.statistic))
                    .unwrap_or(usize::MAX)
            });
            bin
        })
        .collect();
    out.sort_by(|a, b| {
        a.bin_start
            .cmp(&b.bin_start)
            .then_with(|| a.bot_id.cmp(&b.bot_id))
            .then_with(|| a.groups.cmp(&b.groups))
    });
    out
}
