use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = botscope::cli::Cli::parse();
    botscope::logging::init(botscope::cli::log_format(&cli));
    botscope::cli::run(cli).await
}
