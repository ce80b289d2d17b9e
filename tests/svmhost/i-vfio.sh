# i-vfio.sh: in the IOMMU test host (run.sh --iommu intel|amd [--root-port]): the probe's passthrough verdict for
# every device against VFIO's own answer (vfiostat: VFIO_GROUP_GET_STATUS viable, the device openable), at boot,
# after host drivers take the e1000e and its group peers, with the e1000e on vfio-pci, and with the peers released.
. /svmhost/tap.sh
out=/out/iommu
mkdir -p $out
v=$(sed -n 's/.*nv\.iommu=\([^ ]*\).*/\1/p' /proc/cmdline)
for m in vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
	insmod /lib/modules/$m.ko 2>> $out/insmod.txt
done
check "$v: vfio-pci is loaded (/dev/vfio/vfio)" test -e /dev/vfio/vfio

driver_of() { d=$(readlink /sys/bus/pci/devices/$1/driver 2>/dev/null) && basename "$d" || echo none; }
# the probe's JSON, one line a device: address verdict vfio_group driver (null: none given)
devices() {
	awk -F'"' '/"address":/ { a = $4 } /"driver":/ { d = $0 ~ /null/ ? "none" : $4 }
		/"verdict":/ { v = $4 } /"vfio_group":/ { print a, v, ($0 ~ /null/ ? "null" : $4), d }' "$1"
}
# VFIO's answer for device $1: bound to vfio-pci for the question when it is not, and given back after
vfio_answer() {
	dev=$1 was=$(driver_of $1)
	if [ "$was" != vfio-pci ]; then
		[ "$was" = none ] || echo $dev > /sys/bus/pci/devices/$dev/driver/unbind
		echo vfio-pci > /sys/bus/pci/devices/$dev/driver_override
		echo $dev > /sys/bus/pci/drivers_probe
	fi
	vfiostat $dev 2>&1
	if [ "$was" != vfio-pci ]; then
		echo $dev > /sys/bus/pci/drivers/vfio-pci/unbind
		echo > /sys/bus/pci/devices/$dev/driver_override
		[ "$was" = none ] || echo $dev > /sys/bus/pci/drivers/$was/bind
	fi
}
# compare STATE: the probe's prediction for every device it gives one against VFIO's answer; a device the probe
# calls ready must be one VFIO gives
compare() {
	state=$1
	nestvisor probe --json > $out/probe-$state.json 2> $out/probe-$state.err
	devices $out/probe-$state.json > $out/devices-$state.txt
	n=0
	while read addr verdict said drv; do
		[ "$said" = null ] && continue
		ans=$(vfio_answer $addr)
		echo "$state: $addr $verdict $said $drv: $ans" >> $out/answers.txt
		case "$ans" in
		*" viable 1 openable 1"*) real=viable ;;
		*" viable 0 openable 0"*) real=not-viable ;;
		*" group none"*) real=no-group ;;
		*) real="unclear ($ans)" ;;
		esac
		agree=yes
		[ "$real" = "$said" ] || agree=no
		[ "$verdict" != ready ] || [ "$real" = viable ] || agree=no
		check "$v, $state: $addr ($drv): the probe says $verdict, group $said; VFIO says $real" test $agree = yes
		check "$v, $state: $addr is back on $drv after the question" test "$(driver_of $addr)" = "$drv"
		n=$((n + 1))
	done < $out/devices-$state.txt
	check "$v, $state: VFIO was asked about $n devices" test $n -gt 1
}
has() { printf '%s\n' "$1" | grep -q -- "$2"; }	# has TEXT PATTERN
# field_of ADDRESS KEY STATE: one device's string in the probe's JSON of that state
field_of() { awk -F'"' -v a="$1" -v k="\"$2\":" '/"address":/ { x = $4 } index($0, k) && x == a { print $4 }' \
	$out/probe-$3.json; }

# The facts first: units and groups as sysfs has them, interrupt remapping as /proc/interrupts shows it
nestvisor probe > $out/probe.txt 2>&1
nestvisor probe --json > $out/probe.json 2>/dev/null
units=$(ls /sys/class/iommu | wc -l) groups=$(ls /sys/kernel/iommu_groups | wc -l)
check "$v: probe iommu.active: $units IOMMU unit(s), $groups IOMMU groups, as sysfs" \
	grep -q "\"evidence\":\"$units IOMMU unit(s) ([^)]*); $groups IOMMU groups" $out/probe.json
check "$v: probe iommu.intremap PASS from /proc/interrupts ($(grep -c 'IR-' /proc/interrupts) IR- lines there)" \
	sh -c "grep -q 'IR-IO-APIC' /proc/interrupts && grep -q '/proc/interrupts: [0-9]* interrupts go through' $out/probe.txt"

nic=$(grep -l 0x10d3 /sys/bus/pci/devices/*/device | head -n 1 | cut -d/ -f6)
check "$v: the e1000e is on the bus (${nic:-none})" test -n "$nic"
compare boot

# Host drivers for the NIC and the ICH9's LPC and SMBus functions (which share a group with its SATA controller)
for m in e1000e lpc_ich i2c-smbus i2c-i801; do insmod /lib/modules/$m.ko 2>> $out/insmod.txt; done
lpc=0000:00:1f.0 smb=0000:00:1f.3 sata=0000:00:1f.2
check "$v: e1000e, lpc_ich and i801_smbus have their devices" \
	test "$(driver_of $nic) $(driver_of $lpc) $(driver_of $smb)" = "e1000e lpc_ich i801_smbus"
compare host-drivers
nestvisor probe --save $out/rec > /dev/null 2>&1	# this state, for tests/data/hosts/ (replayed in make check)
nestvisor probe --replay $out/rec --json > $out/probe-replayed.json 2>&1
devices $out/probe-replayed.json > $out/devices-replayed.txt
check "$v, host-drivers: the recording replays to the same verdicts and VFIO predictions" \
	cmp $out/devices-host-drivers.txt $out/devices-replayed.txt
r=$(field_of $sata reason host-drivers)
check "$v, host-drivers: the SATA controller's group is not viable, the probe naming both peers to release ($r)" \
	has "$r" 'while 00:1f.0 (ISA bridge, lpc_ich), 00:1f.3 (SMBus, i801_smbus) are bound'
r=$(field_of $nic reason host-drivers)
check "$v, host-drivers: the e1000e is ready, the probe saying how to take it from e1000e ($r)" \
	has "$(field_of $nic verdict host-drivers): $r" "^ready: .*the host's e1000e has it now: driverctl set-override $nic vfio-pci"

# The e1000e given to vfio-pci for good; lpc_ich lets go of its function, i801_smbus keeps its own
echo $nic > /sys/bus/pci/devices/$nic/driver/unbind
echo vfio-pci > /sys/bus/pci/devices/$nic/driver_override && echo $nic > /sys/bus/pci/drivers_probe
echo $lpc > /sys/bus/pci/drivers/lpc_ich/unbind
compare nic-on-vfio
check "$v, nic-on-vfio: the probe says the e1000e is bound to vfio-pci already" \
	has "$(field_of $nic reason nic-on-vfio)" 'bound to vfio-pci already'
r=$(field_of $sata reason nic-on-vfio)
check "$v, nic-on-vfio: one peer left to release ($r)" \
	has "$r" 'while 00:1f.3 (SMBus, i801_smbus) is bound to a host driver: unbind it'
ans=$(vfiostat $nic)
check "$v: VFIO resets the e1000e (the probe's reset method: $(cat /sys/bus/pci/devices/$nic/reset_method)): $ans" \
	has "$ans" 'openable 1 .* reset 1'

echo $smb > /sys/bus/pci/drivers/i801_smbus/unbind
compare peers-released
check "$v, peers-released: the SATA controller's group is viable again ($(field_of $sata reason peers-released))" \
	test "$(field_of $sata vfio_group peers-released)" = viable
cp /proc/interrupts $out/interrupts.txt
lspci -k > $out/lspci.txt 2>&1
