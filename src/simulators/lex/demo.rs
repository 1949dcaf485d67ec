//! The Lex part of the demo: its bots, the in-process simulator that serves
//! them, and `botscope simulate lex`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{LexSimConfig, LexSimulator};
use crate::domain::BotData;
use crate::simulators::dataset::DatasetBot;
use crate::simulators::{DemoBot, SimEndpoint, SimFaults, SimulateCommon};

/// The demo's Lex bots and their traffic (`n`: the busiest bot's weekday sessions).
pub fn demo_bots(n: u32) -> Vec<DemoBot> {
    vec![
        DemoBot {
            id: "support-lex".into(),
            name: "Customer Support (Lex)".into(),
            vendor_bot_id: "K7XQ2M9PLA".into(),
            traffic: DatasetBot::lex("support-lex", n, [0.68, 0.12, 0.20]),
        },
        DemoBot {
            id: "billing-lex".into(),
            name: "Billing (Lex)".into(),
            vendor_bot_id: "B1LLNG0LX2".into(),
            traffic: DatasetBot::lex("billing-lex", n * 3 / 5, [0.55, 0.25, 0.20]),
        },
    ]
}

/// Serves `bots` (Lex bot id, data) on a loopback port in the background.
pub async fn serve_demo(
    bots: Vec<(String, Arc<BotData>)>,
    faults: SimFaults,
    latency: Duration,
) -> std::io::Result<SimEndpoint> {
    let config = LexSimConfig {
        latency,
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
    let sim = LexSimulator::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config, bots).await?;
    Ok(SimEndpoint {
        url: sim.url(),
        client_id: None,
        client_secret: None,
    })
}

/// `botscope simulate lex`: the Amazon Lex V2 analytics API (restJson1),
/// serving the demo's Lex bots.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub common: SimulateCommon,
    /// Accept ranges the Lex guide rules out (a start more than 365 days
    /// back, more than one month long); enforced by default.
    #[arg(long)]
    pub lenient_ranges: bool,
}

/// Serves the demo's Lex bots until the process ends; `data` gives each
/// demo bot its records (the same dataset as the demo's).
pub async fn simulate(
    args: SimulateArgs,
    data: impl Fn(&[DemoBot]) -> Vec<BotData>,
) -> Result<(), String> {
    let bots = demo_bots(args.common.sessions_per_day);
    let served: Vec<(String, Arc<BotData>)> = bots
        .iter()
        .map(|b| b.vendor_bot_id.clone())
        .zip(data(&bots).into_iter().map(Arc::new))
        .collect();
    let config = LexSimConfig {
        latency: Duration::from_millis(args.common.latency_ms),
        throttle_rate: args.common.throttle_rate,
        error_rate: args.common.error_rate,
        seed: args.common.seed,
        lenient_ranges: args.lenient_ranges,
        ..Default::default()
    };
    let ids: Vec<String> = served.iter().map(|(id, _)| id.clone()).collect();
    LexSimulator::run(args.listen, config, served, |sim| {
        println!("Lex V2 simulator: {}", sim.url());
        println!("bots: {}", ids.join(", "));
        println!("stats: {}/_sim/stats", sim.url());
    })
    .await
    .map_err(|e| format!("cannot serve on {}: {e}", args.listen))
}
