//! The conformance suite against Kore-via-simulator: `KoreSource` → HTTP →
//! the Kore simulator must answer like `MemorySource` over the same dataset.
//!
//! Where Kore differs by design, stated explicitly:
//! - `intents` is `[]`: getSessions does not report intents (`no_session_intents`).
//! - Intent stages: Kore has none; the adapter derives per-task COUNT/SUCCESS/
//!   FAILED from getAnalytics, which is not the reference's per-stage data, so
//!   the stage battery is skipped (`no_intent_stages`) and `kore_sim.rs` tests
//!   what Kore does serve.
//! - End states: the dataset's Kore sessions use the default mapping
//!   (agent → FAILURE), so the adapter's default `agent_end_state` must agree.
use crate::{conformance, kore};

use chrono::Duration;

use botscope::domain::TimeRange;
use botscope::sources::AnalyticsSource;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kore_source_conforms() {
    let t0 = kore::t0();
    let data = kore::data(150, t0 - Duration::days(2), t0 + Duration::days(2));
    let mut sim_config = kore::sim_config();
    // Smaller than the adapter's page size, so every query pages.
    sim_config.max_page_size = 60;
    let sim = kore::Sim::start(sim_config, data.clone()).await;
    let candidate = sim.source(sim.adapter_config());
    let reference = kore::reference(data);
    // Crosses the window boundary at t0.
    let range = TimeRange::parse(t0 - Duration::hours(30), t0 + Duration::hours(20), 92).unwrap();
    conformance::run_suite(
        &reference as &dyn AnalyticsSource,
        &candidate,
        range,
        conformance::Differences {
            no_session_intents: true,
            no_intent_stages: true,
        },
    )
    .await;
    let totals = sim.totals().await;
    assert_eq!(totals.rejected_seven_days, 0);
    assert_eq!(totals.rejected_auth, 0);
    assert_eq!(totals.rejected_other, 0);
}
