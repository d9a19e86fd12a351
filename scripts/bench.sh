#!/usr/bin/env bash
# make bench: seed a temporary data directory, start Gatehouse on loopback,
# run each HTTP workload with the repo's Go load generator, sample the
# server's memory, print one table, then stop everything it started.
# BENCH_USERS picks the size (default 100000). Nothing here asserts timings.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${BENCH_USERS:-100000}
DURATION=${BENCH_DURATION:-10s}
PORT=${BENCH_PORT:-18181}
BIN=bin/gatehouse
WORK=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
LOADGEN=$WORK/loadgen
BASE=http://127.0.0.1:$PORT
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

go build -o "$LOADGEN" ./internal/devtools/loadgen

# Webhook fan-out (issue 20): 500 account changes a second for 5 s through
# the API, two endpoints; changes/s, deliveries/s, lag after the last change.
go test -count=1 -tags nomsgpack -run '^$' -bench BenchmarkWebhooks_FanOut -benchtime 1x ./server/api | grep -E '^Benchmark' || true
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); users: $USERS"

# PostgreSQL at 1M and 10M accounts (issue 14): scripts/bench-pg.sh, when
# BENCH_PG_URL names a server (BENCH_PG_USERS, BENCH_PG_REUSE: see there);
# BENCH_PG_ONLY=1 stops after it. Without BENCH_PG_URL only SQLite runs.
if [ -n "${BENCH_PG_URL:-}" ]; then
  BIN=$BIN bash scripts/bench-pg.sh
  [ -n "${BENCH_PG_ONLY:-}" ] && exit 0
fi

# Resident memory, split into anonymous (heap, stacks, SQLite caches) and
# file-backed (the pages of the binary that are mapped).
rss() { awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} /RssFile/ {f=$2} END {printf "%.0f MB (anon %.0f, file %.0f)", r/1024, a/1024, f/1024}' /proc/"$1"/status; }
hwm() { awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/"$1"/status; }

start_server() {
  local t0 t1
  t0=$(date +%s%N)
  $BIN serve --data "$WORK/data" --http 127.0.0.1:$PORT --log-level error >"$WORK/server.log" 2>&1 &
  PID=$!
  until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.005; done
  t1=$(date +%s%N)
  echo "cold start to /api/health 200: $(( (t1 - t0) / 1000000 )) ms"
}

# Cold start on an empty data directory.
mkdir -p "$WORK/empty"
t0=$(date +%s%N)
$BIN serve --data "$WORK/empty" --http 127.0.0.1:$PORT --log-level error >/dev/null 2>&1 &
EPID=$!
until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.005; done
t1=$(date +%s%N)
sleep 1
echo "empty data dir: cold start $(( (t1 - t0) / 1000000 )) ms, idle RSS $(rss $EPID)"
kill $EPID; wait $EPID 2>/dev/null || true
echo "binary size: $(du -m $BIN | cut -f1) MiB ($(stat -c %s $BIN) bytes)"

t0=$(date +%s)
$BIN seed --data "$WORK/data" --users "$USERS" | tail -1
echo "seed $USERS: $(( $(date +%s) - t0 )) s"
$BIN admin create --data "$WORK/data" --username benchadmin --password 'Bench-Admin-Passphrase-1' >/dev/null
# Rare states that the seed does not make, so that the rare filters match
# something: 2FA on for 1% of the accounts, 0.1% locked (sqlite3 shell).
if command -v sqlite3 >/dev/null; then
  sqlite3 "$WORK/data/gatehouse.db" "PRAGMA busy_timeout=60000;
UPDATE users SET totp_enabled_at = strftime('%Y-%m-%d %H:%M:%f+00:00', 'now', '-30 days') WHERE id % 100 = 7;
UPDATE users SET locked_until = strftime('%Y-%m-%d %H:%M:%f+00:00', 'now', '+3650 days'), failed_logins = 10 WHERE id % 1000 = 3" >/dev/null
fi

start_server
sleep 1
echo "idle RSS with $USERS accounts: $(rss $PID)"

# Turn the built-in rate limiter off: the load comes from one IP.
COOKIE=$(curl -fs -c - -H 'Content-Type: application/json' -d '{"identifier":"benchadmin","password":"Bench-Admin-Passphrase-1"}' "$BASE/api/auth/login" | awk '/gatehouse_session/ {print $6"="$7}')
VERSION=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/settings/security" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
curl -fs -o /dev/null -X PUT -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/settings/security" \
  -d "{\"version\":$VERSION,\"sessionLifetimeSeconds\":604800,\"sessionIdleTimeoutSeconds\":0,\"accessTokenLifetimeSeconds\":900,\"lockThreshold\":10,\"lockDurationSeconds\":900,\"rateLimitEnabled\":false,\"rateLimitPerMinute\":600,\"authRateLimitPerMinute\":20}"

# 200 distinct active accounts for the sign-in burst.
for p in 1 2; do curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/users?status=active&role=user&perPage=100&page=$p"; echo; done |
  python3 -c 'import json,sys
for line in sys.stdin:
    if line.strip():
        for u in json.loads(line)["items"]:
            print(json.dumps({"identifier": u["username"], "password": "Seeded-Account-Passphrase"}))' >"$WORK/logins.jsonl"

# Each workload line ends with the server's peak RSS during it: the peak
# (VmHWM) is reset before the workload by writing 5 to clear_refs.
RUN_PEAK=0
L() {
  local hwm_kb
  hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/"$PID"/status)
  [ "$hwm_kb" -gt "$RUN_PEAK" ] && RUN_PEAK=$hwm_kb
  echo 5 > /proc/"$PID"/clear_refs 2>/dev/null || true
  printf '%s  peak RSS %s\n' "$("$LOADGEN" "$@")" "$(hwm $PID)"
}
echo
L -name "GET /api/me (session cookie)" -url "$BASE/api/me" -cookie "$COOKIE" -c 32 -d "$DURATION"
L -name "sign-in burst (200 at once)" -url "$BASE/api/auth/login" -method POST -bodies "$WORK/logins.jsonl" -c 200 -n 200
L -name "sign-in sustained" -url "$BASE/api/auth/login" -method POST -bodies "$WORK/logins.jsonl" -c 8 -d "$DURATION"
U="$BASE/api/admin/users"
L -name "list first page -id" -url "$U" -cookie "$COOKIE" -c 1 -d "$DURATION"
L -name "list first page -id" -url "$U" -cookie "$COOKIE" -c 16 -d "$DURATION"
SEARCH="$U?q=chen&sort=display_name|$U?q=sofia&sort=display_name|$U?q=mart&sort=display_name|$U?q=li&sort=display_name|$U?q=ya&sort=display_name|$U?q=example.net&sort=display_name|$U?q=tanaka&sort=display_name|$U?q=k7&sort=display_name"
L -name "search q, sort display_name" -url "$SEARCH" -cookie "$COOKIE" -c 1 -d "$DURATION"
L -name "search q, sort display_name" -url "$SEARCH" -cookie "$COOKIE" -c 16 -d "$DURATION"
L -name "role+status, sort -last_login" -url "$U?role=user&status=active&sort=-last_login|$U?role=admin&status=active&sort=-last_login|$U?role=user&status=suspended&sort=-last_login" -cookie "$COOKIE" -c 1 -d "$DURATION"

# Keyset pages: page 1000 by number (OFFSET) against the same page reached
# by its cursor (taken once from page 999's nextCursor).
for S in -id display_name; do
  CUR=$(curl -fs -H "Cookie: $COOKIE" "$U?sort=$S&perPage=25&page=999" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nextCursor"])')
  L -name "list page 1000 by number, $S" -url "$U?sort=$S&perPage=25&page=1000" -cookie "$COOKIE" -c 1 -n "${BENCH_GRID_N:-20}"
  L -name "list page 1000 by cursor, $S" -url "$U?sort=$S&perPage=25&page=1000&after=$CUR" -cookie "$COOKIE" -c 1 -n "${BENCH_GRID_N:-20}"
done

# Every filter with every sort key (both directions), one client, BENCH_GRID_N
# requests each, with the server's CPU per request beside p50/p95 and a
# summary (scripts/bench-grid.sh; it also runs alone against a data
# directory). BENCH_SKIP_GRID=1 skips it.
if [ -z "${BENCH_SKIP_GRID:-}" ]; then
  echo
  BASE=$BASE COOKIE=$COOKIE PID=$PID LOADGEN=$LOADGEN BENCH_GRID_OUT=$WORK/grid.txt bash scripts/bench-grid.sh
fi

# The audit log at BENCH_AUDIT_ROWS synthetic rows (inserted with the sqlite3
# shell when it is installed; default 1,000,000): every filter, p95 target 50 ms,
# and pages by number deep into the log (page 2000: 100,000 rows skipped).
AUDIT_ROWS=${BENCH_AUDIT_ROWS:-1000000}
if [ "$AUDIT_ROWS" -gt 0 ] && command -v sqlite3 >/dev/null; then
  sqlite3 "$WORK/data/gatehouse.db" "PRAGMA busy_timeout=60000;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < $AUDIT_ROWS)
INSERT INTO audit_events (created_at, actor_id, actor_public_id, actor_username, action, target_type, target_id, target_public_id, target_label, details)
SELECT strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (($AUDIT_ROWS - x) * 31) || ' seconds') || '+00:00', 1, 'benchactor', 'benchadmin',
  CASE WHEN x % 100 < 60 THEN 'user.status_changed' WHEN x % 100 < 75 THEN 'user.updated' WHEN x % 100 < 90 THEN 'auth.login'
    WHEN x % 100 < 95 THEN 'auth.login_failed' WHEN x % 1000 = 999 THEN 'settings.security_changed' WHEN x % 100 < 97 THEN 'user.deleted'
    ELSE 'user.balance_changed' END, 'user', (x % $USERS) + 1, 'pub' || (x % $USERS), 'label' || (x % $USERS), '{}' FROM c" >/dev/null
  A="$BASE/api/admin/audit"
  FROM=$(date -u -d '-200 days' +%Y-%m-%dT%H:%M:%SZ); TO=$(date -u -d '-170 days' +%Y-%m-%dT%H:%M:%SZ); DAY=$(date -u -d '-100 days' +%Y-%m-%dT%H:%M:%SZ); DAY2=$(date -u -d '-99 days' +%Y-%m-%dT%H:%M:%SZ)
  echo
  echo "audit log, $AUDIT_ROWS extra rows (p95 target 50 ms):"
  for Q in "" action=user. action=auth. action=settings. action=auth.login_failed "from=$DAY&to=$DAY2" "from=$FROM" "to=$FROM" \
    "action=settings.&from=$FROM&to=$TO" "action=user.deleted&from=$FROM&to=$TO" "action=auth.&to=$FROM" actor=benchadmin target=label5 \
    "actor=benchadmin&action=auth." "target=label5&action=user." "actor=benchadmin&from=$DAY&to=$DAY2" "page=2000" "page=2000&action=user." "page=200&action=settings."; do
    L -name "audit $Q" -url "$A?$Q" -cookie "$COOKIE" -c 1 -n "${BENCH_GRID_N:-20}"
  done
  CUR=$(curl -fs -H "Cookie: $COOKIE" "$A?action=user.&perPage=50&page=199" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nextCursor"])')
  L -name "audit action=user. page 200 by number" -url "$A?action=user.&perPage=50&page=200" -cookie "$COOKIE" -c 1 -n "${BENCH_GRID_N:-20}"
  L -name "audit action=user. page 200 by cursor" -url "$A?action=user.&perPage=50&page=200&after=$CUR" -cookie "$COOKIE" -c 1 -n "${BENCH_GRID_N:-20}"
fi

# The OpenID Provider's refresh grant and forward auth (issue 16): a
# server of their own (trusted proxy, 1,000 accounts), scripts/bench-oidc.sh.
BIN=$BIN bash scripts/bench-oidc.sh

# The service API: entitlement reads, single and batched usage charges.
BASE=$BASE COOKIE=$COOKIE PID=$PID LOADGEN=$LOADGEN WORK=$WORK bash scripts/bench-usage.sh

# CSV export of every account, three times: time, rows, completeness (no
# failure line), peak RSS.
echo
for i in 1 2 3; do
  echo 5 > /proc/"$PID"/clear_refs 2>/dev/null || true
  t0=$(date +%s%N)
  curl -fs -H "Cookie: $COOKIE" "$U/export.csv" -o "$WORK/export.csv"
  t1=$(date +%s%N)
  echo "export.csv run $i: $(( $(wc -l <"$WORK/export.csv") - 1 )) rows in $(( (t1 - t0) / 1000000 )) ms, failure line: $(grep -c '^#gatehouse-export-incomplete' "$WORK/export.csv" || true), peak RSS $(hwm $PID), load $(cut -d' ' -f1 /proc/loadavg)"
done
rm -f "$WORK/export.csv"

# Bulk status change over HTTP, three times: a tenth of the accounts (the
# same statements as BenchmarkBulkStatusChange's BulkTargetsSQL) go from
# suspended to deactivated and back, by filter, with an audit row each.
# Run last: it changes the statuses the list figures above depend on.
if command -v sqlite3 >/dev/null; then
  sqlite3 "$WORK/data/gatehouse.db" "PRAGMA busy_timeout=60000;
UPDATE users SET status = 'active', status_reason = '' WHERE status IN ('suspended', 'deactivated') AND NOT (id % 19 < 2 AND role = 'user');
UPDATE users SET status = 'suspended', status_reason = 'bench' WHERE id % 19 < 2 AND role = 'user' AND status NOT IN ('pending', 'suspended');
PRAGMA wal_checkpoint(PASSIVE)" >/dev/null
  echo
  for i in 1 2 3; do
    if [ $((i % 2)) = 1 ]; then FROM=suspended TO=deactivated; else FROM=deactivated TO=suspended; fi
    sleep 5 # the previous run's background checkpoint
    echo 5 > /proc/"$PID"/clear_refs 2>/dev/null || true
    t0=$(date +%s%N)
    R=$(curl -fs -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/users/bulk" \
      -d "{\"action\":\"set_status\",\"filter\":{\"status\":\"$FROM\"},\"params\":{\"status\":\"$TO\"},\"reason\":\"bench\",\"skipRefused\":true}")
    t1=$(date +%s%N)
    echo "bulk set_status $FROM -> $TO run $i: changed $(echo "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["changed"])') in $(( (t1 - t0) / 1000000 )) ms, peak RSS $(hwm $PID), load $(cut -d' ' -f1 /proc/loadavg)"
  done
fi

echo
hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/"$PID"/status)
[ "$hwm_kb" -gt "$RUN_PEAK" ] && RUN_PEAK=$hwm_kb
echo "server peak RSS over the run: $((RUN_PEAK / 1024)) MB"

[ -n "${BENCH_SKIP_GO:-}" ] && exit 0
# The Go benchmarks run in-process on this run's data directory (the
# server must be stopped first: one process per data directory).
kill "$PID"; wait "$PID" 2>/dev/null || true
PID=""
echo
echo "Go benchmarks (in-process, $USERS accounts):"
BENCH_DATA="$WORK/data" BENCH_USERS=$USERS go test -tags nomsgpack -run '^$' -bench . -benchtime "${BENCH_GO_TIME:-3x}" -timeout 60m \
  ./server/service/ ./server/api/ ./server/security/ 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL)'
