#!/usr/bin/env bash
# DNS benchmark: dnsperf against `dcdn dns`, NSD and Knot serving the same zone on this machine,
# one after the other with the same query mix and duration. Prints queries/s and the ratios.
# Usage: scripts/bench/dns.sh [SECONDS] [RECORDS]    (defaults 15 s, 1000 records)
#        BENCH_SMOKE=1 scripts/bench/dns.sh   (1 s, 100 records, the debug build: see lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
seconds=${1:-$([ "$smoke" = 1 ] && echo 1 || echo 15)}
records=${2:-$([ "$smoke" = 1 ] && echo 100 || echo 1000)}
bench_start dns

# 1. A coordinator with one zone of $records records and a DNS node.
export DCDN_NAMESERVERS=ns1.bench.test,ns2.bench.test
bench_coordinator
node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d '{"name":"bench-ns","roles":["dns","edge"],"region":"local","country":"DE","ipv4":"192.0.2.53"}' | json_field token)
domain=$(curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d '{"domain":"bench.example","origin_ip":"203.0.113.7"}' | json_field id)
python3 - "$records" > "$work/zone.txt" <<'PY'
import sys
print("$ORIGIN bench.example.")
for i in range(int(sys.argv[1])):
    print(f"host{i} 300 IN A 198.51.{i // 250 % 250}.{i % 250 + 1}")
print("mail 300 IN A 203.0.113.25")
print("@ 300 IN MX 10 mail.bench.example.")
print('@ 300 IN TXT "v=spf1 mx -all"')
PY
python3 -c 'import json,sys; print(json.dumps({"zone": open(sys.argv[1]).read()}))' "$work/zone.txt" > "$work/import.json"
curl -sf -X POST "$api/cdn/domains/$domain/zone" "${auth[@]}" --data-binary @"$work/import.json" >/dev/null
curl -sf "$api/cdn/domains/$domain/zone" "${auth[@]}" > "$work/bench.example.zone"
# NSD and Knot get the same zone; the proxied apex and www become the node's address there.
sed -i -e 's/^@\tIN\tA\t203.0.113.7\t; proxied/@\t60\tIN\tA\t192.0.2.53/' -e 's/^www\tIN\tCNAME\tbench.example.\t; proxied/www\t60\tIN\tA\t192.0.2.53/' "$work/bench.example.zone"

# 2. The query mix: mostly existing names, some NXDOMAIN, some other types.
python3 - "$records" > "$work/queries.txt" <<'PY'
import random, sys
random.seed(7)
n = int(sys.argv[1])
for _ in range(20000):
    r = random.random()
    if r < 0.70: print(f"host{random.randrange(n)}.bench.example A")
    elif r < 0.80: print("www.bench.example A")
    elif r < 0.90: print(f"missing{random.randrange(n)}.bench.example A")
    elif r < 0.95: print("bench.example MX")
    else: print("bench.example TXT")
PY

run_dnsperf() { # name port
  local out
  out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$work/queries.txt" -l "$seconds" -c 8 -q "$([ "$smoke" = 1 ] && echo 20 || echo 500)" 2>&1)
  local qps lost
  qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
  lost=$(echo "$out" | awk '/Queries lost/ {print $3}')
  # Only the answers the mix asks for: names that exist (NOERROR) and names that do not (NXDOMAIN).
  local codes
  codes=$(echo "$out" | awk -F: '/Response codes/ {print $2}')
  if [ -z "$qps" ] || ! awk -v q="$qps" 'BEGIN { exit !(q > 0) }' || grep -Eq 'SERVFAIL|REFUSED|FORMERR|NOTIMP' <<<"$codes" ||
    ! grep -q NOERROR <<<"$codes" || ! grep -q NXDOMAIN <<<"$codes"; then
    echo "$out" >&2
    bench_fail "$1 did not answer the query mix as meant"
  fi
  if [ "$smoke" = 1 ] && [ "$lost" != 0 ]; then echo "$out" >&2; bench_fail "$1 lost queries under a tiny load"; fi
  printf '%-10s %12s q/s   lost %s\n' "$1" "$qps" "$lost" >&2
  echo "$qps"
}

# 3. dcdn dns.
# Each server is up once it answers the zone's first name.
serves_the_zone() { dig @127.0.0.1 -p "$1" +short host1.bench.example A | grep -q 198.51; }
start_dcdn_dns() {
  DCDN_DNS_TRANSFER_KEY= $dcdn dns --coordinator-url "http://127.0.0.1:$api_port" --node-token "$node" --host 127.0.0.1 \
    --dns-port "$dns_port" --data-dir "$work/dns" --log-level warning >>"$bench_log" 2>&1 &
  local pid=$!
  bench_up "$pid" serves_the_zone "$dns_port" || return 1
  pids+=("$pid")
}
bench_listen dns_port start_dcdn_dns
dcdn_qps=$(run_dnsperf "dcdn dns" "$dns_port")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# 4. NSD with the same zone.
mkdir -p "$work/nsd"
start_nsd() {
  cat > "$work/nsd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1
    port: $nsd_port
    username: ""
    chroot: ""
    zonesdir: "$work"
    database: ""
    zonelistfile: "$work/nsd/zone.list"
    xfrdfile: "$work/nsd/xfrd.state"
    pidfile: "$work/nsd/nsd.pid"
    logfile: "$work/nsd/nsd.log"
    server-count: $(nproc)
    # NSD limits responses per client subnet by default (RRL); a benchmark from one address must not be throttled.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "bench.example"
    zonefile: "bench.example.zone"
CONF
  rm -f "$work/nsd/nsd.log"
  nsd -d -c "$work/nsd/nsd.conf" >>"$bench_log" 2>&1 &
  local pid=$!
  if ! bench_up "$pid" serves_the_zone "$nsd_port"; then
    cat "$work/nsd/nsd.log" >>"$bench_log" 2>/dev/null
    return 1
  fi
  pids+=("$pid")
}
bench_listen nsd_port start_nsd
nsd_qps=$(run_dnsperf "NSD" "$nsd_port")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# 5. Knot with the same zone.
mkdir -p "$work/knot"
start_knot() {
  cat > "$work/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$knot_port
    rundir: "$work/knot"
    background-workers: 1
database:
    storage: "$work/knot"
zone:
  - domain: bench.example
    file: "$work/bench.example.zone"
    journal-content: none
    zonefile-load: whole
CONF
  knotd -c "$work/knot/knot.conf" >>"$bench_log" 2>&1 &
  local pid=$!
  bench_up "$pid" serves_the_zone "$knot_port" || return 1
  pids+=("$pid")
}
bench_listen knot_port start_knot
knot_qps=$(run_dnsperf "Knot" "$knot_port")

python3 - "$dcdn_qps" "$nsd_qps" "$knot_qps" <<'PY'
import sys
dcdn, nsd, knot = map(float, sys.argv[1:])
print(f"dcdn dns / NSD  = {dcdn / nsd:.2f}")
print(f"dcdn dns / Knot = {dcdn / knot:.2f}")
PY
