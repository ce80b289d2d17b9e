#!/bin/sh
# svmhost-snapshot: in one boot of the AMD-V test host (tests/svmhost), the time from `nestvisor run --restore` to
# the restored guest's next serial byte, 128 MiB and 2 GiB guests, against QEMU's -incoming of the same guest
# migrated to a file; the snapshot's write time against cp of as many bytes; its size against the RAM touched.
# Prints each run, the medians and nestvisor's time as a ratio of QEMU's (below 1: nestvisor is faster).
#   NV_BUILDDIR=build sh bench/svmhost-snapshot.sh [RUNS]     (needs `make bench` for bench/firstbyte)
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench-snapshot
NV_BENCH_RUNS=${1:-5}
[ -x "$B/bench/firstbyte" ] || { echo "svmhost-snapshot: build bench/firstbyte first (make bench)"; exit 1; }
NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out" --timeout 900 \
	--cmd "NV_BENCH_RUNS=$NV_BENCH_RUNS sh /svmhost/b-snapshot.sh" 2>/dev/null | grep '^bench' | tee "$out.txt"
awk '$1 == "bench-median:" { m[$2 " " $3] = $4 }
	$1 == "bench:" && $5 != "" { v[$2 " " $3] = $5 }
	END {
		for (mem = 128; mem <= 2048; mem *= 16) {
			n = m["nestvisor-restore-first-byte-ms " mem]; q = m["qemu-incoming-first-byte-ms " mem]
			if (n == "") { print "svmhost-snapshot: no nestvisor result for " mem " MiB"; bad = 1; continue }
			if (q > 0) printf "ratio restore %d MiB nestvisor / qemu: %.3f (%.1f ms / %.1f ms)\n", mem, n / q, n, q
			b = m["nestvisor-boot-first-byte-ms " mem]
			if (b > 0) printf "ratio restore / boot %d MiB, nestvisor: %.2f (%.1f ms / %.1f ms)\n", mem, n / b, n, b
			f = m["nestvisor-version-ms " mem]
			if (f > 0) printf "restore %d MiB beyond `nestvisor --version` (the process itself): %.1f ms\n", mem, n - f
			s = v["nestvisor-snapshot-ms " mem]; c = v["cp-ms " mem]
			if (c > 0) printf "ratio snapshot write %d MiB / cp of as many bytes: %.2f (%.1f ms / %.1f ms)\n", mem, s / c, s, c
			d = v["nestvisor-snapshot-disk-bytes " mem]; t = v["nestvisor-touched-bytes " mem]
			if (t > 0) printf "snapshot %d MiB: %.1f MiB on disk for %.1f MiB the guest touched (QEMU: %.1f MiB)\n", mem,
				d / 1048576, t / 1048576, v["qemu-migration-bytes " mem] / 1048576
		}
		exit bad
	}' "$out.txt"
