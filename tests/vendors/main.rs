//! The vendor adapters against their simulators, one test binary: Lex
//! through the real `aws-sdk-lexmodelsv2`, Kore over HTTP, the conformance
//! suite, and replicas sharing a real redis-server.

#[path = "../support/mod.rs"]
mod support;

mod conformance;
mod conformance_kore;
mod conformance_layers;
mod conformance_lex;
mod kore;
mod kore_graphql;
mod kore_sim;
mod lex_common;
mod lex_demo;
mod lex_integration;
mod replicas;
