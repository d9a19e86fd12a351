#!/usr/bin/env bash
# The PostgreSQL part of make bench (issue 14), run by scripts/bench.sh
# when BENCH_PG_URL names a server (an administrator's URL, e.g.
# postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable).
# For each size in BENCH_PG_USERS (default "1000000 10000000"): a database
# gh_bench_<size> (1m, 10m, ...) on that server, seeded with `gatehouse
# seed` and timed (BENCH_PG_REUSE=1 keeps one that already holds the
# accounts: seeding 10M takes a long while), then two `gatehouse serve`
# on it behind a round-robin proxy (internal/devtools/rrproxy), and the
# workloads through the proxy with the Go load generator: list first page,
# substring search, a filter, each at 1 and 16 clients, then sign-in
# throughput. Every line ends with the time and the load average. The
# databases stay (drop them with dropdb when done); secret keys live in
# BENCH_PG_DATA (default /tmp/gatehouse-bench-pg/<database>).
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${BENCH_PG_URL:?BENCH_PG_URL names the PostgreSQL server}
SIZES=${BENCH_PG_USERS:-"1000000 10000000"}
DURATION=${BENCH_DURATION:-10s}
BIN=${BIN:-bin/gatehouse}
PA=${BENCH_PG_PORT:-18471}
PB=$((PA + 1))
PLB=$((PA + 2))
WORK=$(mktemp -d /tmp/gatehouse-bench-pg.XXXXXX)
PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
trap 'stop_all; rm -rf "$WORK"' EXIT
go build -o "$WORK/loadgen" ./internal/devtools/loadgen
go build -o "$WORK/rrproxy" ./internal/devtools/rrproxy
LOADGEN=$WORK/loadgen
stamp() { printf '%s UTC, load %s' "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
dburl() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ADMIN_URL" "$1"; }
sql() { psql -X -q -tA "$1" -c "$2"; }

for N in $SIZES; do
  if [ $((N % 1000000)) = 0 ]; then NAME=gh_bench_$((N / 1000000))m; else NAME=gh_bench_$N; fi
  DB=$(dburl "$NAME")
  KEYDIR=${BENCH_PG_DATA:-/tmp/gatehouse-bench-pg}/$NAME
  mkdir -p "$KEYDIR"
  echo
  echo "PostgreSQL, $N accounts, database $NAME ($(psql -X -tA "$ADMIN_URL" -c 'SHOW server_version'))"
  have=0
  if [ -n "${BENCH_PG_REUSE:-}" ] && [ -f "$KEYDIR/secret.key" ]; then
    have=$(sql "$DB" "SELECT count(*) FROM users" 2>/dev/null || echo 0)
  fi
  if [ "$have" -ge "$N" ]; then
    echo "reusing $NAME: $have accounts"
  else
    sql "$ADMIN_URL" "DROP DATABASE IF EXISTS $NAME"
    sql "$ADMIN_URL" "CREATE DATABASE $NAME"
    rm -f "$KEYDIR/secret.key"
    echo "seed start: $(stamp)"
    t0=$(date +%s)
    $BIN --data "$KEYDIR" --database-url "$DB" seed --users "$N" | tail -1
    echo "seed $N: $(( $(date +%s) - t0 )) s, end $(stamp)"
    # Rare states the seed does not make: 2FA on for 1%, 0.1% locked.
    sql "$DB" "UPDATE users SET totp_enabled_at = now() - interval '30 days' WHERE id % 100 = 7;
UPDATE users SET locked_until = now() + interval '3650 days', failed_logins = 10 WHERE id % 1000 = 3; ANALYZE users"
  fi
  $BIN --data "$KEYDIR" --database-url "$DB" admin create --username benchadmin --password 'Bench-Admin-Passphrase-1' >/dev/null 2>&1 || true
  echo "database size: $(sql "$DB" "SELECT pg_size_pretty(pg_database_size(current_database()))")"

  for P in $PA $PB; do
    mkdir -p "$WORK/$P" && cp "$KEYDIR/secret.key" "$WORK/$P/secret.key"
    $BIN --data "$WORK/$P" --database-url "$DB" --log-level error serve --http 127.0.0.1:$P --trusted-proxy 127.0.0.1 >"$WORK/$P.log" 2>&1 &
    PIDS+=($!)
  done
  "$WORK/rrproxy" -listen 127.0.0.1:$PLB http://127.0.0.1:$PA http://127.0.0.1:$PB 2>"$WORK/proxy.log" &
  PIDS+=($!)
  for P in $PA $PB $PLB; do
    for _ in $(seq 600); do curl -fs "http://127.0.0.1:$P/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  for p in "${PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "a server or the proxy did not start (ports $PA-$PLB taken? set BENCH_PG_PORT):"; cat "$WORK"/*.log; exit 1; }
  done
  BASE=http://127.0.0.1:$PLB
  COOKIE=$(curl -fs -c - -H 'Content-Type: application/json' -d '{"identifier":"benchadmin","password":"Bench-Admin-Passphrase-1"}' "$BASE/api/auth/login" | awk '/gatehouse_session/ {print $6"="$7}')
  VERSION=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/settings/security" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  curl -fs -o /dev/null -X PUT -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/settings/security" \
    -d "{\"version\":$VERSION,\"sessionLifetimeSeconds\":604800,\"sessionIdleTimeoutSeconds\":0,\"accessTokenLifetimeSeconds\":900,\"lockThreshold\":10,\"lockDurationSeconds\":900,\"rateLimitEnabled\":false,\"rateLimitPerMinute\":600,\"authRateLimitPerMinute\":20}"
  for p in 1 2; do curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/users?status=active&role=user&twoFactor=off&locked=false&perPage=100&page=$p"; echo; done |
    python3 -c 'import json,sys
for line in sys.stdin:
    if line.strip():
        for u in json.loads(line)["items"]:
            print(json.dumps({"identifier": u["username"], "password": "Seeded-Account-Passphrase"}))' >"$WORK/logins.jsonl"

  L() { printf '%s  [%s]\n' "$("$LOADGEN" "$@")" "$(stamp)"; }
  U="$BASE/api/admin/users"
  SEARCH="$U?q=chen&sort=display_name|$U?q=sofia&sort=display_name|$U?q=mart&sort=display_name|$U?q=li&sort=display_name|$U?q=ya&sort=display_name|$U?q=example.net&sort=display_name|$U?q=tanaka&sort=display_name|$U?q=k7&sort=display_name"
  FILTER="$U?role=user&status=active&sort=-last_login|$U?role=admin&status=active&sort=-last_login|$U?role=user&status=suspended&sort=-last_login"
  for C in 1 16; do
    L -name "pg $NAME list first page -id" -url "$U" -cookie "$COOKIE" -c $C -d "$DURATION"
    L -name "pg $NAME search q, sort display_name" -url "$SEARCH" -cookie "$COOKIE" -c $C -d "$DURATION"
    L -name "pg $NAME role+status, sort -last_login" -url "$FILTER" -cookie "$COOKIE" -c $C -d "$DURATION"
  done
  L -name "pg $NAME sign-in sustained, 2 instances" -url "$BASE/api/auth/login" -method POST -bodies "$WORK/logins.jsonl" -c 8 -d "$DURATION"
  stop_all
done
