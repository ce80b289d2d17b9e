#!/bin/sh
# get-debian-kernel: fetches Debian's current amd64 kernel package and extracts its bzImage to DIR/vmlinuz
# (for `make check-linux`). Usage: scripts/get-debian-kernel.sh DIR
set -eu
dir=${1:?usage: get-debian-kernel.sh DIR}
mkdir -p "$dir"
[ -s "$dir/vmlinuz" ] && exit 0
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || { apt-get update -qq && pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'); }
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download "$pkg" >/dev/null)
dpkg-deb -x "$tmp"/*.deb "$tmp/x"
cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz"
rm -rf "$tmp"
echo "$dir/vmlinuz: $pkg"
