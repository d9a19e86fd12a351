#!/usr/bin/env bash
# Builds the release from the console already in frontend/dist (make release
# builds it first, once): the binary for linux, darwin and windows on amd64
# and arm64, archives with the README (and the licence, when the repository
# has one), Debian and RPM packages, and SHA256SUMS, into $OUT (dist/).
#
# Reproducible: the version, commit and build date stamped in come from git
# (the build date is the commit's time, not now), every archive time is
# SOURCE_DATE_EPOCH (the commit's time), entries are sorted and owned by 0,
# and -trimpath, -buildvcs=false and an empty build ID keep paths and VCS
# state out of the binary. Two runs on one commit give identical files
# (scripts/release-check.sh checks it).
#
# TARGETS (space-separated GOOS/GOARCH) and PACKAGES=0 narrow a run.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
OUT=${OUT:-dist}
TAGS=${TAGS:-nomsgpack}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
PACKAGES=${PACKAGES:-1}
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE=$(git log -1 --format=%cI 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH

if [ ! -f frontend/dist/index.html ]; then
  echo "release: frontend/dist/index.html missing: build the console first (npm run build)" >&2
  exit 1
fi
licence=""
for f in LICENSE LICENSE.md LICENSE.txt COPYING; do
  if [ -f "$f" ]; then licence=$f; break; fi
done
if [ -z "$licence" ]; then
  echo "release: the repository has no licence file; the archives carry none" >&2
fi

LDFLAGS="-s -w -buildid= -X gatehouse/server/cli.Version=$VERSION -X gatehouse/server/cli.Commit=$COMMIT -X gatehouse/server/cli.BuildDate=$BUILD_DATE"

rm -rf "$OUT"
mkdir -p "$OUT/stage"
for target in $TARGETS; do
  goos=${target%/*}
  goarch=${target#*/}
  name="gatehouse-$VERSION-$goos-$goarch"
  dir="$OUT/stage/$name"
  exe=gatehouse
  [ "$goos" = windows ] && exe=gatehouse.exe
  mkdir -p "$dir"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch $GO build -trimpath -buildvcs=false -tags "$TAGS" -ldflags "$LDFLAGS" -o "$dir/$exe" .
  cp README.md "$dir/"
  [ -n "$licence" ] && cp "$licence" "$dir/"
  if [ "$goos" = windows ]; then
    $GO run ./internal/devtools/pack -o "$OUT/$name.zip" "$dir"
  else
    $GO run ./internal/devtools/pack -o "$OUT/$name.tar.gz" "$dir"
  fi
  if [ "$PACKAGES" = 1 ] && [ "$goos" = linux ]; then
    # Debian and RPM versions must start with a digit.
    pkgver=${VERSION#v}
    case "$pkgver" in [0-9]*) ;; *) pkgver="0.0.0~$pkgver" ;; esac
    for fmt in deb rpm; do
      ARCH=$goarch VERSION=$pkgver BINARY="$dir/$exe" $GO run "$NFPM" package --config deploy/nfpm.yaml --packager $fmt --target "$OUT/" >/dev/null
    done
  fi
done
rm -rf "$OUT/stage"
(cd "$OUT" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
echo "release $VERSION ($COMMIT, $BUILD_DATE) in $OUT/:"
cat "$OUT/SHA256SUMS"
