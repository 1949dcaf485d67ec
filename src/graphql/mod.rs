//! The GraphQL API: the schema of DESIGN §3 and thin resolvers over the engine.
//!
//! Resolvers parse arguments into domain values, call one engine method, and
//! turn per-bot errors into GraphQL errors next to the partial data. The schema
//! knows nothing of vendors; `schema.graphql` at the repository root is
//! generated from this code (`botscope schema`) and a test keeps them equal.

mod errors;
mod inputs;
mod limits;
mod query;
mod scalars;
mod types;

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, Request, Response, Schema};

pub use errors::{GqlResult, to_graphql};
pub use query::Query;

use crate::engine::Engine;

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
}

impl BotscopeSchema {
    /// Executes one request: root-field limit, then async-graphql's parse
    /// (reused), validation (depth, complexity) and resolution.
    pub async fn execute(&self, request: impl Into<Request>) -> Response {
        let mut request = request.into();
        // A document that does not parse is left to `execute`, which reports
        // the syntax error the usual way.
        if let Ok(doc) = request.parsed_query()
            && let Err(e) = limits::check_root_fields(doc, self.max_root_fields)
        {
            return Response::from_errors(vec![e]);
        }
        self.inner.execute(request).await
    }

    /// The SDL of this schema.
    pub fn sdl(&self) -> String {
        self.inner.sdl()
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
    cache_policy: Option<crate::layers::CachePolicy>,
) -> BotscopeSchema {
    let mut builder = Schema::build(Query, EmptyMutation, EmptySubscription).data(engine);
    if let Some(p) = cache_policy {
        builder = builder.data(p);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    BotscopeSchema {
        inner: builder
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            .finish(),
        max_root_fields: limits.max_root_fields,
    }
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
