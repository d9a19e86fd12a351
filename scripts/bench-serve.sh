# Sourced by the benchmark scripts that measure a running server on a data
# directory (bench-grid.sh, bench-audit.sh): bench_serve DATA PORT NAME
# builds the load generator, makes sure the benchadmin account exists,
# starts `gatehouse serve` on DATA at 127.0.0.1:PORT, signs benchadmin in,
# and turns rate limits off (and sessions long) for the run. It sets TMP,
# LOADGEN, BASE, PID and COOKIE; the server stops and TMP goes when the
# script exits. With BENCH_DATABASE_URL set (a PostgreSQL database that
# already holds the accounts, e.g. one scripts/bench-pg.sh seeded), the
# server runs on it and DATA is only the directory of its secret key
# (bench-pg.sh keeps it in /tmp/gatehouse-bench-pg/NAME); the URL gets
# application_name=gatehouse-bench so that bench_db_cpu can find the
# server's database backends.
bench_serve() {
  local data=$1 port=$2 name=$3
  BIN=${BIN:-bin/gatehouse}
  TMP=$(mktemp -d "/tmp/gatehouse-$name.XXXXXX")
  LOADGEN=$TMP/loadgen
  BASE=http://127.0.0.1:$port
  PID=""
  trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
  go build -o "$LOADGEN" ./internal/devtools/loadgen
  local db=()
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    case $BENCH_DATABASE_URL in *\?*) db=(--database-url "$BENCH_DATABASE_URL&application_name=gatehouse-bench") ;;
      *) db=(--database-url "$BENCH_DATABASE_URL?application_name=gatehouse-bench") ;; esac
  fi
  $BIN admin create --data "$data" "${db[@]}" --username benchadmin --password 'Bench-Admin-Passphrase-1' >/dev/null 2>&1 || true
  $BIN serve --data "$data" "${db[@]}" --http "127.0.0.1:$port" --log-level error >"$TMP/server.log" 2>&1 &
  PID=$!
  until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.1; done
  COOKIE=$(curl -fs -c - -H 'Content-Type: application/json' -d '{"identifier":"benchadmin","password":"Bench-Admin-Passphrase-1"}' "$BASE/api/auth/login" | awk '/gatehouse_session/ {print $6"="$7}')
  local version
  version=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/admin/settings/security" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  curl -fs -o /dev/null -X PUT -H "Cookie: $COOKIE" -H 'Content-Type: application/json' "$BASE/api/admin/settings/security" \
    -d "{\"version\":$version,\"sessionLifetimeSeconds\":604800,\"sessionIdleTimeoutSeconds\":0,\"accessTokenLifetimeSeconds\":900,\"lockThreshold\":10,\"lockDurationSeconds\":900,\"rateLimitEnabled\":false,\"rateLimitPerMinute\":600,\"authRateLimitPerMinute\":20}"
}

# bench_db_cpu: nanoseconds of CPU the server's PostgreSQL backends have
# used so far (0 on SQLite, where the database runs inside the server and
# is in its own schedstat). Backends are found by their application_name;
# a backend that closed in between takes its CPU with it, so the figure is
# a lower bound when the pool recycles connections.
bench_db_cpu() {
  [ -n "${BENCH_DATABASE_URL:-}" ] || { echo 0; return; }
  local pids
  pids=$(psql -X -tA "$BENCH_DATABASE_URL" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'gatehouse-bench'" 2>/dev/null)
  local total=0 p
  for p in $pids; do
    # utime + stime in clock ticks (fields 14, 15), as nanoseconds.
    total=$(( total + $(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14+$15)*1e9/hz}' /proc/"$p"/stat 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
