//! Shared wiring for the Lex tests: a dataset, the simulator on port 0, and
//! `LexSource` over the real SDK pointed at it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;

use botscope::domain::BotData;
use botscope::domain::{TimeRange, Vendor};
use botscope::simulators::dataset::{Dataset, DatasetBot};
use botscope::simulators::lex::{LexSimConfig, LexSimulator};
use botscope::sources::BotInfo;
use botscope::sources::lex::{LexConfig, LexSource};
use botscope::sources::memory::MemorySource;

pub const LEX_BOT_ID: &str = "ABCDEFGHIJ";

pub use crate::support::recent_t0 as t0;

pub fn info() -> BotInfo {
    BotInfo {
        id: "lex-a".into(),
        name: "A".into(),
        vendor: Vendor::LexV2,
        vendor_bot_id: LEX_BOT_ID.into(),
    }
}

pub fn data(sessions_per_day: u32) -> Arc<BotData> {
    let bot = DatasetBot::lex("lex-a", sessions_per_day, [0.7, 0.1, 0.2]);
    let d = Dataset::generate(3, &[bot], t0(), t0() + ChronoDuration::days(3));
    Arc::new(d.bots.into_iter().next().unwrap().1)
}

pub fn range() -> TimeRange {
    TimeRange::parse(
        t0() + ChronoDuration::hours(6),
        t0() + ChronoDuration::days(2),
        92,
    )
    .unwrap()
}

pub struct LexFixture {
    pub sim: LexSimulator,
    pub lex: LexSource,
    pub memory: MemorySource,
    pub data: Arc<BotData>,
}

pub async fn source_for(sim: &LexSimulator, max_attempts: u32) -> LexSource {
    let mut config = LexConfig::for_endpoint(LEX_BOT_ID, sim.url());
    config.max_attempts = max_attempts;
    config.initial_backoff = Duration::from_millis(5);
    LexSource::new(info(), &config).await
}

pub async fn fixture(sessions_per_day: u32) -> LexFixture {
    fixture_with(
        sessions_per_day,
        LexSimConfig {
            retry_after_ms: 5,
            ..LexSimConfig::default()
        },
    )
    .await
}

pub async fn fixture_with(sessions_per_day: u32, config: LexSimConfig) -> LexFixture {
    let data = data(sessions_per_day);
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let sim = LexSimulator::spawn(listen, config, vec![(LEX_BOT_ID.into(), data.clone())])
        .await
        .unwrap();
    let lex = source_for(&sim, 3).await;
    let memory = MemorySource::new(info(), data.clone());
    LexFixture {
        sim,
        lex,
        memory,
        data,
    }
}
