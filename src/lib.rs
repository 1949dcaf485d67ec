//! botscope: one GraphQL API over the conversation analytics of every bot
//! platform a company runs (Amazon Lex V2, Kore.ai).

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod graphql;
pub mod layers;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod simulators;
pub mod sources;
