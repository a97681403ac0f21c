#!/usr/bin/env bash
# Memory benchmark: what idle connections cost `dcdn node` beside one nginx worker, in the same run.
# For HTTP/1.1, TLS (HTTP/1.1 over TLS 1.3) and cleartext HTTP/2, opens 5,000 and then 19,000
# connections (from 127.0.0.2, .3, … at 200 each; 19,000 because this container allows each
# process 20,000 file descriptors), sends one cached request on each (every one must be a 200
# with its whole body) and leaves them idle; prints the resident memory each server grew by per
# connection, and the ratio (nginx starts afresh for each mode, since its pools keep what one mode
# freed for the next). After each mode's largest batch closes it waits a minute and prints how far
# the node's RSS came back towards where it started. Last, the peak RSS of the node under the miss-heavy mix.
# Usage: scripts/bench/memory.sh            (release build, about 10 minutes)
#        BENCH_SMOKE=1 scripts/bench/memory.sh   (200 connections, 2 s settle, the debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
if [ "$smoke" = 1 ]; then counts=(200); settle=2; seconds=1; else counts=(5000 19000); settle=60; seconds=10; fi
# MEMORY_COUNTS="5000" MEMORY_SETTLE=20: a shorter run while investigating.
read -r -a counts <<<"${MEMORY_COUNTS:-${counts[*]}}"
settle=${MEMORY_SETTLE:-$settle}
bench_start memory
python=Tests/e2e/.venv/bin/python
[ -x "$python" ] || bench_fail "the e2e virtualenv is missing (make test creates it; it has the h2 client)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench.example" \
  -addext "subjectAltName=DNS:bench.example" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
bench_nginx_origin 1k.bin:1024 miss.bin:4096

# The peer: one nginx worker caching the origin, on plain, TLS and cleartext HTTP/2 ports, keeping
# idle connections as long as the edge does.
mkdir -p "$work/nginx-cache"
bench_start_nginx_peer() {
  cat > "$work/nginx-peer.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/nginx-peer.pid;
error_log $work/peer-error.log;
events { worker_connections 19900; }
http {
  access_log off;
  keepalive_timeout 3600s;
  keepalive_requests 100000000;
  proxy_cache_path $work/nginx-cache keys_zone=edge:16m;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 16; }
  server {
    listen 127.0.0.1:$nginx_plain;
    listen 127.0.0.1:$nginx_tls ssl;
    listen 127.0.0.1:$nginx_h2 http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.3;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$host; proxy_cache edge; }
  }
}
EOF
  nginx -c "$work/nginx-peer.conf" >>"$bench_log" 2>&1
}
bench_listen "nginx_plain nginx_tls nginx_h2" bench_start_nginx_peer

# A fresh worker for each mode: nginx's pools keep what one mode freed for the next.
restart_nginx() {
  local old
  old=$(cat "$work/nginx-peer.pid")
  kill "$old"
  while kill -0 "$old" 2>/dev/null; do sleep 0.1; done
  nginx -c "$work/nginx-peer.conf"
  find_nginx_worker
}
find_nginx_worker() {
  until [ -s "$work/nginx-peer.pid" ] && pgrep -P "$(cat "$work/nginx-peer.pid")" >/dev/null; do bench_tick; done
  nginx_worker=$(pgrep -P "$(cat "$work/nginx-peer.pid")" | head -n 1)
  curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$nginx_plain/1k.bin"
}
find_nginx_worker

# dcdn: a coordinator, the domain with the same certificate, and an edge node.
export DCDN_PRIVATE_ORIGINS=127.0.0.0/8 DCDN_EDGE_FLOOD_CLIENT_RPS=100000000
bench_coordinator
node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d '{"name":"bench-edge","roles":["edge"],"region":"local","country":"DE","ipv4":"127.0.0.1"}' | json_field token)
curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d "{\"domain\":\"bench.example\",\"origin_ip\":\"127.0.0.1:$origin_port\",\"ssl_mode\":\"flexible\"}" >/dev/null
$dcdn admin import-certificate --domain bench.example --chain "$work/cert.pem" --key "$work/key.pem" --data-dir "$work/coordinator" --log-level warning
bench_edge "$work/edge"
until curl -sf -o /dev/null --cacert "$work/cert.pem" --resolve "bench.example:$edge_tls_port:127.0.0.1" "https://bench.example:$edge_tls_port/1k.bin"; do bench_tick; done
curl -sf -o /dev/null -H 'Host: bench.example' "http://127.0.0.1:$edge_port/1k.bin"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# idle PID PORT COUNT MODE → "kB-per-connection": opens the connections, measures, closes them.
idle() {
  local pid=$1 port=$2 count=$3 mode=$4 before after fifo="$work/idle.fifo" out="$work/idle.out"
  rm -f "$fifo"
  mkfifo "$fifo"
  : >"$out"
  before=$(rss_kb "$pid")
  "$python" scripts/bench/memory/idle.py 127.0.0.1 "$port" "$count" "$mode" bench.example /1k.bin <"$fifo" >"$out" &
  local client=$!
  exec 7>"$fifo"
  until grep -q '^open' "$out"; do
    kill -0 "$client" 2>/dev/null || bench_fail "opening $count $mode connections to port $port failed"
    sleep 0.5
  done
  sleep 2
  after=$(rss_kb "$pid")
  echo >&7
  exec 7>&-
  wait "$client" || bench_fail "the idle client for port $port failed"
  python3 -c "print(f'{max($after - $before, 0) * 1024 / $count / 1024:.2f}')"
}

start_rss=$(rss_kb "$edge_pid")
printf '\n%-6s %6s %16s %16s %7s\n' mode count "dcdn KB/conn" "nginx KB/conn" ratio
declare -A after_burst
for mode in http1 tls h2; do
  [ "$mode" = http1 ] || restart_nginx
  case $mode in
    http1) ports=("$edge_port" "$nginx_plain") ;;
    tls) ports=("$edge_tls_port" "$nginx_tls") ;;
    h2) ports=("$edge_port" "$nginx_h2") ;;
  esac
  for count in "${counts[@]}"; do
    d=$(idle "$edge_pid" "${ports[0]}" "$count" "$mode")
    n=$(idle "$nginx_worker" "${ports[1]}" "$count" "$mode")
    printf '%-6s %6s %16s %16s %7s\n' "$mode" "$count" "$d" "$n" "$(python3 -c "print(f'{$d / max($n, 0.01):.1f}x')")"
  done
  # A minute after the largest batch closed: how close is RSS to where it started?
  sleep "$settle"
  after_burst[$mode]=$(rss_kb "$edge_pid")
done
echo
for mode in http1 tls h2; do
  python3 -c "print(f'dcdn RSS {$settle} s after the $mode burst: {${after_burst[$mode]} / 1024:.1f} MiB, start {$start_rss / 1024:.1f} MiB ({(${after_burst[$mode]} - $start_rss) * 100 / $start_rss:+.0f} %)')"
done

# Peak RSS under the miss-heavy mix (90 % new URLs).
cat > "$work/miss.lua" <<'EOF'
counter = 0
request = function()
  counter = counter + 1
  if counter % 10 == 0 then return wrk.format("GET", "/miss.bin?hot") end
  return wrk.format("GET", "/miss.bin?n=" .. math.random(1, 2000000000) .. "-" .. counter)
end
EOF
# The high-water mark so far holds the idle bursts: start it afresh (clear_refs 5, where the kernel allows).
echo 5 >"/proc/$edge_pid/clear_refs" 2>/dev/null || echo "(the peak below includes the idle bursts: clear_refs is not available)"
bench_wrk -t2 -c64 -d"${seconds}s" -s "$work/miss.lua" -H 'Host: bench.example' "http://127.0.0.1:$edge_port/" >/dev/null
echo "dcdn node peak RSS (VmHWM) after the miss-heavy mix: $(($(awk '/^VmHWM/ {print $2}' "/proc/$edge_pid/status") / 1024)) MiB"
