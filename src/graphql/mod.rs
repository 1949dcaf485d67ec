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

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

pub use errors::{GqlResult, to_graphql};
pub use query::Query;

use crate::engine::Engine;

pub type BotscopeSchema = Schema<Query, EmptyMutation, EmptySubscription>;

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
    builder
        .extension(limits::RootFieldLimit::new(limits.max_root_fields))
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
