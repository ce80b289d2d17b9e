# b-boot.sh: inside the AMD-V host, seconds from launching a VMM to the Linux guest init's first line, for
# nestvisor, QEMU -M pc (SeaBIOS) and QEMU -M microvm (qboot); same kernel, initramfs, memory and vCPU count.
# nestvisor unpacks a bzImage's kernel on the host once and keeps it (~/.cache/nestvisor/kernels): its first boot
# is the nestvisor-cold row, the nestvisor rows come from the cache, the nestvisor-self rows (--no-unpack) leave
# the decompression to the guest, as QEMU does. The -pvh rows boot the same kernel's uncompressed vmlinux
# through its PVH entry.
# Run by bench/svmhost-boot.sh; prints "bench: VMM RUN SECONDS" and "bench-median: VMM SECONDS".
G=/guest
RUNS=${NV_BENCH_RUNS:-3}
CMDLINE="console=ttyS0 panic=-1 quiet"
up() { cut -d' ' -f1 /proc/uptime; }

# Reads the VMM's console; the moment init's first line arrives goes to $1.
first_line() { awk -v out="$1" '/NVG: init/ && !seen { getline t < "/proc/uptime"; split(t, a, " "); print a[1] > out; seen = 1 }'; }

timed() {	# vmm run command...
	vmm=$1 run=$2
	shift 2
	rm -f /tmp/first
	t0=$(up)
	"$@" 2>/tmp/stderr < /dev/null | first_line /tmp/first
	if [ -s /tmp/first ]; then
		echo "bench: $vmm $run $(awk -v a="$t0" '{ printf "%.2f", $1 - a }' /tmp/first)"
	else
		echo "bench: $vmm $run FAILED"
		tail -n 5 /tmp/stderr | sed 's/^/# /'
	fi
}

rm -rf /root/.cache/nestvisor/kernels
timed nestvisor-cold 1 nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --cpus 1 \
	--cmdline "$CMDLINE" --timeout 120 | tee /out/bench.txt
for run in $(seq 1 $RUNS); do
	timed nestvisor-self $run nestvisor run --no-unpack --console stdio --kernel $G/vmlinuz --initrd $G/initrd \
		--mem 256M --cpus 1 --cmdline "$CMDLINE" --timeout 120
	timed nestvisor $run nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --cpus 1 \
		--cmdline "$CMDLINE" --timeout 120
	timed qemu-pc $run timeout 120 qemu-system-x86_64 -M pc -accel kvm -cpu host -m 256 -smp 1 -nodefaults \
		-display none -no-reboot -serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd -append "$CMDLINE"
	timed qemu-microvm $run timeout 120 qemu-system-x86_64 -M microvm -accel kvm -cpu host -m 256 -smp 1 -nodefaults \
		-display none -no-reboot -serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd -append "$CMDLINE"
done | tee -a /out/bench.txt
for run in $(seq 1 $RUNS); do
	timed nestvisor-pvh $run nestvisor run --console stdio --kernel $G/vmlinux --initrd $G/initrd --mem 256M --cpus 1 \
		--cmdline "$CMDLINE" --timeout 120
	timed qemu-pc-pvh $run timeout 120 qemu-system-x86_64 -M pc -accel kvm -cpu host -m 256 -smp 1 -nodefaults \
		-display none -no-reboot -serial stdio -L /usr/share/qemu -kernel $G/vmlinux -initrd $G/initrd -append "$CMDLINE"
done | tee -a /out/bench.txt
for vmm in nestvisor-cold nestvisor nestvisor-self qemu-pc qemu-microvm nestvisor-pvh qemu-pc-pvh; do
	awk -v v=$vmm '$2 == v && $4 != "FAILED" { print $4 }' /out/bench.txt | sort -n |
		awk -v v=$vmm '{ x[NR] = $1 } END { if (NR) print "bench-median: " v " " x[int((NR + 1) / 2)] }'
done
