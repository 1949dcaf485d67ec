//! `botscope demo`: the embedded default. Four demo bots, two labelled Lex V2 and
//! two Kore, over the synthetic dataset of the last `--days` days.
//!
//! Every demo bot goes through its real adapter: the Lex bots through
//! `LexSource` and the real AWS SDK to an in-process Lex simulator, the Kore
//! bots through `KoreSource` (signed JWTs, 7-day windows, call budget) to an
//! in-process Kore simulator, both on loopback ports. No in-memory shortcut.

use std::sync::Arc;

use chrono::{Duration, DurationRound, Utc};

use crate::domain::Vendor;
use crate::simulators::SimFaults;
use crate::simulators::dataset::{Dataset, DatasetBot};
use crate::simulators::lex::{LexSimConfig, LexSimulator};
use crate::sources::lex::{LexSource, LexSourceConfig};
use crate::sources::memory::BotData;
use crate::sources::{AnalyticsSource, BotInfo};

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub days: u32,
    pub sessions_per_day: u32,
    /// Fault rates both in-process simulators start with (`--fault-*`).
    pub faults: SimFaults,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 42,
            days: 30,
            sessions_per_day: 1000,
            faults: SimFaults::default(),
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

/// The demo's dataset covers `[now - days, now)`, truncated to the minute,
/// with the conversations still open at `now` (the simulators serve them as open).
pub fn demo_dataset(opts: &DemoOptions) -> (Vec<BotInfo>, Dataset) {
    let now = Utc::now()
        .duration_trunc(Duration::minutes(1))
        .unwrap_or_else(|_| Utc::now());
    let start = now - Duration::days(i64::from(opts.days));
    let bots = demo_bots(opts.sessions_per_day);
    let infos = bots.iter().map(|(i, _)| i.clone()).collect();
    let specs: Vec<DatasetBot> = bots.into_iter().map(|(_, d)| d).collect();
    (infos, Dataset::generate_live(opts.seed, &specs, start, now))
}

/// The demo's sources, Lex bots first, in `demo_bots` order, and one line per
/// simulator started for them (`name: base URL`). See the module docs:
/// `lex_sources` and `kore_sources` are the seams the vendor issues replace.
pub async fn demo_sources(
    infos: Vec<BotInfo>,
    dataset: Dataset,
) -> std::io::Result<(Vec<Arc<dyn AnalyticsSource>>, Vec<String>)> {
    demo_sources_with_faults(infos, dataset, SimFaults::default(), Duration::zero()).await
}

/// [`demo_sources`] with both simulators injecting `faults` (they can be
/// changed later with `PUT /_sim/faults` on either simulator) and adding
/// `latency` to every answer, like a real upstream.
pub async fn demo_sources_with_faults(
    infos: Vec<BotInfo>,
    dataset: Dataset,
    faults: SimFaults,
    latency: Duration,
) -> std::io::Result<(Vec<Arc<dyn AnalyticsSource>>, Vec<String>)> {
    let (lex, kore): (Vec<_>, Vec<_>) = infos
        .into_iter()
        .zip(dataset.bots)
        .map(|(info, (spec, data))| (info, spec, data))
        .partition(|(info, _, _)| info.vendor == Vendor::LexV2);
    let (mut sources, lex_sim) = lex_sources(lex, faults, latency).await?;
    let (kore, kore_url) = kore_sources(kore, faults, latency).await?;
    sources.extend(kore);
    Ok((
        sources,
        vec![
            format!("Lex V2 simulator: {}", lex_sim.url()),
            format!("Kore simulator:   {kore_url}"),
        ],
    ))
}

pub type DemoBot = (BotInfo, DatasetBot, BotData);

/// The Lex demo bots: `LexSource` → the real SDK → loopback HTTP → an
/// in-process `LexSimulator` serving the bots' data under their Lex ids.
pub async fn lex_sources(
    bots: Vec<DemoBot>,
    faults: SimFaults,
    latency: Duration,
) -> std::io::Result<(Vec<Arc<dyn AnalyticsSource>>, LexSimulator)> {
    let (infos, data): (Vec<BotInfo>, Vec<_>) = bots
        .into_iter()
        .map(|(info, _, data)| {
            let served = (info.vendor_bot_id.clone(), Arc::new(data));
            (info, served)
        })
        .unzip();
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sim_config = LexSimConfig {
        latency: latency.to_std().unwrap_or_default(),
        throttle_rate: faults.throttle_rate,
        error_rate: faults.error_rate,
        // Short hints, so throttled demo calls retry quickly.
        retry_after_ms: if faults == SimFaults::default() {
            1000
        } else {
            100
        },
        ..LexSimConfig::default()
    };
    let sim = LexSimulator::spawn(listen, sim_config, data).await?;
    let mut sources: Vec<Arc<dyn AnalyticsSource>> = Vec::new();
    for info in infos {
        let config = LexSourceConfig::for_endpoint(&info.vendor_bot_id, sim.url());
        sources.push(Arc::new(LexSource::new(info, &config).await));
    }
    Ok((sources, sim))
}

/// The Kore demo bots: `KoreSource` → HTTP → the in-process Kore simulator on
/// a loopback port, with a real JWT signed by a per-run client secret. The
/// simulator enforces Kore's budget (60 calls a minute, 1800 an hour); the
/// adapter's window cache keeps warm queries cheap. Returns the simulator's URL.
pub async fn kore_sources(
    bots: Vec<DemoBot>,
    faults: SimFaults,
    latency: Duration,
) -> std::io::Result<(Vec<Arc<dyn AnalyticsSource>>, String)> {
    use crate::simulators::kore::{KoreSimBot, KoreSimConfig, spawn};
    use crate::sources::kore::{KoreConfig, KoreSource};

    let client_id = "cs-botscope-demo";
    let secret = format!("demo-{}", uuid::Uuid::new_v4());
    let mut infos = Vec::new();
    let mut sim = Vec::new();
    for (info, _, data) in bots {
        sim.push(KoreSimBot {
            bot_id: info.vendor_bot_id.clone(),
            data: Arc::new(data),
        });
        infos.push(info);
    }
    let sim_config = KoreSimConfig {
        latency: latency.to_std().unwrap_or_default(),
        throttle_rate: faults.throttle_rate,
        error_rate: faults.error_rate,
        ..KoreSimConfig::new(client_id, secret.clone())
    };
    let (addr, _handle) = spawn(sim_config, sim).await?;
    let url = format!("http://{addr}");
    let mut sources: Vec<Arc<dyn AnalyticsSource>> = Vec::new();
    for info in infos {
        let config = KoreConfig::new(
            url.clone(),
            info.vendor_bot_id.clone(),
            client_id,
            secrecy::SecretString::from(secret.clone()),
        );
        let source =
            KoreSource::new(info, config).map_err(|e| std::io::Error::other(e.to_string()))?;
        sources.push(Arc::new(source));
    }
    Ok((sources, url))
}
