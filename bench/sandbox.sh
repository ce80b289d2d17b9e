#!/bin/sh
# sandbox: what confining each thread of the VMM costs (vmm/sandbox.h), in one boot of the AMD-V test host
# (tests/svmhost): Debian's guest's disk (blkbench: write and read MB/s, 4 KiB random reads), TCP over user
# networking, and a ring-3 loop of 200,000 port writes (each a VM exit), each with the sandbox on (the default)
# and off; medians of 3, ratios on/off (1.0: no cost; above 1 for the loop's time is slower).
#   NV_BUILDDIR=build sh bench/sandbox.sh
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench-sandbox
for try in 1 2 3; do
	NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out" --timeout 1200 \
		--cmd "sh /svmhost/b-virtio.sh sandbox" > /dev/null 2>&1
	grep -q '^net: nestvisor-sandbox-off' "$out/results.tap" 2>/dev/null && break
	echo "sandbox: the emulated host froze or a run failed (try $try of 3)" >&2
done
grep '^bench\|^net\|^exitloop' "$out/results.tap"
awk 'function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n ? a[int((n + 1) / 2)] : 0
	}
	/^bench: sandbox-/ { sb = substr($2, 9); w[sb] = w[sb] " " $5; r[sb] = r[sb] " " $7; q[sb] = q[sb] " " $9 }
	/^net: nestvisor-sandbox-/ { sb = substr($2, 19); n[sb] = n[sb] " " $4 }
	/^exitloop:/ { l[$2] = l[$2] " " $4 }
	END {
		printf "sandbox on / off (medians of 3)\n"
		printf "  disk write MB/s    %8s / %-8s = %.3f\n", med(w["on"]), med(w["off"]), med(w["on"]) / med(w["off"])
		printf "  disk read MB/s     %8s / %-8s = %.3f\n", med(r["on"]), med(r["off"]), med(r["on"]) / med(r["off"])
		printf "  4 KiB random IOPS  %8s / %-8s = %.3f\n", med(q["on"]), med(q["off"]), med(q["on"]) / med(q["off"])
		printf "  TCP user net MB/s  %8s / %-8s = %.3f\n", med(n["on"]), med(n["off"]), med(n["on"]) / med(n["off"])
		printf "  200,000 exits, us  %8s / %-8s = %.3f (time: above 1 is slower)\n", med(l["on"]), med(l["off"]), med(l["on"]) / med(l["off"])
	}' "$out/results.tap"
