#!/bin/sh
# svmhost-passthrough: a passed-through NIC (the e1000e of the IOMMU test host, run.sh --iommu) under nestvisor
# against QEMU's vfio-pci, in one boot of that host: the guest's download and upload of 16.5 MiB each (MiB/s,
# mean of 3 runs; the ratio nestvisor / QEMU, above 1: faster), KVM's count of the VM's exits per MiB moved for
# passthrough under both and, for the trap-overhead table, QEMU's virtio-net and emulated e1000e on its own user
# network; and a VM's start-up (launch to power-off of an idle guest, median of 3) with and without the device.
#   NV_BUILDDIR=build [THP=always|madvise|never] sh bench/svmhost-passthrough.sh [intel|amd]
# THP sets the test host's transparent huge pages first (its own default is madvise: QEMU's guest RAM gets them).
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench-passthrough
NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --iommu "${1:-intel}" --out "$out" --timeout 2400 \
	--cmd "THP=${THP:-} sh /svmhost/b-pass.sh" 2>/dev/null | grep '^bench' | tee "$out.txt"
awk 'function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n ? a[int((n + 1) / 2)] : 0
	}
	$1 == "bench:" && $4 == "down_s" {
		if ($5 == "FAILED" || $7 == "FAILED") { failed = failed " " $2 " run " $3; next }
		mib = 17288896 / 1048576
		down[$2] += mib / $5; up[$2] += mib / $7; ex[$2] += $9 / (2 * mib); n[$2]++; nic[$2] = $11
	}
	$1 == "bench:" && $2 ~ /^start-/ { st[$2] = st[$2] " " $5 }
	END {
		if (failed != "") print "svmhost-passthrough: failed:" failed " (see tests/svmhost-bench-passthrough)"
		split("nestvisor-vfio qemu-vfio qemu-virtio qemu-e1000e", w, " ")
		printf "%-16s %-12s %12s %12s %14s\n", "who", "guest NIC", "down MiB/s", "up MiB/s", "exits/MiB"
		for (i = 1; i <= 4; i++) if (n[w[i]])
			printf "%-16s %-12s %12.2f %12.2f %14.1f\n", w[i], nic[w[i]], down[w[i]] / n[w[i]],
				up[w[i]] / n[w[i]], ex[w[i]] / n[w[i]]
		a = "nestvisor-vfio"; b = "qemu-vfio"
		if (n[a] && n[b])
			printf "passthrough, nestvisor / QEMU: download %.2f, upload %.2f, exits per MiB %.2f\n",
				(down[a] / n[a]) / (down[b] / n[b]), (up[a] / n[a]) / (up[b] / n[b]),
				(ex[a] / n[a]) / (ex[b] / n[b])
		if (st["start-with"] != "" && st["start-without"] != "")
			printf "start-up (median of 3): %.2f s with the device, %.2f s without: +%.2f s\n",
				median(st["start-with"]), median(st["start-without"]),
				median(st["start-with"]) - median(st["start-without"])
	}' "$out.txt"
