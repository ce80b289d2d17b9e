# t-nested.sh: a guest of nestvisor that is a KVM host itself: Debian's kernel (L2) under nestvisor in the AMD-V host
# sees SVM, loads kvm_amd (nested=1), its probe says yes to both questions, and it runs nestvisor's hello guest
# (L3) to its end. Three levels of KVM below this machine's own. With --nested off, the same L2 sees no SVM and
# its kvm_amd refuses to load.
. /svmhost/tap.sh
log=/out/nested.log
nestvisor run --console stdio --name nested --kernel /guest/vmlinuz --initrd /guest/initrd-nested --mem 768M \
	--cpus 1 --cmdline "console=ttyS0 panic=-1 quiet" --timeout 300 --stats --nested on < /dev/null 2>&1 |
	tr -d '\r' > $log
check "nested: --nested on, and --stats says so with KVM's nested-state size" \
	grep -q '^nested: on, the guest may run its own hypervisor; KVM.s nested state per vCPU: [1-9][0-9]* bytes' $log
check "nested: L2 reached init" grep -q '^NVG: init' $log
check "nested: L2 sees svm in /proc/cpuinfo" grep -q '^NVG: svm 1$' $log
check "nested: L2 loaded kvm_amd, /dev/kvm is there" grep -q '^NVG: dev-kvm' $log
check "nested: L2's kvm_amd has nested=1" grep -q '^NVG: nested 1$' $log
check "nested: L2's probe: hardware-accelerated VMs yes (its functional check ran a guest)" \
	grep -q '^NVG: probe Hardware-accelerated VMs: yes: KVM (kvm_amd)' $log
check "nested: L2's probe: nested guests yes" grep -q '^NVG: probe Nested guests: *yes' $log
check "nested: L3 printed its greeting" grep -q '^NVG: l3 Hello from a nestvisor guest!' $log
check "nested: L3 ended through debug-exit 0 (status 1)" grep -q '^NVG: l3-status 1$' $log
check "nested: L2 powered off cleanly" grep -q 'VM nested (bzImage[^)]*) ended (powered-off, exit status 0)' $log
grep -q '^NVG: l3-status 1$' $log || diag $log 40

off=/out/nested-off.log
nestvisor run --console stdio --name nested-off --kernel /guest/vmlinuz --initrd /guest/initrd-nested --mem 768M \
	--cpus 1 --cmdline "console=ttyS0 panic=-1 quiet" --timeout 300 --stats --nested off < /dev/null 2>&1 |
	tr -d '\r' > $off
check "nested off: L2 reached init" grep -q '^NVG: init' $off
check "nested off: no svm in L2's /proc/cpuinfo" grep -q '^NVG: svm 0$' $off
check "nested off: L2's kvm_amd refuses to load" grep -q '^NVG: insmod .*kvm-amd' $off
check "nested off: L2 has no /dev/kvm" sh -c "! grep -q '^NVG: dev-kvm' $off"
check "nested off: L2 powered off cleanly" grep -q 'VM nested-off (bzImage[^)]*) ended (powered-off, exit status 0)' $off
grep -q '^NVG: svm 0$' $off || diag $off 20
