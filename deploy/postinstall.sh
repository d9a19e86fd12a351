#!/bin/sh
# Creates the gatehouse system account and reloads systemd. The service is
# not started or enabled here: the administrator does that after reading
# /etc/gatehouse/gatehouse.env.
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/gatehouse.conf
elif ! getent passwd gatehouse >/dev/null; then
  useradd --system --home-dir /var/lib/gatehouse --no-create-home --shell /usr/sbin/nologin gatehouse
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
