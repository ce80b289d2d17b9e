#!/bin/sh
# svmhost-cloud: time from launch to a working ssh login into a Debian 12 image at its first boot (cloud-init making
# the user from a NoCloud seed), nestvisor booting the image's own kernel directly against QEMU -M pc booting it
# through SeaBIOS and the image's GRUB, in one boot of the AMD-V test host (tests/svmhost) with the image made by
# tests/svmhost/debian-image.sh as three disks (each VMM a first boot). Also the image inspection alone. Prints each
# row (seconds to the login and the guest's own uptime then; their difference is what came before the guest's
# kernel), and nestvisor's time as a ratio of QEMU's (below 1: nestvisor is faster).
#   NV_BUILDDIR=build sh bench/svmhost-cloud.sh   (the image three times: two nestvisor rows, QEMU)
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench-cloud
img=$(NV_SRCDIR=$S sh "$S/tests/svmhost/debian-image.sh" | head -n 1) || exit 1
NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out" --timeout 2400 --drive "$img" --drive "$img" \
	--drive "$img" \
	--cmd "sh /svmhost/b-cloud.sh" 2>/dev/null | grep '^bench' | tee "$out.txt"
awk '$1 == "bench:" { v[$2] = $3; if ($4 != "") printf "%s: %.1f s before the guest kernel ran (VMM, firmware, boot loader), %.1f s the guest itself\n", $2, $3 - $4, $4 }
	END {
		if (v["nestvisor"] + 0 == 0 || v["qemu-pc"] + 0 == 0) { print "svmhost-cloud: a run failed"; exit 1 }
		printf "ratio nestvisor / qemu-pc, launch to ssh login: %.2f (%.1f s / %.1f s)\n",
			v["nestvisor"] / v["qemu-pc"], v["nestvisor"], v["qemu-pc"]
		if (v["nestvisor-io_uring"] + 0)
			printf "ratio nestvisor-io_uring / qemu-pc: %.2f (%.1f s / %.1f s)\n",
				v["nestvisor-io_uring"] / v["qemu-pc"], v["nestvisor-io_uring"], v["qemu-pc"]
	}' "$out.txt"
