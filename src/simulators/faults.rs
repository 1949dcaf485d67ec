//! Fault rates a running simulator applies, changeable while it runs
//! (`PUT /_sim/faults` on either simulator) so fault tests and the soak can
//! take a vendor down and bring it back without restarting it.

use std::sync::Mutex;

use axum::Json;
use serde::{Deserialize, Serialize};

/// Shares of calls answered with an injected 429 and with an injected 5xx.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimFaults {
    pub throttle_rate: f64,
    pub error_rate: f64,
}

/// A fault rate on the command line (`--throttle-rate`, `--fault-error-rate`, …):
/// a share between 0 and 1, refused by clap otherwise.
pub fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a share between 0 and 1")),
    }
}

impl SimFaults {
    pub fn is_valid(&self) -> bool {
        (0.0..=1.0).contains(&self.throttle_rate) && (0.0..=1.0).contains(&self.error_rate)
    }
}

/// The current rates behind a lock (read once per call).
#[derive(Debug, Default)]
pub struct FaultKnob(Mutex<SimFaults>);

impl FaultKnob {
    pub fn new(f: SimFaults) -> Self {
        FaultKnob(Mutex::new(f))
    }

    pub fn get(&self) -> SimFaults {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, f: SimFaults) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// The body of `PUT /_sim/faults`: 200 with the new rates, or 400.
    pub fn put(&self, f: SimFaults) -> axum::response::Response {
        use axum::response::IntoResponse;
        if !f.is_valid() {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                "rates must be between 0 and 1",
            )
                .into_response();
        }
        self.set(f);
        Json(f).into_response()
    }
}
