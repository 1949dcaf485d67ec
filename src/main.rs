use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: executing GraphQL allocates many small,
/// short-lived values per request, and glibc's allocator took about a quarter
/// of the gateway's CPU under load (BENCHMARKS.md, "What the profiles showed").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    no_transparent_huge_pages();
    let cli = botscope::cli::Cli::parse();
    botscope::logging::init(botscope::cli::log_format(&cli));
    botscope::cli::run(cli).await
}

/// Turns transparent huge pages off for this process (the flag belongs to
/// the process, whichever thread sets it). mimalloc asks for huge pages on
/// its arenas, so each first touch of a fresh 2 MiB region zeroed all of
/// it: that was 41 % of the CPU of a cold 30-day Kore query (pages of
/// sessions parsed into fresh memory), and kept RSS high (BENCHMARKS.md,
/// session 6). Redis documents the same advice for the same reason.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes four integer arguments and only sets
    // a flag of this process; it touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
