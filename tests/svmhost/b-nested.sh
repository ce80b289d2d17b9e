# b-nested.sh: inside the AMD-V host, L2 = Debian's kernel as a KVM host, once under nestvisor and once under
# QEMU (-accel kvm -cpu host), same kernel, initramfs, memory and vCPU; in each, nested-init (nv.bench) times
# nestvisor running L3: launch to its first serial byte, and portloop's port-write exits (2,000 and 22,000:
# the difference is 20,000 round trips L3 -> L2's KVM -> nestvisor in L2 -> back). Run by bench/svmhost-nested.sh;
# prints "bench: L1VMM first-byte SECONDS" and "bench: L1VMM rtt MICROSECONDS".
CMDLINE="console=ttyS0 panic=-1 quiet nv.bench"
report() {	# vmm log
	sed -n 's/^NVG: bench first-byte /bench: '"$1"' first-byte /p' "$2"
	awk -v v="$1" '/^NVG: bench portloop 2000 / { a = $5 } /^NVG: bench portloop 22000 / { b = $5 }
		END { if (a != "" && b != "") printf "bench: %s rtt %.1f\n", v, (b - a) * 1e6 / 20000; else print "bench: " v " rtt FAILED" }' "$2"
}
nestvisor run --console stdio --kernel /guest/vmlinuz --initrd /guest/initrd-nested --mem 768M --cpus 1 \
	--cmdline "$CMDLINE" --timeout 600 --nested on < /dev/null 2>&1 | tr -d '\r' > /out/bench-nested-nestvisor.log
report nestvisor /out/bench-nested-nestvisor.log
timeout 600 qemu-system-x86_64 -accel kvm -cpu host -m 768 -smp 1 -nodefaults -display none -no-reboot -serial stdio \
	-L /usr/share/qemu -kernel /guest/vmlinuz -initrd /guest/initrd-nested -append "$CMDLINE" < /dev/null 2>&1 |
	tr -d '\r' > /out/bench-nested-qemu.log
report qemu /out/bench-nested-qemu.log
