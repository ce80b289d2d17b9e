# i-pass.sh: in the IOMMU test host (run.sh --iommu intel|amd [--root-port]): the e1000e passed through to
# Debian's kernel under nestvisor (--device): the guest's own e1000e driver binds it, gets an address by DHCP from
# the outer QEMU's user network and moves 16 MiB each way (run.sh's guestfwd programs), checksums matching; the
# refusals before a VM starts; the device left on vfio-pci and working for the next VM; no IOMMU fault.
# svmhost-limit: 900
. /svmhost/tap.sh
. /svmhost/stall.sh
out=/out/pass
mkdir -p $out
v=$(sed -n 's/.*nv\.iommu=\([^ ]*\).*/\1/p' /proc/cmdline)
for m in vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
	insmod /lib/modules/$m.ko 2>/dev/null
done
G=/guest
# what each VM does with the device is kept in the compatibility database, beside this host's probe report
export NESTVISOR_DB=/tmp/pass-compat.db
nestvisor probe > /dev/null 2>&1
nic=$(grep -l 0x10d3 /sys/bus/pci/devices/*/device | head -n 1 | cut -d/ -f6)
short=${nic#0000:}
GUEST_ARGS=nv.pass	# what the guests do (guest-init), for stall.sh's run
driver_of() { d=$(readlink /sys/bus/pci/devices/$1/driver 2>/dev/null) && basename "$d" || echo none; }
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
# the device's expansion ROM as this host reads it (the first 64 KiB hashed), for the guest's to match
hostrom=
if [ -e /sys/bus/pci/devices/$nic/rom ] && echo 1 > /sys/bus/pci/devices/$nic/rom 2>/dev/null; then
	r=/sys/bus/pci/devices/$nic/rom
	hostrom="$(head -c 2 $r | od -An -tx1 | tr -d ' ') $(head -c 65536 $r | sha256sum | cut -d' ' -f1)"
	echo 0 > $r
fi
dmesg > $out/dmesg-before.txt
# Where our guest gets no lease, QEMU's own vfio-pci (the reference) is asked through the same device: when it
# gets none either, the emulated host cannot move this NIC's data (seen with the AMD IOMMU and a root port: the
# e1000e's transmit queue times out under both), and the checks of data moved are skipped, saying so.
broken=
reference() {
	grep -q '^NVG: net 10.0.2.15$' "$1" && return
	timeout 300 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none -no-reboot \
		-serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd \
		-append "console=ttyS0 panic=-1 quiet nv.pass" -device vfio-pci,host=$nic < /dev/null 2>&1 |
		tr -d '\r' > $out/qemu-reference.log
	grep -q '^NVG: net 10.0.2.15$' $out/qemu-reference.log ||
		broken="QEMU's vfio-pci, the reference, gets no DHCP lease through this host's e1000e either ($(grep -c \
			'transmit queue 0 timed out' $out/qemu-reference.log) transmit timeouts): the emulated host, not nestvisor"
	io=$(sed -n 's/^NVG: io //p' $out/qemu-reference.log)
	grep -q '^NVG: nic eth0 e1000e' $out/qemu-reference.log || wedged="after guest 1, QEMU's vfio-pci, the reference,"
	[ -z "$wedged" ] || wedged="$wedged could not bind e1000e to the device either (its I/O BAR: $io): the device"
	[ -z "$wedged" ] || wedged="$wedged stopped working in this emulated host"
}
dcheck() { if [ -n "$broken" ]; then ok "$1 # SKIP $broken"; else check "$@"; fi; }
# When the reference's driver could not even take the device, the device stopped working in the emulated host
# (seen once, the AMD IOMMU behind a root port, after guest 1's transmit timeouts: its STATUS kept
# GIO_MASTER_ENABLE and every later guest's e1000e failed to probe, QEMU's too). The later guests' driver
# and interrupt checks are then skipped, saying so; guest 1's stay checked.
wedged=
wcheck() { if [ -n "$wedged" ]; then ok "$1 # SKIP $wedged"; else check "$@"; fi; }
# gcheck LOG DESCRIPTION COMMAND...: a check of what a guest's driver did with the device, skipped when the
# reference already found the device broken and this guest's e1000e found no NIC to drive at all ("NVG: nic
# eth*": the device stopped answering during this boot, as seen on the AMD IOMMU behind a root port, 2026-12-07)
gcheck() {
	l=$1
	shift
	if [ -z "$wedged" ] && [ -n "$broken" ] && grep -q '^NVG: nic eth\*' "$l"; then
		ok "$1 # SKIP this guest's e1000e found no NIC to drive; $broken"
	else
		wcheck "$@"
	fi
}
# Guest 2 lingers once done and its VMM is killed with SIGKILL: no teardown of ours runs, the kernel's release of
# the device (and its reset) is all there is; the guests after it show the device works still.
# Guest 1 reads the ROM (the same bytes as this host's) and the I/O BAR (IOADDR takes STATUS's offset and
# reads it back, IODATA answers with STATUS): each access a region read or write of ours
rom_and_io() {
	if [ -z "$hostrom" ]; then
		ok "$v, guest 1: the expansion ROM reads as this host's # SKIP this host's e1000e has no ROM"
	else
		check "$v, guest 1: the expansion ROM reads as this host's ($hostrom)" \
			grep -q "^NVG: rom $hostrom\$" $1
	fi
	check "$v, guest 1: the I/O BAR in the I/O window answers ($(sed -n 's/^NVG: io //p' $1))" \
		sh -c "grep -q '^NVG: io 0x0*c[0-9a-f][0-9a-f][0-9a-f] ioaddr=00000008 status=[0-9a-f]\{8\}\$' $1 &&
			! grep -q '^NVG: io .*status=ffffffff' $1"
}
for round in 1 2; do
	if [ $round = 1 ]; then
		run pass-$round --device $short
		st=$?
	else
		linger_pid pass-2 --device $short
		kill -9 $pid
		wait $pid
		st=$?
		tr -d '\r' < $out/pass-2.raw > $out/pass-2.log
		check "$v, guest 2: its VMM killed with SIGKILL once the guest was done (status $st)" test $st = 137
		check "$v, guest 2: the device's IOMMU group is free again (no VMM holds it)" \
			sh -c "exec 3<> /dev/vfio/$(basename "$(readlink /sys/bus/pci/devices/$nic/iommu_group)")"
	fi
	L=$out/pass-$round.log
	[ $round = 1 ] && check "$v, guest 1: powered off cleanly (status $st)" test $st = 0
	c=check
	[ $round = 1 ] || c=wcheck
	$c "$v, guest $round: its e1000e driver has the passed-through NIC" \
		grep -q '^NVG: nic eth0 e1000e 0x8086:0x10d3$' $L
	[ $round = 1 ] && reference $L
	dcheck "$v, guest $round: DHCP gave it 10.0.2.15 through the NIC" grep -q '^NVG: net 10.0.2.15$' $L
	want=$(sed -n 's/^NVG: want //p' $L)
	dcheck "$v, guest $round: 17288896 bytes downloaded, checksum matching" \
		sh -c "test -n '$want' && grep -q '^NVG: downloaded $want 17288896 bytes in ' $L"
	dcheck "$v, guest $round: 17288896 bytes uploaded, the far end's checksum matching" \
		sh -c "test -n '$want' && grep -q '^NVG: uploaded $want in ' $L"
	$c "$v, guest $round: its receive and send interrupts come as MSI-X vectors of their own, through irqfds" \
		sh -c "grep -q '^NVG: irq *[0-9]*: [1-9][0-9]* PCI-MSI .* eth0-rx-0' $L && \
		       grep -q '^NVG: irq *[0-9]*: [1-9][0-9]* PCI-MSI .* eth0-tx-0' $L"
	check "$v, guest $round: the device is on vfio-pci after the VM" test "$(driver_of $nic)" = vfio-pci
	[ $round = 1 ] && rom_and_io $L
	grep -q '^NVG: want' $L || diag $L 60
done
dmesg > $out/dmesg-after.txt
check "$v: no IOMMU fault in the host's log while the guests drove the NIC" \
	sh -c "! diff $out/dmesg-before.txt $out/dmesg-after.txt | grep -i -E 'DMAR: .*fault|IO_PAGE_FAULT|AMD-Vi: Event'"

# A hostile guest points the NIC's transmit ring outside its RAM: the IOMMU refuses the device's read (the host
# logs it), the VM goes on to its end, and the next VM has a working device (reset in between)
nestvisor run --console stdio --name dmaout --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --device $short \
	--cmdline "console=ttyS0 panic=-1 quiet nv.dmaout" --timeout 300 < /dev/null 2>&1 | tr -d '\r' > $out/dmaout.log
check "$v, hostile guest: it aimed the NIC's DMA at 1 GiB and powered off, the VMM going on" \
	sh -c "grep -q '^NVG: dma aimed at 0x40000000' $out/dmaout.log && grep -q 'VM dmaout .*ended.* powered-off.*exit status 0)' $out/dmaout.log"
dmesg > $out/dmesg-dmaout.txt
diff $out/dmesg-after.txt $out/dmesg-dmaout.txt | grep -i -E 'DMAR|AMD-Vi|fault' > $out/faults.txt
# The emulated AMD IOMMU logged nothing for the refused read in the runs here (QEMU's model traces an
# amdvi_page_fault but no event reached the host's log): its check can only say so; Intel's logs the fault.
fault="$v, hostile guest: the host's IOMMU refused the read at 0x40000000 and logged it"
case $v in
amd*) if grep -q -i -E 'address=0x0*40000000' $out/faults.txt; then ok "$fault"; else
	ok "$fault # SKIP the emulated AMD IOMMU logs no event for a refused translation (Intel's does)"; fi ;;
*) dcheck "$fault ($(tail -n 1 $out/faults.txt | cut -c1-150))" grep -q -i -E 'fault addr 0x0*40000000' $out/faults.txt ;;
esac
# The next two guests' drivers are told to use MSI (e1000e's IntMode=1: one vector, our emulated MSI
# capability) and the legacy interrupt (IntMode=0: INTx through an irqfd with a resample eventfd). e1000e
# enables MSI, then fires a test interrupt and falls back to INTx if none comes: in this emulated host none
# comes under QEMU's vfio-pci either (its guest logs "MSI interrupt test failed, using legacy interrupt", as
# ours does), so delivery is checked only where the test passes, and the SKIP says so where it does not
intmode=1
run pass-after --device $short
st=$?
dcheck "$v, after the hostile guest: the next VM's e1000e works (status $st, DHCP, 16.5 MiB down)" \
	sh -c "test $st = 0 && grep -q '^NVG: net 10.0.2.15' $out/pass-after.log && \
	       grep -q '^NVG: downloaded $want 17288896 bytes' $out/pass-after.log"
msi_irq="grep -q '^NVG: irq *[0-9]*: [1-9][0-9]* PCI-MSI .* eth0$' $out/pass-after.log &&
	! grep -q '^NVG: irq .*eth0-' $out/pass-after.log"
gcheck $out/pass-after.log \
	"$v, MSI: the guest's driver enabled MSI through our capability (VFIO's MSI set up, no warning) and tested it" \
	sh -c "grep -q 'Interrupt Mode set to 1' $out/pass-after.log && ! grep -q 'MSI on:' $out/pass-after.log &&
		{ grep -q 'eth0: MSI interrupt test failed' $out/pass-after.log || $msi_irq; }"
if grep -q 'eth0: MSI interrupt test failed' $out/pass-after.log; then
	ok "$v, MSI: its interrupts come as that MSI # SKIP the emulated e1000e's MSI fails e1000e's own interrupt test here, under QEMU's vfio-pci too"
else
	gcheck $out/pass-after.log \
		"$v, MSI: its interrupts come as that MSI, no MSI-X vector ($(sed -n 's/^NVG: irq //p' $out/pass-after.log))" \
		sh -c "$msi_irq"
fi
intmode=0
run intx --device $short
st=$?
dcheck "$v, INTx: the e1000e works on its legacy interrupt (status $st, DHCP, 16.5 MiB down and up)" \
	sh -c "test $st = 0 && grep -q '^NVG: net 10.0.2.15' $out/intx.log && \
	       grep -q '^NVG: downloaded $want 17288896 bytes' $out/intx.log && grep -q '^NVG: uploaded $want in ' $out/intx.log"
gcheck $out/intx.log \
	"$v, INTx: its interrupt is an IO-APIC line, taken and acknowledged ($(sed -n 's/^NVG: irq //p' $out/intx.log))" \
	grep -q '^NVG: irq *1[01]: [1-9][0-9]* IO-APIC .*-fasteoi .*eth0$' $out/intx.log
intmode=
# The host takes the device back while a VM has it (its unbind from vfio-pci waits for it): that VM alone ends,
# saying why, and the unbind completes
linger_pid lost --device $short
dcheck "$v, taken back: the guest had the NIC working (${i} s)" grep -q '^NVG: net 10.0.2.15' $out/lost.raw
nestvisor ps > $out/ps.txt 2>&1
nestvisor ps --json > $out/ps.json 2>&1
nestvisor stats lost > $out/stats.txt 2>&1
check "$v: ps shows the VM's passed-through device ($(grep '^lost ' $out/ps.txt | tr -s ' '))" \
	sh -c "grep -q '^lost .* $short ' $out/ps.txt && grep -q '\"devices\":\"$short\"' $out/ps.json"
check "$v: stats shows the device's interrupt set-ups ($(grep vfio $out/stats.txt | tr -s ' '))" \
	grep -q "vfio $short  *0  *[1-9]" $out/stats.txt
t0=$(date +%s)
echo $nic > /sys/bus/pci/drivers/vfio-pci/unbind
t1=$(date +%s)
wait $pid
st=$?
tr -d '\r' < $out/lost.raw > $out/lost.log
check "$v, taken back: the unbind waited $((t1 - t0)) s; the VM ended with status 125, saying why ($st)" \
	sh -c "test $st = 125 && grep -q 'device $nic is wanted back by the host (unbound from vfio-pci' $out/lost.log && \
	       grep -q 'VM lost .*ended.* device-lost.*exit status 125)' $out/lost.log"
check "$v, taken back: the device has no driver now" test "$(driver_of $nic)" = none
nestvisor db --json device 8086:10d3 > $out/db-device.json 2>&1
# a guest the emulated CPU stopped (run again: stall.sh's reruns) told its VM's outcome too: stopped, with
# the device driven or not yet
worked=$(tr -d '\n ' < $out/db-device.json | sed -n 's/.*"passed_through":\([0-9]*\),.*/\1/p')
check "$v: the compatibility database has what passthrough did with the 82574L: worked in 4 VMs (+${reruns:-0} stopped by the emulator's fault), failed in 1 (the killed one told nothing) ($(tr -d '\n ' < $out/db-device.json | cut -c1-300))" \
	sh -c "[ '${worked:-0}' -ge 4 ] && [ '${worked:-0}' -le $((4 + ${reruns:-0})) ] &&
		tr -d '\n ' < $out/db-device.json | grep -q '\"passthrough_failed\":1,.*\"last_failure\":\"device-lost\"'"
nestvisor device bind $short > /dev/null 2>&1
nestvisor device release $short > $out/release.txt 2>&1
st=$?
check "$v: device release gives it back to the kernel's choice (status $st: $(cat $out/release.txt))" \
	sh -c "test $st = 0 && test $(driver_of $nic) = none && grep -q '$nic: vfio-pci -> none' $out/release.txt && \
	       test -z \"\$(cat /sys/bus/pci/devices/$nic/driver_override | grep -v '(null)')\""
