#!/usr/bin/env bash
# Builds the image of deploy/Containerfile around a release binary and runs
# it (make container-check; optional in CI, it needs podman or docker):
#   - the image runs as 65532:65532, with /data a volume and a HEALTHCHECK;
#   - the server starts, prints its setup link and answers /api/ready;
#   - the health check passes (`podman healthcheck run`);
#   - the process runs as uid 65532 and the data lands in the volume, owned
#     by it; the image has no shell and carries LICENSE;
#   - a new container on the same volume keeps the accounts (an upgrade).
# The final stage is deploy/Containerfile's own (FROM ${BASE} to the end),
# with the binary copied in rather than built in the golang stage: the
# release builds it the same way (static, CGO_ENABLED=0).
#
#   scripts/container-check.sh dist/gatehouse-VERSION-linux-amd64.tar.gz
#
# CONTAINER_ENGINE (podman), ENGINE_FLAGS (e.g. "--storage-driver vfs
# --runtime runc" inside another container), RUN_FLAGS (e.g. "--ulimit
# nofile=1024:1024 --ulimit nproc=1000:1000"), CONTAINER_NETWORK=host (no
# port publishing) and CONTAINER_BASE (the base image; when it cannot be
# pulled, a stand-in is built from scratch with what distroless/static
# holds that Gatehouse uses: /etc/passwd with nonroot, /tmp, CA
# certificates) adapt it to the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${1:?usage: scripts/container-check.sh dist/gatehouse-VERSION-linux-amd64.tar.gz}
engine=${CONTAINER_ENGINE:-podman}
read -r -a ef <<<"${ENGINE_FLAGS:-}"
read -r -a rf <<<"${RUN_FLAGS:-}"
base=${CONTAINER_BASE:-gcr.io/distroless/static-debian12:nonroot}
e() { "$engine" "${ef[@]}" "$@"; }
work=$(mktemp -d)
name=gatehouse-check-$$
vol=$name-data
image=localhost/gatehouse-check:$$
cleanup() {
  e rm -f "$name" "$name-2" >/dev/null 2>&1 || true
  e volume rm -f "$vol" >/dev/null 2>&1 || true
  e rmi -f "$image" localhost/gatehouse-base-standin:$$ >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "container-check: FAIL: $*" >&2
  e logs "$name" 2>&1 | sed 's/^/  | /' >&2 || true
  exit 1
}

mkdir -p "$work/ctx/data"
tar -xzf "$archive" -C "$work"
bin=$(find "$work" -path "$work/ctx" -prune -o -name gatehouse -type f -print | head -1)
[ -n "$bin" ] || fail "no gatehouse binary in $archive"
cp "$bin" "$work/ctx/gatehouse"
cp LICENSE "$work/ctx/LICENSE"

if ! e image exists "$base" 2>/dev/null && ! e pull -q "$base" >/dev/null 2>&1; then
  echo "container-check: cannot pull $base; building a stand-in from scratch" >&2
  root=$work/standin
  mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/" 2>/dev/null || true
  printf 'FROM scratch\nCOPY . /\n' >"$work/standin.Containerfile"
  e build -q --format docker -t localhost/gatehouse-base-standin:$$ -f "$work/standin.Containerfile" "$root" >/dev/null
  base=localhost/gatehouse-base-standin:$$
fi

# The final stage of the shipped file, fed the binary instead of the
# golang stage's output.
sed -n '/^FROM \${BASE}/,$p' deploy/Containerfile |
  sed -e 's|^COPY --from=build /out/gatehouse /usr/bin/gatehouse$|COPY gatehouse /usr/bin/gatehouse|' \
      -e 's|^COPY --from=build /src/LICENSE |COPY LICENSE |' \
      -e 's|^COPY --from=build --chown=65532:65532 /out/data /data$|COPY --chown=65532:65532 data /data|' >"$work/body"
grep -q -- '--from=build' "$work/body" && fail "deploy/Containerfile's final stage copies from the build stage in a way this check does not know"
{ echo 'ARG BASE'; cat "$work/body"; } >"$work/ctx/Containerfile"
e build -q --format docker --build-arg BASE="$base" -t "$image" -f "$work/ctx/Containerfile" "$work/ctx" >/dev/null

[ "$(e image inspect --format '{{.Config.User}}' "$image")" = 65532:65532 ] || fail "the image does not run as 65532:65532"
e image inspect --format '{{json .Config.Volumes}}' "$image" | grep -q '"/data"' || fail "/data is not a volume"
e image inspect --format '{{json .Config.Healthcheck}}' "$image" | grep -q 'healthcheck' || fail "no HEALTHCHECK running gatehouse healthcheck"
e run --rm "${rf[@]}" --entrypoint /usr/bin/gatehouse "$image" version >/dev/null || fail "the binary does not run in the image"

port=$(( 20000 + RANDOM % 20000 ))
if [ "${CONTAINER_NETWORK:-}" = host ]; then
  net=(--network host -e "GATEHOUSE_HTTP=0.0.0.0:$port")
else
  net=(-p "127.0.0.1:$port:8080")
fi
start() { e run -d --name "$1" "${rf[@]}" "${net[@]}" -v "$vol:/data" "$image" >/dev/null; }
ready() {
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/api/ready" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
start "$name" || fail "the container did not start"
ready || fail "/api/ready never answered"
logs=$(e logs "$name" 2>&1)
grep -q 'setup?token=' <<<"$logs" || fail "no setup link in the logs"
grep -m1 . <<<"$logs" | grep -q 'data directory.*path=/data' || fail "the first log line does not name /data"
e healthcheck run "$name" >/dev/null || fail "the image's health check failed on a ready server"
pid=$(e inspect --format '{{.State.Pid}}' "$name")
[ "$(stat -c %u "/proc/$pid")" = 65532 ] || fail "the server runs as uid $(stat -c %u "/proc/$pid"), not 65532"
mnt=$(e volume inspect --format '{{.Mountpoint}}' "$vol")
[ "$(stat -c %u "$mnt/gatehouse.db")" = 65532 ] || fail "gatehouse.db is not in the volume or not owned by 65532"
if e exec "$name" /bin/sh -c true >/dev/null 2>&1; then fail "the image has a shell"; fi
e cp "$name:/usr/share/doc/gatehouse/LICENSE" "$work/LICENSE.image" >/dev/null || fail "no /usr/share/doc/gatehouse/LICENSE in the image"
grep -q 'Apache License' "$work/LICENSE.image" || fail "the image's LICENSE is not the Apache License"
e exec "$name" /usr/bin/gatehouse admin create --username alice --password 'Container-Check-Passphrase-42' >/dev/null || fail "admin create in the container"

# A new container on the same volume (what an upgrade does) keeps the data.
e rm -f "$name" >/dev/null
start "$name-2" || fail "the second container did not start"
ready || fail "/api/ready never answered in the second container"
logs=$(e logs "$name-2" 2>&1)
if grep -q 'setup?token=' <<<"$logs"; then fail "the second container printed a setup link: the account was lost"; fi
echo "container-check: ok (image on $base: user 65532, /data volume kept across containers, health check, no shell, LICENSE)"
