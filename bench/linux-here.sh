#!/bin/sh
# linux-here: Debian's kernel to its init on THIS host's KVM (a software KVM such as kvm_pvm included), under
# nestvisor (--cpu auto: the baseline CPU on a software KVM) and under QEMU (-accel kvm, its default CPU) beside
# it; prints each one's time to init and nestvisor's as a ratio of QEMU's. Needs /dev/kvm.
#   NV_BUILDDIR=build sh bench/linux-here.sh [LIMIT_SECONDS]   (default 1800: a software KVM takes minutes)
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$(LINUX_TIMEOUT=${1:-1800} NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/check-linux.sh" --qemu 2>&1)
rc=$?
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '/^check-linux: (nestvisor|qemu): exit status/ { v = $2; sub(/:$/, "", v); t[v] = $(NF - 1) }
	END {
		n = t["nestvisor"]; q = t["qemu"]
		if (n ~ /^[0-9.]+$/ && q ~ /^[0-9.]+$/ && q > 0) printf "ratio nestvisor / qemu (time to init): %.2f (%s s / %s s)\n", n / q, n, q
		else printf "no ratio: init at %s s under nestvisor, %s under QEMU (see above)\n", n, q
	}'
exit $rc
