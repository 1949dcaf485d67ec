#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 60 s each). Needs
# nightly and cargo-fuzz (`cargo install cargo-fuzz`). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH="${1:-60}"
for target in cursor_decode config_toml kore_sessions; do
  echo "== $target (${SECONDS_EACH}s)"
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048
done
