#!/usr/bin/env bash
# HTTP load benchmark: botscope next to what users would otherwise run (GraphQL Mesh +
# Hive Gateway over the Kore REST API) and the bare REST upstream, in one run with the
# same load, using ../shared/peers; then botscope-only runs. Results: BENCHMARKS.md.
#
#   scripts/load.sh                      # everything (~4 min after the one-time setup)
#   SIM_LATENCY_MS=50 scripts/load.sh    # simulators add 50 ms to every upstream call
#
# Phases:
#   1. peers/run.sh: upstream, peer, peer-cache and botscope (`EXTRA_*`) at concurrency
#      $CONC for $DURATION s each; botscope answers the equivalent query over one Kore
#      bot (100 sessions, the same four fields) and serves repeats from its response cache.
#   2. the gateway alone (`botscope serve`, the simulators in their own processes, so
#      the RSS is the gateway's), response cache off (every request executes GraphQL,
#      answers come from the 64 MiB source cache): sessions(first: 100) over 4 bots;
#      sessionMetrics 30 days x ONE_HOUR x END_STATE over 4 bots. Peak RSS read.
#   3. cold queries against simulators with $COLD_LATENCY_MS latency: a one-window
#      query and 30-day Kore metrics, each as the first query of a fresh process
#      (median of 3) and as a cold-cache query in a process warmed by another bot.
# A 200 whose body carries GraphQL `errors` counts as an error: phases 2-3 read
# botscope's own /metrics (graphql requests by outcome) before and after each load.
# Everything binds 127.0.0.1; every process started here is stopped by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_SRC=${PEERS_SRC:-$ROOT/../shared/peers}
WORK=${WORK:-$ROOT/target/load}
PORT=${PORT:-4100}
CONC=${CONC:-32}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
SIM_LATENCY_MS=${SIM_LATENCY_MS:-0}
COLD_LATENCY_MS=${COLD_LATENCY_MS:-50}
RUN_ID=${RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
OUT="$WORK/results/$RUN_ID"
BIN="$ROOT/target/release/botscope"
URL="http://127.0.0.1:$PORT/graphql"
PIDS=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

mkdir -p "$OUT"
log "building botscope (release)"
(cd "$ROOT" && cargo build --release -q)

if [ ! -d "$WORK/peers" ]; then
  cp -r "$PEERS_SRC" "$WORK/peers"
  chmod -R u+w "$WORK/peers"
fi
log "peer setup (idempotent)"
(cd "$WORK/peers" && bash setup.sh >"$OUT/peers-setup.log" 2>&1)
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}

# Bodies. The demo's data covers the last 30 days up to now.
python3 - "$OUT" <<'PY'
import json, sys, datetime as dt
out = sys.argv[1]
today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
def body(q, v): return json.dumps({"query": q, "variables": v})
two_days = {"start": iso(today - dt.timedelta(days=3)), "end": iso(today - dt.timedelta(days=1))}
one_day = {"start": iso(today - dt.timedelta(days=2)), "end": iso(today - dt.timedelta(days=1))}
month = {"start": iso(today - dt.timedelta(days=29)), "end": iso(today)}
week = {"start": iso(today - dt.timedelta(days=7)), "end": iso(today)}
bodies = {
  # The peer's query, botscope's way: one Kore bot, self-service sessions of two days, 100 of them.
  "kore100": body("query Sessions100($r: TimeRange!) { sessions(botIds: [\"sales-kore\"], range: $r, first: 100, filter: {endStates: [SUCCESS]}) { totalCount pageInfo { hasNextPage } nodes { sessionId startTime vendorEndState turns } } }", {"r": two_days}),
  "sessions4bots": body("query S($r: TimeRange!) { sessions(range: $r, first: 100) { pageInfo { hasNextPage endCursor } nodes { id bot { id } sessionId startTime durationSeconds endState turns } } }", {"r": week}),
  "metrics30d": body("query M($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}, {name: DURATION, statistic: AVG}], binBy: ONE_HOUR, groupBy: [END_STATE]) { bot { id } binStart groups { value } values { value } } }", {"r": month}),
  "cold_one_window": body("query C($r: TimeRange!) { sessions(botIds: [\"returns-kore\"], range: $r, first: 100) { nodes { sessionId startTime } } }", {"r": one_day}),
  "warmup_other_bot": body("query W($r: TimeRange!) { sessions(botIds: [\"sales-kore\"], range: $r, first: 10) { nodes { sessionId } } sessionMetrics(botIds: [\"sales-kore\"], range: $r, metrics: [{name: COUNT, statistic: SUM}]) { values { value } } }", {"r": week}),
  "cold_kore_metrics30d": body("query K($r: TimeRange!) { sessionMetrics(botIds: [\"returns-kore\"], range: $r, metrics: [{name: COUNT, statistic: SUM}], binBy: ONE_DAY, groupBy: [END_STATE]) { binStart values { value } } }", {"r": month}),
}
for name, b in bodies.items():
    open(f"{out}/{name}.json", "w").write(b)
PY

graphql_outcomes() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^botscope_graphql_requests_total/ {print}' ; }
not_ok() { # GraphQL answers with errors so far ("partial" or "error" outcomes)
  graphql_outcomes | awk '/outcome="(partial|error)"/ {s+=$2} END {print s+0}'
}
wait_ready() { for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.5; done; return 1; }
start_demo() { "$BIN" demo --listen "127.0.0.1:$PORT" "$@" >"$OUT/demo-$(date +%s%N).log" 2>&1 & DEMO=$!; PIDS+=("$DEMO"); wait_ready; }
stop_demo() { kill "$DEMO" 2>/dev/null || true; wait "$DEMO" 2>/dev/null || true; }
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
oha_run() { # name body
  "$OHA" -z "${WARMUP}s" -c "$CONC" --no-tui --output-format json -m POST -H 'content-type: application/json' -D "$OUT/$2.json" "$URL" >/dev/null
  "$OHA" -z "${DURATION}s" -w -c "$CONC" --no-tui --output-format json -m POST -H 'content-type: application/json' -D "$OUT/$2.json" "$URL" >"$OUT/$1.oha.json"
}

log "phase 1: peers/run.sh with botscope as the extra target"
(cd "$WORK/peers" && RUN_ID="$RUN_ID" CONC="$CONC" DURATION="$DURATION" WARMUP="$WARMUP" \
  EXTRA_URL="$URL" EXTRA_BODY="$OUT/kore100.json" EXTRA_NAME=botscope EXTRA_VERIFY=none \
  EXTRA_CMD="exec $BIN demo --listen 127.0.0.1:$PORT --sim-latency-ms $SIM_LATENCY_MS --cache-max-bytes 64MiB" \
  bash run.sh) 2>&1 | tee "$OUT/peers-run.log" >&2
cp "$WORK/peers/results/$RUN_ID/summary.md" "$OUT/peers-summary.md" 2>/dev/null || true

log "phase 2: botscope serve executing from its source cache (response cache off)"
KORE_SECRET="load-test-kore-secret-$RANDOM"
"$BIN" simulate lex --listen 127.0.0.1:9101 --latency-ms "$SIM_LATENCY_MS" >"$OUT/sim-lex.log" 2>&1 & PIDS+=("$!")
"$BIN" simulate kore --listen 127.0.0.1:9102 --client-secret "$KORE_SECRET" --latency-ms "$SIM_LATENCY_MS" >"$OUT/sim-kore.log" 2>&1 & PIDS+=("$!")
cat >"$OUT/bench.toml" <<TOML
listen = "127.0.0.1:$PORT"
cursor_secret = "load-test-cursor-secret-0123456789"
[cache]
max_bytes = "64MiB"
response_cache = false
[limits]
# One load generator is one client: lift the per-client rate limit.
requests_per_minute_per_client = 100000000
[[bots]]
id = "support-lex"
name = "Customer Support (Lex)"
vendor = "lex_v2"
bot_id = "K7XQ2M9PLA"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:9101"
[[bots]]
id = "billing-lex"
name = "Billing (Lex)"
vendor = "lex_v2"
bot_id = "B1LLNG0LX2"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:9101"
[[bots]]
id = "sales-kore"
name = "Sales (Kore)"
vendor = "kore"
bot_id = "st-0c6b7d1e-5f3a-4c2b-9d8e-1a2b3c4d5e6f"
host = "http://127.0.0.1:9102"
client_id = "cs-botscope-sim"
client_secret = "$KORE_SECRET"
[[bots]]
id = "returns-kore"
name = "Returns (Kore)"
vendor = "kore"
bot_id = "st-7a1e9c44-2b6d-4f80-a3c5-9e0d1f2a3b4c"
host = "http://127.0.0.1:9102"
client_id = "cs-botscope-sim"
client_secret = "$KORE_SECRET"
TOML
sleep 3
"$BIN" serve --config "$OUT/bench.toml" >"$OUT/serve.log" 2>&1 & DEMO=$!; PIDS+=("$DEMO"); wait_ready
for q in sessions4bots metrics30d; do
  curl -s "$URL" -H 'content-type: application/json' -d @"$OUT/$q.json" >"$OUT/$q.answer.json"
  before=$(not_ok)
  oha_run "exec-$q" "$q"
  after=$(not_ok)
  echo "$((after - before))" >"$OUT/exec-$q.graphql_errors"
done
rss_kb "$DEMO" >"$OUT/exec.rss_kb"
stop_demo
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done

log "phase 3: cold queries, simulators at ${COLD_LATENCY_MS} ms"
# (a) the first query of a fresh process, 3 processes each (the median is reported);
# (b) a cold source cache in a running gateway: a query for another bot first warms
#     the process and its connections, then the measured query misses every cache.
time_query() { curl -s -o "$OUT/$1.answer.json" -w '%{time_total}\n' "$URL" -H 'content-type: application/json' -d @"$OUT/$1.json"; }
# (c) one bare upstream call for comparison: the Kore simulator alone, the same latency,
#     one getSessions for the cold one-window query's day and bot (one containment
#     type), from a client with a signed Kore JWT; median of 7.
"$BIN" simulate kore --listen 127.0.0.1:9103 --client-secret "$KORE_SECRET" --latency-ms "$COLD_LATENCY_MS" >"$OUT/sim-kore-cold.log" 2>&1 & SIM_COLD=$!; PIDS+=("$SIM_COLD")
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:9103/_sim/bots >/dev/null && break; sleep 0.2; done
python3 - "$KORE_SECRET" >"$OUT/one_upstream_call.ms" <<'PY'
import base64, datetime as dt, hashlib, hmac, json, statistics, sys, time, urllib.request
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"appId": "cs-botscope-sim", "sub": "load"}).encode())
token = (head + b"." + claims + b"." + b64(hmac.new(sys.argv[1].encode(), head + b"." + claims, hashlib.sha256).digest())).decode()
today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
day = lambda k: (today - dt.timedelta(days=k)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
body = json.dumps({"dateFrom": day(2), "dateTo": day(1), "limit": 1000}).encode()
url = "http://127.0.0.1:9103/api/public/bot/st-7a1e9c44-2b6d-4f80-a3c5-9e0d1f2a3b4c/getSessions?containmentType=selfService"
times = []
for _ in range(7):
    req = urllib.request.Request(url, data=body, headers={"auth": token, "content-type": "application/json"})
    t = time.perf_counter(); urllib.request.urlopen(req).read(); times.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(times):.1f}")
PY
kill "$SIM_COLD" 2>/dev/null || true
for q in cold_one_window cold_kore_metrics30d; do
  : >"$OUT/$q.seconds"
  for _ in 1 2 3; do
    start_demo --sim-latency-ms "$COLD_LATENCY_MS"
    time_query "$q" >>"$OUT/$q.seconds"
    stop_demo
  done
  start_demo --sim-latency-ms "$COLD_LATENCY_MS"
  time_query warmup_other_bot >/dev/null
  time_query "$q" >"$OUT/$q.warm_process.seconds"
  stop_demo
done

python3 - "$OUT" "$COLD_LATENCY_MS" <<'PY' | tee "$OUT/botscope-summary.md"
import json, sys, os
out, lat = sys.argv[1], float(sys.argv[2])
print("| run | req/s | p50 ms | p99 ms | HTTP errors | GraphQL errors |")
print("|---|---|---|---|---|---|")
for q in ["sessions4bots", "metrics30d"]:
    d = json.load(open(f"{out}/exec-{q}.oha.json"))
    s = d["summary"]; p = d["latencyPercentiles"]
    codes = d.get("statusCodeDistribution", {})
    http_err = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(d.get("errorDistribution", {}).values())
    gql = open(f"{out}/exec-{q}.graphql_errors").read().strip()
    print(f"| executed from source cache: {q} | {s['requestsPerSec']:.0f} | {p['p50']*1000:.2f} | {p['p99']*1000:.2f} | {http_err} | {gql} |")
print(f"\npeak RSS (VmHWM) of the gateway (botscope serve, 64 MiB source cache) after phase 2: {int(open(f'{out}/exec.rss_kb').read())/1024:.0f} MiB")
call = float(open(f"{out}/one_upstream_call.ms").read())
print(f"\none bare upstream call (Kore simulator alone, {lat:.0f} ms latency, median of 7): {call:.1f} ms")
for q in ["cold_one_window", "cold_kore_metrics30d"]:
    runs = sorted(float(x) * 1000 for x in open(f"{out}/{q}.seconds").read().split())
    t = runs[len(runs) // 2]
    w = float(open(f"{out}/{q}.warm_process.seconds").read()) * 1000
    ans = json.load(open(f"{out}/{q}.answer.json"))
    print(f"\ncold {q}, fresh process: median {t:.0f} ms of {['%.0f' % r for r in runs]} with {lat:.0f} ms upstream latency ({t/lat:.1f} x one call)")
    print(f"cold {q}, cold cache in a warmed process: {w:.0f} ms ({w/lat:.1f} x one call); errors: {'errors' in ans}")
    print(f"cold {q} vs one measured upstream call: fresh {t - call:+.1f} ms ({t/call:.2f} x), warmed {w - call:+.1f} ms ({w/call:.2f} x)")
PY
log "results in $OUT"
