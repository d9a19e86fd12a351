#!/usr/bin/env bash
# Keyset pages and the CSV export on an existing data directory or
# PostgreSQL database (issue 18: "p95 <= 10 ms for any page reached by
# next/previous", "all 1,000,000 rows in <= 15 s, complete"), one client,
# with the server's CPU per request (plus its PostgreSQL backends') and the
# load average on each line, as scripts/bench-grid.sh measures them.
#
#   BENCH_PAGES_DATA=/path/to/copy BIN=bin/gatehouse bash scripts/bench-pages.sh
#   BENCH_DATABASE_URL='postgres://...gh_bench_1m?sslmode=disable' \
#     BENCH_PAGES_DATA=/tmp/gatehouse-bench-pg/gh_bench_1m BIN=bin/gatehouse bash scripts/bench-pages.sh
#
# For each sort key: page 1000 by number (OFFSET), page 1000 reached by
# its cursor from page 999 (next), and page 999 reached back from page
# 1000 by its cursor (previous); BENCH_PAGES_N requests each (default
# 20). Then one full export (BENCH_PAGES_EXPORT=0 skips it): wall time,
# rows and bytes, and whether it ended complete. With BENCH_DATABASE_URL
# the data directory only holds the secret key (see scripts/bench-serve.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_PAGES_N:-20}
: "${BENCH_PAGES_DATA:?}"
. scripts/bench-serve.sh
bench_serve "$BENCH_PAGES_DATA" "${BENCH_PORT:-18185}" bench-pages
U="$BASE/api/admin/users"
cpu() { echo $(( $(cat /proc/"$PID"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s}') + $(bench_db_cpu) )); }
run() {
  local name=$1 url=$2 c0 c1 line
  c0=$(cpu)
  line=$("$LOADGEN" -name "$name" -url "$url" -cookie "$COOKIE" -c 1 -n "$N")
  c1=$(cpu)
  echo "$line cpu=$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN {printf "%.2f", (b-a)/n/1e6}')ms load=$(cut -d' ' -f1 /proc/loadavg)"
}
cursor() { curl -fs -H "Cookie: $COOKIE" "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$2\"])"; }
echo "keyset pages ($N requests each, p95 target 10 ms by cursor; cpu = server CPU ms per request), start $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
SORTS=${BENCH_PAGES_SORTS:-"-id id display_name -display_name -last_login last_login -updated updated"}
for S in $SORTS; do
  NEXT=$(cursor "$U?sort=$S&perPage=25&page=999" nextCursor)
  PREV=$(cursor "$U?sort=$S&perPage=25&page=1000&after=$NEXT" prevCursor)
  run "page 1000 by number, $S" "$U?sort=$S&perPage=25&page=1000"
  run "page 1000 by cursor (next), $S" "$U?sort=$S&perPage=25&page=1000&after=$NEXT"
  run "page 999 by cursor (previous), $S" "$U?sort=$S&perPage=25&page=999&before=$PREV"
done
if [ "${BENCH_PAGES_EXPORT:-1}" != 0 ]; then
  c0=$(cpu)
  t0=$(date +%s.%N)
  curl -fs -H "Cookie: $COOKIE" -o "$TMP/export.csv" "$U/export.csv" || true # a cut transfer still shows below
  t1=$(date +%s.%N)
  c1=$(cpu)
  rows=$(( $(wc -l <"$TMP/export.csv") - 1 ))
  tail_line=$(tail -c 200 "$TMP/export.csv" | tail -1)
  case $tail_line in *"export failed"*|*"incomplete"*) state="ended with the failure marker: $tail_line" ;; *) state=complete ;; esac
  echo "export: $rows rows, $(( $(stat -c %s "$TMP/export.csv") / 1048576 )) MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b-a}') s, server CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.1f", (b-a)/1e9}') s, $state, load $(cut -d' ' -f1 /proc/loadavg), peak RSS $(awk '/VmHWM/ {printf "%d MiB", $2/1024}' /proc/"$PID"/status)"
fi
echo "end $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
