//! Shared setup for the Kore tests: a dataset, the Kore simulator on port 0,
//! and a `KoreSource` talking to it over HTTP with a real JWT.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;

use botscope::domain::BotData;
use botscope::domain::Vendor;
use botscope::simulators::dataset::{Dataset, DatasetBot};
use botscope::simulators::kore::{KoreSimBot, KoreSimConfig, KoreSimCounters, KoreSimulator};
use botscope::sources::BotInfo;
use botscope::sources::kore::{KoreConfig, KoreSource};
use botscope::sources::memory::MemorySource;

pub const KORE_BOT: &str = "st-0c6b7d1e-5f3a-4c2b-9d8e-1a2b3c4d5e6f";
pub const CLIENT_ID: &str = "cs-test-client";
pub const SECRET: &str = "kore-test-client-secret";

pub use crate::support::t0;

pub fn info() -> BotInfo {
    BotInfo {
        id: "kore-a".into(),
        name: "Kore A".into(),
        vendor: Vendor::Kore,
        vendor_bot_id: KORE_BOT.into(),
    }
}

pub fn data(per_day: u32, from: DateTime<Utc>, to: DateTime<Utc>) -> Arc<BotData> {
    let bot = DatasetBot::kore("kore-a", per_day, [0.6, 0.25, 0.15]);
    Arc::new(Dataset::generate(11, &[bot], from, to).bots.remove(0).1)
}

/// A simulator config with a budget large enough not to matter.
pub fn sim_config() -> KoreSimConfig {
    let mut c = KoreSimConfig::new(CLIENT_ID, SECRET);
    c.calls_per_minute = 1_000_000;
    c.calls_per_hour = 1_000_000;
    c
}

pub struct Sim {
    pub url: String,
}

impl Sim {
    pub async fn start(config: KoreSimConfig, data: Arc<BotData>) -> Sim {
        let bots = vec![KoreSimBot {
            bot_id: KORE_BOT.into(),
            data,
        }];
        let sim = KoreSimulator::spawn("127.0.0.1:0".parse().unwrap(), config, bots)
            .await
            .expect("spawn the Kore simulator");
        Sim { url: sim.url() }
    }

    /// The simulator's totals over every operation and bot.
    pub async fn totals(&self) -> KoreSimCounters {
        let v: Value = reqwest::get(format!("{}/_sim/stats", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        serde_json::from_value(v["totals"].clone()).unwrap()
    }

    pub fn adapter_config(&self) -> KoreConfig {
        let mut c = KoreConfig::new(&self.url, KORE_BOT, CLIENT_ID, SecretString::from(SECRET));
        c.calls_per_minute = 1_000_000;
        c.calls_per_hour = 1_000_000;
        c.max_retries = 0;
        c.budget_margin = Duration::from_millis(20);
        // Every call reaches the simulator unless a test turns the cache on.
        c.window_cache_sessions = 0;
        c
    }

    pub fn source(&self, config: KoreConfig) -> KoreSource {
        KoreSource::new(info(), config).expect("build KoreSource")
    }
}

pub fn reference(data: Arc<BotData>) -> MemorySource {
    MemorySource::new(info(), data)
}
