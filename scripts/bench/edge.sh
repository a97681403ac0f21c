#!/usr/bin/env bash
# Edge benchmark: wrk against `dcdn node`, nginx proxy_cache and Varnish, each caching the same
# origin (nginx serving static files) on this machine, one after the other with the same load:
# hits of a 1 KiB and a 100 KiB object, and a miss-heavy mix (90% unique URLs, 10% one hot URL);
# then 1 KiB hits over cleartext HTTP/2 (h2load) against the edge and nginx.
# Prints requests/s, p99 latency, the ratios, and dcdn node's RSS under load.
# Usage: scripts/bench/edge.sh [SECONDS] [CONNECTIONS]    (defaults 10 s, 64 connections)
#        BENCH_SMOKE=1 scripts/bench/edge.sh   (1 s, 4 connections, the debug build: see lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
seconds=${1:-$([ "$smoke" = 1 ] && echo 1 || echo 10)}
connections=${2:-$([ "$smoke" = 1 ] && echo 4 || echo 64)}
bench_start edge
bench_extra_cleanup() { pkill -f "varnishd.*$work" 2>/dev/null || true; }

# 1. The origin: nginx serving static files, cacheable for an hour.
bench_nginx_origin 1k.bin:1024 100k.bin:102400 miss.bin:4096

# 2. nginx proxy_cache and Varnish in front of it, configured like the edge: a memory-backed
#    cache, collapsed forwarding (proxy_cache_lock / Varnish's default), keep-alive upstreams.
bench_nginx_cache

start_varnish() {
  cat > "$work/default.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$origin_port"; }
EOF
  varnishd -n "$work/varnish" -a "127.0.0.1:$varnish_port" -f "$work/default.vcl" -s malloc,256m -P "$work/varnish.pid" >>"$bench_log" 2>&1 || return 1
  pids+=("$(cat "$work/varnish.pid")")
}
bench_listen varnish_port start_varnish

# 3. dcdn: a coordinator and an edge node (its own process, so RSS is the edge's alone).
export DCDN_PRIVATE_ORIGINS=127.0.0.0/8  # the origins these benchmarks run are on loopback
bench_coordinator
node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d '{"name":"bench-edge","roles":["edge"],"region":"local","country":"DE","ipv4":"127.0.0.1"}' | json_field token)
curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d "{\"domain\":\"bench.example\",\"origin_ip\":\"127.0.0.1:$origin_port\",\"ssl_mode\":\"off\"}" >/dev/null
# wrk is one address: the flood threshold sits above what it sends, or the edge would measure its
# own challenge page after 100 requests/s.
DCDN_EDGE_FLOOD_CLIENT_RPS=100000000 bench_edge "$work/edge"
until curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin"; do bench_tick; done
# The hit scenarios measure cache hits: the edge must answer the object from its cache.
curl -sf -D - -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin" | grep -qi '^cache-status:.*hit' ||
  bench_fail "the edge does not answer /1k.bin from its cache"

# 4. The load. The miss mix asks for a new URL 90% of the time.
cat > "$work/miss.lua" <<'EOF'
counter = 0
request = function()
  counter = counter + 1
  if counter % 10 == 0 then return wrk.format("GET", "/miss.bin?hot") end
  return wrk.format("GET", "/miss.bin?n=" .. math.random(1, 2000000000) .. "-" .. counter)
end
EOF
declare -A rps p99
peak_rss=0
run() { # name port scenario
  local name=$1 target=$2 scenario=$3 url script=()
  case $scenario in
    hit-1k) url=/1k.bin ;;
    hit-100k) url=/100k.bin ;;
    miss-mix) url=/; script=(-s "$work/miss.lua") ;;
  esac
  curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$target/1k.bin" || true
  curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$target/100k.bin" || true
  local output
  output=$(bench_wrk -t2 -c"$connections" -d"${seconds}s" "${script[@]}" -H 'Host: bench.example' "http://127.0.0.1:$target$url")
  rps[$name,$scenario]=$(awk '/Requests\/sec/ {print $2}' <<<"$output")
  p99[$name,$scenario]=$(awk '$1 == "99%" {print $2}' <<<"$output")
  if [ "$name" = dcdn ]; then
    local rss
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$edge_pid/status")
    if [ "$rss" -gt "$peak_rss" ]; then peak_rss=$rss; fi
  fi
}
for scenario in hit-1k hit-100k miss-mix; do
  run dcdn "$edge_port" "$scenario"
  run nginx "$nginx_port" "$scenario"
  run varnish "$varnish_port" "$scenario"
done

# 5. HTTP/2 cache hits (cleartext, prior knowledge): h2load with 32 connections of 10 streams each
#    against the edge and against nginx's HTTP/2 listener, beside the HTTP/1.1 hit figures.
h2_streams=$([ "$smoke" = 1 ] && echo 2 || echo 10)
h2_connections=$([ "$smoke" = 1 ] && echo 2 || echo 32)
declare -A h2rps h2mean
run_h2() { # name port
  local output
  output=$(bench_h2load -t2 -c"$h2_connections" -m"$h2_streams" -D"$seconds" --warm-up-time=1 -H ':authority: bench.example' \
    "http://127.0.0.1:$2/1k.bin")
  h2rps[$1]=$(h2load_rps <<<"$output")
  h2mean[$1]=$(h2load_mean_ms <<<"$output")
}
run_h2 dcdn "$edge_port"
run_h2 nginx "$nginx_h2_port"

ms() { # wrk latency ("812.00us", "1.20ms", "2.01s") in milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
printf '\n%-9s %-8s %12s %10s %12s %10s\n' scenario server "requests/s" "p99 ms" "rps vs dcdn" ""
for scenario in hit-1k hit-100k miss-mix; do
  for name in dcdn nginx varnish; do
    printf '%-9s %-8s %12s %10s\n' "$scenario" "$name" "${rps[$name,$scenario]}" "$(ms "${p99[$name,$scenario]}")"
  done
  python3 - "${rps[dcdn,$scenario]}" "${rps[nginx,$scenario]}" "${rps[varnish,$scenario]}" "$(ms "${p99[dcdn,$scenario]}")" "$(ms "${p99[nginx,$scenario]}")" "$(ms "${p99[varnish,$scenario]}")" "$scenario" <<'PY'
import sys
d, n, v, dp, np_, vp, s = sys.argv[1:]
print(f"  {s}: dcdn/nginx {float(d)/float(n):.2f}x rps, p99 {float(dp)/float(np_):.2f}x;  dcdn/varnish {float(d)/float(v):.2f}x rps, p99 {float(dp)/float(vp):.2f}x")
PY
done
printf '%-9s %-8s %12s %10s\n' h2-hit-1k dcdn "${h2rps[dcdn]}" "${h2mean[dcdn]} mean"
printf '%-9s %-8s %12s %10s\n' h2-hit-1k nginx "${h2rps[nginx]}" "${h2mean[nginx]} mean"
python3 - "${h2rps[dcdn]}" "${h2rps[nginx]}" "${rps[dcdn,hit-1k]}" <<'PY'
import sys
h2, nginx_h2, h1 = map(float, sys.argv[1:])
print(f"  h2-hit-1k: dcdn/nginx {h2/nginx_h2:.2f}x rps over HTTP/2; dcdn HTTP/2 / dcdn HTTP/1.1 {h2/h1:.2f}x")
PY
echo "dcdn node peak RSS under load: $((peak_rss / 1024)) MiB (memory tier limit $(( ${DCDN_EDGE_CACHE_MEMORY_MB:-256} )) MiB)"
