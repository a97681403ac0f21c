#!/usr/bin/env bash
# WAF benchmark: the managed WAF of one `dcdn node` at the sensitivities low, medium (the default)
# and high (one domain each), beside nginx + ModSecurity v3 + the OWASP Core Rule Set (Debian's
# libnginx-mod-http-modsecurity and modsecurity-crs, CRS 3.3) at paranoia levels 1 and 2, all in
# front of the same nginx origin. The corpora in scripts/bench/waf/ (README.md there names their
# sources): attack payloads of 17 families, each in several placements (query, path, a header,
# form, multipart, JSON, JSON with \u escapes, XML), and legitimate texts (searches, forms, JSON,
# prose in many languages, code a developer posts) in query, form, multipart and JSON.
# A 403 is a block; a 200 with the origin's marker passed; anything else is an error, reported and
# never a detection. Prints detection per family and placement, false positives, the goal, and
# what dcdn-medium missed; every outcome is kept in a JSON file whose path is printed
# (`scripts/bench/waf/run.py --report FILE --engine NAME` lists one engine's misses).
# Usage: scripts/bench/waf.sh [THREADS]    (default 4)
#        BENCH_SMOKE=1 scripts/bench/waf.sh   (2 payloads per family, 2 texts per kind; the debug
#        build; the CRS peers only when ModSecurity is installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
threads=${1:-4}
bench_start waf

# The origin: 200 and a marker for any method and path, the body read and discarded.
start_origin() {
  cat > "$work/nginx-origin.conf" <<EOF
worker_processes 1;
pid $work/nginx-origin.pid;
error_log $work/origin-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 16m;
  server {
    listen 127.0.0.1:$origin_port;
    location / {
      add_header X-Bench-Origin ok always;
      add_header Cache-Control no-store always;
      return 200 "origin ok\n";
    }
  }
}
EOF
  nginx -c "$work/nginx-origin.conf" >>"$bench_log" 2>&1
}
bench_listen origin_port start_origin

engines=()
modsecurity=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
crs=/usr/share/modsecurity-crs/rules
if [ -f "$modsecurity" ] && [ -d "$crs" ]; then
  # ModSecurity as its recommended configuration sets it up (request bodies read, JSON and XML
  # parsed, a body that does not parse or a malformed multipart rejected), then the CRS with
  # Debian's crs-setup.conf at the paranoia level.
  mkdir -p "$work/modsec"
  for level in 1 2; do
    cat > "$work/crs-pl$level.conf" <<EOF
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:403,msg:'Failed to parse request body.'"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:200003,phase:2,t:none,log,deny,status:403,msg:'Multipart request body failed strict validation'"
SecPcreMatchLimit 1000
SecPcreMatchLimitRecursion 1000
SecResponseBodyAccess Off
SecTmpDir $work/modsec
SecDataDir $work/modsec
SecAuditEngine Off
SecArgumentSeparator &
SecCookieFormat 0
Include /etc/modsecurity/crs/crs-setup.conf
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=$level"
Include $crs/*.conf
EOF
  done
  start_crs() {
    cat > "$work/nginx-crs.conf" <<EOF
load_module $modsecurity;
worker_processes 2;
pid $work/nginx-crs.pid;
error_log $work/crs-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 16m;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 32; }
  server {
    listen 127.0.0.1:$crs1_port;
    modsecurity on;
    modsecurity_rules_file $work/crs-pl1.conf;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$host; }
  }
  server {
    listen 127.0.0.1:$crs2_port;
    modsecurity on;
    modsecurity_rules_file $work/crs-pl2.conf;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$host; }
  }
}
EOF
    nginx -c "$work/nginx-crs.conf" >>"$bench_log" 2>&1
  }
  bench_listen "crs1_port crs2_port" start_crs
  engines+=(--engine "crs-pl1=127.0.0.1:$crs1_port@waf.example" --engine "crs-pl2=127.0.0.1:$crs2_port@waf.example")
elif [ "$smoke" = 1 ]; then
  echo "waf: ModSecurity or the CRS is not installed: the CRS peers are skipped in smoke mode"
else
  bench_fail "ModSecurity and the CRS are missing: apt-get install libnginx-mod-http-modsecurity modsecurity-crs"
fi

export DCDN_PRIVATE_ORIGINS=127.0.0.0/8  # the origin is on loopback
bench_coordinator
node=$(curl -sf -X POST "$api/admin/nodes" "${auth[@]}" -d '{"name":"bench-edge","roles":["edge"],"region":"local","country":"DE","ipv4":"127.0.0.1"}' | json_field token)
for level in low medium high; do
  id=$(curl -sf -X POST "$api/cdn/domains" "${auth[@]}" -d "{\"domain\":\"$level.waf.example\",\"origin_ip\":\"127.0.0.1:$origin_port\",\"ssl_mode\":\"off\"}" | json_field id)
  curl -sf -X PATCH "$api/cdn/domains/$id/security" "${auth[@]}" -d "{\"waf_sensitivity\":\"$level\"}" >/dev/null
done
# Every request comes from one address: the flood defence's thresholds sit above what is sent.
DCDN_EDGE_FLOOD_CLIENT_RPS=100000000 DCDN_EDGE_FLOOD_DOMAIN_RPS=100000000 bench_edge "$work/edge"
for level in low medium high; do
  # The domain is served, and its WAF is on (a script tag is blocked at every sensitivity).
  until curl -sf -o /dev/null -H "Host: $level.waf.example" "http://127.0.0.1:$edge_port/index.html"; do bench_tick; done
  until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $level.waf.example" "http://127.0.0.1:$edge_port/?q=%3Cscript%3E")" = 403 ]; do bench_tick; done
  engines+=(--engine "dcdn-$level=127.0.0.1:$edge_port@$level.waf.example")
done
if [ -n "${crs1_port:-}" ]; then
  for crs_port in "$crs1_port" "$crs2_port"; do
    until curl -sf -o /dev/null "http://127.0.0.1:$crs_port/index.html"; do bench_tick; done
    waf=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$crs_port/?q=%3Cscript%3Ealert(1)%3C/script%3E")
    [ "$waf" = 403 ] || bench_fail "ModSecurity on port $crs_port answered a script tag $waf"
  done
fi
# dcdn first, then the CRS peers, in the order of the tables.
ordered=()
for name in dcdn-low dcdn-medium dcdn-high crs-pl1 crs-pl2; do
  for ((i = 1; i < ${#engines[@]}; i += 2)); do [[ ${engines[i]} == "$name="* ]] && ordered+=(--engine "${engines[i]}"); done
done

outcomes=$(mktemp /tmp/dcdn-bench-waf-outcomes.XXXXXX.json)
started=$SECONDS
python3 scripts/bench/waf/run.py "${ordered[@]}" --threads "$threads" --out "$outcomes" $([ "$smoke" = 1 ] && echo --sample 2)
echo
echo "waf: every outcome is in $outcomes ($((SECONDS - started)) s of requests);"
echo "     scripts/bench/waf/run.py --report $outcomes --engine dcdn-medium   lists all it missed and blocked"
python3 - "$outcomes.summary" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
medium = summary["dcdn-medium"]
errors = sum(engine["errors"] for engine in summary.values())
if "crs-pl2" in summary:
    pl2 = summary["crs-pl2"]
    met = medium["detection"] >= pl2["detection"] and medium["false_positive_rate"] <= 1.0
    print(f"goal: dcdn-medium detection {medium['detection']:.1f} % >= crs-pl2 {pl2['detection']:.1f} % and false positives "
          f"{medium['false_positive_rate']:.2f} % <= 1 %: {'met' if met else 'NOT met'}")
else:
    print(f"goal: dcdn-medium detection {medium['detection']:.1f} %, false positives {medium['false_positive_rate']:.2f} % "
          f"(no crs-pl2 to compare with)")
if errors:
    print(f"waf: {errors} responses were neither a 403 nor the origin's 200")
    sys.exit(1)
PY
rm -f "$outcomes.summary"
