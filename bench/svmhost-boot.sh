#!/bin/sh
# svmhost-boot: time from launch to a Linux guest's init, nestvisor against QEMU -M pc and QEMU -M microvm, all in
# one boot of the AMD-V test host (tests/svmhost): the same Debian kernel, initramfs, 256 MiB and one vCPU.
# Prints each run, the medians, and nestvisor's time as a ratio of each peer's (below 1: nestvisor is faster);
# nestvisor's bzImage kernel comes from its unpack cache (nestvisor-cold: the first boot, which fills it;
# nestvisor-self: --no-unpack, the guest decompresses as under QEMU); the -pvh rows boot the uncompressed vmlinux.
#   NV_BUILDDIR=build sh bench/svmhost-boot.sh [RUNS]
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench
NV_BENCH_RUNS=${1:-3}
export NV_BENCH_RUNS
NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out" --timeout 900 --cmd "NV_BENCH_RUNS=$NV_BENCH_RUNS sh /svmhost/b-boot.sh" \
	2>/dev/null | grep '^bench' | tee "$out.txt"
awk '$1 == "bench-median:" { m[$2] = $3 }
	END {
		if (!m["nestvisor"]) { print "svmhost-boot: no nestvisor result"; exit 1 }
		for (p in m) if (p ~ /^qemu/ && p !~ /pvh/)
			for (n in m) if (n ~ /^nestvisor/ && n !~ /pvh/)
				printf "ratio %s / %s: %.2f (%.2f s / %.2f s)\n", n, p, m[n] / m[p], m[n], m[p]
		if (m["nestvisor-pvh"] && m["qemu-pc-pvh"])
			printf "ratio nestvisor-pvh / qemu-pc-pvh: %.2f (%.2f s / %.2f s)\n", m["nestvisor-pvh"] / m["qemu-pc-pvh"],
			       m["nestvisor-pvh"], m["qemu-pc-pvh"]
		if (m["nestvisor-pvh"] && m["qemu-pc"])
			printf "ratio nestvisor-pvh / qemu-pc: %.2f (%.2f s / %.2f s)\n", m["nestvisor-pvh"] / m["qemu-pc"],
			       m["nestvisor-pvh"], m["qemu-pc"]
	}' "$out.txt"
