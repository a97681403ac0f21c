#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: created in a temporary directory on a free
# port, exported as DCDN_TEST_DATABASE_URL, removed afterwards whatever the command's outcome.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

dir=$(mktemp -d /tmp/dcdn-pg.XXXXXX)
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres user.
  chown postgres "$dir"
  run_as=(runuser -u postgres --)
fi
cleanup() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
# PostgreSQL cannot bind port 0 and say which port it got. A probe socket closed before it binds
# would leave the port to anyone in between: it is given candidate ports below Linux's ephemeral
# range (where every port-0 bind lands) instead, and started again on another when one is taken.
port=
for attempt in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 12768))
  rm -f "$dir/log"
  if "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $candidate -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null 2>&1; then
    port=$candidate
    break
  fi
  grep -qi 'address already in use' "$dir/log" 2>/dev/null || { cat "$dir/log" >&2; echo "PostgreSQL did not start" >&2; exit 1; }
done
[ -n "$port" ] || { echo "PostgreSQL: no free port in 20 attempts" >&2; exit 1; }
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
export DCDN_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
