# Sourced by the benchmark scripts that measure a running server on a data
# directory (bench-grid.sh, bench-audit.sh): bench_serve DATA PORT NAME
# builds the load generator, makes sure the benchadmin account exists,
# starts `gatehouse serve` on DATA at 127.0.0.1:PORT, signs benchadmin in,
# and turns rate limits off (and sessions long) for the run. It sets TMP,
# LOADGEN, BASE, PID and COOKIE; the server stops and TMP goes when the
# script exits.
bench_serve() {
  local data=$1 port=$2 name=$3
  BIN=${BIN:-bin/gatehouse}
  TMP=$(mktemp -d "/tmp/gatehouse-$name.XXXXXX")
  LOADGEN=$TMP/loadgen
  BASE=http://127.0.0.1:$port
  PID=""
  trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
  go build -o "$LOADGEN" ./internal/devtools/loadgen
  $BIN admin create --data "$data" --username benchadmin --password 'Bench-Admin-Passphrase-1' >/dev/null 2>&1 || true
  $BIN serve --data "$data" --http "127.0.0.1:$port" --log-level error >"$TMP/server.log" 2>&1 &
  PID=$!
  until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.1; done
  COOKIE=$(curl -fs -c - -H 'Content-Type: application/json' -d '{"identifier":"benchadmin","password":"Bench-Admin-Passphrase-1"}' "$BASE/api/auth/login" | awk '/gatehouse_session/ {print $6"="$7}')
  local version
  version=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/settings/security" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  curl -fs -o /dev/null -X PUT -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/settings/security" \
    -d "{\"version\":$version,\"sessionLifetimeSeconds\":604800,\"sessionIdleTimeoutSeconds\":0,\"accessTokenLifetimeSeconds\":900,\"lockThreshold\":10,\"lockDurationSeconds\":900,\"rateLimitEnabled\":false,\"rateLimitPerMinute\":600,\"authRateLimitPerMinute\":20}"
}
