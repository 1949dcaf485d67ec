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
