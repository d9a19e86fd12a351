#!/usr/bin/env bash
# make bench-console (and make bench): time to interactive of the sign-in
# page and the Accounts screen in Chromium against the built binary
# (frontend/e2e/timing.spec.ts; BENCHMARKS.md "Console"), printed with the
# machine's load average, since wall-clock times measure the load too.
# TIMING_RUNS (default 5) loads per page; TIMING_RTT_MS adds a round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "console timing, $(date -u +%H:%M) UTC, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
TIMING_RUNS=${TIMING_RUNS:-5} GATEHOUSE_E2E_WORKERS=1 npx playwright test frontend/e2e/timing.spec.ts --reporter=line 2>&1 | grep -E 'time to interactive|passed|failed' || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
