#!/bin/sh
# bench/image-import: `nestvisor image import` against the peer it wraps, `qemu-img convert -O raw` run bare
# on the same qcow2 (4 GiB as a disk, 512 MiB of it written in 64 MiB runs). Prints each side's best of 3 and
# the ratio: what our checks (qemu-img info and check, the new output file) cost on top of the copy. Both
# sides end with the copy on disk (import fsyncs it; the peer's is synced after it: `sync FILE`).
# Usage: bench/image-import.sh. Needs qemu-img (qemu-utils).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
NV=${NV_BUILDDIR:-$top}/nestvisor
command -v qemu-img > /dev/null || { echo "bench/image-import: qemu-img is not installed (apt-get install qemu-utils)"; exit 1; }
T=$(mktemp -d /tmp/nv-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
truncate -s 4G "$T/src.raw"
for i in 0 8 16 24 32 40 48 56; do
	head -c 67108864 /dev/urandom | dd of="$T/src.raw" bs=64M seek=$i conv=notrunc 2>/dev/null
done
qemu-img convert -f raw -O qcow2 "$T/src.raw" "$T/disk.qcow2"
rm -f "$T/src.raw"
best() {	# the fastest of three runs of "$@" (it writes $T/out.raw, removed before each), in ms
	b=999999
	for i in 1 2 3; do
		rm -f "$T/out.raw"; sync
		s=$(ms); "$@" > /dev/null 2>&1 || { echo "bench/image-import: $* failed" >&2; exit 1; }; e=$(ms)
		[ $((e - s)) -lt $b ] && b=$((e - s))
	done
	echo $b
}
peer_run() { qemu-img convert -f qcow2 -O raw "$T/disk.qcow2" "$T/out.raw" && sync "$T/out.raw"; }
peer=$(best peer_run)
ours=$(best "$NV" image import "$T/disk.qcow2" -o "$T/out.raw")
echo "qcow2 of 4 GiB (512 MiB written) to raw, on disk: qemu-img convert ${peer} ms, nestvisor image import ${ours} ms"
awk -v o="$ours" -v p="$peer" 'BEGIN { printf "ratio (nestvisor / qemu-img): %.2fx\n", o / p }'
