//! `botscope demo`: the embedded default. Each vendor's simulator serves its
//! demo bots (`simulators/<vendor>/demo.rs`) over the synthetic dataset of
//! the last `--days` days, in-process on loopback ports; the demo then writes
//! an ordinary [`Config`] whose `[[bots]]` point at them and runs the same
//! build as `serve` (`Application::from_config`). Every demo bot goes through
//! its real adapter: the Lex bots through the real AWS SDK, the Kore bots
//! through signed JWTs, 7-day windows and the call budget. `--print-config`
//! shows that config.

use std::sync::Arc;

use chrono::{DurationRound, Utc};

use crate::config::{BotConfig, Config, ConfigError, VendorBot};
use crate::domain::{BotData, Vendor};
use crate::simulators::dataset::{Dataset, DatasetBot};
use crate::simulators::{DemoBot, SimEndpoint, SimFaults, kore, lex};
use crate::sources::BotInfo;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub days: u32,
    pub sessions_per_day: u32,
    /// Fault rates both in-process simulators start with (`--fault-*`).
    pub faults: SimFaults,
    /// Added by both simulators to every answer, like a real upstream.
    pub latency: std::time::Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 42,
            days: 30,
            sessions_per_day: 1000,
            faults: SimFaults::default(),
            latency: std::time::Duration::ZERO,
        }
    }
}

/// Every demo bot, by vendor, in the order they are configured.
pub fn demo_bots(sessions_per_day: u32) -> Vec<(Vendor, DemoBot)> {
    let lex = lex::demo::demo_bots(sessions_per_day).into_iter();
    let kore = kore::demo::demo_bots(sessions_per_day).into_iter();
    lex.map(|b| (Vendor::LexV2, b))
        .chain(kore.map(|b| (Vendor::Kore, b)))
        .collect()
}

/// The dataset of `bots`, covering `[now - days, now)` truncated to the
/// minute, with the conversations still open at `now` (the simulators serve
/// them as open). One dataset for all, so that texts recur across vendors.
pub fn dataset_of(opts: &DemoOptions, bots: &[DatasetBot]) -> Dataset {
    let now = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or_else(|_| Utc::now());
    let start = now - chrono::Duration::days(i64::from(opts.days));
    Dataset::generate_live(opts.seed, bots, start, now)
}

/// The demo bots' gateway info and traffic, in `demo_bots` order.
pub fn demo_specs(sessions_per_day: u32) -> (Vec<BotInfo>, Vec<DatasetBot>) {
    demo_bots(sessions_per_day)
        .into_iter()
        .map(|(vendor, b)| {
            let info = BotInfo {
                id: b.id,
                name: b.name,
                vendor,
                vendor_bot_id: b.vendor_bot_id,
            };
            (info, b.traffic)
        })
        .unzip()
}

/// The demo bots' gateway info and the dataset they serve.
pub fn demo_dataset(opts: &DemoOptions) -> (Vec<BotInfo>, Dataset) {
    let (infos, specs) = demo_specs(opts.sessions_per_day);
    (infos, dataset_of(opts, &specs))
}

/// The records of `bots` (one vendor's, for `botscope simulate`), from the
/// demo's whole dataset so that they equal what the demo serves.
pub fn data_for(opts: &DemoOptions, bots: &[DemoBot]) -> Vec<BotData> {
    let (_, dataset) = demo_dataset(opts);
    let mut by_id: std::collections::HashMap<String, BotData> = dataset
        .bots
        .into_iter()
        .map(|(spec, data)| (spec.id, data))
        .collect();
    bots.iter()
        .map(|b| by_id.remove(&b.id).unwrap_or_default())
        .collect()
}

/// A started demo: the simulators running and the config that reaches them.
pub struct Demo {
    pub config: Config,
    /// Each vendor's simulator and its base URL.
    pub simulators: Vec<(Vendor, String)>,
    pub sessions: usize,
    pub first_start: Option<chrono::DateTime<Utc>>,
}

impl Demo {
    /// The base URL of `vendor`'s simulator.
    pub fn simulator(&self, vendor: Vendor) -> Option<&str> {
        self.simulators
            .iter()
            .find(|(v, _)| *v == vendor)
            .map(|(_, url)| url.as_str())
    }
}

/// Starts each vendor's simulator with its demo bots and returns `base`
/// (a config without bots) with one `[[bots]]` entry per demo bot.
pub async fn start(opts: &DemoOptions, base: Config) -> Result<Demo, ConfigError> {
    let (infos, dataset) = demo_dataset(opts);
    serve_dataset(infos, dataset, opts, base).await
}

/// [`start`] over a given dataset of the bots `infos` (tests pin its dates).
pub async fn serve_dataset(
    infos: Vec<BotInfo>,
    dataset: Dataset,
    opts: &DemoOptions,
    mut base: Config,
) -> Result<Demo, ConfigError> {
    let sessions = dataset.bots.iter().map(|(_, d)| d.sessions.len()).sum();
    let first_start = dataset
        .bots
        .iter()
        .filter_map(|(_, d)| d.sessions.first().map(|s| s.start_time))
        .min();
    let mut served: Vec<(BotInfo, Arc<BotData>)> = infos
        .into_iter()
        .zip(dataset.bots)
        .map(|(info, (_, data))| (info, Arc::new(data)))
        .collect();
    let mut simulators = Vec::new();
    let mut bots = Vec::new();
    for vendor in Vendor::ALL {
        let (mine, rest): (Vec<_>, Vec<_>) =
            served.into_iter().partition(|(i, _)| i.vendor == vendor);
        served = rest;
        if mine.is_empty() {
            continue;
        }
        let data = mine
            .iter()
            .map(|(i, d)| (i.vendor_bot_id.clone(), d.clone()))
            .collect();
        let sim = serve_demo(vendor, data, opts).await.map_err(|e| {
            ConfigError::new(
                "demo",
                format!("cannot start the {vendor:?} simulator: {e}"),
            )
        })?;
        simulators.push((vendor, sim.url.clone()));
        bots.extend(mine.into_iter().map(|(info, _)| BotConfig {
            vendor: VendorBot::for_simulator(vendor, &info.vendor_bot_id, &sim),
            id: info.id,
            name: info.name,
        }));
    }
    base.bots = bots;
    base.validate()?;
    Ok(Demo {
        config: base,
        simulators,
        sessions,
        first_start,
    })
}

/// Starts `vendor`'s simulator with its bots (one line per vendor).
async fn serve_demo(
    vendor: Vendor,
    bots: Vec<(String, Arc<BotData>)>,
    opts: &DemoOptions,
) -> std::io::Result<SimEndpoint> {
    match vendor {
        Vendor::LexV2 => lex::demo::serve_demo(bots, opts.faults, opts.latency).await,
        Vendor::Kore => kore::demo::serve_demo(bots, opts.faults, opts.latency).await,
    }
}
