//! Black-box tests: the whole application on port 0, called over HTTP.

mod bad_input;
mod helpers;
mod metrics;
mod paging;
mod server;
mod surface;
