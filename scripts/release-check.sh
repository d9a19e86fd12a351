#!/usr/bin/env bash
# CI's release check (make release-check, part of make test): builds the
# release for all six targets from the console already built, builds
# linux/amd64 a second time and compares its files (archive, deb, rpm) with
# the first build's (reproducibility), builds the console a second time
# and compares it with frontend/dist, checks what every archive and package
# holds (scripts/check-release-contents.sh), then runs the linux/amd64
# archive's binary through scripts/smoke.sh. The second build
# reuses Go's build cache, so it re-links and re-packs rather than
# recompiling: it proves that nothing of the moment (times, paths, build
# IDs, archive order or owners) gets into the files.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
a=${OUT:-dist}
b=$(mktemp -d)
trap 'rm -rf "$b"' EXIT
OUT=$a scripts/release.sh >/dev/null
t1=$(date +%s)
# The second build: linux/amd64 only unless RELEASE_CHECK_TARGETS says
# more (each extra target costs a link and a pack on CI's two cores).
TARGETS=${RELEASE_CHECK_TARGETS:-linux/amd64} OUT=$b/dist scripts/release.sh >/dev/null
t2=$(date +%s)
if ! grep -F -f <(sed 's/^[0-9a-f]*  //' "$b/dist/SHA256SUMS") "$a/SHA256SUMS" | diff -u - "$b/dist/SHA256SUMS"; then
  echo "release-check: FAIL: two builds of one commit differ" >&2
  exit 1
fi
echo "release-check: $(wc -l <"$a/SHA256SUMS") files built; the $(wc -l <"$b/dist/SHA256SUMS") of the second build are identical; first build $((t1 - start)) s, second $((t2 - t1)) s"
# The console the binaries embed, built a second time, is the same too.
${NPM:-npm} exec -- vite build --logLevel warn --outDir "$b/console" --emptyOutDir >/dev/null
touch "$b/console/.gitkeep"
if ! diff -r frontend/dist "$b/console"; then
  echo "release-check: FAIL: two builds of the console differ" >&2
  exit 1
fi
echo "release-check: a second console build is identical ($(( $(date +%s) - t2 )) s)"
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
scripts/check-release-contents.sh "$a" "$version"
scripts/smoke.sh "$a/gatehouse-$version-linux-amd64.tar.gz" "$version" "$(git rev-parse HEAD)"
echo "release-check: $(( $(date +%s) - start )) s in all"
