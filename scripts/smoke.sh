#!/usr/bin/env bash
# Smoke test of a release archive's binary, as a person would first use it:
# unpack (README, LICENSE and notices beside the binary), `gatehouse
# version`, start, open the setup link's API to create the first
# administrator, sign in, read /api/me and /api/health (version, commit,
# build date), load the console page, check
# `gatehouse healthcheck`, and see a second start on the same data refused.
#   scripts/smoke.sh dist/gatehouse-VERSION-linux-amd64.tar.gz [VERSION COMMIT]
set -euo pipefail
archive=$1
want_version=${2:-}
want_commit=${3:-}
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "smoke: FAIL: $*" >&2; [ -f "$work/out.log" ] && sed 's/^/  | /' "$work/out.log" "$work/err.log" >&2; exit 1; }

tar -xzf "$archive" -C "$work"
bin=$(find "$work" -name gatehouse -type f -perm -u+x | head -1)
[ -n "$bin" ] || fail "no executable gatehouse in $archive"
for doc in README.md LICENSE THIRD_PARTY_NOTICES.txt; do
  [ -f "$(dirname "$bin")/$doc" ] || fail "no $doc in $archive"
done
grep -q "Apache License" "$(dirname "$bin")/LICENSE" || fail "LICENSE is not the Apache License"

ver=$("$bin" version)
echo "$ver" | head -1
[ -z "$want_version" ] || echo "$ver" | grep -qx "gatehouse $want_version" || fail "version says '$ver', want $want_version"
[ -z "$want_commit" ] || echo "$ver" | grep -qx "commit $want_commit" || fail "version says '$ver', want commit $want_commit"

# A random port that nothing listens on yet (and its neighbour, which the
# second serve below tries): release-check runs beside the Playwright suite,
# whose servers listen on ports of their own.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
  port=$(( 20000 + RANDOM % 20000 ))
  port_busy "$port" || port_busy "$((port + 1))" || break
done
base="http://127.0.0.1:$port"
data="$work/data"
"$bin" serve --data "$data" --http "127.0.0.1:$port" >"$work/out.log" 2>"$work/err.log" &
pid=$!
token=""
for _ in $(seq 1 300); do
  token=$(grep -o 'setup?token=[A-Za-z0-9_-]*' "$work/out.log" 2>/dev/null | head -1 | cut -d= -f2 || true)
  [ -n "$token" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited"
  sleep 0.1
done
[ -n "$token" ] || fail "no setup link printed"
head -1 "$work/err.log" | grep -q "data directory" || fail "the first log line does not name the data directory"

json() { curl -fsS -H 'Content-Type: application/json' "$@"; }
pw='Smoke-Test-Passphrase-42'
json -X POST "$base/api/setup" -d "{\"token\":\"$token\",\"username\":\"root\",\"password\":\"$pw\"}" >/dev/null || fail "setup with the printed link"
jar="$work/cookies"
json -c "$jar" -X POST "$base/api/auth/login" -d "{\"identifier\":\"root\",\"password\":\"$pw\"}" >/dev/null || fail "sign-in"
json -b "$jar" "$base/api/me" | grep -q '"username":"root"' || fail "/api/me after sign-in"
health=$(curl -fsS "$base/api/health")
[ -z "$want_version" ] || echo "$health" | grep -q "\"version\":\"$want_version\"" || fail "/api/health says $health"
[ -z "$want_commit" ] || echo "$health" | grep -q "\"commit\":\"$want_commit\"" || fail "/api/health says $health, want commit $want_commit"
echo "$health" | grep -qE '"built":"[0-9]{4}-[0-9]{2}-[0-9]{2}T' || fail "/api/health names no build date: $health"
# The console is built in (the footer reads the build from /api/health).
console=$(curl -fsS "$base/")
echo "$console" | grep -q '<div id="app">' || fail "the binary serves no console at /: $(echo "$console" | head -c 300)"
echo "$console" | grep -q '/assets/' || fail "the console page loads no assets"
"$bin" healthcheck --http "127.0.0.1:$port" >/dev/null || fail "gatehouse healthcheck"
if "$bin" serve --data "$data" --http "127.0.0.1:$((port + 1))" >/dev/null 2>"$work/second.log"; then
  fail "a second server started on the same data directory"
fi
grep -q "another instance is using" "$work/second.log" || fail "second start: $(cat "$work/second.log")"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "smoke: ok ($archive: documents, version, start, setup link, sign-in, health with version, commit and build date, console, healthcheck, lock)"
