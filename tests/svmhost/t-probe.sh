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

# A user who may not open /dev/kvm (nobody, here): told that first, with the fix this node's mode and group allow
grep -q '^nobody:' /etc/passwd 2>/dev/null || echo "nobody:x:65534:65534:nobody:/tmp:/bin/sh" >> /etc/passwd
grep -q '^kvm:' /etc/group 2>/dev/null || echo "kvm:x:994:" >> /etc/group
as_nobody() { su -s /bin/sh nobody -c "HOME=/tmp NESTVISOR_DB=/tmp/nobody.db nestvisor probe" > $1 2>&1; }
mode=$(stat -c %a /dev/kvm) grp=$(stat -c %g /dev/kvm)
chmod 600 /dev/kvm && chgrp 0 /dev/kvm && as_nobody $out/probe-nobody-0600.txt
chgrp kvm /dev/kvm && chmod 660 /dev/kvm && as_nobody $out/probe-nobody-0660.txt
chgrp "$grp" /dev/kvm && chmod "$mode" /dev/kvm
first() { sed -n '/^What to do next/{n;p;q}' $1; }
check "probe as a user without /dev/kvm: the headline says so ($(grep '^Hardware' $out/probe-nobody-0600.txt | cut -c1-80))" \
	grep -q '^Hardware-accelerated VMs: no: not for you yet: you may not open /dev/kvm' $out/probe-nobody-0600.txt
check "probe as a user, /dev/kvm 0600 root: first fix is root or a group for it ($(first $out/probe-nobody-0600.txt | cut -c1-70))" \
	sh -c "sed -n '/^What to do next/{n;p;q}' $out/probe-nobody-0600.txt | grep -q 'First: run as root, or have the administrator give /dev/kvm a group'"
check "probe as a user, /dev/kvm 0660 group kvm: first fix is joining kvm ($(first $out/probe-nobody-0660.txt | cut -c1-70))" \
	sh -c "sed -n '/^What to do next/,\$p' $out/probe-nobody-0660.txt | tr -s ' \n' ' ' | grep -q 'First: add yourself to its group: sudo usermod -aG kvm \$USER'"
