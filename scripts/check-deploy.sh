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
