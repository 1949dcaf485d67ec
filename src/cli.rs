//! The `botscope` command line (DESIGN §2). Exit codes: 0 ok, 2 bad usage or config.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Config;
use crate::demo::{self, DemoOptions};
use crate::server::auth::mint_hs256;

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
        #[arg(long, default_value_t = 0.0, value_parser = crate::simulators::faults::rate)]
        fault_throttle_rate: f64,
        /// Share of simulator calls (both vendors) answered with an injected 5xx.
        #[arg(long, default_value_t = 0.0, value_parser = crate::simulators::faults::rate)]
        fault_error_rate: f64,
        /// Latency both simulators add to every answer, in milliseconds.
        #[arg(long, default_value_t = 0)]
        sim_latency_ms: u64,
        /// Source-cache size (e.g. 64MiB; default `cache.max_bytes`).
        #[arg(long)]
        cache_max_bytes: Option<bytesize::ByteSize>,
        /// Turn off the whole-response cache (every request executes).
        #[arg(long)]
        no_response_cache: bool,
        /// Print the config the demo runs (secrets redacted) and exit: a
        /// starting point for `botscope serve --config`.
        #[arg(long)]
        print_config: bool,
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
    Lex(crate::simulators::lex::demo::SimulateArgs),
    /// The Kore.ai simulator: getSessions and getAnalytics for the demo's Kore bots.
    Kore(crate::simulators::kore::demo::SimulateArgs),
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub async fn run(cli: Cli) -> ExitCode {
    let done = match cli.command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Token {
            secret,
            sub,
            bots,
            ttl,
        } => token(&secret, &sub, &bots, ttl.into()),
        Command::CheckConfig { file } => Config::load(&file)
            .map(|config| {
                print!("{}", config.to_redacted_toml());
                println!("# config OK");
            })
            .map_err(|e| e.to_string()),
        Command::Simulate(SimulateCommand::Lex(args)) => {
            let opts = simulated(&args.common);
            crate::simulators::lex::demo::simulate(args, |bots| demo::data_for(&opts, bots)).await
        }
        Command::Simulate(SimulateCommand::Kore(args)) => {
            let opts = simulated(&args.common);
            crate::simulators::kore::demo::simulate(args, |bots| demo::data_for(&opts, bots)).await
        }
        Command::Serve { config } => serve(config).await,
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
            print_config,
        } => {
            let opts = DemoOptions {
                faults: crate::simulators::SimFaults {
                    throttle_rate: fault_throttle_rate,
                    error_rate: fault_error_rate,
                },
                latency: Duration::from_millis(sim_latency_ms),
                ..demo_options(seed, days, sessions_per_day)
            };
            let flags = DemoFlags {
                listen,
                auth_secret,
                cache_max_bytes,
                no_response_cache,
                print_config,
            };
            run_demo(opts, flags).await
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn demo_options(seed: u64, days: u32, sessions_per_day: u32) -> DemoOptions {
    DemoOptions {
        seed,
        days,
        sessions_per_day,
        ..DemoOptions::default()
    }
}

/// The dataset a `simulate` command serves: the demo's, as its flags shape it.
fn simulated(common: &crate::simulators::SimulateCommon) -> DemoOptions {
    demo_options(common.seed, common.days, common.sessions_per_day)
}

fn token(secret: &str, sub: &str, bots: &str, ttl: Duration) -> Result<(), String> {
    if secret.len() < 32 {
        return Err("--secret must be at least 32 bytes".into());
    }
    let bots: Vec<String> = bots
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect();
    println!("{}", mint_hs256(secret.as_bytes(), sub, &bots, ttl));
    Ok(())
}

async fn serve(config: Option<PathBuf>) -> Result<(), String> {
    let Some(path) = config else {
        return Err(
            "`botscope serve` needs --config FILE (see botscope.example.toml); \
                    to try botscope without a config, run `botscope demo`"
                .into(),
        );
    };
    let config = Config::load(&path).map_err(|e| e.to_string())?;
    if config.auth.mode == crate::config::AuthMode::None {
        tracing::warn!(
            "auth.mode = \"none\": every caller sees every bot; use only behind your own auth"
        );
    }
    let app = Application::from_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(addr = %app.addr(), "serving");
    app.run().await.map_err(|e| e.to_string())
}

/// The demo's own flags; everything else comes from `BOTSCOPE__…` variables
/// and the config defaults, as for `serve`.
struct DemoFlags {
    listen: SocketAddr,
    auth_secret: Option<String>,
    cache_max_bytes: Option<bytesize::ByteSize>,
    no_response_cache: bool,
    print_config: bool,
}

async fn run_demo(opts: DemoOptions, flags: DemoFlags) -> Result<(), String> {
    if flags.auth_secret.as_ref().is_some_and(|s| s.len() < 32) {
        return Err("--auth-secret must be at least 32 bytes".into());
    }
    let mut base = Config::from_toml_str_with_env(&format!(
        "listen = \"{}\"\ncursor_secret = \"botscope-demo-cursor-secret\"\n",
        flags.listen
    ))
    .map_err(|e| e.to_string())?;
    if let Some(size) = flags.cache_max_bytes {
        base.cache.max_bytes = size;
    }
    if flags.no_response_cache {
        base.cache.response_cache = false;
    }
    if let Some(secret) = &flags.auth_secret {
        base.auth.mode = crate::config::AuthMode::Jwt;
        base.auth.hs256_secret = Some(secret.clone().into());
    }
    let started = demo::start(&opts, base).await.map_err(|e| e.to_string())?;
    if flags.print_config {
        println!(
            "# The config `botscope demo` runs (secrets redacted). Its simulators listen on\n\
             # ports chosen at start; serve them yourself with `botscope simulate lex|kore`.\n"
        );
        print!("{}", started.config.to_redacted_toml());
        return Ok(());
    }
    let app = Application::from_config(&started.config)
        .await
        .map_err(|e| e.to_string())?;
    let addr = app.addr();
    println!(
        "botscope demo: {} synthetic sessions over {} days (seed {})",
        started.sessions, opts.days, opts.seed
    );
    println!("bots:");
    for b in &started.config.bots {
        let info = b.info();
        println!(
            "  {:<14} {:<7} {:<24} vendor id {}",
            info.id,
            info.vendor.as_str(),
            info.name,
            info.vendor_bot_id
        );
    }
    println!("simulators:");
    for (vendor, url) in &started.simulators {
        println!("  {:<7} {url}", vendor.as_str());
    }
    println!("\nDashboard: http://{addr}/");
    println!("GraphiQL:  http://{addr}/graphql");
    if let Some(secret) = &flags.auth_secret {
        let token = mint_hs256(
            secret.as_bytes(),
            "demo",
            &["*".into()],
            Duration::from_secs(24 * 3600),
        );
        println!("auth is on; send  Authorization: Bearer {token}");
    }
    let since = started
        .first_start
        .map(|s| s.format("%Y-%m-%dT00:00:00Z").to_string())
        .unwrap_or_default();
    // Tomorrow: the range must stay within limits.max_range_days.
    let until = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    println!(
        "\nTry:\n  curl -s http://{addr}/graphql -H 'content-type: application/json' \\\n    -d '{{\"query\":\"{{ sessionMetrics(range: {{start: \\\"{since}\\\", end: \\\"{until}\\\"}}, metrics: [{{name: SUCCESS, statistic: AVG}}], groupBy: [BOT]) {{ groups {{ value }} values {{ value }} }} }}\"}}'"
    );
    app.run().await.map_err(|e| e.to_string())
}
