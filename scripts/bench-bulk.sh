#!/usr/bin/env bash
# Bulk status change over HTTP on a data directory that already holds the
# accounts (issue 18: 100k of 1M accounts in <= 5 s, server peak RSS <=
# 256 MiB), without scripts/bench.sh's seeding (a 1M seed takes minutes):
#   BENCH_BULK_DATA=/path/to/dir BIN=bin/gatehouse bash scripts/bench-bulk.sh
# The directory is copied first (it is never written to). The same
# statements as BenchmarkBulkStatusChange's BulkTargetsSQL suspend a tenth
# of the accounts, then three requests move them suspended -> deactivated
# -> suspended -> deactivated by filter, as bench.sh's last block does.
# Each line: wall time, the server's CPU time during the request (user +
# system from /proc/PID/stat, and in the 4 s after it: the background
# checkpoint), its peak RSS (VmHWM, reset before each request) and the
# load average. The first request moves accounts whose updated_at are
# spread at random (the costlier case); the later ones move accounts the
# previous request changed together.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${BENCH_BULK_DATA:?set BENCH_BULK_DATA to a data directory with the accounts}
BIN=${BIN:-bin/gatehouse}
PORT=${BENCH_PORT:-18184}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/gatehouse-bench-bulk.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

cp -r "$SRC" "$WORK/data"
sqlite3 "$WORK/data/gatehouse.db" "PRAGMA busy_timeout=60000;
UPDATE users SET status = 'active', status_reason = '' WHERE status IN ('suspended', 'deactivated') AND NOT (id % 19 < 2 AND role = 'user');
UPDATE users SET status = 'suspended', status_reason = 'bench' WHERE id % 19 < 2 AND role = 'user' AND status NOT IN ('pending', 'suspended');
PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
"$BIN" admin create --data "$WORK/data" --username benchbulkadmin --password 'Bench-Admin-Passphrase-1' >/dev/null
# The copy (and a pending migration's backup of the database) reach the
# disk now, not during the first request.
sync
"$BIN" serve --data "$WORK/data" --http 127.0.0.1:$PORT --log-level error >"$WORK/server.log" 2>&1 &
PID=$!
until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.05; done
COOKIE=$(curl -fs -c - -H 'Content-Type: application/json' -d '{"identifier":"benchbulkadmin","password":"Bench-Admin-Passphrase-1"}' "$BASE/api/auth/login" | awk '/gatehouse_session/ {print $6"="$7}')
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' /proc/"$PID"/stat; }
echo "idle RSS: $(awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/"$PID"/status)"
for i in 1 2 3; do
  if [ $((i % 2)) = 1 ]; then FROM=suspended TO=deactivated; else FROM=deactivated TO=suspended; fi
  sleep 5 # the previous request's background checkpoint
  echo 5 > /proc/"$PID"/clear_refs
  c0=$(cpu); t0=$(date +%s%N)
  R=$(curl -fs -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/users/bulk" \
    -d "{\"action\":\"set_status\",\"filter\":{\"status\":\"$FROM\"},\"params\":{\"status\":\"$TO\"},\"reason\":\"bench\",\"skipRefused\":true}")
  t1=$(date +%s%N); c1=$(cpu)
  sleep 4; c2=$(cpu)
  echo "bulk set_status $FROM -> $TO run $i: changed $(echo "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["changed"])') in $(( (t1 - t0) / 1000000 )) ms, server CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", b-a}') s (+$(awk -v a="$c1" -v b="$c2" 'BEGIN {printf "%.2f", b-a}') s in the 4 s after), peak RSS $(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' /proc/"$PID"/status), load $(cut -d' ' -f1-3 /proc/loadavg)"
done
