#!/usr/bin/env bash
# Instructions per cache hit: `dcdn node` under valgrind's callgrind, instrumentation switched on
# only while one keep-alive client asks for a stored 1 KiB object N times. Unlike requests/s on a
# shared two-core machine, an instruction count repeats to within a percent or two, so it tells
# whether a change made the hit path cheaper or dearer. With BENCH_DCDN_BASELINE=/path/to/dcdn the
# same is measured for that binary in the same run (another commit's release build), and the ratio
# is printed.
# Usage: scripts/bench/instructions.sh [REQUESTS]    (default 2000)
#        BENCH_SMOKE=1 scripts/bench/instructions.sh   (100 requests, the debug build: see lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
requests=${1:-$([ "$smoke" = 1 ] && echo 100 || echo 2000)}
command -v valgrind >/dev/null || bench_fail "valgrind is needed (apt-get install valgrind)"
bench_start instructions

bench_nginx_origin 1k.bin:1024
export DCDN_PRIVATE_ORIGINS=127.0.0.0/8 DCDN_ALLOW_PRIVATE_ORIGINS=true  # loopback origins, for this and older builds
bench_coordinator
curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d "{\"domain\":\"bench.example\",\"origin_ip\":\"127.0.0.1:$origin_port\",\"ssl_mode\":\"off\"}" >/dev/null

# measure NAME BINARY: sets $instructions to the instructions per hit of BINARY's edge.
measure() {
  local name=$1 binary=$2 node edge_port pid out
  node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d "{\"name\":\"bench-$name\",\"roles\":[\"edge\"],\"region\":\"local\",\"country\":\"DE\",\"ipv4\":\"127.0.0.1\"}" | json_field token)
  edge_port=$(port)
  out="$work/callgrind.$name"
  DCDN_EDGE_FLOOD_CLIENT_RPS=100000000 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out.%p" \
    "$binary" node --coordinator-url "http://127.0.0.1:$api_port" --node-token "$node" --host 127.0.0.1 --http-port "$edge_port" \
    --https-port "$(port)" --data-dir "$work/edge-$name" --log-level warning 2>"$work/valgrind-$name.log" &
  pid=$!
  pids+=($pid)
  until curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin"; do bench_tick; done
  # Counted only when the object is a hit (the fast path), as in the throughput benchmark.
  curl -sf -D - -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin" | grep -qi '^cache-status:.*hit' ||
    bench_fail "$name does not answer /1k.bin from its cache"
  python3 - "$edge_port" 200 <<'PY'
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    connection.request("GET", "/1k.bin", headers={"Host": "bench.example"})
    connection.getresponse().read()
PY
  callgrind_control -i on "$pid" >/dev/null
  python3 - "$edge_port" "$requests" <<'PY'
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    connection.request("GET", "/1k.bin", headers={"Host": "bench.example"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or len(body) != 1024 or "hit" not in response.getheader("Cache-Status", ""):
        sys.exit(f"not a 1 KiB hit: {response.status} {response.getheader('Cache-Status')}")
PY
  callgrind_control -i off "$pid" >/dev/null
  callgrind_control -d "$pid" >/dev/null
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # The dump's "summary:"/"totals:" line is the instruction count (Ir) while instrumented.
  # Each dump's "summary:" (or "totals:") line is its instruction count (Ir); only the dump taken
  # while instrumented counts anything.
  local total
  total=$(awk 'FNR == 1 { counted = 0 } !counted && /^(summary|totals):/ { sum += $2; counted = 1 } END { print sum + 0 }' "$out".*)
  [ "$total" -gt 0 ] || bench_fail "callgrind counted nothing for $name"
  instructions=$((total / requests))
}

measure current "$dcdn"
current=$instructions
echo "instructions per 1 KiB hit (HTTP/1.1, keep-alive): $current"
if [ -n "${BENCH_DCDN_BASELINE:-}" ]; then
  measure baseline "$BENCH_DCDN_BASELINE"
  baseline=$instructions
  echo "baseline ($BENCH_DCDN_BASELINE): $baseline"
  python3 -c "print(f'current/baseline: {$current / $baseline:.3f}x instructions per hit')"
fi
