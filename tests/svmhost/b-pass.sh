# b-pass.sh: not a test: bench/svmhost-passthrough.sh runs it in the IOMMU host (run.sh --iommu ... --cmd). The
# guest of i-pass.sh (Debian's kernel, e1000e and virtio-net drivers) moves 17288896 bytes each way to run.sh's
# guestfwd programs, under: nestvisor with the e1000e passed through, QEMU with it passed through (vfio-pci), and
# for the trap-overhead table QEMU with a virtio-net and with an emulated e1000e on its own user network (the same
# programs, started by that QEMU). KVM's own count of the VM's exits (debugfs) is read when the guest starts
# moving data and when it is done. Then a VM's start-up with and without the device. Prints "bench: ..." lines.
for m in vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do insmod /lib/modules/$m.ko 2>/dev/null; done
mount -t debugfs none /sys/kernel/debug 2>/dev/null
# THP=always|madvise|never (bench/svmhost-passthrough.sh passes it): this host's transparent huge pages, which
# QEMU asks for its guest's RAM (MADV_HUGEPAGE) and nestvisor does not
thp=/sys/kernel/mm/transparent_hugepage/enabled
[ -n "${THP:-}" ] && echo "$THP" > $thp
echo "bench: note transparent huge pages: $(cat $thp)"
nic=$(grep -l 0x10d3 /sys/bus/pci/devices/*/device | head -n 1 | cut -d/ -f6)
nestvisor device bind $nic > /dev/null 2>&1
G=/guest
CMD="console=ttyS0 panic=-1 quiet nv.pass"
us() { awk '{ printf "%d", $1 * 1000000 }' /proc/uptime; }
# KVM's exits of every VM since it loaded (one VM runs at a time here)
vm_exits() { cat /sys/kernel/debug/kvm/exits 2>/dev/null; }
[ -n "$(vm_exits)" ] || echo "bench: note no /sys/kernel/debug/kvm/exits: exits per MiB cannot be counted"
QEMU="qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none -no-reboot -serial stdio
	-L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd"
FWD="guestfwd=tcp:10.0.2.100:5000-cmd:/svmhost/fwd-down,guestfwd=tcp:10.0.2.101:5001-cmd:/svmhost/fwd-up"

# who run: the guest's transfer times, the exits KVM counted for the VM while it moved the data
transfer() {
	who=$1 run=$2
	shift 2
	"$@" > /tmp/b.raw 2>&1 < /dev/null &
	pid=$!
	e0= e1= i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 3000 ]; do
		[ -z "$e0" ] && grep -q '^NVG: want' /tmp/b.raw && e0=$(vm_exits)
		[ -z "$e1" ] && grep -q '^NVG: uploaded' /tmp/b.raw && e1=$(vm_exits)
		usleep 100000
		i=$((i + 1))
	done
	wait $pid
	tr -d '\r' < /tmp/b.raw > /out/b-$who-$run.log
	L=/out/b-$who-$run.log
	want=$(sed -n 's/^NVG: want //p' $L)
	down=$(sed -n "s/^NVG: downloaded $want 17288896 bytes in \([0-9.]*\) s\$/\1/p" $L)
	up=$(sed -n "s/^NVG: uploaded $want in \([0-9.]*\) s\$/\1/p" $L)
	echo "bench: $who $run down_s ${down:-FAILED} up_s ${up:-FAILED} exits $((${e1:-0} - ${e0:-0}))" \
		"nic $(sed -n 's/^NVG: nic eth0 \([^ ]*\) .*/\1/p' $L)"
}

for run in 1 2 3; do
	transfer nestvisor-vfio $run nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd \
		--mem 256M --cmdline "$CMD" --timeout 400 --device $nic
	transfer qemu-vfio $run $QEMU -append "$CMD" -device vfio-pci,host=$nic
done
transfer qemu-virtio 1 $QEMU -append "$CMD" -netdev user,id=n0,$FWD -device virtio-net-pci,netdev=n0,romfile=
transfer qemu-e1000e 1 $QEMU -append "$CMD" -netdev user,id=n0,$FWD -device e1000e,netdev=n0,romfile=

# start-up: launch to power-off of a guest that does nothing, with the device and without
for run in 1 2 3; do
	for dev in with without; do
		set -- --device $nic
		[ $dev = without ] && set --
		t0=$(us)
		nestvisor run --console none --kernel $G/vmlinuz --initrd $G/initrd --mem 256M "$@" \
			--cmdline "console=ttyS0 panic=-1 quiet nv.idle" --timeout 300 > /dev/null 2>&1 < /dev/null
		echo "bench: start-$dev $run s $(awk -v a=$t0 -v b=$(us) 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
	done
done
nestvisor device release $nic > /dev/null 2>&1
