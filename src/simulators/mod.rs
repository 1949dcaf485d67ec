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
