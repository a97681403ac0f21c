#!/usr/bin/env bash
# Credit spends per second on PostgreSQL with 32 concurrent clients: DCDN's ledger
# (`dcdn admin bench-ledger`: lock the account, expire due grants, lock grants FIFO, update them,
# append the transaction, save the account, record the token mint) beside the same FIFO spend
# written as one raw SQL transaction and driven by pgbench — the floor PostgreSQL itself sets.
# Then `dcdn admin verify-ledger` checks every invariant on what the run left behind.
#   CLIENTS=32 SECONDS_TO_RUN=10 ACCOUNTS=64 scripts/bench/ledger.sh
#   BENCH_SMOKE=1 scripts/bench/ledger.sh   (1 s, 4 clients, 8 accounts, the debug build: see lib.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/lib.sh
bench_start ledger
clients=${CLIENTS:-$([ "$smoke" = 1 ] && echo 4 || echo 32)}
seconds=${SECONDS_TO_RUN:-$([ "$smoke" = 1 ] && echo 1 || echo 10)}
accounts=${ACCOUNTS:-$([ "$smoke" = 1 ] && echo 8 || echo 64)}

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$work/pg"
chown postgres "$work/pg" 2>/dev/null || true
as_postgres=()
[ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)
bench_extra_cleanup() { "${as_postgres[@]}" "$bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; }
"${as_postgres[@]}" "$bin/initdb" -D "$work/pg/data" -U postgres -A trust >/dev/null
start_postgres() {
  rm -f "$work/pg/log"
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >>"$bench_log" 2>&1 && return 0
  cat "$work/pg/log" >>"$bench_log" 2>/dev/null
  return 1
}
bench_listen pg_port start_postgres
psql=("$bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres)
"${psql[@]}" -c "CREATE DATABASE dcdn_bench" -c "CREATE DATABASE raw_bench"
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/dcdn_bench"
$dcdn db migrate --data-dir "$work/dcdn" --log-level warning >/dev/null

echo "== DCDN ledger: $clients clients, $accounts accounts, ${seconds}s (PostgreSQL $("$bin/postgres" --version | awk '{print $3}'))"
ours=$($dcdn admin bench-ledger --yes --clients "$clients" --accounts "$accounts" --seconds "$seconds" --data-dir "$work/dcdn" --log-level warning)
echo "$ours"
ours_rate=$(sed -n 's/.*spends_per_second=\([0-9]*\).*/\1/p' <<<"$ours")
[ "${ours_rate:-0}" -gt 0 ] || bench_fail "the ledger made no spend"

echo "== verify-ledger"
$dcdn admin verify-ledger --data-dir "$work/dcdn" --log-level warning

echo "== raw SQL FIFO spend (pgbench, same clients and accounts)"
"${psql[@]}" -v ON_ERROR_STOP=1 -d raw_bench <<SQL
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, tx_count bigint NOT NULL);
CREATE TABLE grants (id bigserial PRIMARY KEY, account int NOT NULL, seq int NOT NULL, remaining bigint NOT NULL, expires_at timestamptz);
CREATE INDEX ON grants (account, seq);
CREATE TABLE transactions (id bigserial PRIMARY KEY, account int NOT NULL, seq bigint NOT NULL, amount bigint NOT NULL, balance_after bigint NOT NULL, key text NOT NULL, UNIQUE (account, key));
CREATE TABLE mints (id bigserial PRIMARY KEY, account int NOT NULL, amount bigint NOT NULL, pool bigint NOT NULL, rsp bigint NOT NULL, lp bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000000::bigint * 1000000, 0 FROM generate_series(1, $accounts) g;
INSERT INTO grants (account, seq, remaining) SELECT a, s, 250000 * 1000000::bigint FROM generate_series(1, $accounts) a, generate_series(1, 4) s;
SQL
cat > "$work/spend.sql" <<SQL
\\set uid random(1, $accounts)
BEGIN;
SELECT balance FROM accounts WHERE id = :uid FOR UPDATE;
SELECT id, remaining FROM grants WHERE account = :uid AND remaining > 0 AND expires_at <= now() FOR UPDATE;
SELECT id, remaining FROM grants WHERE account = :uid AND remaining > 0 ORDER BY seq FOR UPDATE;
UPDATE grants SET remaining = remaining - 1250000 WHERE id = (SELECT id FROM grants WHERE account = :uid AND remaining >= 1250000 ORDER BY seq LIMIT 1);
INSERT INTO transactions (account, seq, amount, balance_after, key) SELECT :uid, tx_count + 1, -1250000, balance - 1250000, md5(random()::text) FROM accounts WHERE id = :uid;
UPDATE accounts SET balance = balance - 1250000, tx_count = tx_count + 1 WHERE id = :uid;
INSERT INTO mints (account, amount, pool, rsp, lp) VALUES (:uid, 1250000, 875000, 312500, 62500);
END;
SQL
raw=$("$bin/pgbench" -n -h 127.0.0.1 -p "$pg_port" -U postgres -c "$clients" -j 2 -T "$seconds" -f "$work/spend.sql" raw_bench 2>&1)
raw_rate=$(sed -n 's/^tps = \([0-9]*\).*/\1/p' <<<"$raw" | head -n 1)
if [ "${raw_rate:-0}" -le 0 ] || grep -q 'failed transactions: [1-9]' <<<"$raw"; then echo "$raw" >&2; bench_fail "pgbench made no clean spend"; fi
echo "spends_per_second=$raw_rate"

echo
echo "DCDN ledger: $ours_rate spends/s   raw SQL (pgbench): $raw_rate spends/s   ratio: $(python3 -c "print(f'{$ours_rate / $raw_rate:.2f}')")"
