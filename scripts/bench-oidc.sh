#!/usr/bin/env bash
# The OpenID Provider's token endpoint and forward auth (issue 16), against
# the real binary on loopback; make bench runs it, and it runs alone:
#
#   bash scripts/bench-oidc.sh          # builds bin/gatehouse if missing
#
# Targets: refresh grant >= 1,000 req/s at 16 clients on SQLite; forward
# auth >= 5,000 req/s at 32 clients with p99 < 20 ms; binary <= 40 MB.
# It seeds BENCH_OIDC_USERS accounts (default 1000) in a temporary data
# directory, starts Gatehouse with 127.0.0.1 as trusted proxy and the rate
# limiter off, registers a confidential first-party application and a
# protected app (host 127.0.0.1:18999, role user), runs the code flow with
# PKCE for 16 accounts to get 16 refresh tokens, and signs one account in
# for its session cookie. Each line ends with the load average and the
# server's CPU time per request (user+sys from /proc/PID/stat before and
# after, which does not depend on the load the way wall-clock figures do).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
PORT=${BENCH_OIDC_PORT:-18183}
USERS=${BENCH_OIDC_USERS:-1000}
BIN=${BIN:-bin/gatehouse}
WORK=$(mktemp -d /tmp/gatehouse-bench-oidc.XXXXXX)
LOADGEN=$WORK/loadgen
BASE=http://127.0.0.1:$PORT
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || make build-go >/dev/null
go build -o "$LOADGEN" ./internal/devtools/loadgen
echo "binary size: $(stat -c %s "$BIN") bytes ($(( $(stat -c %s "$BIN") / 1048576 )) MiB; target <= 40 MB)"
$BIN seed --data "$WORK/data" --users "$USERS" >/dev/null
$BIN admin create --data "$WORK/data" --username benchadmin --password 'Bench-Admin-Passphrase-1' >/dev/null
$BIN serve --data "$WORK/data" --http 127.0.0.1:$PORT --base-url "$BASE" --trusted-proxy 127.0.0.1 --log-level error >"$WORK/server.log" 2>&1 &
PID=$!
until curl -fs "$BASE/api/health" >/dev/null 2>&1; do sleep 0.05; done

# Everything the workloads need, over the API as a person would.
python3 - "$BASE" "$WORK" <<'PY'
import base64, hashlib, http.client, json, os, secrets, sys, urllib.parse
base, work = sys.argv[1], sys.argv[2]
host = urllib.parse.urlparse(base).netloc

def req(method, path, body=None, cookie=None, headers=None, form=False):
    c = http.client.HTTPConnection(host)
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body) if form else json.dumps(body)
        h["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
    c.request(method, path, data, h)
    r = c.getresponse()
    out = r.read()
    c.close()
    return r, out

def login(ident, pw):
    r, out = req("POST", "/api/auth/login", {"identifier": ident, "password": pw})
    assert r.status == 200, (ident, r.status, out)
    for k, v in r.getheaders():
        if k.lower() == "set-cookie" and v.split("=")[0].endswith("gatehouse_session"):
            return v.split(";")[0]
    raise SystemExit("no session cookie")

admin = login("benchadmin", "Bench-Admin-Passphrase-1")
r, out = req("GET", "/api/admin/settings/security", cookie=admin)
sec = json.loads(out)
sec.update({"rateLimitEnabled": False})
r, out = req("PUT", "/api/admin/settings/security", {k: sec[k] for k in sec}, cookie=admin)
assert r.status == 200, out
redirect = "http://127.0.0.1/cb"
r, out = req("POST", "/api/admin/applications", {"name": "Bench", "firstParty": True, "redirectUris": [redirect]}, cookie=admin)
assert r.status == 201, out
a = json.loads(out)
client_id, secret = a["application"]["clientId"], a["clientSecret"]
r, out = req("POST", "/api/admin/protected-apps", {"name": "Bench app", "hosts": ["127.0.0.1:18999"], "allowedRoles": ["user"]}, cookie=admin)
assert r.status == 201, out
r, out = req("GET", "/api/admin/users?status=active&role=user&perPage=20", cookie=admin)
people = [u["username"] for u in json.loads(out)["items"]]

tokens = []
for name in people[:16]:
    cookie = login(name, "Seeded-Account-Passphrase")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": redirect, "response_type": "code",
        "scope": "openid profile email offline_access", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    loc = "/oauth/authorize?" + q
    for _ in range(6):
        r, out = req("GET", loc, cookie=cookie)
        assert r.status in (302, 303), (loc, r.status, out)
        loc = r.getheader("Location")
        if loc.startswith(redirect):
            break
        if loc.startswith(base):
            loc = loc[len(base):]
    code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
    auth = base64.b64encode(f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}".encode()).decode()
    r, out = req("POST", "/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier},
                 headers={"Authorization": "Basic " + auth}, form=True)
    assert r.status == 200, out
    tokens.append(json.loads(out)["refresh_token"])
open(work + "/refresh.txt", "w").write("\n".join(tokens) + "\n")
open(work + "/client", "w").write(client_id + ":" + secret)
open(work + "/cookie", "w").write(login(people[16], "Seeded-Account-Passphrase"))
PY

cpu() { awk '{print $14 + $15}' /proc/"$PID"/stat; }
W() {
  local t0 t1 out n
  t0=$(cpu)
  out=$("$LOADGEN" "$@")
  t1=$(cpu)
  n=$(echo "$out" | sed -E 's/.*requests=([0-9]+).*/\1/')
  printf '%s  load %s  server CPU %.3f ms/request\n' "$out" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(echo "($t1 - $t0) / $(getconf CLK_TCK) * 1000 / ($n + 0.000001)" | bc -l)"
}
echo "machine: $(nproc) cores, $(uname -sr); $(uptime)"
echo "OpenID Provider and forward auth (targets: refresh 1000 req/s at 16 clients; forward auth 5000 req/s at 32 clients, p99 < 20 ms):"
W -name "POST /oauth/token refresh grant" -url "$BASE/oauth/token" -refresh-chains "$WORK/refresh.txt" -basic "$(cat "$WORK/client")" -c 16 -d "$DURATION"
W -name "GET /api/forward-auth (allowed)" -url "$BASE/api/forward-auth" -cookie "$(cat "$WORK/cookie")" -header "X-Forwarded-Host: 127.0.0.1:18999" -c 32 -d "$DURATION"
W -name "GET /api/forward-auth (no session)" -url "$BASE/api/forward-auth" -header "X-Forwarded-Host: 127.0.0.1:18999" -ok 401 -c 32 -d "$DURATION"
echo "server RSS after: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/"$PID"/status)"
