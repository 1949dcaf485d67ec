//! The `botscope` command line (DESIGN §2). Exit codes: 0 ok, 2 bad usage or config.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::app::{Application, Settings};
use crate::config::Config;
use crate::demo::{DemoOptions, demo_dataset, demo_sources_with_faults};
use crate::server::auth::{Authenticator, mint_hs256};

#[derive(Parser, Debug)]
#[command(
    name = "botscope",
    version,
    about = "One GraphQL API over the conversation analytics of Amazon Lex V2 and Kore.ai bots"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The log format: `server.log_format` of the config `serve` will use (text
/// when there is none or it does not load — `serve` then reports why).
pub fn log_format(cli: &Cli) -> crate::config::LogFormat {
    match &cli.command {
        Command::Serve { config: Some(path) } => Config::load(path)
            .map(|c| c.server.log_format)
            .unwrap_or_default(),
        _ => crate::config::LogFormat::Text,
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway on the embedded demo: simulated Lex and Kore bots with synthetic data.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seed of the synthetic dataset (same seed, same sessions).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Days of history up to now.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=92))]
        days: u32,
        /// Mean weekday sessions of the busiest demo bot.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        sessions_per_day: u32,
        /// Turn on HS256 JWT auth with this secret (at least 32 bytes); a token is printed.
        #[arg(long)]
        auth_secret: Option<String>,
        /// Share of simulator calls (both vendors) answered with an injected 429.
        #[arg(long, default_value_t = 0.0)]
        fault_throttle_rate: f64,
        /// Share of simulator calls (both vendors) answered with an injected 5xx.
        #[arg(long, default_value_t = 0.0)]
        fault_error_rate: f64,
        /// Latency both simulators add to every answer, in milliseconds.
        #[arg(long, default_value_t = 0)]
        sim_latency_ms: u64,
        /// Source-cache size (e.g. 64MiB).
        #[arg(long, default_value = "256MiB")]
        cache_max_bytes: bytesize::ByteSize,
        /// Turn off the whole-response cache (every request executes).
        #[arg(long)]
        no_response_cache: bool,
    },
    /// Run the gateway in production from a config file.
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Mint an HS256 gateway token for service-to-service use.
    Token {
        #[arg(long)]
        secret: String,
        #[arg(long)]
        sub: String,
        /// Comma-separated gateway bot ids, or `*` for all.
        #[arg(long, default_value = "*")]
        bots: String,
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
    },
    /// Validate a config file and print the resolved bots (secrets redacted).
    CheckConfig { file: PathBuf },
    /// Run one vendor simulator alone, for client development and fault tests.
    #[command(subcommand)]
    Simulate(SimulateCommand),
}

#[derive(Subcommand, Debug)]
pub enum SimulateCommand {
    /// The Amazon Lex V2 analytics API (restJson1), serving the demo's Lex bots.
    Lex(SimulateLexArgs),
    /// The Kore.ai simulator: getSessions and getAnalytics for the demo's Kore bots.
    Kore(SimulateKoreArgs),
}

#[derive(clap::Args, Debug)]
pub struct SimulateLexArgs {
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    /// Seed of the synthetic dataset and of the fault dice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days of history up to now.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=92))]
    pub days: u32,
    /// Mean weekday sessions of the busiest bot.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sessions_per_day: u32,
    /// Added to every answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of calls answered with a 429 ThrottlingException (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of calls answered with a 500 InternalServerException (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Accept ranges the Lex guide rules out (a start more than 365 days
    /// back, more than one month long); enforced by default.
    #[arg(long)]
    pub lenient_ranges: bool,
}

#[derive(clap::Args, Debug)]
pub struct SimulateKoreArgs {
    #[arg(long, default_value = "127.0.0.1:9002")]
    pub listen: SocketAddr,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The JWT app's client id the simulator accepts (claim `appId`).
    #[arg(long, default_value = "cs-botscope-sim")]
    pub client_id: String,
    /// The client secret JWTs must be signed with (HS256).
    #[arg(long, env = "KORE_CLIENT_SECRET")]
    pub client_secret: String,
    /// Days of history up to now.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=92))]
    pub days: u32,
    /// Added to every answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of calls answered with an injected 429 (0..=1).
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of calls answered with an injected 500 (0..=1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// The page-size cap applied silently to `limit`.
    #[arg(long, default_value_t = 500)]
    pub max_page_size: usize,
}

async fn simulate_kore(args: SimulateKoreArgs) -> ExitCode {
    use crate::simulators::kore::{KoreSimBot, KoreSimConfig, run};
    if !(0.0..=1.0).contains(&args.throttle_rate) || !(0.0..=1.0).contains(&args.error_rate) {
        return fail("--throttle-rate and --error-rate must be between 0 and 1");
    }
    if args.client_secret.is_empty() || args.max_page_size == 0 {
        return fail("--client-secret must not be empty and --max-page-size must be at least 1");
    }
    let (infos, dataset) = demo_dataset(&DemoOptions {
        seed: args.seed,
        days: args.days,
        ..DemoOptions::default()
    });
    let bots: Vec<KoreSimBot> = infos
        .iter()
        .zip(dataset.bots)
        .filter(|(info, _)| info.vendor == crate::domain::Vendor::Kore)
        .map(|(info, (_, data))| KoreSimBot {
            bot_id: info.vendor_bot_id.clone(),
            data: std::sync::Arc::new(data),
        })
        .collect();
    let mut config = KoreSimConfig::new(args.client_id.clone(), args.client_secret);
    config.latency = Duration::from_millis(args.latency_ms);
    config.throttle_rate = args.throttle_rate;
    config.error_rate = args.error_rate;
    config.max_page_size = args.max_page_size;
    config.seed = args.seed;
    println!(
        "Kore simulator on http://{} (client id {})",
        args.listen, args.client_id
    );
    for b in &bots {
        println!("  bot {}: {} sessions", b.bot_id, b.data.sessions.len());
    }
    println!("  POST /api/public/bot/{{botId}}/getSessions?containmentType=…, POST …/getAnalytics");
    println!("  GET /_sim/stats, GET /_sim/bots");
    match run(args.listen, config, bots).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot serve on {}: {e}", args.listen)),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Simulate(SimulateCommand::Kore(args)) => simulate_kore(args).await,
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            ExitCode::SUCCESS
        }
        Command::Token {
            secret,
            sub,
            bots,
            ttl,
        } => {
            if secret.len() < 32 {
                return fail("--secret must be at least 32 bytes");
            }
            let bots: Vec<String> = bots
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_owned)
                .collect();
            println!("{}", mint_hs256(secret.as_bytes(), &sub, &bots, ttl.into()));
            ExitCode::SUCCESS
        }
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(config) => {
                print!("{}", config.describe());
                println!("config OK");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Simulate(SimulateCommand::Lex(args)) => simulate_lex(args).await,
        Command::Serve { config } => {
            let Some(path) = config else {
                return fail(
                    "`botscope serve` needs --config FILE (see botscope.example.toml); \
                     to try botscope without a config, run `botscope demo`",
                );
            };
            let config = match Config::load(&path) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            let settings = match Settings::from_config(&config).await {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            let sources =
                match crate::sources::build_from_config(&config, settings.fleet.as_ref()).await {
                    Ok(s) => s,
                    Err(e) => return fail(e),
                };
            serve_app(sources, settings).await
        }
        Command::Demo {
            listen,
            seed,
            days,
            sessions_per_day,
            auth_secret,
            fault_throttle_rate,
            fault_error_rate,
            sim_latency_ms,
            cache_max_bytes,
            no_response_cache,
        } => {
            let faults = crate::simulators::SimFaults {
                throttle_rate: fault_throttle_rate,
                error_rate: fault_error_rate,
            };
            if !faults.is_valid() {
                return fail(
                    "--fault-throttle-rate and --fault-error-rate must be between 0 and 1",
                );
            }
            let opts = DemoOptions {
                seed,
                days,
                sessions_per_day,
                faults,
            };
            let mut settings = Settings::local(listen, b"botscope-demo-cursor-secret");
            if let Some(cache) = &mut settings.cache {
                cache.max_bytes = cache_max_bytes.as_u64();
                if no_response_cache {
                    cache.response_max_bytes = None;
                }
            }
            if let Some(secret) = &auth_secret {
                if secret.len() < 32 {
                    return fail("--auth-secret must be at least 32 bytes");
                }
                settings.auth = Some(Authenticator::hs256(secret.as_bytes(), None, None));
            }
            let (infos, dataset) = demo_dataset(&opts);
            let sessions: usize = dataset.bots.iter().map(|(_, d)| d.sessions.len()).sum();
            let start = dataset
                .bots
                .iter()
                .filter_map(|(_, d)| d.sessions.first().map(|s| s.start_time))
                .min();
            let bot_lines: Vec<String> = infos
                .iter()
                .map(|b| {
                    format!(
                        "  {:<14} {:<7} {:<24} vendor id {}",
                        b.id,
                        b.vendor.as_str(),
                        b.name,
                        b.vendor_bot_id
                    )
                })
                .collect();
            let (sources, simulators) = match demo_sources_with_faults(
                infos,
                dataset,
                opts.faults,
                chrono::Duration::milliseconds(sim_latency_ms as i64),
            )
            .await
            {
                Ok(s) => s,
                Err(e) => return fail(format!("cannot start the demo simulators: {e}")),
            };
            let app = match Application::build(sources, settings).await {
                Ok(a) => a,
                Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
            };
            let addr = app.addr();
            println!("botscope demo: {sessions} synthetic sessions over {days} days (seed {seed})");
            println!("bots:\n{}", bot_lines.join("\n"));
            println!("simulators:\n  {}", simulators.join("\n  "));
            println!("\nDashboard: http://{addr}/");
            println!("GraphiQL:  http://{addr}/graphql");
            if let Some(secret) = &auth_secret {
                let token = mint_hs256(
                    secret.as_bytes(),
                    "demo",
                    &["*".into()],
                    Duration::from_secs(24 * 3600),
                );
                println!("auth is on; send  Authorization: Bearer {token}");
            }
            let since = start
                .map(|s| s.format("%Y-%m-%dT00:00:00Z").to_string())
                .unwrap_or_default();
            // Tomorrow: the range must stay within limits.max_range_days.
            let until = (chrono::Utc::now() + chrono::Duration::days(1))
                .format("%Y-%m-%dT00:00:00Z")
                .to_string();
            println!(
                "\nTry:\n  curl -s http://{addr}/graphql -H 'content-type: application/json' \\\n    -d '{{\"query\":\"{{ sessionMetrics(range: {{start: \\\"{since}\\\", end: \\\"{until}\\\"}}, metrics: [{{name: SUCCESS, statistic: AVG}}], groupBy: [BOT]) {{ groups {{ value }} values {{ value }} }} }}\"}}'"
            );
            match app.run().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
    }
}

async fn serve_app(
    sources: Vec<std::sync::Arc<dyn crate::sources::AnalyticsSource>>,
    settings: Settings,
) -> ExitCode {
    let listen = settings.listen;
    if settings.auth.is_none() {
        tracing::warn!(
            "auth.mode = \"none\": every caller sees every bot; use only behind your own auth"
        );
    }
    let app = match Application::build(sources, settings).await {
        Ok(a) => a,
        Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
    };
    tracing::info!(addr = %app.addr(), "serving");
    match app.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

async fn simulate_lex(args: SimulateLexArgs) -> ExitCode {
    for (name, rate) in [
        ("--throttle-rate", args.throttle_rate),
        ("--error-rate", args.error_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return fail(format!("{name} must be between 0 and 1, got {rate}"));
        }
    }
    let opts = DemoOptions {
        seed: args.seed,
        days: args.days,
        sessions_per_day: args.sessions_per_day,
        ..DemoOptions::default()
    };
    let (infos, dataset) = demo_dataset(&opts);
    let bots: Vec<(String, std::sync::Arc<crate::sources::memory::BotData>)> = infos
        .iter()
        .zip(dataset.bots)
        .filter(|(info, _)| info.vendor == crate::domain::Vendor::LexV2)
        .map(|(info, (_, data))| (info.vendor_bot_id.clone(), std::sync::Arc::new(data)))
        .collect();
    let config = crate::simulators::lex::LexSimConfig {
        latency: Duration::from_millis(args.latency_ms),
        throttle_rate: args.throttle_rate,
        error_rate: args.error_rate,
        seed: args.seed,
        lenient_ranges: args.lenient_ranges,
        ..Default::default()
    };
    let ids: Vec<String> = bots.iter().map(|(id, _)| id.clone()).collect();
    let served = crate::simulators::lex::LexSimulator::run(args.listen, config, bots, |sim| {
        println!("Lex V2 simulator: {}", sim.url());
        println!("bots: {}", ids.join(", "));
        println!("stats: {}/_sim/stats", sim.url());
    })
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot serve on {}: {e}", args.listen)),
    }
}
