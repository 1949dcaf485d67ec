//! The conformance suite against Lex-via-simulator: `LexSource` over the real
//! SDK, over loopback HTTP, must answer exactly as the memory reference does
//! for the same dataset.
use crate::{conformance, lex_common};

use botscope::sources::AnalyticsSource;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lex_source_conforms() {
    let f = lex_common::fixture(200).await;
    conformance::run_suite(
        &f.memory as &dyn AnalyticsSource,
        &f.lex,
        lex_common::range(),
        conformance::Differences::default(),
    )
    .await;
    let stats = f.sim.stats();
    assert!(stats.iter().all(|s| s.counters.rejected == 0), "{stats:?}");
    assert!(stats.iter().any(|s| s.counters.calls > 0));
}
