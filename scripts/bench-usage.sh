#!/usr/bin/env bash
# Service API workloads (issue 20), run by scripts/bench.sh against its
# server, or alone (BENCH_USAGE_ALONE=1: seeds BENCH_USERS accounts in a
# temporary directory and starts its own server). Targets: entitlement
# read >= 5,000 req/s at 32 clients; single charges >= 1,000/s at 16
# clients; batched usage >= 20,000 events/s. Under each loadgen line: req/s
# (events/s for batches), the server's CPU per request (per event) during
# the workload (user+sys from /proc/PID/stat, which does not depend on the
# load) and the load average.
# Needs: BASE, COOKIE (a super administrator's session), PID, LOADGEN, WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}

if [ -n "${BENCH_USAGE_ALONE:-}" ]; then
  USERS=${BENCH_USERS:-10000}
  PORT=${BENCH_PORT:-18182}
  BIN=${BIN:-bin/gatehouse}
  WORK=$(mktemp -d /tmp/gatehouse-bench-usage.XXXXXX)
  LOADGEN=$WORK/loadgen
  BASE=http://127.0.0.1:$PORT
  PID=""
  trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
  go build -o "$LOADGEN" ./internal/devtools/loadgen
  $BIN seed --data "$WORK/data" --users "$USERS" | tail -1
  $BIN admin create --data "$WORK/data" --username benchadmin --password 'Bench-Admin-Passphrase-1' >/dev/null
  $BIN serve --data "$WORK/data" --http 127.0.0.1:$PORT --log-level error >"$WORK/server.log" 2>&1 &
  PID=$!
  until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.05; done
  COOKIE=$(curl -fs -c - -H 'Content-Type: application/json' -d '{"identifier":"benchadmin","password":"Bench-Admin-Passphrase-1"}' "$BASE/api/auth/login" | awk '/gatehouse_session/ {print $6"="$7}')
  VERSION=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/settings/security" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  curl -fs -o /dev/null -X PUT -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/settings/security" \
    -d "{\"version\":$VERSION,\"sessionLifetimeSeconds\":604800,\"sessionIdleTimeoutSeconds\":0,\"accessTokenLifetimeSeconds\":900,\"lockThreshold\":10,\"lockDurationSeconds\":900,\"rateLimitEnabled\":false,\"rateLimitPerMinute\":600,\"authRateLimitPerMinute\":20}"
fi

# The usage billing mode and a key with billing:read and billing:charge.
BV=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/settings/billing" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
curl -fs -o /dev/null -X PUT -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/settings/billing" -d "{\"version\":$BV,\"mode\":\"usage\",\"currency\":\"USD\"}"
KEY=$(curl -fs -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/api-keys" -d '{"name":"bench","scopes":["billing:read","billing:charge"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
AUTH="Authorization: Bearer $KEY"
# 64 accounts to read and charge, each credited enough first.
curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/users?status=active&role=user&perPage=64" | python3 -c 'import json,sys
for u in json.load(sys.stdin)["items"]: print(u["publicId"])' >"$WORK/accounts.txt"
ENT=$(sed "s|^|$BASE/api/service/entitlements/|" "$WORK/accounts.txt" | paste -sd'|')
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
ids = [l.strip() for l in open(work + "/accounts.txt") if l.strip()]
with open(work + "/credit.json", "w") as f:
    f.write(json.dumps({"events": [{"account": a, "amount": 10**12, "idempotencyKey": "bench-credit-{{n}}-" + a, "type": "credit"} for a in ids]}))
with open(work + "/charges.jsonl", "w") as f:
    for i, a in enumerate(ids):
        f.write(json.dumps({"account": a, "amount": 3, "idempotencyKey": "c{{n}}", "reason": "bench", "metadata": {"tokens": 1200, "model": "m1"}}) + "\n")
with open(work + "/batch.json", "w") as f:
    f.write(json.dumps({"events": [{"account": ids[k % len(ids)], "amount": 1, "idempotencyKey": "b{{n}}-%d" % k, "metadata": {"tokens": k}} for k in range(1000)]}))
PY
"$LOADGEN" -name credit -url "$BASE/api/service/usage/batch" -method POST -bodies "$WORK/credit.json" -header "$AUTH" -n 1 -c 1 >/dev/null

cpu() { awk '{print $14 + $15}' /proc/"$PID"/stat; }
# U EVENTS_PER_REQUEST loadgen-args...: the loadgen line, then requests
# (and events) per second, the server's CPU per request (and per event)
# from /proc/PID/stat, and the load average.
U() {
  local per=$1 t0 t1 out n rps ms
  shift
  t0=$(cpu)
  out=$("$LOADGEN" "$@" -header "$AUTH")
  t1=$(cpu)
  n=$(echo "$out" | sed -E 's/.*requests=([0-9]+).*/\1/')
  rps=$(echo "$out" | sed -E 's/.*rps=([0-9.]+).*/\1/')
  ms=$(echo "($t1 - $t0) / $(getconf CLK_TCK) * 1000 / ($n + 0.000001)" | bc -l)
  echo "$out"
  if [ "$per" -gt 1 ]; then
    printf '  => %.0f events/s, server CPU %.1f us per event (%.2f ms per request), load %s\n' \
      "$(echo "$rps * $per" | bc -l)" "$(echo "$ms * 1000 / $per" | bc -l)" "$ms" "$(cut -d' ' -f1-3 /proc/loadavg)"
  else
    printf '  => %.0f req/s, server CPU %.3f ms per request, load %s\n' "$rps" "$ms" "$(cut -d' ' -f1-3 /proc/loadavg)"
  fi
}
echo
echo "service API (targets: entitlements 5000 req/s at 32 clients, charges 1000/s at 16, batch 20000 events/s = 20 batches/s):"
U 1 -name "GET entitlement" -url "$ENT" -c 32 -d "$DURATION"
U 1 -name "POST usage charge" -url "$BASE/api/service/usage/charges" -method POST -bodies "$WORK/charges.jsonl" -ok 201 -c 16 -d "$DURATION"
U 1000 -name "POST usage batch (1000 events)" -url "$BASE/api/service/usage/batch" -method POST -bodies "$WORK/batch.json" -c 4 -d "$DURATION"
