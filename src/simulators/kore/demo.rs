//! The Kore part of the demo: its bots, the in-process simulator that serves
//! them, and `botscope simulate kore`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{KoreSimBot, KoreSimConfig};
use crate::domain::BotData;
use crate::simulators::dataset::DatasetBot;
use crate::simulators::{DemoBot, SimEndpoint, SimFaults, SimulateCommon};

/// The demo's Kore bots and their traffic (`n`: the busiest demo bot's weekday sessions).
pub fn demo_bots(n: u32) -> Vec<DemoBot> {
    vec![
        DemoBot {
            id: "sales-kore".into(),
            name: "Sales (Kore)".into(),
            vendor_bot_id: "st-0c6b7d1e-5f3a-4c2b-9d8e-1a2b3c4d5e6f".into(),
            traffic: DatasetBot::kore("sales-kore", n * 4 / 5, [0.62, 0.23, 0.15]),
        },
        DemoBot {
            id: "returns-kore".into(),
            name: "Returns (Kore)".into(),
            vendor_bot_id: "st-7a1e9c44-2b6d-4f80-a3c5-9e0d1f2a3b4c".into(),
            traffic: DatasetBot::kore("returns-kore", n / 2, [0.48, 0.32, 0.20]),
        },
    ]
}

/// Serves `bots` (Kore bot id, data) on a loopback port in the background,
/// accepting JWTs signed with a secret made for this run. The simulator
/// enforces Kore's budget (60 calls a minute, 1800 an hour).
pub async fn serve_demo(
    bots: Vec<(String, Arc<BotData>)>,
    faults: SimFaults,
    latency: Duration,
) -> std::io::Result<SimEndpoint> {
    let client_id = "cs-botscope-demo";
    let secret = format!("demo-{}", uuid::Uuid::new_v4());
    let config = KoreSimConfig {
        latency,
        throttle_rate: faults.throttle_rate,
        error_rate: faults.error_rate,
        ..KoreSimConfig::new(client_id, secret.clone())
    };
    let bots = bots
        .into_iter()
        .map(|(bot_id, data)| KoreSimBot { bot_id, data })
        .collect();
    let sim =
        super::KoreSimulator::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), config, bots).await?;
    Ok(SimEndpoint {
        url: sim.url(),
        client_id: Some(client_id.into()),
        client_secret: Some(secret),
    })
}

/// `botscope simulate kore`: getSessions and getAnalytics for the demo's Kore bots.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[arg(long, default_value = "127.0.0.1:9002")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub common: SimulateCommon,
    /// The JWT app's client id the simulator accepts (claim `appId`).
    #[arg(long, default_value = "cs-botscope-sim")]
    pub client_id: String,
    /// The client secret JWTs must be signed with (HS256).
    #[arg(long, env = "KORE_CLIENT_SECRET")]
    pub client_secret: String,
    /// The page-size cap applied silently to `limit`.
    #[arg(long, default_value_t = 500)]
    pub max_page_size: usize,
}

/// Serves the demo's Kore bots until Ctrl-C; `data` gives each demo bot its
/// records (the same dataset as the demo's).
pub async fn simulate(
    args: SimulateArgs,
    data: impl Fn(&[DemoBot]) -> Vec<BotData>,
) -> Result<(), String> {
    if args.client_secret.is_empty() || args.max_page_size == 0 {
        return Err(
            "--client-secret must not be empty and --max-page-size must be at least 1".into(),
        );
    }
    let demo = demo_bots(args.common.sessions_per_day);
    let bots: Vec<KoreSimBot> = demo
        .iter()
        .zip(data(&demo))
        .map(|(b, data)| KoreSimBot {
            bot_id: b.vendor_bot_id.clone(),
            data: Arc::new(data),
        })
        .collect();
    let mut config = KoreSimConfig::new(args.client_id.clone(), args.client_secret);
    config.latency = Duration::from_millis(args.common.latency_ms);
    config.throttle_rate = args.common.throttle_rate;
    config.error_rate = args.common.error_rate;
    config.max_page_size = args.max_page_size;
    config.seed = args.common.seed;
    let lines: Vec<String> = bots
        .iter()
        .map(|b| format!("  bot {}: {} sessions", b.bot_id, b.data.sessions.len()))
        .collect();
    let client_id = args.client_id.clone();
    super::KoreSimulator::run(args.listen, config, bots, |sim| {
        println!("Kore simulator on {} (client id {client_id})", sim.url());
        println!("{}", lines.join("\n"));
        println!(
            "  POST /api/public/bot/{{botId}}/getSessions?containmentType=…, POST …/getAnalytics"
        );
        println!("  GET /_sim/stats, GET /_sim/bots");
    })
    .await
    .map_err(|e| format!("cannot serve on {}: {e}", args.listen))
}
