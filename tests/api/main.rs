//! Black-box tests: the whole application on port 0, called over HTTP.

#[path = "../support/mod.rs"]
mod support;

mod aggregate_props;
mod bad_input;
mod bad_input_battery;
mod cache;
mod cli;
mod common;
mod faults;
mod helpers;
mod limits;
mod metrics;
mod paging;
mod security;
mod serve;
mod server;
mod surface;
