//! `botscope demo`: the embedded default. Four demo bots, two labelled Lex V2 and
//! two Kore, over the synthetic dataset of the last `--days` days.
//!
//! The Lex bots go through `LexSource` and the real AWS SDK to an in-process Lex
//! simulator on a loopback port. SEAM: the Kore bots are still a
//! `MemorySource` over the dataset until the Kore issue replaces `kore_sources`.

use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};

use crate::domain::Vendor;
use crate::simulators::dataset::{Dataset, DatasetBot};
use crate::simulators::lex::{LexSimConfig, LexSimulator};
use crate::sources::lex::{LexSource, LexSourceConfig};
use crate::sources::memory::{BotData, MemorySource};
use crate::sources::{AnalyticsSource, BotInfo};

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub days: u32,
    pub sessions_per_day: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 42,
            days: 30,
            sessions_per_day: 1000,
        }
    }
}

/// The demo bots: gateway info and the traffic each one gets.
pub fn demo_bots(sessions_per_day: u32) -> Vec<(BotInfo, DatasetBot)> {
    let n = sessions_per_day;
    let bot = |id: &str, name: &str, vendor, vendor_bot_id: &str| BotInfo {
        id: id.into(),
        name: name.into(),
        vendor,
        vendor_bot_id: vendor_bot_id.into(),
    };
    vec![
        (
            bot(
                "support-lex",
                "Customer Support (Lex)",
                Vendor::LexV2,
                "K7XQ2M9PLA",
            ),
            DatasetBot::lex("support-lex", n, [0.68, 0.12, 0.20]),
        ),
        (
            bot("billing-lex", "Billing (Lex)", Vendor::LexV2, "B1LLNG0LX2"),
            DatasetBot::lex("billing-lex", n * 3 / 5, [0.55, 0.25, 0.20]),
        ),
        (
            bot(
                "sales-kore",
                "Sales (Kore)",
                Vendor::Kore,
                "st-0c6b7d1e-5f3a-4c2b-9d8e-1a2b3c4d5e6f",
            ),
            DatasetBot::kore("sales-kore", n * 4 / 5, [0.62, 0.23, 0.15]),
        ),
        (
            bot(
                "returns-kore",
                "Returns (Kore)",
                Vendor::Kore,
                "st-7a1e9c44-2b6d-4f80-a3c5-9e0d1f2a3b4c",
            ),
            DatasetBot::kore("returns-kore", n / 2, [0.48, 0.32, 0.20]),
        ),
    ]
}

/// The demo's dataset covers `[now - days, now)`, truncated to the minute.
pub fn demo_dataset(opts: &DemoOptions) -> (Vec<BotInfo>, Dataset) {
    let now = Utc::now()
        .duration_trunc(Duration::minutes(1))
        .unwrap_or_else(|_| Utc::now());
    let start = now - Duration::days(i64::from(opts.days));
    let bots = demo_bots(opts.sessions_per_day);
    let infos = bots.iter().map(|(i, _)| i.clone()).collect();
    let specs: Vec<DatasetBot> = bots.into_iter().map(|(_, d)| d).collect();
    (infos, Dataset::generate(opts.seed, &specs, start, now))
}

/// The demo's sources, Lex bots first, in `demo_bots` order, and one line per
/// simulator started for them (`name: base URL`). See the module docs:
/// `lex_sources` and `kore_sources` are the seams the vendor issues replace.
pub async fn demo_sources(
    infos: Vec<BotInfo>,
    dataset: Dataset,
) -> std::io::Result<(Vec<Arc<dyn AnalyticsSource>>, Vec<String>)> {
    let (lex, kore): (Vec<_>, Vec<_>) = infos
        .into_iter()
        .zip(dataset.bots)
        .map(|(info, (spec, data))| (info, spec, data))
        .partition(|(info, _, _)| info.vendor == Vendor::LexV2);
    let (mut sources, lex_sim) = lex_sources(lex).await?;
    sources.extend(kore_sources(kore).await);
    Ok((
        sources,
        vec![format!("Lex V2 simulator: {}", lex_sim.url())],
    ))
}

pub type DemoBot = (BotInfo, DatasetBot, BotData);

/// The Lex demo bots: `LexSource` → the real SDK → loopback HTTP → an
/// in-process `LexSimulator` serving the bots' data under their Lex ids.
pub async fn lex_sources(
    bots: Vec<DemoBot>,
) -> std::io::Result<(Vec<Arc<dyn AnalyticsSource>>, LexSimulator)> {
    let (infos, data): (Vec<BotInfo>, Vec<_>) = bots
        .into_iter()
        .map(|(info, _, data)| {
            let served = (info.vendor_bot_id.clone(), Arc::new(data));
            (info, served)
        })
        .unzip();
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = LexSimulator::spawn(listen, LexSimConfig::default(), data).await?;
    let mut sources: Vec<Arc<dyn AnalyticsSource>> = Vec::new();
    for info in infos {
        let config = LexSourceConfig::for_endpoint(&info.vendor_bot_id, sim.url());
        sources.push(Arc::new(LexSource::new(info, &config).await));
    }
    Ok((sources, sim))
}

/// The Kore demo bots.
async fn kore_sources(bots: Vec<DemoBot>) -> Vec<Arc<dyn AnalyticsSource>> {
    memory_sources(bots)
}

fn memory_sources(bots: Vec<DemoBot>) -> Vec<Arc<dyn AnalyticsSource>> {
    bots.into_iter()
        .map(|(info, _, data)| {
            Arc::new(MemorySource::new(info, Arc::new(data))) as Arc<dyn AnalyticsSource>
        })
        .collect()
}
