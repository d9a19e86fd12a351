#!/usr/bin/env bash
# systemd-analyze verify on the service unit. The unit names
# /usr/bin/gatehouse, which a build machine lacks: the copy checked runs
# /bin/true instead; everything else is the shipped file.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check-deploy: systemd-analyze not found (apt-get install systemd)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's|^ExecStart=/usr/bin/gatehouse|ExecStart=/bin/true|' deploy/gatehouse.service >"$tmp/gatehouse.service"
out=$(systemd-analyze verify "$tmp/gatehouse.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; echo "check-deploy: FAIL: systemd-analyze warned" >&2; exit 1; fi
echo "check-deploy: deploy/gatehouse.service verifies"

# The container file cannot be built here (no registry for its base
# images); its promises are checked as text: a non-root user, the data
# volume, a health check that needs no curl, a static build.
c=deploy/Containerfile
grep -qE '^USER [1-9][0-9]*:[1-9][0-9]*$' $c || { echo "check-deploy: $c must run as a non-root numeric user" >&2; exit 1; }
grep -qE '^VOLUME \["/data"\]$' $c || { echo "check-deploy: $c must declare the /data volume" >&2; exit 1; }
grep -qE 'CMD \["/usr/bin/gatehouse", "healthcheck"\]' $c || { echo "check-deploy: $c must check health with gatehouse healthcheck" >&2; exit 1; }
grep -q 'CGO_ENABLED=0' $c || { echo "check-deploy: $c must build a static binary" >&2; exit 1; }
echo "check-deploy: $c keeps its promises"

# The forward-auth configurations are shown in the README as copy-paste
# blocks; each file must appear there whole, as one fenced block, so that
# the README never shows a configuration other than the one CI runs
# (nginx, in frontend/e2e/forward-auth.spec.ts) and the proxies script
# checks (scripts/forward-auth-proxies.py).
python3 - <<'PY'
import pathlib, re, sys
readme = pathlib.Path("README.md").read_text()
bad = []
for f in sorted(pathlib.Path("deploy/forward-auth").iterdir()):
    if not re.search(r"```[a-z]*\n" + re.escape(f.read_text()) + r"```\n", readme):
        bad.append(str(f))
if bad:
    sys.exit("check-deploy: README.md does not show these files verbatim as a fenced block: " + ", ".join(bad))
print("check-deploy: README.md shows deploy/forward-auth/* verbatim")
PY
