#!/usr/bin/env bash
# What each release file must hold (scripts/release-check.sh runs it):
#   - every archive: the binary, README.md, LICENSE and THIRD_PARTY_NOTICES.txt
#     under one top directory named after the archive;
#   - the .deb and .rpm: the binary, the systemd unit, the sysusers file,
#     the settings file and the same three documents, with the Apache-2.0
#     licence named in the RPM header;
#   - SHA256SUMS: every other file, with the right sums.
#   scripts/check-release-contents.sh DIST VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$1
version=$2
GO=${GO:-go}
fail() { echo "check-release-contents: FAIL: $*" >&2; exit 1; }
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
$GO build -o "$tools/pack" ./internal/devtools/pack

n=0
for target in linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64 windows-arm64; do
  name="gatehouse-$version-$target"
  exe=gatehouse ext=tar.gz
  case $target in windows-*) exe=gatehouse.exe ext=zip ;; esac
  archive="$dist/$name.$ext"
  [ -f "$archive" ] || fail "$archive missing"
  listing=$("$tools/pack" -l "$archive")
  for f in "$exe" README.md LICENSE THIRD_PARTY_NOTICES.txt; do
    grep -qx "$name/$f" <<<"$listing" || fail "$archive lacks $name/$f (it holds: $(tr '\n' ' ' <<<"$listing"))"
  done
  n=$((n + 1))
done

pkgfiles="/usr/bin/gatehouse /usr/lib/systemd/system/gatehouse.service /usr/lib/sysusers.d/gatehouse.conf
/etc/gatehouse/gatehouse.env /usr/share/doc/gatehouse/README.md /usr/share/doc/gatehouse/LICENSE
/usr/share/doc/gatehouse/THIRD_PARTY_NOTICES.txt"
debs=("$dist"/*.deb)
[ ${#debs[@]} -eq 2 ] && [ -f "${debs[0]}" ] || fail "want a .deb for amd64 and arm64 in $dist, found ${debs[*]}"
for deb in "${debs[@]}"; do
  listing=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
  for f in $pkgfiles /usr/share/doc/gatehouse/copyright; do
    grep -qx "$f" <<<"$listing" || fail "$deb lacks $f"
  done
  dpkg-deb -f "$deb" Package | grep -qx gatehouse || fail "$deb: package name"
  n=$((n + 1))
done
rpms=("$dist"/*.rpm)
[ ${#rpms[@]} -eq 2 ] && [ -f "${rpms[0]}" ] || fail "want an .rpm for amd64 and arm64 in $dist, found ${rpms[*]}"
command -v rpm >/dev/null 2>&1 || fail "rpm not found (apt-get install rpm) to check ${rpms[*]}"
for r in "${rpms[@]}"; do
  listing=$(rpm -qlp "$r" 2>/dev/null)
  for f in $pkgfiles; do
    grep -qx "$f" <<<"$listing" || fail "$r lacks $f"
  done
  [ "$(rpm -qp --queryformat '%{LICENSE}' "$r" 2>/dev/null)" = Apache-2.0 ] || fail "$r: licence tag is not Apache-2.0"
  n=$((n + 1))
done

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the files"
listed=$(wc -l <"$dist/SHA256SUMS")
present=$(find "$dist" -maxdepth 1 -type f ! -name SHA256SUMS | wc -l)
[ "$listed" = "$present" ] || fail "SHA256SUMS lists $listed files, $dist holds $present"
echo "check-release-contents: $n archives and packages hold the binary, README, LICENSE and notices (packages: the systemd unit and sysusers too); SHA256SUMS matches"
