//! The conformance suite run against the memory source itself: the reference
//! must agree with itself under every page size (keyset paging is exact).

#[path = "conformance/mod.rs"]
mod conformance;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use botscope::domain::TimeRange;
use botscope::simulators::dataset::{Dataset, DatasetBot};
use botscope::sources::memory::MemorySource;
use botscope::sources::{AnalyticsSource, BotInfo};

#[tokio::test]
async fn memory_source_conforms() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let bot = DatasetBot::lex("lex-a", 200, [0.7, 0.1, 0.2]);
    let data = Dataset::generate(3, &[bot], t0, t0 + Duration::days(3));
    let info = BotInfo {
        id: "lex-a".into(),
        name: "A".into(),
        vendor: botscope::domain::Vendor::LexV2,
        vendor_bot_id: "ABCDEFGHIJ".into(),
    };
    let data = Arc::new(data.bots.into_iter().next().unwrap().1);
    let a = MemorySource::new(info.clone(), data.clone());
    let b = MemorySource::new(info, data);
    let range = TimeRange::parse(t0 + Duration::hours(6), t0 + Duration::days(2), 92).unwrap();
    conformance::run_suite(
        &a as &dyn AnalyticsSource,
        &b,
        range,
        conformance::Differences::default(),
    )
    .await;
}
