//! The GraphQL API: the schema of DESIGN §3 and thin resolvers over the engine.
//!
//! Resolvers parse arguments into domain values, call one engine method, and
//! turn per-bot errors into GraphQL errors next to the partial data. The schema
//! knows nothing of vendors; `schema.graphql` at the repository root is
//! generated from this code (`botscope schema`) and a test keeps them equal.

mod bins;
mod errors;
mod inputs;
mod limits;
mod query;
mod scalars;
mod types;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{EmptyMutation, EmptySubscription, Request, Response, Schema};

pub use bins::Splices;
pub use errors::{GqlResult, to_graphql};
pub use query::Query;

use crate::engine::Engine;
use crate::layers::{CacheLifetime, CachePolicy};

/// The executable schema plus the checks async-graphql has no hook for
/// outside its extension API.
///
/// Why not an extension: async-graphql sends every field and every list item
/// through the extension chain as soon as one extension is registered (a
/// `ResolveInfo` with formatted type names per value), which tripled the cost
/// of resolving a page of sessions. The root-field limit only needs the parsed
/// document, so it runs here, on the document the schema then executes
/// without parsing it again.
#[derive(Clone)]
pub struct BotscopeSchema {
    inner: Schema<Query, EmptyMutation, EmptySubscription>,
    max_root_fields: usize,
    /// Lifetimes of cached data; `None` when caching is off.
    cache_policy: Option<CachePolicy>,
}

/// One executed request: the response, how to serialize it, and how long the
/// answer may be served again.
pub struct Executed {
    pub response: Response,
    /// Serialize `response` with these ([`Splices::to_json`]).
    pub splices: Arc<Splices>,
    /// The shortest lifetime of the data the answer read
    /// ([`CacheLifetime`]); `None` when caching is off.
    pub lifetime: Option<Duration>,
}

impl BotscopeSchema {
    /// Executes one request: root-field limit, then async-graphql's parse
    /// (reused), validation (depth, complexity) and resolution. Every error
    /// of the response carries an `extensions.code` ([`errors::label`]).
    pub async fn execute(&self, request: impl Into<Request>) -> Response {
        let mut request = request.into();
        // A document that does not parse is left to `execute`, which reports
        // the syntax error the usual way.
        let mut response = match request.parsed_query() {
            Ok(doc) => match limits::check_root_fields(doc, self.max_root_fields) {
                Ok(()) => self.inner.execute(request).await,
                Err(e) => Response::from_errors(vec![e]),
            },
            Err(_) => self.inner.execute(request).await,
        };
        for e in &mut response.errors {
            errors::label(e);
        }
        response
    }

    /// Executes one request whose large answers may be written ahead as JSON,
    /// noting the lifetime of the data it reads.
    pub async fn execute_with_splices(&self, request: impl Into<Request>) -> Executed {
        let splices = Arc::new(Splices::default());
        let mut request = request.into().data(splices.clone());
        let lifetime = self.cache_policy.clone().map(CacheLifetime::new);
        if let Some(l) = &lifetime {
            request = request.data(l.clone());
        }
        let response = self.execute(request).await;
        Executed {
            response,
            splices,
            lifetime: lifetime.map(|l| l.get()),
        }
    }
}

/// Settings for the schema's own limits.
#[derive(Debug, Clone)]
pub struct SchemaLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Fields (aliases included) at the top of one operation.
    pub max_root_fields: usize,
    /// Answer `__schema` / `__type`.
    pub introspection: bool,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        SchemaLimits {
            max_depth: 12,
            max_complexity: 5000,
            max_root_fields: 20,
            introspection: true,
        }
    }
}

/// Builds the schema over an engine. The caller's `BotScope` is added per request.
pub fn build_schema(
    engine: Arc<Engine>,
    limits: &SchemaLimits,
    cache_policy: Option<CachePolicy>,
) -> BotscopeSchema {
    let mut builder = Schema::build(Query, EmptyMutation, EmptySubscription).data(engine);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    BotscopeSchema {
        inner: builder
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            .finish(),
        max_root_fields: limits.max_root_fields,
        cache_policy,
    }
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}

/// Arguments as the resolvers see them after parsing, from
/// [`parse_arguments`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedArguments {
    pub range: crate::domain::TimeRange,
    pub filter: crate::domain::SessionFilter,
    pub stage_filter: crate::domain::IntentStageFilter,
}

/// The argument parsing of the `sessions`, `sessionMetrics` and
/// `intentStageMetrics` resolvers without a server, for fuzzing and tests:
/// from a JSON object of GraphQL values `{"range", "filter"?, "stageFilter"?}`
/// it runs the same input types (`DateTime` scalars, `TimeRange`,
/// `SessionFilter`, `IntentStageFilter`) and the same conversions to domain
/// values (`TimeRange::parse` with `max_range_days`, the filter list rules,
/// canonical order). Errors are `BAD_USER_INPUT`, as the resolvers give.
pub fn parse_arguments(
    args: &serde_json::Value,
    max_range_days: u32,
) -> crate::error::Result<ParsedArguments> {
    use crate::error::Error;
    use async_graphql::InputType;
    fn input<T: InputType>(args: &serde_json::Value, name: &str) -> crate::error::Result<T> {
        let value = args
            .get(name)
            .map(|v| async_graphql::Value::from_json(v.clone()))
            .transpose()
            .map_err(|e| Error::bad_input(name, e.to_string()))?;
        T::parse(value)
            .map_err(|e| Error::bad_input(name, e.into_server_error(Default::default()).message))
    }
    let range: inputs::TimeRangeInput = input(args, "range")?;
    let filter: Option<inputs::SessionFilterInput> = input(args, "filter")?;
    let stage_filter: Option<inputs::IntentStageFilterInput> = input(args, "stageFilter")?;
    Ok(ParsedArguments {
        range: range.parse(max_range_days)?,
        filter: filter.unwrap_or_default().parse()?,
        stage_filter: stage_filter.unwrap_or_default().parse()?,
    })
}

#[cfg(test)]
mod parse_arguments_tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    #[test]
    fn parses_like_the_resolvers() {
        let p = parse_arguments(
            &json!({
                "range": { "start": "2026-03-02T00:00:00+01:00", "end": "2026-03-03T00:00:00Z" },
                "filter": { "locales": ["fr_CA", "en_US"], "durationSeconds": { "gt": 10 } },
            }),
            31,
        )
        .unwrap();
        assert_eq!(p.range.start().to_rfc3339(), "2026-03-01T23:00:00+00:00");
        assert_eq!(
            p.filter.locales,
            Some(vec!["en_US".to_owned(), "fr_CA".to_owned()])
        );
        assert_eq!(p.stage_filter, Default::default());
    }

    #[test]
    fn bad_arguments_are_bad_user_input() {
        for args in [
            json!({}),
            json!({ "range": { "start": "yesterday", "end": "2026-03-03T00:00:00Z" } }),
            json!({ "range": { "start": "2026-03-03T00:00:00Z", "end": "2026-03-02T00:00:00Z" } }),
            json!({ "range": { "start": "2026-01-01T00:00:00Z", "end": "2026-03-03T00:00:00Z" } }),
            json!({ "range": { "start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z" },
                    "filter": { "locales": [] } }),
            json!({ "range": { "start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z" },
                    "stageFilter": { "modalities": ["SMOKE"] } }),
        ] {
            let e = parse_arguments(&args, 31).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadUserInput, "{args}: {e:?}");
        }
    }
}
