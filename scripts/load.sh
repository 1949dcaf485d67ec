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
#      sessionMetrics 30 days x ONE_HOUR x END_STATE over 4 bots, and intentMetrics 30 days x
#      ONE_HOUR x INTENT_NAME over 4 bots (≈ 2.7 MB). Peak RSS read.
#   3. cold queries against simulators with $COLD_LATENCY_MS latency: a one-window
#      query and 30-day Kore metrics, each as the first query of a fresh process
#      (median of 3) and as a cold-cache query in a process warmed by another bot.
#   4. three replicas sharing one redis-server (`[redis]`, README "Several replicas"):
#      the latency an L2 hit adds over an L1 hit (distinct `sessions(first: 100)` questions
#      over 4 bots, response cache off: answered by the replica that fetched them, then by
#      another whose L1 is cold), and the vendor calls of one cold workload (12
#      questions, each sent 3 times at once) with 1 replica, with 3 sharing Redis, and
#      with 3 without `[redis]`, counted by the simulators.
#   PHASES="4" scripts/load.sh runs phase 4 alone (default: PHASES="1 2 3 4").
# A 200 whose body carries GraphQL `errors` counts as an error: phases 2-3 read
# botscope's own /metrics (graphql requests by outcome) before and after each load.
# Everything binds 127.0.0.1; every process started here is stopped by PID.
set -euo pipefail
# The demo runs with the config defaults of `serve`, the per-client rate limit
# (600 a minute) included: a load generator is one client, so it is lifted here.
export BOTSCOPE__LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT="${BOTSCOPE__LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT:-0}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_SRC=${PEERS_SRC:-$ROOT/../shared/peers}
WORK=${WORK:-$ROOT/target/load}
PORT=${PORT:-4100}
CONC=${CONC:-32}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
SIM_LATENCY_MS=${SIM_LATENCY_MS:-0}
COLD_LATENCY_MS=${COLD_LATENCY_MS:-50}
PHASES=${PHASES:-1 2 3 4}
REDIS_PORT=${REDIS_PORT:-6390}
RUN_ID=${RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
OUT="$WORK/results/$RUN_ID"
# BIN=/path/to/botscope runs the phases against that binary (an A/B of two
# revisions with one harness) and skips the build.
BIN=${BIN:-}
URL="http://127.0.0.1:$PORT/graphql"
PIDS=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

mkdir -p "$OUT"
if [ -z "$BIN" ]; then
  log "building botscope (release)"
  (cd "$ROOT" && cargo build --release -q)
  BIN="$ROOT/target/release/botscope"
fi

if [ ! -d "$WORK/peers" ]; then
  cp -r "$PEERS_SRC" "$WORK/peers"
  chmod -R u+w "$WORK/peers"
fi
if [[ " $PHASES " == *" 1 "* ]]; then
log "peer setup (idempotent)"
(cd "$WORK/peers" && bash setup.sh >"$OUT/peers-setup.log" 2>&1)
fi
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
  "intents30d": body("query I($r: TimeRange!) { intentMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: AVG}], binBy: ONE_HOUR, groupBy: [INTENT_NAME]) { bot { id } binStart groups { value } values { value } } }", {"r": month}),
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

if [[ " $PHASES " == *" 1 "* ]]; then
log "phase 1: peers/run.sh with botscope as the extra target"
(cd "$WORK/peers" && RUN_ID="$RUN_ID" CONC="$CONC" DURATION="$DURATION" WARMUP="$WARMUP" \
  EXTRA_URL="$URL" EXTRA_BODY="$OUT/kore100.json" EXTRA_NAME=botscope EXTRA_VERIFY=none \
  EXTRA_CMD="exec $BIN demo --listen 127.0.0.1:$PORT --sim-latency-ms $SIM_LATENCY_MS --cache-max-bytes 64MiB" \
  bash run.sh) 2>&1 | tee "$OUT/peers-run.log" >&2
cp "$WORK/peers/results/$RUN_ID/summary.md" "$OUT/peers-summary.md" 2>/dev/null || true
fi

KORE_SECRET="load-test-kore-secret-$RANDOM"
if [[ " $PHASES " == *" 2 "* && " $PHASES " == *" 3 "* ]]; then
log "phase 2: botscope serve executing from its source cache (response cache off)"
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
for q in sessions4bots metrics30d intents30d; do
  # Warm the source cache with a whole answer. The Kore bots' budget (60 calls a
  # minute, getSessions and getAnalytics together) is spent by the query before,
  # so a bot may answer UPSTREAM_UNAVAILABLE (not cached) until the minute turns.
  for _ in $(seq 1 8); do
    curl -s "$URL" -H 'content-type: application/json' -d @"$OUT/$q.json" >"$OUT/$q.answer.json"
    grep -q '"errors"' "$OUT/$q.answer.json" || break
    sleep 10
  done
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
for q in ["sessions4bots", "metrics30d", "intents30d"]:
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
fi

if [[ " $PHASES " == *" 4 "* ]]; then
log "phase 4: three replicas sharing redis-server on port $REDIS_PORT"
command -v redis-server >/dev/null || { echo "phase 4 needs redis-server (apt-get install redis-server)" >&2; exit 1; }
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --maxmemory 256mb --maxmemory-policy allkeys-lru >"$OUT/redis.log" 2>&1 & REDIS=$!; PIDS+=("$REDIS")
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# replica_config NAME PORT L1_BYTES WITH_REDIS
replica_config() {
  sed -e "s/^listen = .*/listen = \"127.0.0.1:$2\"/" -e "s/^max_bytes = .*/max_bytes = \"$3\"/" \
      -e "s/127.0.0.1:9101/127.0.0.1:9111/; s/127.0.0.1:9102/127.0.0.1:9112/" "$OUT/bench.toml.base" >"$OUT/$1.toml"
  if [ "$4" = yes ]; then
    printf '[redis]\nurl = "redis://127.0.0.1:%s/"\nexpected_replicas = 3\n' "$REDIS_PORT" >>"$OUT/$1.toml"
  fi
}
start_replica() { # NAME PORT L1_BYTES WITH_REDIS
  replica_config "$1" "$2" "$3" "$4"
  "$BIN" serve --config "$OUT/$1.toml" >"$OUT/$1-$(date +%s%N).log" 2>&1 & PIDS+=("$!"); eval "PID_$1=$!"
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return 0; sleep 0.25; done; return 1
}
stop_replicas() { for n in a b c; do v="PID_$n"; [ -n "${!v:-}" ] && { kill "${!v}" 2>/dev/null || true; wait "${!v}" 2>/dev/null || true; }; eval "PID_$n="; done; }
start_sims() {
  "$BIN" simulate lex --listen 127.0.0.1:9111 --latency-ms "$COLD_LATENCY_MS" >"$OUT/sim-lex-4.log" 2>&1 & SIM_LEX=$!; PIDS+=("$SIM_LEX")
  "$BIN" simulate kore --listen 127.0.0.1:9112 --client-secret "$KORE_SECRET" --latency-ms "$COLD_LATENCY_MS" >"$OUT/sim-kore-4.log" 2>&1 & SIM_KORE=$!; PIDS+=("$SIM_KORE")
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:9112/_sim/bots >/dev/null && curl -sf http://127.0.0.1:9111/_sim/bots >/dev/null && break; sleep 0.2; done
}
stop_sims() { kill "$SIM_LEX" "$SIM_KORE" 2>/dev/null || true; wait "$SIM_LEX" "$SIM_KORE" 2>/dev/null || true; }
cat >"$OUT/bench.toml.base" <<TOML
listen = "127.0.0.1:0"
cursor_secret = "load-test-cursor-secret-0123456789"
[cache]
max_bytes = "64MiB"
response_cache = false
[limits]
requests_per_minute_per_client = 100000000
[[bots]]
id = "support-lex"
name = "Customer Support (Lex)"
vendor = "lex_v2"
bot_id = "K7XQ2M9PLA"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:9101"
requests_per_second = 1000
[[bots]]
id = "billing-lex"
name = "Billing (Lex)"
vendor = "lex_v2"
bot_id = "B1LLNG0LX2"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:9101"
requests_per_second = 1000
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
# (a) L1 hit vs L2 hit, simulators without latency: replica a answers ${L2_QUESTIONS} distinct
#     questions (sessions(first: 100) over 4 bots, ranges a minute apart: 4 source-cache keys
#     each) and so fills Redis; then replica b, whose L1 is cold, asks each once (every source
#     question an L1 miss and an L2 hit), and a asks each again (L1 hits). One keep-alive
#     client, one request after another (Python, so phase 4 needs no oha).
L2_QUESTIONS=${L2_QUESTIONS:-300}
SIM_LAT_SAVED=$COLD_LATENCY_MS; COLD_LATENCY_MS=0
start_sims
COLD_LATENCY_MS=$SIM_LAT_SAVED
start_replica a $((PORT + 11)) 64MiB yes
start_replica b $((PORT + 12)) 64MiB yes
python3 - "$OUT" "$L2_QUESTIONS" $((PORT + 11)) $((PORT + 12)) <<'PY'
import concurrent.futures as cf, datetime as dt, http.client, json, sys, time
out, n, pa, pb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
q = "query S($r: TimeRange!) { sessions(range: $r, first: 100) { nodes { id bot { id } sessionId startTime durationSeconds endState turns } } }"
bodies = [json.dumps({"query": q, "variables": {"r": {"start": iso(today - dt.timedelta(days=7, minutes=-i)), "end": iso(today - dt.timedelta(days=1, minutes=-i))}}}).encode() for i in range(n)]
def client(port):
    c = http.client.HTTPConnection("127.0.0.1", port)
    def one(body):
        t = time.perf_counter()
        c.request("POST", "/graphql", body, {"content-type": "application/json"})
        r = c.getresponse(); data = r.read()
        return (time.perf_counter() - t) * 1000, r.status == 200 and b'"errors"' not in data
    return one
# Fill: replica a, 8 clients at once.
with cf.ThreadPoolExecutor(8) as ex:
    chunks = [bodies[k::8] for k in range(8)]
    fill_bad = sum(sum(not ok for _, ok in map(client(pa), c)) for c in ex.map(lambda c: c, chunks))
res = {}
for name, port in [("l2", pb), ("l1", pa)]:
    one = client(port)
    runs = [one(b) for b in bodies]
    t = sorted(ms for ms, _ in runs)
    res[name] = {"p50": t[n // 2], "p90": t[int(n * 0.9)], "p99": t[int(n * 0.99)], "mean": sum(t) / n, "bad": sum(not ok for _, ok in runs)}
res["fill_bad"] = fill_bad
res["n"] = n
json.dump(res, open(f"{out}/replicas-latency.json", "w"))
PY
curl -s "http://127.0.0.1:$((PORT + 12))/metrics" | grep '^botscope_l2_cache_requests_total' >"$OUT/replicas-l2.metrics" || true
stop_replicas; stop_sims
# (b) one cold workload, vendor calls counted by fresh simulators: 1 replica (every copy
#     to it), 3 replicas with Redis (one copy to each, at once), 3 replicas without.
for run in one:yes three:yes three:no; do
  n=${run%%:*}; with=${run##*:}
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  start_sims
  start_replica a $((PORT + 11)) 64MiB "$with"
  ports="$((PORT + 11))"
  if [ "$n" = three ]; then
    start_replica b $((PORT + 12)) 64MiB "$with"; start_replica c $((PORT + 13)) 64MiB "$with"
    ports="$((PORT + 11)) $((PORT + 12)) $((PORT + 13))"
  fi
  python3 - "$OUT" "$n-$with" $ports <<'PY'
import concurrent.futures as cf, datetime as dt, json, sys, time, urllib.request
out, name, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
qs = []
for k in range(4):  # 4 ranges x 3 questions = 12 cold questions over all four bots
    r = {"start": iso(today - dt.timedelta(days=7 * k + 2)), "end": iso(today - dt.timedelta(days=7 * k))}
    qs.append({"query": "query($r: TimeRange!) { sessions(range: $r, first: 50) { nodes { id } } }", "variables": {"r": r}})
    qs.append({"query": "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], binBy: ONE_DAY) { binStart values { value } } }", "variables": {"r": r}})
    qs.append({"query": "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: SUCCESS, statistic: AVG}], groupBy: [END_STATE]) { values { value } } }", "variables": {"r": r}})
def post(port, q):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps(q).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = json.loads(r.read())
    return r.status, "errors" in body
jobs = [(ports[i % len(ports)], q) for q in qs for i in range(3)]
t = time.perf_counter()
with cf.ThreadPoolExecutor(len(jobs)) as ex:
    res = list(ex.map(lambda j: post(*j), jobs))
secs = time.perf_counter() - t
def calls(port, key):
    s = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats").read())
    return s["totals"]["calls"] if key == "kore" else sum(r["calls"] for r in s["stats"])
json.dump({"requests": len(jobs), "non_200": sum(1 for s, _ in res if s != 200), "with_errors": sum(1 for _, e in res if e),
           "kore_calls": calls(9112, "kore"), "lex_calls": calls(9111, "lex"), "seconds": secs}, open(f"{out}/replicas-{name}.json", "w"))
PY
  stop_replicas; stop_sims
done
kill "$REDIS" 2>/dev/null || true
python3 - "$OUT" <<'PY' | tee "$OUT/replicas-summary.md"
import json, sys
out = sys.argv[1]
lat = json.load(open(f"{out}/replicas-latency.json"))
print(f"| {lat['n']} distinct sessions(first: 100) over 4 bots, one sequential client | p50 ms | p90 ms | p99 ms | mean ms | bad answers |")
print("|---|---|---|---|---|---|")
p50 = {}
for n, what in [("l1", "replica a: L1 hits (it fetched them)"), ("l2", "replica b: L1 misses, L2 hits (Redis)")]:
    d = lat[n]
    p50[n] = d["p50"]
    print(f"| {what} | {d['p50']:.2f} | {d['p90']:.2f} | {d['p99']:.2f} | {d['mean']:.2f} | {d['bad']} |")
print(f"\nL2 hit adds {p50['l2'] - p50['l1']:+.2f} ms at the median over an L1 hit (fill errors: {lat['fill_bad']})")
print("L2 lookups on replica b: " + " ".join(l.strip() for l in open(f"{out}/replicas-l2.metrics")))
print("\n| cold workload: 12 questions x 3 copies at once | Kore calls | Lex calls | seconds | non-200 | with errors |")
print("|---|---|---|---|---|---|")
for n, what in [("one-yes", "1 replica"), ("three-yes", "3 replicas, shared Redis"), ("three-no", "3 replicas, no [redis]")]:
    d = json.load(open(f"{out}/replicas-{n}.json"))
    print(f"| {what} | {d['kore_calls']} | {d['lex_calls']} | {d['seconds']:.1f} | {d['non_200']} | {d['with_errors']} |")
PY
fi
log "results in $OUT"
