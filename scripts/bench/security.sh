#!/usr/bin/env bash
# Security benchmark: 1 KiB cache hits through one `dcdn node` with every protection on (managed
# WAF at "high", sanctions and GeoIP, 200-entry IP lists, a country block list, custom rules, a
# rate limit, the flood defence, the Slowloris guard and connection cap) and then with
# edge.security=off (DCDN_EDGE_SECURITY=off), each against the same nginx origin; nginx proxy_cache runs the same load as
# the reference peer. Then GeoIP lookups per second (`dcdn geoip --bench`).
# Usage: scripts/bench/security.sh [SECONDS] [CONNECTIONS]    (defaults 10 s, 64 connections)
#        BENCH_SMOKE=1 scripts/bench/security.sh   (1 s, 4 connections, the debug build: see lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
seconds=${1:-$([ "$smoke" = 1 ] && echo 1 || echo 10)}
connections=${2:-$([ "$smoke" = 1 ] && echo 4 || echo 64)}
bench_start security

bench_nginx_origin 1k.bin:1024
bench_nginx_cache

export DCDN_PRIVATE_ORIGINS=127.0.0.0/8  # the origins these benchmarks run are on loopback
bench_coordinator
node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d '{"name":"bench-edge","roles":["edge"],"region":"local","country":"DE","ipv4":"127.0.0.1"}' | json_field token)
domain=$(curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d "{\"domain\":\"bench.example\",\"origin_ip\":\"127.0.0.1:$origin_port\",\"ssl_mode\":\"off\"}" | json_field id)
# Everything a busy customer would switch on, none of it matching the benchmark's requests.
blocked=$(python3 -c 'import json; print(json.dumps([f"198.51.{i // 250}.{i % 250}" for i in range(200)]))')
curl -sf -X PATCH "$api/cdn/domains/$domain/security" "${auth[@]}" -d "{\"waf_sensitivity\":\"high\",\"ip_block\":$blocked,\"ip_allow\":[\"203.0.113.0/24\"],\"country_block\":[\"AQ\",\"BV\"]}" >/dev/null
for rule in '{"field":"path","operator":"starts_with","value":"/admin","action":"block"}' \
            '{"field":"user_agent","operator":"contains","value":"badbot","action":"challenge"}' \
            '{"field":"header:x-debug","operator":"equals","value":"1","action":"log"}'; do
  curl -sf -X POST "$api/cdn/domains/$domain/security/firewall-rules" "${auth[@]}" -d "$rule" >/dev/null
done
curl -sf -X POST "$api/cdn/domains/$domain/security/rate-limits" "${auth[@]}" -d '{"path":"/api/*","requests":100,"period":10}' >/dev/null

edge() { # security on|off: starts the edge, sets $edge_port and $edge_pid
  # wrk is one address: the flood threshold sits above what it sends, so the checks run but never fire.
  DCDN_EDGE_SECURITY=$1 DCDN_EDGE_FLOOD_CLIENT_RPS=100000000 bench_edge "$work/edge-$1"
  until curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin"; do bench_tick; done
  # The firewall is in force (or not): a WAF payload answers 403 only when on.
  local waf
  waf=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin?q=%3Cscript%3E")
  echo "edge security $1: WAF payload answers $waf"
  if { [ "$1" = on ] && [ "$waf" != 403 ]; } || { [ "$1" = off ] && [ "$waf" != 200 ]; }; then
    bench_fail "edge security $1 answered a WAF payload $waf"
  fi
}

declare -A rps p99
run() { # name port
  curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$2/1k.bin" || true
  local output
  output=$(bench_wrk -t2 -c"$connections" -d"${seconds}s" -H 'Host: bench.example' -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0' "http://127.0.0.1:$2/1k.bin")
  rps[$1]=$(awk '/Requests\/sec/ {print $2}' <<<"$output")
  p99[$1]=$(awk '$1 == "99%" {print $2}' <<<"$output")
}
edge on; run on "$edge_port"; kill "$edge_pid"
edge off; run off "$edge_port"; kill "$edge_pid"
# What every domain gets without customer settings: sanctions, GeoIP, the WAF at medium, the flood
# defence and the connection guard.
curl -sf -X PATCH "$api/cdn/domains/$domain/security" "${auth[@]}" -d '{"waf_sensitivity":"medium","ip_block":[],"ip_allow":[],"country_block":[]}' >/dev/null
settings=$(curl -sf "$api/cdn/domains/$domain/security" "${auth[@]}")
for id in $(python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(r["id"] for r in d["firewall_rules"]))' <<<"$settings"); do
  curl -sf -X DELETE "$api/cdn/domains/$domain/security/firewall-rules/$id" "${auth[@]}" >/dev/null
done
for id in $(python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(r["id"] for r in d["rate_limits"]))' <<<"$settings"); do
  curl -sf -X DELETE "$api/cdn/domains/$domain/security/rate-limits/$id" "${auth[@]}" >/dev/null
done
edge on; run defaults "$edge_port"; kill "$edge_pid"
run nginx "$nginx_port"

printf '\n%-34s %12s %10s\n' "1 KiB cache hits" "requests/s" "p99"
printf '%-34s %12s %10s\n' "dcdn, everything on" "${rps[on]}" "${p99[on]}"
printf '%-34s %12s %10s\n' "dcdn, on with default settings" "${rps[defaults]}" "${p99[defaults]}"
printf '%-34s %12s %10s\n' "dcdn, protections off" "${rps[off]}" "${p99[off]}"
printf '%-34s %12s %10s\n' "nginx proxy_cache" "${rps[nginx]}" "${p99[nginx]}"
python3 - "${rps[on]}" "${rps[defaults]}" "${rps[off]}" "${rps[nginx]}" <<'PY'
import sys
on, defaults, off, nginx = map(float, sys.argv[1:])
print(f"everything on / off: {on / off:.3f}x ({(1 - on / off) * 100:+.1f} % lower; target < 10 %)")
print(f"default settings / off: {defaults / off:.3f}x ({(1 - defaults / off) * 100:+.1f} % lower)")
print(f"everything on / nginx: {on / nginx:.2f}x")
PY
echo
$dcdn geoip --bench "$([ "$smoke" = 1 ] && echo 100000 || echo 20000000)" 8.8.8.8 2001:4860:4860::8888
