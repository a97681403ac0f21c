# Shared set-up of the benchmarks (sourced): a release build, a work folder removed on exit with
# every process in `pids` (and nginx), servers on free ports, an nginx origin, a coordinator with
# an admin signed in, and edge nodes.
# bench_start NAME: builds, makes $work, sets $dcdn. bench_coordinator: starts one, sets $api,
# $api_port and the curl arguments $auth; extra environment comes from the caller's exports.
# bench_edge DIR: starts `dcdn node` with DIR as its data folder, sets $edge_port, $edge_tls_port
# and $edge_pid; environment as for the coordinator, or as assignments before the call.
#
# Ports: a probe socket bound, closed and its number passed on leaves the port to anyone in
# between. Each server is given candidate ports instead (bench_listen) and started again on others
# when it reports the address in use.
#
# BENCH_DCDN=/path/to/dcdn runs a given binary instead of building this checkout.
#
# Smoke mode (BENCH_SMOKE=1; `make test` runs every script so through scripts/bench/smoke.sh):
# the debug build, about a second per measurement and a tiny load. It proves the script still runs
# and measures what it means to (every response the intended one); it never judges a speed.
smoke=${BENCH_SMOKE:-0}

bench_fail() {
  echo "bench: $*" >&2
  exit 1
}

# bench_tick: inside a wait loop; gives up after about two minutes of waiting in all, so a server
# that never comes up fails the run instead of hanging it.
bench_ticks=0
bench_tick() {
  bench_ticks=$((bench_ticks + 1))
  [ "$bench_ticks" -lt 600 ] || bench_fail "gave up waiting for a server to come up"
  sleep 0.2
}

bench_start() {
  scripts/bootstrap.sh bench
  if ! command -v swift >/dev/null 2>&1; then export PATH=/opt/swift/usr/bin:$PATH; fi
  if [ -n "${BENCH_DCDN:-}" ]; then
    # A given binary (another commit's release build, to compare in one run): nothing is built.
    dcdn=$BENCH_DCDN
  elif [ "$smoke" = 1 ]; then
    [ -x .build/debug/dcdn ] || swift build --product dcdn
    dcdn=$PWD/.build/debug/dcdn
  else
    swift build -c release --product dcdn >/dev/null 2>&1 || swift build -c release --product dcdn
    dcdn=$PWD/.build/release/dcdn
  fi
  work=$(mktemp -d "/tmp/dcdn-bench-$1.XXXXXX")
  chmod 755 "$work"  # servers that drop privileges (varnishd) read their files
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # nginx daemonises: the benchmarks name its pid files nginx-*.pid.
  for file in "$work"/nginx-*.pid; do [ -f "$file" ] && kill "$(cat "$file")" 2>/dev/null || true; done
  if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}

# bench_wrk ARGS...: wrk --latency ARGS, its report on stdout. Fails when a response was not 2xx or
# 3xx (a challenge page, an error), a connection could not be made or timed out, or nothing was
# measured: a figure is only printed for the load that was meant.
bench_wrk() {
  local output
  output=$(wrk --latency "$@")
  if grep -q 'Non-2xx or 3xx responses' <<<"$output" || grep -Eq 'Socket errors: connect [1-9]|timeout [1-9]' <<<"$output" ||
    ! awk '/Requests\/sec/ { exit !($2 > 0) }' <<<"$output"; then
    echo "$output" >&2
    bench_fail "wrk $* did not get only the intended responses"
  fi
  echo "$output"
}

# bench_h2load ARGS...: h2load ARGS, its report on stdout. Fails unless every request finished
# with a 2xx status (no failed, errored or timed-out request, no other status) and some were made.
# (With --duration h2load may count one request in flight at the end as succeeded, not in a status.)
bench_h2load() {
  local output
  output=$(h2load "$@" 2>&1)
  if ! awk '/^requests:/ { done = $6; ok = $8; failed = $10; errored = $12; timeout = $14 }
            /^status codes:/ { twoxx = $3; other = $5 + $7 + $9 }
            END { exit !(ok > 0 && failed == 0 && errored == 0 && timeout == 0 && twoxx > 0 && other == 0 && done == ok) }' <<<"$output"; then
    echo "$output" >&2
    bench_fail "h2load $* did not get only the intended responses"
  fi
  echo "$output"
}

# h2load's requests per second ("finished in 10.00s, 78211.30 req/s, ...").
h2load_rps() { awk '/^finished in/ { gsub(",", "", $4); print $4 }'; }
# h2load's mean request time in milliseconds ("time for request: min max mean sd +/- sd").
h2load_mean_ms() {
  awk '/^time for request:/ { v = $6; n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}


# bench_listen "VAR..." START: sets each VAR to a candidate port and calls START, which starts the
# server on them with its output appended to "$bench_log", and returns non-zero when it did not
# come up. A start that failed with "Address already in use" is made again on other candidates;
# any other failure ends the benchmark. Candidates lie below Linux's ephemeral range (32768 and
# up), where the port-0 binds of every other program land.
bench_listen() {
  local vars=$1 start=$2 attempt var
  for attempt in $(seq 1 20); do
    for var in $vars; do printf -v "$var" '%s' "$((20000 + RANDOM % 12768))"; done
    bench_log="$work/$start-$attempt.log"
    : >"$bench_log"
    if "$start"; then return 0; fi
    grep -qi 'address already in use' "$bench_log" || { cat "$bench_log" >&2; bench_fail "$start did not start"; }
  done
  bench_fail "$start: no free port in 20 attempts"
}

# bench_up PID COMMAND...: waits until COMMAND succeeds; non-zero once the process PID has exited,
# or has said in "$bench_log" that its address is in use (a server may live on without it).
bench_up() {
  local pid=$1
  shift
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || grep -qi 'address already in use' "$bench_log"; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 1
    fi
    bench_tick
  done
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

bench_coordinator() {
  export DCDN_BCRYPT_COST=4 DCDN_RATE_LIMIT_API_BURST=100000 DCDN_RATE_LIMIT_API_RATE=100000
  # The delegation check asks a resolver about pending domains: keep it on loopback (nothing
  # answers on the discard port) and out of the way, so the benchmark sends nothing off the machine.
  export DCDN_DELEGATION_RESOLVER=127.0.0.1:9 DCDN_DELEGATION_CHECK_INTERVAL=86400
  $dcdn admin create-user --email bench@example.com --password "load test secret 7" --role admin --data-dir "$work/coordinator" --log-level warning >/dev/null
  bench_listen api_port bench_start_coordinator
  api="http://127.0.0.1:$api_port/api/v1"
  local token
  token=$(curl -sf -X POST "$api/auth/login" -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"load test secret 7"}' | json_field access_token)
  auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
}

bench_start_coordinator() {
  $dcdn coordinator --host 127.0.0.1 --api-port "$api_port" --data-dir "$work/coordinator" --log-level warning >>"$bench_log" 2>&1 &
  local pid=$!
  bench_up "$pid" curl -sf "http://127.0.0.1:$api_port/healthz" || return 1
  pids+=("$pid")
}

bench_edge() {
  bench_edge_dir=$1
  bench_listen "edge_port edge_tls_port" bench_start_edge
}

bench_start_edge() {
  $dcdn node --coordinator-url "http://127.0.0.1:$api_port" --node-token "$node" --host 127.0.0.1 --http-port "$edge_port" \
    --https-port "$edge_tls_port" --data-dir "$bench_edge_dir" --log-level warning >>"$bench_log" 2>&1 &
  edge_pid=$!
  bench_up "$edge_pid" bench_edge_answers || return 1
  pids+=("$edge_pid")
}

# Both of the edge's listeners answer, as an edge does (its page for a site it does not serve).
bench_edge_answers() {
  curl -s -o /dev/null -D - "http://127.0.0.1:$edge_port/" | grep -qi '^cache-status: *DCDN' &&
    curl -sk -o /dev/null -D - "https://127.0.0.1:$edge_tls_port/" | grep -qi '^cache-status: *DCDN'
}

# bench_nginx_origin NAME:BYTES...: nginx serving random files of those sizes from $work/www,
# cacheable for an hour, on a free port ($origin_port).
bench_nginx_origin() {
  mkdir -p "$work/www"
  local file
  for file in "$@"; do head -c "${file#*:}" /dev/urandom > "$work/www/${file%%:*}"; done
  bench_listen origin_port bench_start_nginx_origin
}

bench_start_nginx_origin() {
  cat > "$work/nginx-origin.conf" <<EOF
worker_processes 1;
pid $work/nginx-origin.pid;
error_log $work/origin-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$origin_port;
    root $work/www;
    add_header Cache-Control "public, max-age=3600";
    location / { try_files \$uri =404; }
  }
}
EOF
  nginx -c "$work/nginx-origin.conf" >>"$bench_log" 2>&1
}

# bench_nginx_cache: nginx proxy_cache in front of $origin_port, configured like the edge (a cache
# with collapsed forwarding through proxy_cache_lock, keep-alive upstreams) on $nginx_port, and the
# same over cleartext HTTP/2 (prior knowledge) on $nginx_h2_port.
bench_nginx_cache() {
  mkdir -p "$work/nginx-cache"
  bench_listen "nginx_port nginx_h2_port" bench_start_nginx_cache
}

bench_start_nginx_cache() {
  cat > "$work/nginx-cache.conf" <<EOF
worker_processes auto;
pid $work/nginx-cache.pid;
error_log $work/cache-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=edge:64m max_size=1g inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    # HTTP/2 with prior knowledge on its own port, never closing a connection mid-run.
    listen 127.0.0.1:$nginx_h2_port http2;
    keepalive_requests 100000000;
    http2_max_concurrent_streams 128;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_cache edge;
      proxy_cache_lock on;
      add_header Cache-Status \$upstream_cache_status;
    }
  }
}
EOF
  nginx -c "$work/nginx-cache.conf" >>"$bench_log" 2>&1
}
