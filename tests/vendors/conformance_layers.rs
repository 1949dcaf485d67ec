//! The conformance suite against the layers every vendor is wrapped in:
//! `layers::stack(memory)` — metrics, source cache, breaker — must answer
//! exactly as the bare memory source. The suite asks the same range with
//! many orders, filters, page sizes, metrics and groupings, so a cache key
//! that forgot any of them would serve one question the answer of another.
use std::sync::Arc;
use std::time::Duration;

use crate::{conformance, kore};

use botscope::domain::TimeRange;
use botscope::layers::{BreakerPolicy, CachePolicy, SourceCache};
use botscope::sources::AnalyticsSource;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_stack_conforms() {
    let t0 = kore::t0();
    let data = kore::data(
        150,
        t0 - chrono::Duration::days(2),
        t0 + chrono::Duration::days(2),
    );
    let reference = kore::reference(data.clone());
    let cache = SourceCache::new(
        64 << 20,
        CachePolicy {
            settled_ttl: Duration::from_secs(3600),
            recent_ttl: Duration::from_secs(3600),
            settle_lag: Duration::from_secs(7200),
        },
    );
    let stacked = botscope::layers::stack(
        Arc::new(kore::reference(data)),
        Some(&cache),
        Some(BreakerPolicy::default()),
    );
    let range = TimeRange::parse(
        t0 - chrono::Duration::hours(30),
        t0 + chrono::Duration::hours(20),
        92,
    )
    .unwrap();
    // Twice: the second pass is answered from the cache.
    for _ in 0..2 {
        conformance::run_suite(
            &reference as &dyn AnalyticsSource,
            stacked.as_ref(),
            range,
            conformance::Differences::default(),
        )
        .await;
    }
    let (entries, _) = cache.usage().await;
    assert!(entries > 10, "the suite went through the cache: {entries}");
}
