//! The engine: resolves which bots a question concerns, fans it out to their
//! sources concurrently, and puts the answers together — k-way merge and signed
//! cursors for sessions, rollups for metrics, and partial results when a bot
//! fails (its error is reported; the other bots' data still comes back).

mod binset;
mod cursor;
mod merge;

pub use crate::domain::{RollupMetric, rollup};
pub use binset::{BinSet, BinView};
pub use cursor::{CursorKey, fingerprint};
pub use merge::{merge_sorted, merge_sorted_by};

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::domain::{
    Bin, BinInterval, Family, GroupKey, IntentMetrics, IntentStageMetrics, MetricSpec,
    MetricsQuery, PackedBins, PageSize, Session, SessionFilter, SessionMetrics, SessionOrder,
    SessionQuery, Statistic, TimeRange, UtteranceFilter, UtteranceKey, UtteranceMetrics,
    UtteranceQuery, UtteranceRecord, text_key, utterance_order,
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
#[derive(Debug)]
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

/// The arguments of a metrics query of family `F` (`Query.sessionMetrics`,
/// `intentStageMetrics`, `intentMetrics`, `utteranceMetrics`).
#[derive(Debug, Clone)]
pub struct MetricsRequest<F: Family> {
    pub bot_ids: Option<Vec<String>>,
    pub range: TimeRange,
    pub metrics: Vec<MetricSpec<F::Metric>>,
    pub bin_by: Option<BinInterval>,
    pub group_by: Vec<F::Group>,
    pub filter: F::Filter,
    pub rollup: bool,
    /// Rank the bins by the first metric, largest first, and keep this many
    /// (`utteranceMetrics(first:)`); `None` keeps every bin in time order.
    pub first: Option<i64>,
}

pub type SessionMetricsRequest = MetricsRequest<SessionMetrics>;
pub type IntentStageMetricsRequest = MetricsRequest<IntentStageMetrics>;
pub type IntentMetricsRequest = MetricsRequest<IntentMetrics>;
pub type UtteranceMetricsRequest = MetricsRequest<UtteranceMetrics>;

/// The arguments of `Query.utterances` (and `Session.utterances`).
#[derive(Debug, Clone)]
pub struct UtterancesRequest {
    pub bot_ids: Option<Vec<String>>,
    pub range: TimeRange,
    pub filter: UtteranceFilter,
    pub first: i64,
    pub after: Option<String>,
}

/// A page of utterances across bots, newest first.
#[derive(Debug)]
pub struct UtteranceConnection {
    pub utterances: Vec<Arc<UtteranceRecord>>,
    pub has_next_page: bool,
    pub total_count: Option<u64>,
    pub cursors: Arc<UtteranceCursors>,
}

/// Signs the cursor of any utterance of one result sequence, on demand.
#[derive(Debug)]
pub struct UtteranceCursors {
    key: CursorKey,
    fingerprint: String,
}

impl UtteranceCursors {
    pub fn cursor(&self, u: &UtteranceRecord) -> String {
        self.key.encode(&self.fingerprint, &UtteranceKey::of(u))
    }
}

/// Everything that defines an utterance sequence; cursors are bound to it.
#[derive(Serialize)]
struct UtteranceSequenceId<'a> {
    kind: &'static str,
    bots: &'a [&'a str],
    range: &'a TimeRange,
    filter: &'a UtteranceFilter,
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

pub struct Engine {
    bots: Vec<Arc<dyn AnalyticsSource>>,
    /// Looked up once per bin of an answer: FxHash, not SipHash (the ids are ours).
    index: rustc_hash::FxHashMap<String, usize>,
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
                    let due = tokio::time::Instant::now() + limit;
                    let fut = crate::sources::deadline::scope(due, fut);
                    match tokio::time::timeout_at(due, fut).await {
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

    /// Metrics of one family across bots: per bot, or rolled up; texts
    /// merged where the family groups by text; ranked when `first` is set.
    pub async fn metrics<F: Family>(
        &self,
        scope: &BotScope,
        req: MetricsRequest<F>,
    ) -> Result<Partial<BinSet<F::Group, F::Metric>>> {
        check_range(&req.range, self.limits.max_range_days)?;
        let specs = check_metrics(req.metrics.iter().map(|m| (m.name, m.statistic)))?;
        let group_by = check_group_by(&req.group_by, F::BOT, F::MAX_GROUP_BY, req.rollup)?;
        F::check_group_by(&req.group_by)?;
        let first = req
            .first
            .map(|n| PageSize::parse(n, self.limits.max_page_size))
            .transpose()?;
        let bots = self.resolve(scope, req.bot_ids.as_deref())?;
        let rolls_up_bots = req.rollup && bots.len() > 1;
        if let Some((m, _)) = specs.iter().find(|(m, _)| rolls_up_bots && !m.combines()) {
            return Err(Error::bad_input(
                "metrics",
                format!(
                    "{} cannot be rolled up across bots exactly (their peaks need not \
                         coincide); ask with rollup: false, or for one bot",
                    schema_name(&format!("{m:?}"))
                ),
            ));
        }
        let merges_text = group_by.iter().any(|g| F::TEXT_GROUPS.contains(g));
        let mut metrics = req.metrics.clone();
        if (req.rollup || merges_text) && needs_count(&specs) {
            metrics.push(MetricSpec {
                name: <F::Metric as RollupMetric>::COUNT,
                statistic: Statistic::Sum,
            });
        }
        let metrics = dedup(metrics);
        let asked: Vec<_> = metrics.iter().map(|m| (m.name, m.statistic)).collect();
        let query = F::query(MetricsQuery::<F> {
            range: req.range,
            metrics,
            bin_by: req.bin_by,
            group_by,
            filter: F::canonical(req.filter),
        });
        let calls = bots
            .iter()
            .map(|b| {
                let (src, q) = (b.clone(), query.clone());
                let call: BoxFuture<'static, _> = Box::pin(async move {
                    if let Some(m) = src.capabilities().unsupported_metric(&q) {
                        return Err(Error::unsupported(format!(
                            "{} metric {} is not available for this bot's vendor",
                            F::NAME,
                            schema_name(&m)
                        )));
                    }
                    let answer = src.metrics(&q).await?;
                    F::bins(answer).ok_or_else(|| {
                        Error::internal("a source answered with bins of another family")
                    })
                });
                (b.clone(), call)
            })
            .collect();
        let (answers, mut errors) = self.fan_out(calls).await;
        let answers: Vec<_> = answers.into_iter().map(|(_, bins)| bins).collect();
        let bins = if req.rollup || merges_text || first.is_some() {
            // These re-make bins (sums across bots, merged texts, a cut):
            // they work on copies.
            let mut all: Vec<Bin<F::Group, F::Metric>> =
                answers.iter().flat_map(|a| a.to_bins()).collect();
            if merges_text {
                all = merge_texts::<F>(all, &asked);
            }
            let mut bins = finish_bins(all, &req.group_by, F::BOT, &specs, req.rollup);
            match first {
                Some(first) => {
                    rank(&mut bins, specs[0]);
                    bins.truncate(first.get());
                    BinSet::finished(bins, &req.group_by, F::BOT, &specs)
                }
                None if req.rollup => BinSet::finished(bins, &req.group_by, F::BOT, &specs),
                None => BinSet::sorted(
                    vec![Arc::new(PackedBins::ordered(bins))],
                    &req.group_by,
                    F::BOT,
                    &specs,
                ),
            }
        } else {
            BinSet::sorted(answers, &req.group_by, F::BOT, &specs)
        };
        errors.sort_by(|a, b| a.bot.cmp(&b.bot));
        Ok(Partial { data: bins, errors })
    }
}

impl Engine {
    /// Utterances across bots, newest first, merged like sessions and paged
    /// with cursors bound to the query.
    pub async fn utterances(
        &self,
        scope: &BotScope,
        req: UtterancesRequest,
    ) -> Result<Partial<UtteranceConnection>> {
        let limit = PageSize::parse(req.first, self.limits.max_page_size)?;
        check_range(&req.range, self.limits.max_range_days)?;
        let bots = self.resolve(scope, req.bot_ids.as_deref())?;
        let filter = req.filter.canonical();
        let bot_ids: Vec<&str> = bots.iter().map(|b| b.bot().id.as_str()).collect();
        let fp = fingerprint(&UtteranceSequenceId {
            kind: "utterances",
            bots: &bot_ids,
            range: &req.range,
            filter: &filter,
        });
        let after = req
            .after
            .as_deref()
            .map(|c| self.cursors.decode::<UtteranceKey>(&fp, c))
            .transpose()?;
        let query = UtteranceQuery {
            range: req.range,
            filter,
            after,
            limit,
        };
        let calls = bots
            .iter()
            .map(|b| {
                let (src, q) = (b.clone(), query.clone());
                let call: BoxFuture<'static, _> = Box::pin(async move {
                    if !src.capabilities().utterances {
                        return Err(Error::unsupported(
                            "utterance records are not available for this bot's vendor",
                        ));
                    }
                    src.utterances(&q).await
                });
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
        let runs = pages.into_iter().map(|(_, p)| p.utterances).collect();
        let (utterances, left_over) =
            merge_sorted_by(runs, limit.get(), |a, b| utterance_order(a, b));
        Ok(Partial {
            data: UtteranceConnection {
                utterances,
                has_next_page: left_over || any_more,
                total_count,
                cursors: Arc::new(UtteranceCursors {
                    key: self.cursors.clone(),
                    fingerprint: fp,
                }),
            },
            errors,
        })
    }

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
    max: usize,
    rollup: bool,
) -> Result<Vec<F>> {
    crate::domain::check_group_count(group_by.len(), max)?;
    if group_by
        .iter()
        .enumerate()
        .any(|(i, f)| group_by[..i].contains(f))
    {
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
/// the requested metrics, and rolls up when asked (a rollup comes out sorted
/// by start and groups; other bins are put in order by [`BinSet::sorted`] or
/// ranked).
fn finish_bins<F, M>(
    all: Vec<Bin<F, M>>,
    group_by: &[F],
    bot_field: F,
    specs: &[(M, Statistic)],
    rollup_bots: bool,
) -> Vec<Bin<F, M>>
where
    F: Copy + Ord,
    M: RollupMetric,
{
    if rollup_bots {
        return rollup(all, specs);
    }
    all.into_iter()
        .map(|mut bin| {
            // Group keys are moved into the asked order, not copied: this
            // runs once per bin of every answer.
            let mut from_source = std::mem::take(&mut bin.groups);
            let mut groups = Vec::with_capacity(group_by.len());
            for field in group_by {
                if *field == bot_field {
                    groups.push(GroupKey {
                        field: *field,
                        value: bin.bot_id.clone().unwrap_or_default(),
                    });
                } else if let Some(i) = from_source.iter().position(|g| g.field == *field) {
                    groups.push(from_source.swap_remove(i));
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
        .collect()
}

type BinsByBot<G, M> = std::collections::BTreeMap<Option<String>, Vec<Bin<G, M>>>;

/// Merges bins whose text groups differ only in case and whitespace, per bot:
/// the most frequent spelling (by `COUNT SUM` where asked, else by bins) is
/// the one shown, for every bot, so one text reads the same everywhere.
fn merge_texts<F: Family>(
    bins: Vec<Bin<F::Group, F::Metric>>,
    asked: &[(F::Metric, Statistic)],
) -> Vec<Bin<F::Group, F::Metric>> {
    let count = <F::Metric as RollupMetric>::COUNT;
    let mut spellings: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for bin in &bins {
        let weight = bin.value(count, Statistic::Sum).unwrap_or(1.0);
        for g in bin
            .groups
            .iter()
            .filter(|g| F::TEXT_GROUPS.contains(&g.field))
        {
            *spellings
                .entry(text_key(&g.value))
                .or_default()
                .entry(g.value.clone())
                .or_default() += weight;
        }
    }
    let chosen: HashMap<String, String> = spellings
        .into_iter()
        .map(|(key, seen)| {
            let best = seen
                .into_iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(s, _)| s)
                .unwrap_or_default();
            (key, best)
        })
        .collect();
    let mut by_bot: BinsByBot<F::Group, F::Metric> = Default::default();
    for mut bin in bins {
        for g in bin
            .groups
            .iter_mut()
            .filter(|g| F::TEXT_GROUPS.contains(&g.field))
        {
            if let Some(best) = chosen.get(&text_key(&g.value)) {
                g.value.clone_from(best);
            }
        }
        by_bot.entry(bin.bot_id.clone()).or_default().push(bin);
    }
    by_bot
        .into_iter()
        .flat_map(|(bot, bins)| {
            rollup(bins, asked).into_iter().map(move |mut b| {
                b.bot_id.clone_from(&bot);
                b
            })
        })
        .collect()
}

/// Largest first by `by` (bins without a value last); ties in time, bot and
/// group order, so the ranking is stable.
fn rank<F: Copy + Ord, M: Copy + PartialEq>(bins: &mut [Bin<F, M>], by: (M, Statistic)) {
    bins.sort_by(|a, b| {
        let (va, vb) = (a.value(by.0, by.1), b.value(by.0, by.1));
        match (va, vb) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.bin_start.cmp(&b.bin_start))
        .then_with(|| a.bot_id.cmp(&b.bot_id))
        .then_with(|| a.groups.cmp(&b.groups))
    });
}

/// An enum value as the schema spells it: `TurnsPerConversation` →
/// `TURNS_PER_CONVERSATION`.
fn schema_name(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}
