# i-pass.sh: in the IOMMU test host (run.sh --iommu intel|amd [--root-port]): the e1000e passed through to
# Debian's kernel under nestvisor (--device): the guest's own e1000e driver binds it, gets an address by DHCP from
# the outer QEMU's user network and moves 16 MiB each way (run.sh's guestfwd programs), checksums matching; the
# refusals before a VM starts; the device left on vfio-pci and working for the next VM; no IOMMU fault.
. /svmhost/tap.sh
out=/out/pass
mkdir -p $out
v=$(sed -n 's/.*nv\.iommu=\([^ ]*\).*/\1/p' /proc/cmdline)
for m in vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
	insmod /lib/modules/$m.ko 2>/dev/null
done
G=/guest
nic=$(grep -l 0x10d3 /sys/bus/pci/devices/*/device | head -n 1 | cut -d/ -f6)
short=${nic#0000:}
driver_of() { d=$(readlink /sys/bus/pci/devices/$1/driver 2>/dev/null) && basename "$d" || echo none; }
run() {	# name, then options: the passthrough guest, its log in $out/NAME.log
	name=$1
	shift
	nestvisor run --console stdio --name "$name" --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
		--cmdline "console=ttyS0 panic=-1 quiet nv.pass" --timeout 300 --stats "$@" > $out/$name.raw 2>&1 < /dev/null
	st=$?
	tr -d '\r' < $out/$name.raw > $out/$name.log && rm -f $out/$name.raw
	return $st
}

# Refused before any VM starts, each saying what to do: what, the address, the message expected
refused() {
	run refused-$1 --device "$2"
	st=$?
	check "$v: --device $2 ($1) is refused before the VM starts (status $st), saying: $3" \
		sh -c "test $st = 2 && grep -q '$3' $out/refused-$1.log"
}
refused host-driver $short "bound to .*, not vfio-pci: .nestvisor device bind $nic"
refused no-device 7f:1f.7 'no such PCI device here'
refused not-an-address 'xx:00.0' 'is not a PCI address'
refused host-bridge 00:00.0 'the probe says host-infrastructure'
nestvisor device bind 00:00.0 > $out/bind-bridge.txt 2>&1
st=$?
check "$v: device bind of the host bridge is refused with the probe's reason (status $st)" \
	sh -c "test $st = 1 && grep -q 'the probe says host-infrastructure' $out/bind-bridge.txt"
nestvisor device bind $short > $out/bind.txt 2>&1
st=$?
check "$v: device bind $short hands the e1000e to vfio-pci (status $st: $(cat $out/bind.txt))" \
	sh -c "test $st = 0 && test $(driver_of $nic) = vfio-pci && grep -q '$nic: none -> vfio-pci' $out/bind.txt"
nestvisor device bind $nic > $out/bind-again.txt 2>&1
check "$v: binding it again says it is bound already" grep -q 'bound to vfio-pci already' $out/bind-again.txt
dmesg > $out/dmesg-before.txt
for round in 1 2; do
	run pass-$round --device $short
	st=$?
	L=$out/pass-$round.log
	check "$v, guest $round: powered off cleanly (status $st)" test $st = 0
	check "$v, guest $round: its e1000e driver has the passed-through NIC" \
		grep -q '^NVG: nic eth0 e1000e 0x8086:0x10d3$' $L
	check "$v, guest $round: DHCP gave it 10.0.2.15 through the NIC" grep -q '^NVG: net 10.0.2.15$' $L
	want=$(sed -n 's/^NVG: want //p' $L)
	check "$v, guest $round: 17288896 bytes downloaded, checksum matching" \
		sh -c "test -n '$want' && grep -q '^NVG: downloaded $want 17288896 bytes\$' $L"
	check "$v, guest $round: 17288896 bytes uploaded, the far end's checksum matching" \
		sh -c "test -n '$want' && grep -q '^NVG: uploaded $want\$' $L"
	check "$v, guest $round: its receive and send interrupts come as MSI-X vectors of their own, through irqfds" \
		sh -c "grep -q '^NVG: irq *[0-9]*: [1-9][0-9]* PCI-MSI .* eth0-rx-0' $L && \
		       grep -q '^NVG: irq *[0-9]*: [1-9][0-9]* PCI-MSI .* eth0-tx-0' $L"
	check "$v, guest $round: the device is on vfio-pci after the VM" test "$(driver_of $nic)" = vfio-pci
	grep -q '^NVG: want' $L || diag $L 60
done
dmesg > $out/dmesg-after.txt
check "$v: no IOMMU fault in the host's log (DMA only to guest RAM)" \
	sh -c "! diff $out/dmesg-before.txt $out/dmesg-after.txt | grep -i -E 'DMAR: .*fault|IO_PAGE_FAULT|AMD-Vi: Event'"
nestvisor device release $short > $out/release.txt 2>&1
st=$?
check "$v: device release gives it back to the kernel's choice (status $st: $(cat $out/release.txt))" \
	sh -c "test $st = 0 && test $(driver_of $nic) = none && grep -q '$nic: vfio-pci -> none' $out/release.txt && \
	       test -z \"\$(cat /sys/bus/pci/devices/$nic/driver_override | grep -v '(null)')\""
