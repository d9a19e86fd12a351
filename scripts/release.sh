#!/usr/bin/env bash
# Builds the release from the console already in frontend/dist (make release
# builds it first, once): the binary for linux, darwin and windows on amd64
# and arm64, archives with the README, the licence (LICENSE, Apache-2.0) and
# THIRD_PARTY_NOTICES.txt (the licences of the Go modules linked into that
# binary and of the npm packages in its console, from
# internal/devtools/notices, which stops the release on a licence it cannot
# ship), Debian and RPM packages with the same files, and SHA256SUMS, into
# $OUT (dist/).
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
if [ ! -f frontend/dist/bundled-packages.json ]; then
  echo "release: frontend/dist/bundled-packages.json missing: rebuild the console (npm run build)" >&2
  exit 1
fi
if [ ! -f LICENSE ]; then
  echo "release: LICENSE missing" >&2
  exit 1
fi

# A tagged release freezes its migrations: every migration file must be in
# models/migrations/released.sum (make freeze-migrations), so that a test
# fails if one that shipped is edited later. Untagged builds (CI) only say
# which are not frozen yet.
unfrozen=$(comm -13 <(awk '!/^#/ && NF == 2 {print $2}' models/migrations/released.sum | LC_ALL=C sort) \
  <(cd models/migrations && ls | grep -E '^[0-9]{14}_[a-z0-9_]+\.go$' | LC_ALL=C sort))
if [ -n "$unfrozen" ]; then
  if git describe --exact-match --tags HEAD >/dev/null 2>&1 && [ "${RELEASE_ALLOW_UNFROZEN:-}" != 1 ]; then
    echo "release: tagged release $VERSION ships migrations not in models/migrations/released.sum; run make freeze-migrations and commit:" >&2
    echo "$unfrozen" | sed 's/^/  /' >&2
    exit 1
  fi
  echo "release: not frozen yet (make freeze-migrations before tagging): $(echo $unfrozen)" >&2
fi

LDFLAGS="-s -w -buildid= -X gatehouse/server/cli.Version=$VERSION -X gatehouse/server/cli.Commit=$COMMIT -X gatehouse/server/cli.BuildDate=$BUILD_DATE"

# package_version turns a git describe into a Debian and RPM version that
# sorts right: v1.2.0 -> 1.2.0; v1.2.0-3-gabc1234 (three commits after the
# tag) -> 1.2.0+git.3.abc1234; an untagged abc1234 -> 0.0.0~git.abc1234
# (before any release); v2.0.0-rc1 -> 2.0.0~rc1; -dirty -> .dirty. RPM
# allows no '-' in a version.
package_version() {
  local v=$1 dirty=""
  case $v in *-dirty) dirty=.dirty; v=${v%-dirty} ;; esac
  if [[ $v =~ ^[0-9a-f]{7,}$ ]] && git rev-parse -q --verify "$v^{commit}" >/dev/null 2>&1; then
    echo "0.0.0~git.$v$dirty" # a commit, even one spelt in digits only
  elif [[ $v =~ ^v?([0-9]+(\.[0-9]+)*)$ ]]; then
    echo "${BASH_REMATCH[1]}${dirty:++dirty}"
  elif [[ $v =~ ^v?([0-9]+(\.[0-9]+)*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    echo "${BASH_REMATCH[1]}+git.${BASH_REMATCH[3]}.${BASH_REMATCH[4]}$dirty"
  elif [[ $v =~ ^v?([0-9]+(\.[0-9]+)*)-([A-Za-z][A-Za-z0-9.]*)$ ]]; then
    echo "${BASH_REMATCH[1]}~${BASH_REMATCH[3]}$dirty"
  elif [[ $v =~ ^[0-9a-f]+$ ]]; then
    echo "0.0.0~git.$v$dirty"
  else
    echo "0.0.0~$(printf '%s' "$v" | tr -c 'A-Za-z0-9.+~' '.')$dirty"
  fi
}

rm -rf "$OUT"
mkdir -p "$OUT/stage"
$GO build -o "$OUT/stage/notices" ./internal/devtools/notices
for target in $TARGETS; do
  goos=${target%/*}
  goarch=${target#*/}
  name="gatehouse-$VERSION-$goos-$goarch"
  dir="$OUT/stage/$name"
  exe=gatehouse
  [ "$goos" = windows ] && exe=gatehouse.exe
  mkdir -p "$dir"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch $GO build -trimpath -buildvcs=false -tags "$TAGS" -ldflags "$LDFLAGS" -o "$dir/$exe" .
  cp README.md LICENSE "$dir/"
  GO=$GO "$OUT/stage/notices" -binary "$dir/$exe" -console frontend/dist/bundled-packages.json -o "$dir/THIRD_PARTY_NOTICES.txt"
  if [ "$goos" = windows ]; then
    $GO run ./internal/devtools/pack -o "$OUT/$name.zip" "$dir"
  else
    $GO run ./internal/devtools/pack -o "$OUT/$name.tar.gz" "$dir"
  fi
  if [ "$PACKAGES" = 1 ] && [ "$goos" = linux ]; then
    pkgver=$(package_version "$VERSION")
    for fmt in deb rpm; do
      ARCH=$goarch VERSION=$pkgver BINARY="$dir/$exe" NOTICES="$dir/THIRD_PARTY_NOTICES.txt" $GO run "$NFPM" package --config deploy/nfpm.yaml --packager $fmt --target "$OUT/" >/dev/null
    done
  fi
done
rm -rf "$OUT/stage"
(cd "$OUT" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
echo "release $VERSION ($COMMIT, $BUILD_DATE) in $OUT/:"
cat "$OUT/SHA256SUMS"
