#!/usr/bin/env bash
# The account list's filter x sort grid (issue 18: p95 <= 50 ms for every
# cell at 1M accounts): every filter with every sort key, one client,
# BENCH_GRID_N requests per cell. Each cell's line ends with the server's
# CPU time per request (the run time of all its threads from
# /proc/PID/task/*/schedstat over the cell, divided by the requests: it
# includes HTTP, session and JSON, about 1.5-2 ms for any request, and
# does not depend on the machine's load as the wall-clock p50/p95 do) and
# the load average. A summary follows: cells with p95 <= 50 ms, the
# median p95 and CPU, and the worst cells by p95 and by CPU.
#
# Run by scripts/bench.sh against its server (needs BASE, COOKIE, PID,
# LOADGEN), or alone against a data directory that already holds the
# accounts (a 1M seed takes minutes; the directory is used as it is, so
# give it a copy):
#   BENCH_GRID_DATA=/path/to/copy BIN=bin/gatehouse bash scripts/bench-grid.sh
# It then starts its own server on it, signs in as benchadmin (password
# Bench-Admin-Passphrase-1, created when missing) and turns the rate
# limiter off. On PostgreSQL, BENCH_DATABASE_URL names the database and
# BENCH_GRID_DATA the directory of its key (see bench-serve.sh); the CPU
# per request then adds the server's database backends (10 ms ticks).
# BENCH_GRID_FILTERS / BENCH_GRID_SORTS (space-separated)
# pick cells; BENCH_GRID_OUT keeps the lines in a file.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_GRID_N:-20}

if [ -n "${BENCH_GRID_DATA:-}" ]; then
  . scripts/bench-serve.sh
  bench_serve "$BENCH_GRID_DATA" "${BENCH_PORT:-18183}" bench-grid
fi
: "${BASE:?}" "${COOKIE:?}" "${PID:?}" "${LOADGEN:?}"
U="$BASE/api/admin/users"
OUT=${BENCH_GRID_OUT:-$(mktemp /tmp/gatehouse-grid.XXXXXX)}
: >"$OUT"

FILTERS=${BENCH_GRID_FILTERS:-"- role=user role=admin role=super_admin status=active status=pending status=suspended status=deactivated \
subscription=none subscription=active subscription=expired twoFactor=on twoFactor=off locked=true locked=false \
emailVerified=true emailVerified=false dormantDays=30 dormantDays=3650 status=deactivated&twoFactor=on \
role=admin&locked=true role=user&status=active status=active&twoFactor=off subscription=active&twoFactor=on \
q=chen&status=suspended q=li&twoFactor=on q=sofia&emailVerified=false q=k7&locked=false \
status=pending&emailVerified=true status=suspended&emailVerified=true role=admin&status=active"}
SORTS=${BENCH_GRID_SORTS:-"id -id last_login -last_login updated -updated display_name -display_name"}

# cpu: nanoseconds the server's threads have run so far.
cpu() {
  local own db=0
  own=$(cat /proc/"$PID"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s}')
  if declare -F bench_db_cpu >/dev/null; then db=$(bench_db_cpu); fi
  echo $(( own + db ))
}

echo "list grid (filter x sort, $N requests a cell, p95 target 50 ms; cpu = server CPU ms per request), start $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
for F in $FILTERS; do
  [ "$F" = "-" ] && F=""
  for S in $SORTS; do
    c0=$(cpu)
    line=$("$LOADGEN" -name "$F sort=$S" -url "$U?$F&sort=$S" -cookie "$COOKIE" -c 1 -n "$N")
    c1=$(cpu)
    echo "$line cpu=$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN {printf "%.2f", (b-a)/n/1e6}')ms load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT"
  done
done

# Summary: loadgen prints p95 as a Go duration (1.2ms, 850µs, 1.1s).
python3 - "$OUT" <<'EOF'
import re, statistics, sys
def ms(v):
    m = re.match(r'([0-9.]+)(ns|µs|us|ms|s)$', v)
    return float(m.group(1)) * {'ns': 1e-6, 'µs': 1e-3, 'us': 1e-3, 'ms': 1, 's': 1000}[m.group(2)]
cells = []
for line in open(sys.argv[1], encoding='utf-8'):
    p95, p50, cpu = re.search(r'p95=(\S+)', line), re.search(r'p50=(\S+)', line), re.search(r'cpu=([0-9.]+)ms', line)
    if p95 and cpu:
        cells.append((line.split(' clients=')[0].strip(), ms(p50.group(1)), ms(p95.group(1)), float(cpu.group(1))))
if not cells:
    sys.exit(0)
print(f"grid: {sum(c[2] <= 50 for c in cells)} of {len(cells)} cells with p95 <= 50 ms; median p50 {statistics.median(c[1] for c in cells):.1f} ms, "
      f"p95 {statistics.median(c[2] for c in cells):.1f} ms, cpu {statistics.median(c[3] for c in cells):.2f} ms/request; "
      f"{sum(c[3] <= 50 for c in cells)} cells at or below 50 ms of CPU per request")
print("worst p95:  " + "; ".join(f"{n} {p95:.1f} ms (cpu {c:.1f})" for n, _, p95, c in sorted(cells, key=lambda c: -c[2])[:5]))
print("worst cpu:  " + "; ".join(f"{n} {c:.1f} ms (p95 {p95:.1f})" for n, _, p95, c in sorted(cells, key=lambda c: -c[3])[:5]))
EOF
echo "end $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
