#!/usr/bin/env bash
# TLS benchmark: `dcdn node` and nginx terminating TLS with the same certificate (ECDSA P-256,
# imported into DCDN with `dcdn admin import-certificate`), side by side on this machine:
# full handshakes per second (openssl s_time -new, two clients in parallel, TLS 1.3) and HTTPS
# requests per second for a cached 1 KiB object (wrk over kept-alive connections), and the same
# over HTTP/2 (h2load, 32 connections × 10 streams, ALPN h2). Prints the ratios.
# Usage: scripts/bench/tls.sh [SECONDS] [CONNECTIONS]   (defaults 8 s, 64 connections)
#        BENCH_SMOKE=1 scripts/bench/tls.sh   (1 s, 4 connections, the debug build: see lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
seconds=${1:-$([ "$smoke" = 1 ] && echo 1 || echo 8)}
connections=${2:-$([ "$smoke" = 1 ] && echo 4 || echo 64)}
bench_start tls

# The certificate both servers present.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench.example" \
  -addext "subjectAltName=DNS:bench.example" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# The origin, and nginx caching it over TLS.
bench_nginx_origin 1k.bin:1024
mkdir -p "$work/nginx-cache"
start_nginx_tls() {
  cat > "$work/nginx-tls.conf" <<EOC
worker_processes auto;
pid $work/nginx-tls.pid;
error_log $work/tls-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path $work/nginx-cache keys_zone=edge:16m;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:TLS:10m;
    keepalive_requests 100000000;  # HTTP/2 connections are never closed mid-run
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$host; proxy_cache edge; }
  }
}
EOC
  nginx -c "$work/nginx-tls.conf" >>"$bench_log" 2>&1
}
bench_listen nginx_port start_nginx_tls

# dcdn: a coordinator, the domain with the imported certificate, and an edge node.
export DCDN_PRIVATE_ORIGINS=127.0.0.0/8  # the origins these benchmarks run are on loopback
bench_coordinator
node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d '{"name":"bench-edge","roles":["edge"],"region":"local","country":"DE","ipv4":"127.0.0.1"}' | json_field token)
curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d "{\"domain\":\"bench.example\",\"origin_ip\":\"127.0.0.1:$origin_port\",\"ssl_mode\":\"flexible\"}" >/dev/null
$dcdn admin import-certificate --domain bench.example --chain "$work/cert.pem" --key "$work/key.pem" --data-dir "$work/coordinator" --log-level warning
DCDN_EDGE_FLOOD_CLIENT_RPS=100000000 bench_edge "$work/edge"
until curl -sf -o /dev/null --cacert "$work/cert.pem" --resolve "bench.example:$edge_tls_port:127.0.0.1" "https://bench.example:$edge_tls_port/1k.bin"; do bench_tick; done
curl -sf -o /dev/null --cacert "$work/cert.pem" --resolve "bench.example:$nginx_port:127.0.0.1" "https://bench.example:$nginx_port/1k.bin"

handshakes() { # port → full handshakes per second, two s_time clients in parallel
  local port=$1 clients=()
  for i in 1 2; do
    openssl s_time -connect "127.0.0.1:$port" -new -time "$seconds" >"$work/s_time.$i" 2>/dev/null &
    clients+=($!)
  done
  wait "${clients[@]}" || true
  local rate
  rate=$(cat "$work/s_time.1" "$work/s_time.2" | awk -v s="$seconds" '/connections in .* real seconds/ { n += $1 } END { printf "%.0f", n / s }')
  [ "$rate" -gt 0 ] || bench_fail "no TLS handshake completed on port $port"
  echo "$rate"
}
requests() { # port → HTTPS requests/s and p99 for the cached 1 KiB object
  local output
  output=$(bench_wrk -t2 -c"$connections" -d"${seconds}s" -H 'Host: bench.example' "https://127.0.0.1:$1/1k.bin")
  awk '/Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 } END { print r, p }' <<<"$output"
}

dcdn_hs=$(handshakes "$edge_tls_port")
nginx_hs=$(handshakes "$nginx_port")
read -r dcdn_rps dcdn_p99 < <(requests "$edge_tls_port")
read -r nginx_rps nginx_p99 < <(requests "$nginx_port")
h2_requests() { # port → HTTP/2-over-TLS requests/s and mean ms for the cached 1 KiB object (ALPN h2)
  local output streams clients
  streams=$([ "$smoke" = 1 ] && echo 2 || echo 10)
  clients=$([ "$smoke" = 1 ] && echo 2 || echo 32)
  output=$(bench_h2load -t2 -c"$clients" -m"$streams" -D"$seconds" --warm-up-time=1 -H ':authority: bench.example' "https://127.0.0.1:$1/1k.bin")
  grep -q 'Application protocol: h2' <<<"$output" || bench_fail "port $1 did not negotiate h2"
  echo "$(h2load_rps <<<"$output") $(h2load_mean_ms <<<"$output")"
}
read -r dcdn_h2 dcdn_h2_mean < <(h2_requests "$edge_tls_port")
read -r nginx_h2 nginx_h2_mean < <(h2_requests "$nginx_port")
python3 - "$dcdn_hs" "$nginx_hs" "$dcdn_rps" "$nginx_rps" "$dcdn_p99" "$nginx_p99" "$dcdn_h2" "$nginx_h2" "$dcdn_h2_mean" "$nginx_h2_mean" <<'PY'
import sys
dh, nh, dr, nr, dp, np_, d2, n2, d2m, n2m = sys.argv[1:]
print(f"\nfull TLS handshakes/s (2 clients): dcdn {float(dh):.0f}  nginx {float(nh):.0f}  ratio {float(dh)/float(nh):.2f}x")
print(f"HTTPS 1 KiB cache hits: dcdn {float(dr):.0f} req/s (p99 {dp})  nginx {float(nr):.0f} req/s (p99 {np_})  ratio {float(dr)/float(nr):.2f}x")
print(f"HTTP/2 over TLS, 1 KiB hits: dcdn {float(d2):.0f} req/s (mean {d2m} ms)  nginx {float(n2):.0f} req/s (mean {n2m} ms)  ratio {float(d2)/float(n2):.2f}x;"
      f"  dcdn HTTP/2 / dcdn HTTP/1.1 {float(d2)/float(dr):.2f}x")
PY
