# p-group.sh: in the IOMMU test host with a two-function e1000e (run.sh --iommu intel --pair): the functions share
# one IOMMU group (a multifunction device without ACS, as a GPU and its audio function are), so they go to a VM
# together: bind refuses one alone while the host's e1000e has the other, --group hands both over, one VM gets
# both (one VFIO container, the group opened once), its e1000e driver drives each, a lease and 16.5 MiB through
# each from its own network; a second VM is refused the group while the first holds it; release gives both back.
# svmhost-limit: 900
. /svmhost/tap.sh
. /svmhost/stall.sh
out=/out/group
mkdir -p $out
v=$(sed -n 's/.*nv\.iommu=\([^ ]*\).*/\1/p' /proc/cmdline)
for m in vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci e1000e; do
	insmod /lib/modules/$m.ko 2>/dev/null
done
G=/guest
GUEST_ARGS=nv.group
export NESTVISOR_DB=/tmp/group-compat.db
driver_of() { d=$(readlink /sys/bus/pci/devices/$1/driver 2>/dev/null) && basename "$d" || echo none; }
group_of() { basename "$(readlink /sys/bus/pci/devices/$1/iommu_group)"; }
# the pair: the e1000e with a second function (run.sh --pair)
for d in /sys/bus/pci/devices/*.0; do
	[ "$(cat $d/device)" = 0x10d3 ] && [ -e ${d%.0}.1 ] && a=${d##*/}
done
b=${a%.0}.1
check "$v: the two functions ($a, $b) share IOMMU group $(group_of $a) ($(ls /sys/bus/pci/devices/$a/iommu_group/devices | tr '\n' ' '))" \
	sh -c "test -n '$a' && test '$(group_of $a)' = '$(group_of $b)'"
check "$v: the host's e1000e has both ($(driver_of $a), $(driver_of $b))" \
	test "$(driver_of $a) $(driver_of $b)" = "e1000e e1000e"

nestvisor device bind $a > $out/bind-one.txt 2>&1
st=$?
check "$v: binding one function alone is refused, naming the other and --group (status $st: $(head -c 300 $out/bind-one.txt))" \
	sh -c "test $st = 1 && grep -q 'not viable while .*${b#0000:}\|not viable while .*$b' $out/bind-one.txt &&
		grep -q -- '--group hands the whole group over' $out/bind-one.txt && test $(driver_of $a) = e1000e"
nestvisor device bind $a --group > $out/bind-group.txt 2>&1
st=$?
check "$v: bind --group hands both over, saying so (status $st: $(tr '\n' ' ' < $out/bind-group.txt))" \
	sh -c "test $st = 0 && grep -q '$b (IOMMU group $(group_of $a) too): e1000e -> vfio-pci' $out/bind-group.txt &&
		test '$(driver_of $a) $(driver_of $b)' = 'vfio-pci vfio-pci'"
nestvisor probe --json > $out/probe.json 2>/dev/null
field() { awk -F'"' -v a="$1" -v k="\"$2\":" '/"address":/ { x = $4 } index($0, k) && x == a { print $4 }' \
	$out/probe.json; }
check "$v: the probe calls $a ready, its group peer named ($(field $a verdict): $(field $a reason))" \
	sh -c "test '$(field $a verdict)' = ready && echo '$(field $a reason)' | grep -q 'with ${b#0000:}'"

# both functions in one VM
run both --device $a --device $b
st=$?
L=$out/both.log
want=$(seq 1 2300000 | sha256sum | cut -d' ' -f1)
check "$v, one VM: both functions, powered off cleanly (status $st)" test $st = 0
check "$v, one VM: its e1000e driver has both" \
	sh -c "grep -q '^NVG: nic eth0 e1000e 0x8086:0x10d3$' $L && grep -q '^NVG: nic eth1 e1000e 0x8086:0x10d3$' $L"
check "$v, one VM: a lease through each from its own network ($(sed -n 's/^NVG: net //p' $L | tr '\n' ' '))" \
	sh -c "grep -q '^NVG: net eth[01] 10.0.3.15$' $L && grep -q '^NVG: net eth[01] 10.0.4.15$' $L"
check "$v, one VM: 17288896 bytes through each, checksums matching" \
	sh -c "grep -q '^NVG: downloaded eth0 $want 17288896 bytes' $L && grep -q '^NVG: downloaded eth1 $want 17288896 bytes' $L"
check "$v, one VM: each function's interrupts come as MSI-X vectors of its own" \
	sh -c "grep -q '^NVG: irq .* PCI-MSI.* eth0-rx-0' $L && grep -q '^NVG: irq .* PCI-MSI.* eth1-rx-0' $L"
grep -q '^NVG: downloaded eth1' $L || diag $L 40

# a group goes to one VM: while one holds it, another is refused even the other function
linger_pid holder --device $a
nestvisor run --console stdio --name second --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --device $b \
	--cmdline "console=ttyS0 quiet" --timeout 60 < /dev/null > $out/second.log 2>&1
st=$?
check "$v: while a VM holds the group, another VM is refused its other function (status $st: $(grep -o -- '--device.*' $out/second.log | head -n 1))" \
	sh -c "test $st = 2 && grep -q 'another VM or program has its IOMMU group' $out/second.log"
check "$v: ... and the first runs on" sh -c "nestvisor ps | grep -q '^holder '"
nestvisor stop holder > /dev/null 2>&1
wait $pid

check "$v: both functions are on vfio-pci after the VMs" test "$(driver_of $a) $(driver_of $b)" = "vfio-pci vfio-pci"
nestvisor device release $a > $out/release-a.txt 2>&1
nestvisor device release $b > $out/release-b.txt 2>&1
check "$v: release gives both back to the host's e1000e ($(driver_of $a), $(driver_of $b))" \
	test "$(driver_of $a) $(driver_of $b)" = "e1000e e1000e"
