# t-probe.sh: the probe, live on the AMD-V host: the summary lines, the checks that must pass there, and a
# recording of this real host (sent back in /out/probe-rec for tests/data/hosts/).
. /svmhost/tap.sh
out=/out/probe
mkdir -p $out
nestvisor probe --save $out/rec > $out/probe.txt 2>&1
st=$?
nestvisor probe --json > $out/probe.json 2>/dev/null
# "id" then "status" then "evidence" in our own pretty-printed JSON: one "id STATUS evidence" line a check
awk -F'"' '/"id":/ { id = $4 } /"status":/ && id { st = $4 } /"evidence":/ && id { print id, st, $4; id = "" }' \
	$out/probe.json > $out/checks.txt
status_of() { awk -v id="$1" '$1 == id { print $2 }' $out/checks.txt; }
check "probe: exit status 0 (no check FAILs; was $st)" test "$st" = 0
check "probe: 'Hardware-accelerated VMs: yes: KVM (kvm_amd) with AMD-V + NPT'" \
	grep -q '^Hardware-accelerated VMs: yes: KVM (kvm_amd) with AMD-V + NPT' $out/probe.txt
check "probe: 'Nested guests: yes'" grep -q '^Nested guests: *yes' $out/probe.txt
check "probe: a 'Device passthrough:' summary line" grep -q '^Device passthrough: ' $out/probe.txt
for id in cpu.hwvirt cpu.slat kvm.run nested.support; do
	check "probe: $id PASS (is $(status_of $id))" test "$(status_of $id)" = PASS
done
check "probe: kvm.module names kvm_amd" grep -q '^kvm.module .* kvm_amd' $out/checks.txt
check "probe: host.hypervisor says QEMU TCG" grep -q '^host.hypervisor .*QEMU TCG' $out/checks.txt
check "probe: --save wrote a recording" test -s $out/rec/RECORDING
check "probe: the recording replays to the same summary" sh -c \
	"nestvisor probe --replay $out/rec | grep '^Hardware-accelerated VMs: yes: KVM (kvm_amd)'"
[ "$st" = 0 ] || diag $out/probe.txt 40
