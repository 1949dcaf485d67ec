//! Cross-cutting concerns as layers: each wraps an [`AnalyticsSource`] and is one.
//!
//! [`stack`] composes them in one place, outermost first:
//!
//! ```text
//! metrics ( cache ( vendor source ( rate limit ( retry ( HTTP ) ) ) ) )
//! ```
//!
//! - **metrics** outermost, so it sees every question, cached or not.
//! - **cache** next, so a hit costs no budget and no upstream call, and
//!   concurrent identical questions coalesce before they reach the vendor.
//! - **rate limit** and **retry** act per *upstream call*, not per question (one
//!   question can take many calls: Kore windows × containment types × pages,
//!   Lex pages), so they live in the vendor clients under the source: the Kore
//!   client's shared per-bot budget, the AWS SDK's standard retry for Lex. The
//!   wrong order would be retry outside cache (retries would re-run cache
//!   misses as whole questions) or rate limit outside cache (hits would spend budget).

pub mod cache;
pub mod metrics;

use std::sync::Arc;

pub use cache::{CacheLayer, CachePolicy, SourceCache};
pub use metrics::MetricsLayer;

use crate::sources::AnalyticsSource;

/// The layers every configured source gets, in the documented order.
pub fn stack(
    vendor: Arc<dyn AnalyticsSource>,
    cache: Option<&SourceCache>,
) -> Arc<dyn AnalyticsSource> {
    let cached: Arc<dyn AnalyticsSource> = match cache {
        Some(c) => Arc::new(CacheLayer::new(vendor, c.clone())),
        None => vendor,
    };
    Arc::new(MetricsLayer::new(cached))
}
