#!/usr/bin/env bash
# The audit log's filters at 1M+ rows (issue 18: p95 <= 50 ms for every
# audit filter), one client, BENCH_AUDIT_N requests each, with the
# server's CPU time per request and the load average on each line (as
# scripts/bench-grid.sh measures them). The filters are scripts/bench.sh's.
#
#   BENCH_AUDIT_DATA=/path/to/copy BIN=bin/gatehouse bash scripts/bench-audit.sh
#
# The data directory is used as it is (give it a copy) and must already
# hold the audit rows: scripts/bench.sh inserts BENCH_AUDIT_ROWS synthetic
# rows (31 s apart, ending now) with the sqlite3 shell; the same INSERT
# run by any SQLite client will do. Its server signs in as benchadmin
# (created when missing) and turns the rate limiter off.
# BENCH_AUDIT_FILTERS (space-separated) picks filters.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_AUDIT_N:-20}
: "${BENCH_AUDIT_DATA:?}"
. scripts/bench-serve.sh
bench_serve "$BENCH_AUDIT_DATA" "${BENCH_PORT:-18184}" bench-audit
A="$BASE/api/admin/audit"
FROM=$(date -u -d '-200 days' +%Y-%m-%dT%H:%M:%SZ); TO=$(date -u -d '-170 days' +%Y-%m-%dT%H:%M:%SZ); DAY=$(date -u -d '-100 days' +%Y-%m-%dT%H:%M:%SZ); DAY2=$(date -u -d '-99 days' +%Y-%m-%dT%H:%M:%SZ)
FILTERS=${BENCH_AUDIT_FILTERS:-"- action=user. action=auth. action=settings. action=auth.login_failed from=$DAY&to=$DAY2 from=$FROM to=$FROM \
action=settings.&from=$FROM&to=$TO action=user.deleted&from=$FROM&to=$TO action=auth.&to=$FROM actor=benchadmin target=label5 \
actor=benchadmin&action=auth. target=label5&action=user. actor=benchadmin&from=$DAY&to=$DAY2 page=2000 page=2000&action=user. page=200&action=settings."}
cpu() { cat /proc/"$PID"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s}'; }
echo "audit log ($N requests a filter, p95 target 50 ms; cpu = server CPU ms per request), start $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
for Q in $FILTERS; do
  [ "$Q" = "-" ] && Q=""
  c0=$(cpu)
  line=$("$LOADGEN" -name "audit $Q" -url "$A?$Q" -cookie "$COOKIE" -c 1 -n "$N")
  c1=$(cpu)
  total=$(curl -fs -H "Cookie: $COOKIE" "$A?$Q" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("total"), "estimate" if d.get("totalIsEstimate") else "exact")')
  echo "$line cpu=$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN {printf "%.2f", (b-a)/n/1e6}')ms load=$(cut -d' ' -f1 /proc/loadavg) total=$total"
done
echo "end $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
