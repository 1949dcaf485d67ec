#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 60 s each), with
# the target's dictionary from fuzz/dicts and its committed seed inputs from
# fuzz/seeds when there are some. Needs nightly and
# cargo-fuzz (`cargo install cargo-fuzz`). Not run in CI. Corpora and crash
# artifacts stay in fuzz/corpus and fuzz/artifacts (not committed); set
# CARGO_TARGET_DIR to keep the sanitizer build out of fuzz/target.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH="${1:-60}"
TARGETS=(cursor_decode config_toml kore_sessions lex_sessions filter_args)
for target in "${TARGETS[@]}"; do
  echo "== $target (${SECONDS_EACH}s)"
  dict=()
  if [[ -f "dicts/$target.dict" ]]; then
    dict=("-dict=dicts/$target.dict")
  fi
  # New inputs go to the first directory; the seeds are only read.
  corpora=("corpus/$target")
  mkdir -p "corpus/$target"
  if [[ -d "seeds/$target" ]]; then
    corpora+=("seeds/$target")
  fi
  cargo +nightly fuzz run "$target" "${corpora[@]}" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 "${dict[@]}"
done
