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
    IntentStageMetricName, IntentStageMetrics, MetricSpec, SessionGroupField, SessionMetrics,
    SessionOrder, TimeRange, UtteranceGroupField, UtteranceMetrics, Vendor,
};
use crate::engine::{
    BinSet, BotScope, Engine, IntentPathsRequest, MetricsRequest, Partial, SessionsRequest,
    UtterancesRequest,
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
        ctx.add_error(ctx.set_error_path(to_graphql(e).into_server_error(ctx.item.pos)));
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
async fn family_metrics<F: Family, A: FromBins<F>>(
    ctx: &Context<'_>,
    args: FamilyArgs<F>,
) -> async_graphql::Result<A> {
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
    Ok(A::from_bins(report(ctx, partial)))
}

/// What a metrics resolver answers, made from its family's bins: the
/// family's bin list, or (intent stages) objects of their own.
trait FromBins<F: Family> {
    fn from_bins(bins: BinSet<F::Group, F::Metric>) -> Self;
}

impl<F: GqlFamily> FromBins<F> for Bins<F> {
    fn from_bins(bins: BinSet<F::Group, F::Metric>) -> Self {
        Bins(bins)
    }
}

impl FromBins<IntentStageMetrics> for Vec<IntentStage> {
    fn from_bins(bins: BinSet<IntentStageGroupField, IntentStageMetricName>) -> Self {
        bins.into_bins()
            .into_iter()
            .map(IntentStage::from)
            .collect()
    }
}

/// Writes `$object`, a GraphQL object with one metrics resolver per family
/// listed. Every family takes the same arguments (with its own metric, group
/// and filter inputs) and goes through [`family_metrics`]; one with `first`
/// ranks its rows and cuts them at `first` (default as given), the others
/// answer every row. `Query` flattens the objects in where their fields
/// stand in the schema.
macro_rules! family_metrics_object {
    ($(#[$meta:meta])* $object:ident {
        $(
            $(#[$doc:meta])*
            $name:ident: $family:ty => $answer:ty {
                metrics: $metric:ty,
                group_by: $group:ty,
                filter: $filter:ty,
                $(first: $first:literal,)?
            }
        )*
    }) => {
        $(#[$meta])*
        struct $object;

        #[Object]
        impl $object {
            $(
                $(#[$doc])*
                #[allow(clippy::too_many_arguments)]
                async fn $name(
                    &self,
                    ctx: &Context<'_>,
                    bot_ids: Option<Vec<ID>>,
                    range: TimeRangeInput,
                    metrics: Vec<$metric>,
                    bin_by: Option<BinInterval>,
                    group_by: Option<Vec<$group>>,
                    filter: Option<$filter>,
                    #[graphql(default_with = "Some(false)")] rollup: Option<bool>,
                    $(#[graphql(default = $first)] first: Option<i32>,)?
                ) -> async_graphql::Result<$answer> {
                    let args = FamilyArgs::<$family> {
                        bot_ids,
                        range,
                        metrics: metrics
                            .into_iter()
                            .map(|m| MetricSpec {
                                name: m.name,
                                statistic: m.statistic,
                            })
                            .collect(),
                        bin_by,
                        group_by,
                        filter: filter.unwrap_or_default().parse().gql()?,
                        rollup,
                        first: family_metrics_object!(@first $(first, $first)?),
                    };
                    family_metrics(ctx, args).await
                }
            )*
        }
    };
    (@first) => {
        None
    };
    (@first $first:ident, $default:literal) => {
        Some($first.unwrap_or($default))
    };
}

family_metrics_object! {
    /// The binned metrics, which follow `sessions` in the schema.
    BinnedMetricsQuery {
        /// Session metrics per bot (or rolled up across bots), per time bin and group.
        session_metrics: SessionMetrics => Bins<SessionMetrics> {
            metrics: SessionMetricInput,
            group_by: SessionGroupField,
            filter: SessionFilterInput,
        }

        /// Intent metrics (Lex's intents, Kore's tasks) per bot (or rolled up),
        /// per time bin and group.
        intent_metrics: IntentMetrics => Bins<IntentMetrics> {
            metrics: IntentMetricInput,
            group_by: IntentGroupField,
            filter: IntentFilterInput,
        }

        /// Utterance metrics per bot (or rolled up), per time bin and group,
        /// ranked by the first metric (largest first) and cut at `first` rows:
        /// the top missed utterances across every bot are one query. Texts that
        /// differ only in case or whitespace are one row, under their most
        /// frequent spelling.
        utterance_metrics: UtteranceMetrics => Bins<UtteranceMetrics> {
            metrics: UtteranceMetricInput,
            group_by: UtteranceGroupField,
            filter: UtteranceFilterInput,
            first: 100,
        }
    }
}

family_metrics_object! {
    /// The intent-stage metrics, which follow `utterances` in the schema.
    IntentStageMetricsQuery {
        /// Intent-stage metrics per bot (or rolled up), per time bin and group.
        intent_stage_metrics: IntentStageMetrics => Vec<IntentStage> {
            metrics: IntentStageMetricInput,
            group_by: IntentStageGroupField,
            filter: IntentStageFilterInput,
        }
    }
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

    // `sessionMetrics`, `intentMetrics` and `utteranceMetrics` stand here in
    // the schema; `family_metrics_object!` writes them.
    #[graphql(flatten)]
    async fn binned_metrics_object(&self) -> BinnedMetricsQuery {
        BinnedMetricsQuery
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

    // `intentStageMetrics`, written like the other families' metrics.
    #[graphql(flatten)]
    async fn intent_stage_metrics_object(&self) -> IntentStageMetricsQuery {
        IntentStageMetricsQuery
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
