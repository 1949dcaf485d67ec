use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use super::bins::Bins;
use super::errors::{GqlResult, to_graphql};
use super::inputs::{
    IntentFilterInput, IntentMetricInput, IntentPathFilterInput, IntentStageFilterInput,
    IntentStageMetricInput, SessionFilterInput, SessionMetricInput, SessionOrderInput,
    TimeRangeInput, UtteranceFilterInput, UtteranceMetricInput,
};
use super::types::{
    Bot, GqlFamily, IntentPathNode, IntentStage, SessionConnection, UtteranceConnection,
};
use crate::domain::{
    BinInterval, Family, IntentGroupField, IntentMetrics, IntentStageGroupField,
    IntentStageMetricSpec, MetricSpec, SessionGroupField, SessionMetrics, SessionOrder, Statistic,
    TimeRange, UtteranceGroupField, UtteranceMetrics, Vendor,
};
use crate::engine::{
    BotScope, Engine, IntentPathsRequest, IntentStageMetricsRequest, MetricsRequest, Partial,
    SessionsRequest, UtterancesRequest,
};
use crate::layers::CacheLifetime;

pub struct Query;

fn engine<'a>(ctx: &Context<'a>) -> &'a Arc<Engine> {
    ctx.data_unchecked::<Arc<Engine>>()
}

/// The caller's scope; a request without one (e.g. `schema.execute` in tests
/// without auth) sees every bot.
fn scope<'a>(ctx: &Context<'a>) -> &'a BotScope {
    ctx.data_opt::<BotScope>().unwrap_or(&BotScope::All)
}

fn ids(bot_ids: Option<Vec<ID>>) -> Option<Vec<String>> {
    bot_ids.map(|v| v.into_iter().map(|id| id.0).collect())
}

/// Validates the range and notes it in the answer's [`CacheLifetime`] (absent
/// when caching is off).
fn parsed_range(ctx: &Context<'_>, range: &TimeRangeInput) -> async_graphql::Result<TimeRange> {
    let range = range.parse(engine(ctx).limits().max_range_days).gql()?;
    if let Some(lifetime) = ctx.data_opt::<CacheLifetime>() {
        lifetime.observe(&range);
    }
    Ok(range)
}

/// Reports per-bot errors next to the data.
fn report<T>(ctx: &Context<'_>, partial: Partial<T>) -> T {
    for e in &partial.errors {
        ctx.add_error(to_graphql(e).into_server_error(ctx.item.pos));
    }
    partial.data
}

/// The arguments every metric family takes, as GraphQL received them.
struct FamilyArgs<F: Family> {
    bot_ids: Option<Vec<ID>>,
    range: TimeRangeInput,
    metrics: Vec<MetricSpec<F::Metric>>,
    bin_by: Option<BinInterval>,
    group_by: Option<Vec<F::Group>>,
    filter: F::Filter,
    rollup: Option<bool>,
    first: Option<i32>,
}

/// One resolver body for every metric family.
async fn family_metrics<F: GqlFamily>(
    ctx: &Context<'_>,
    args: FamilyArgs<F>,
) -> async_graphql::Result<Bins<F>> {
    let req = MetricsRequest::<F> {
        bot_ids: ids(args.bot_ids),
        range: parsed_range(ctx, &args.range)?,
        metrics: args.metrics,
        bin_by: args.bin_by,
        group_by: args.group_by.unwrap_or_default(),
        filter: args.filter,
        rollup: args.rollup.unwrap_or(false),
        first: args.first.map(i64::from),
    };
    let partial = engine(ctx).metrics(scope(ctx), req).await.gql()?;
    Ok(Bins(report(ctx, partial)))
}

fn specs<M, I>(inputs: Vec<I>, split: impl Fn(I) -> (M, Statistic)) -> Vec<MetricSpec<M>> {
    inputs
        .into_iter()
        .map(|i| {
            let (name, statistic) = split(i);
            MetricSpec { name, statistic }
        })
        .collect()
}

#[Object]
impl Query {
    /// The bots the caller may see.
    async fn bots(&self, ctx: &Context<'_>, vendor: Option<Vendor>) -> Vec<Bot> {
        engine(ctx)
            .visible_bots(scope(ctx))
            .into_iter()
            .filter(|b| vendor.is_none_or(|v| b.vendor == v))
            .map(|b| Bot(Arc::new(b.clone())))
            .collect()
    }

    /// One bot by id; `null` when there is no such bot.
    async fn bot(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Bot>> {
        Ok(engine(ctx)
            .bot(scope(ctx), &id)
            .gql()?
            .map(|b| Bot(Arc::new(b.clone()))))
    }

    /// Sessions across bots, merged in the requested order (default
    /// `START_TIME DESC`, ties by id), paged with opaque cursors bound to the query.
    // Complexity: the selection's cost per 100 sessions asked for, so that one
    // full page (`first: 1000`) fits the default budget but many aliased pages do not.
    #[graphql(
        complexity = "(first.unwrap_or(50).max(1) as usize).div_ceil(100) * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Omit for every bot you may see.")] bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        filter: Option<SessionFilterInput>,
        order_by: Option<SessionOrderInput>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<SessionConnection> {
        let engine = engine(ctx);
        let req = SessionsRequest {
            bot_ids: ids(bot_ids),
            range: parsed_range(ctx, &range)?,
            filter: filter.unwrap_or_default().parse().gql()?,
            order: order_by
                .map(|o| SessionOrder {
                    field: o.field,
                    direction: o.direction,
                })
                .unwrap_or_default(),
            first: i64::from(first.unwrap_or(50)),
            after,
        };
        let partial = engine.sessions(scope(ctx), req).await.gql()?;
        Ok(SessionConnection::from(report(ctx, partial)))
    }

    /// Session metrics per bot (or rolled up across bots), per time bin and group.
    #[allow(clippy::too_many_arguments)]
    async fn session_metrics(
        &self,
        ctx: &Context<'_>,
        bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        metrics: Vec<SessionMetricInput>,
        bin_by: Option<BinInterval>,
        group_by: Option<Vec<SessionGroupField>>,
        filter: Option<SessionFilterInput>,
        #[graphql(default_with = "Some(false)")] rollup: Option<bool>,
    ) -> async_graphql::Result<Bins<SessionMetrics>> {
        let args = FamilyArgs::<SessionMetrics> {
            bot_ids,
            range,
            metrics: specs(metrics, |m| (m.name, m.statistic)),
            bin_by,
            group_by,
            filter: filter.unwrap_or_default().parse().gql()?,
            rollup,
            first: None,
        };
        family_metrics(ctx, args).await
    }

    /// Intent metrics (Lex's intents, Kore's tasks) per bot (or rolled up),
    /// per time bin and group.
    #[allow(clippy::too_many_arguments)]
    async fn intent_metrics(
        &self,
        ctx: &Context<'_>,
        bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        metrics: Vec<IntentMetricInput>,
        bin_by: Option<BinInterval>,
        group_by: Option<Vec<IntentGroupField>>,
        filter: Option<IntentFilterInput>,
        #[graphql(default_with = "Some(false)")] rollup: Option<bool>,
    ) -> async_graphql::Result<Bins<IntentMetrics>> {
        let args = FamilyArgs::<IntentMetrics> {
            bot_ids,
            range,
            metrics: specs(metrics, |m| (m.name, m.statistic)),
            bin_by,
            group_by,
            filter: filter.unwrap_or_default().parse().gql()?,
            rollup,
            first: None,
        };
        family_metrics(ctx, args).await
    }

    /// Utterance metrics per bot (or rolled up), per time bin and group,
    /// ranked by the first metric (largest first) and cut at `first` rows:
    /// the top missed utterances across every bot are one query. Texts that
    /// differ only in case or whitespace are one row, under their most
    /// frequent spelling.
    #[allow(clippy::too_many_arguments)]
    async fn utterance_metrics(
        &self,
        ctx: &Context<'_>,
        bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        metrics: Vec<UtteranceMetricInput>,
        bin_by: Option<BinInterval>,
        group_by: Option<Vec<UtteranceGroupField>>,
        filter: Option<UtteranceFilterInput>,
        #[graphql(default_with = "Some(false)")] rollup: Option<bool>,
        #[graphql(default_with = "Some(100)")] first: Option<i32>,
    ) -> async_graphql::Result<Bins<UtteranceMetrics>> {
        let args = FamilyArgs::<UtteranceMetrics> {
            bot_ids,
            range,
            metrics: specs(metrics, |m| (m.name, m.statistic)),
            bin_by,
            group_by,
            filter: filter.unwrap_or_default().parse().gql()?,
            rollup,
            first: Some(first.unwrap_or(100)),
        };
        family_metrics(ctx, args).await
    }

    /// Utterances across bots, newest first (ties by bot, session and
    /// text), merged like `sessions` and paged with cursors bound to the query.
    #[graphql(
        complexity = "(first.unwrap_or(50).max(1) as usize).div_ceil(100) * child_complexity"
    )]
    async fn utterances(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Omit for every bot you may see.")] bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        filter: Option<UtteranceFilterInput>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UtteranceConnection> {
        let req = UtterancesRequest {
            bot_ids: ids(bot_ids),
            range: parsed_range(ctx, &range)?,
            filter: filter.unwrap_or_default().parse().gql()?,
            first: i64::from(first.unwrap_or(50)),
            after,
        };
        let partial = engine(ctx).utterances(scope(ctx), req).await.gql()?;
        Ok(UtteranceConnection(report(ctx, partial)))
    }

    /// Intent-stage metrics per bot (or rolled up), per time bin and group.
    #[allow(clippy::too_many_arguments)]
    async fn intent_stage_metrics(
        &self,
        ctx: &Context<'_>,
        bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        metrics: Vec<IntentStageMetricInput>,
        bin_by: Option<BinInterval>,
        group_by: Option<Vec<IntentStageGroupField>>,
        filter: Option<IntentStageFilterInput>,
        #[graphql(default_with = "Some(false)")] rollup: Option<bool>,
    ) -> async_graphql::Result<Vec<IntentStage>> {
        let engine = engine(ctx);
        let req = IntentStageMetricsRequest {
            bot_ids: ids(bot_ids),
            range: parsed_range(ctx, &range)?,
            metrics: metrics
                .into_iter()
                .map(|m| IntentStageMetricSpec {
                    name: m.name,
                    statistic: m.statistic,
                })
                .collect(),
            bin_by,
            group_by: group_by.unwrap_or_default(),
            filter: filter.unwrap_or_default().parse().gql()?,
            rollup: rollup.unwrap_or(false),
            first: None,
        };
        let partial = engine.metrics(scope(ctx), req).await.gql()?;
        Ok(report(ctx, partial)
            .into_bins()
            .into_iter()
            .map(IntentStage::from)
            .collect())
    }

    /// The intents that follow `path` (`/` for conversations' first intents,
    /// `/A/B` deeper), one level per call, most frequent first. With several
    /// bots, nodes are merged by path: counts add and `bot` is `null`. Lex
    /// answers each level with one ListIntentPaths call; Kore has no such
    /// API (`UNSUPPORTED_BY_VENDOR`).
    async fn intent_paths(
        &self,
        ctx: &Context<'_>,
        bot_ids: Option<Vec<ID>>,
        range: TimeRangeInput,
        #[graphql(default_with = "\"/\".to_owned()")] path: String,
        filter: Option<IntentPathFilterInput>,
    ) -> async_graphql::Result<Vec<IntentPathNode>> {
        let req = IntentPathsRequest {
            bot_ids: ids(bot_ids),
            range: parsed_range(ctx, &range)?,
            path,
            filter: filter.unwrap_or_default().parse().gql()?,
        };
        let partial = engine(ctx).intent_paths(scope(ctx), req).await.gql()?;
        Ok(report(ctx, partial)
            .into_iter()
            .map(IntentPathNode::from)
            .collect())
    }
}
