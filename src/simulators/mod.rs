//! Vendor simulators and the synthetic dataset they serve.
//!
//! Simulators are written from the vendor's side: they never import the
//! adapters' request/response mapping (`crate::sources::lex`, `crate::sources::kore`).

pub mod activity;
pub mod dataset;
pub mod faults;
pub mod kore;
pub mod lex;

pub use faults::SimFaults;

/// A demo bot a vendor's simulator serves: the gateway's id and name, the
/// vendor's id, and the traffic the dataset gives it. Each vendor folder
/// lists its own (`lex::demo::demo_bots`, `kore::demo::demo_bots`).
#[derive(Debug, Clone)]
pub struct DemoBot {
    pub id: String,
    pub name: String,
    pub vendor_bot_id: String,
    pub traffic: dataset::DatasetBot,
}

/// Where a running simulator serves, and, for a vendor whose requests are
/// signed with an app's credentials, the ones it accepts: what a source's
/// `[[bots]]` entry needs to reach it (`VendorConfig::for_simulator`).
#[derive(Debug, Clone)]
pub struct SimEndpoint {
    pub url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// What both `simulate` commands take besides their vendor's own flags: the
/// dataset (the demo's, by default) and the faults to inject.
#[derive(clap::Args, Debug, Clone)]
pub struct SimulateCommon {
    /// Seed of the synthetic dataset and of the fault dice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days of history up to now.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=92))]
    pub days: u32,
    /// Mean weekday sessions of the busiest demo bot.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sessions_per_day: u32,
    /// Added to every answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of calls answered with the vendor's throttling error, HTTP 429
    /// (Lex: ThrottlingException) (0..=1).
    #[arg(long, default_value_t = 0.0, value_parser = faults::rate)]
    pub throttle_rate: f64,
    /// Share of calls answered with the vendor's server error, HTTP 500
    /// (Lex: InternalServerException) (0..=1).
    #[arg(long, default_value_t = 0.0, value_parser = faults::rate)]
    pub error_rate: f64,
}
