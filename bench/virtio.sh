#!/bin/sh
# virtio: nestvisor's virtio-blk against QEMU's, in one boot of the AMD-V test host (tests/svmhost): Debian's
# guest writes and reads 64 MiB of /dev/vda with O_DIRECT and makes 4 KiB random reads (medians of 3, ratios
# nestvisor / QEMU: above 1 is faster), and the VM exits one MiB costs through virtio-blk and through the
# emulated serial port (the trap overhead paravirtual drivers remove); TCP from the guest to the host (128 MiB,
# medians of 3) over a tap with vhost-net (and with nestvisor's own threads, vhost=off) and over user networking
# (libslirp), against QEMU's virtio-net-pci with the same backends.
#   NV_BUILDDIR=build sh bench/virtio.sh
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-bench-virtio
# One boot of the emulated host per part: under TCG it freezes now and then (no heartbeat for a minute; the
# harness stops it), and a part that froze is booted again, up to 3 times.
: > "$out.txt"
for part in blk net exits; do
	for try in 1 2 3; do
		NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out-$part" --timeout 1200 \
			--cmd "sh /svmhost/b-virtio.sh $part" > /dev/null 2>&1
		grep -q '^# svmhost: done' "$out-$part/results.tap" 2>/dev/null && ! grep -q '^not ok' "$out-$part/results.tap" &&
			break
		echo "virtio: part $part: the emulated host froze or a run failed (try $try of 3)" >&2
	done
	grep '^bench\|^exits\|^net' "$out-$part/results.tap" | tee -a "$out.txt"
done
awk 'function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n ? a[int((n + 1) / 2)] : 0
	}
	$1 == "bench:" { w[$2] = w[$2] " " $5; r[$2] = r[$2] " " $7; io[$2] = io[$2] " " $9; qd[$2] = qd[$2] " " $11 }
	$1 == "exits:" { e[$2] = $3 }
	$1 == "net:" { net[$2 " " $3] = net[$2 " " $3] " " $4 }
	END {
		if (!w["nestvisor"] || !w["qemu"]) { print "virtio: a run failed (see tests/svmhost-bench-virtio)"; exit 1 }
		printf "sequential write: nestvisor %.1f MB/s, QEMU %.1f MB/s: ratio %.2f\n", med(w["nestvisor"]), med(w["qemu"]),
		       med(w["nestvisor"]) / med(w["qemu"])
		printf "sequential read:  nestvisor %.1f MB/s, QEMU %.1f MB/s: ratio %.2f\n", med(r["nestvisor"]), med(r["qemu"]),
		       med(r["nestvisor"]) / med(r["qemu"])
		printf "4 KiB random reads: nestvisor %.0f IOPS, QEMU %.0f IOPS: ratio %.2f\n", med(io["nestvisor"]),
		       med(io["qemu"]), med(io["nestvisor"]) / med(io["qemu"])
		if (med(qd["qemu"]) > 0)
			printf "4 KiB random reads, 32 in flight: nestvisor %.0f IOPS, QEMU %.0f IOPS: ratio %.2f; nestvisor with " \
			       "aio=io_uring (the image in tmpfs) %.0f IOPS\n", med(qd["nestvisor"]), med(qd["qemu"]),
			       med(qd["nestvisor"]) / med(qd["qemu"]), med(qd["nestvisor-uring"])
		if (e["serial"] != "")
			printf "VM exits for 1 MiB written: through virtio-blk %d, through the serial port %d (4 x 256 KiB; a boot alone: %d)\n",
			       e["blk"] - e["none"], 4 * (e["serial"] - e["none"]), e["none"]
		else if (e["blk"] != "")
			printf "VM exits for 1 MiB written through virtio-blk: %d (the serial run did not finish: the emulated host froze)\n",
			       e["blk"] - e["none"]
		t = med(net["nestvisor tap"]); o = med(net["nestvisor tap-off"]); q = med(net["qemu tap"])
		u = med(net["nestvisor user"]); qu = med(net["qemu user"])
		if (q > 0)
			printf "TCP guest -> host over a tap: nestvisor %.0f MB/s (vhost-net), QEMU %.0f MB/s (vhost-net): " \
			       "ratio %.2f; nestvisor with its own threads (vhost=off) %.0f MB/s: ratio %.2f\n", t, q, t / q, o, o / q
		if (qu > 0)
			printf "TCP guest -> host over user networking (libslirp): nestvisor %.0f MB/s, QEMU %.0f MB/s: ratio %.2f\n",
			       u, qu, u / qu
	}' "$out.txt"
