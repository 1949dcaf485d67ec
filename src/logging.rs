//! Log output: human-readable text or one JSON object per line
//! (`server.log_format`), to stderr, filtered by `RUST_LOG` (default
//! `botscope=info,warn`). Each HTTP request runs in a `request` span carrying
//! its `request_id`, so every line it causes names it.

use crate::config::LogFormat;

/// Installs the process-wide subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "botscope=info,warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
