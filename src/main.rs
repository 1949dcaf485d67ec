use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: executing GraphQL allocates many small,
/// short-lived values per request, and glibc's allocator took about a quarter
/// of the gateway's CPU under load (BENCHMARKS.md, "What the profiles showed").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = botscope::cli::Cli::parse();
    botscope::logging::init(botscope::cli::log_format(&cli));
    botscope::cli::run(cli).await
}
