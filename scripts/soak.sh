#!/usr/bin/env bash
# Bounded loopback soak: `botscope demo` with simulator faults on, 60 s at
# concurrency 64 (oha if installed, else a Python asyncio client), RSS sampled
# every 5 s. Passes when botscope answers no 5xx and RSS stays within 10 % of
# the first sample after warm-up. GraphQL outcomes (ok / partial / error) are
# reported from /metrics. SOAK_ARGS adds demo flags (e.g. --no-response-cache).
# Stops everything it starts. Not run in CI.
set -euo pipefail
# The demo runs with the config defaults of `serve`, the per-client rate limit
# (600 a minute) included: a load generator is one client, so it is lifted here.
export BOTSCOPE__LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT="${BOTSCOPE__LIMITS__REQUESTS_PER_MINUTE_PER_CLIENT:-0}"
cd "$(dirname "$0")/.."
DURATION="${DURATION:-60}"
CONCURRENCY="${CONCURRENCY:-64}"
PORT="${PORT:-18080}"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/botscope}"
[ -x "$BIN" ] || cargo build --release --bin botscope
LOG="$(mktemp)"
"$BIN" demo --listen "127.0.0.1:$PORT" --days 7 --sessions-per-day 200 \
  --fault-throttle-rate 0.2 --fault-error-rate 0.05 ${SOAK_ARGS:-} >"$LOG" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -f "$LOG" "${BODY:-}"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -d '{"query":"{ bots { id } }"}' 2>/dev/null | grep -q 200 && break
  sleep 0.3
done
END="$(date -u +%Y-%m-%dT%H:00:00Z)"
START="$(date -u -d '-3 days' +%Y-%m-%dT%H:00:00Z)"
BODY="$(mktemp)"
cat >"$BODY" <<JSON
{"query":"query(\$r: TimeRange!) { sessions(range: \$r, first: 20) { nodes { id } } sessionMetrics(range: \$r, binBy: ONE_DAY, metrics: [{name: COUNT, statistic: SUM}]) { binStart values { value } } }","variables":{"r":{"start":"$START","end":"$END"}}}
JSON
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
# GraphQL outcomes (ok / partial / error) from botscope's own /metrics: a 200 can
# still carry errors (a throttled vendor past its retries); reported, not judged.
outcomes() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^botscope_graphql_requests_total/ {match($0, /outcome="[a-z]+"/); o=substr($0, RSTART+9, RLENGTH-10); n[o]+=$NF} END {for (o in n) printf "%s=%d ", o, n[o]}'; }
sleep 2
curl -s "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' --data @"$BODY" >/dev/null
( for _ in $(seq 1 $((DURATION / 5))); do sleep 5; echo "rss_kb $(rss)"; done ) > rss.samples &
SAMPLER=$!
if command -v oha >/dev/null; then
  oha -z "${DURATION}s" -c "$CONCURRENCY" --no-tui -m POST -H 'content-type: application/json' -D "$BODY" \
    "http://127.0.0.1:$PORT/graphql" | tee soak.out
  FIVEXX=$( (grep -E '^\s*\[5[0-9][0-9]\]' soak.out || true) | awk '{s+=$2} END {print s+0}')
else
  python3 - "$PORT" "$BODY" "$DURATION" "$CONCURRENCY" <<'PY' | tee soak.out
import asyncio, sys, time, collections
port, body, duration, conc = sys.argv[1], open(sys.argv[2], 'rb').read(), float(sys.argv[3]), int(sys.argv[4])
statuses = collections.Counter()
async def worker(deadline):
    while time.monotonic() < deadline:
        r, w = await asyncio.open_connection('127.0.0.1', int(port))
        while time.monotonic() < deadline:
            w.write(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
            await w.drain()
            status = int((await r.readline()).split()[1]); length = 0
            while (line := await r.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"): length = int(line.split(b":")[1])
            await r.readexactly(length); statuses[status] += 1
        w.close()
async def main():
    deadline = time.monotonic() + duration
    await asyncio.gather(*(worker(deadline) for _ in range(conc)))
asyncio.run(main())
total = sum(statuses.values())
print(f"requests {total} rps {total/duration:.0f} statuses {dict(statuses)}")
print(f"fivexx {sum(v for k, v in statuses.items() if k >= 500)}")
PY
  FIVEXX=$(awk '/^fivexx/ {print $2}' soak.out)
fi
wait "$SAMPLER"
echo "GraphQL outcomes over the run (cumulative): $(outcomes)"
cat rss.samples
FIRST=$(awk 'NR==2 {print $2}' rss.samples); MAX=$(awk 'NR>=2 {if ($2>m) m=$2} END {print m}' rss.samples)
GROWTH=$(awk -v f="$FIRST" -v m="$MAX" 'BEGIN {printf "%.1f", (m-f)*100/f}')
echo "5xx from botscope: $FIVEXX; RSS first(after warm-up) ${FIRST} kB, max ${MAX} kB, growth ${GROWTH} %"
rm -f rss.samples soak.out
[ "$FIVEXX" = "0" ] && awk -v g="$GROWTH" 'BEGIN {exit !(g <= 10)}' && echo "soak: PASS" || { echo "soak: FAIL"; exit 1; }
