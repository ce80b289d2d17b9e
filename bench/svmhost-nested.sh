#!/bin/sh
# svmhost-nested: nested guests' speed with nestvisor as the L1 VMM against QEMU as the L1 VMM, in one boot of the
# AMD-V test host (tests/svmhost): L2 is Debian's kernel running KVM, L3 is nestvisor's test guest run by
# nestvisor inside L2. Prints L3's launch-to-first-byte (median of 3) and one L3 port-write exit round trip
# (L3 -> L2's KVM -> nestvisor in L2 -> L3) under each, and the ratios nestvisor / QEMU (below 1: faster).
#   NV_BUILDDIR=build sh bench/svmhost-nested.sh
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench-nested
NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out" --timeout 1500 --cmd "sh /svmhost/b-nested.sh" \
	2>/dev/null | grep '^bench' | tee "$out.txt"
awk '$1 == "bench:" && $3 == "first-byte" { fb[$2] = fb[$2] " " $4 }
	$1 == "bench:" && $3 == "rtt" && $4 != "FAILED" { rtt[$2] = $4 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n ? a[int((n + 1) / 2)] : 0
	}
	END {
		if (!rtt["nestvisor"] || !rtt["qemu"]) { print "svmhost-nested: a run failed (see tests/svmhost-bench-nested)"; exit 1 }
		printf "L3 exit round trip: nestvisor as L1 VMM %.1f us, QEMU %.1f us: ratio %.2f\n", rtt["nestvisor"], rtt["qemu"],
		       rtt["nestvisor"] / rtt["qemu"]
		a = median(fb["nestvisor"]); b = median(fb["qemu"])
		printf "L3 launch to first serial byte (median): under nestvisor %.2f s, under QEMU %.2f s: ratio %.2f\n", a, b,
		       (b > 0 ? a / b : 0)
	}' "$out.txt"
