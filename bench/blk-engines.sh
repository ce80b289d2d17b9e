#!/bin/sh
# blk-engines: would io_uring (liburing) serve virtio-blk faster than what its I/O thread does now (one
# preadv/pwritev at a time, fio's psync engine)? fio, on this host, against a disk image on a real filesystem,
# with O_DIRECT as --disk ...,cache=none does and through the page cache as the default does: 4 KiB random
# reads and 64 KiB sequential writes, psync against io_uring at queue depth 1 (what one request at a time
# gets) and 32 (what a guest with many requests in flight could get if the I/O thread kept them all in flight).
#   sh bench/blk-engines.sh [DIR]      (DIR: where the 1 GiB test image goes; default /var/tmp)
set -u
command -v fio > /dev/null || { echo "blk-engines: needs fio (apt-get install fio)"; exit 1; }
dir=${1:-/var/tmp}
img=$(mktemp "$dir/nv-blk-engines.XXXXXX") || exit 1
trap 'rm -f "$img"' EXIT INT TERM
fio --name=fill --filename="$img" --size=1G --rw=write --bs=1M --direct=1 --output=/dev/null > /dev/null 2>&1
run() {	# ENGINE DEPTH RW BS DIRECT: IOPS (median of 3 runs of 5 s)
	for i in 1 2 3; do
		fio --name=b --filename="$img" --size=1G --time_based --runtime=5 --ioengine=$1 --iodepth=$2 --rw=$3 \
			--bs=$4 --direct=$5 --output-format=terse --terse-version=3 2>/dev/null |
			awk -F';' -v rw=$3 '{ print (rw ~ /read/) ? $8 : $49 }'
	done | sort -n | sed -n 2p
}
for direct in 1 0; do
	for t in "randread 4k" "write 64k"; do
		set -- $t
		p1=$(run psync 1 $1 $2 $direct); u1=$(run io_uring 1 $1 $2 $direct); u32=$(run io_uring 32 $1 $2 $direct)
		awk -v w="$1 $2 direct=$direct" -v p=$p1 -v a=$u1 -v b=$u32 'BEGIN {
			printf "%-24s psync %8d IOPS | io_uring depth 1 %8d (%.2fx) | depth 32 %8d (%.2fx)\n", w, p, a, a / p, b, b / p }'
	done
done
