use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "botscope=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    botscope::cli::run(botscope::cli::Cli::parse()).await
}
