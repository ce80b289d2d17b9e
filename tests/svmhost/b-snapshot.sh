# b-snapshot.sh: inside the AMD-V host, milliseconds from `nestvisor run --restore` to the restored guest's next
# serial byte, for a 128 MiB and a 2 GiB guest, beside QEMU's -incoming of the same guest migrated to a file
# (QEMU boots the same multiboot ELF); the snapshot's write time against cp of a file as big as it is on disk,
# and its size on disk against the guest RAM the VM had touched. The guest (count.elf, ms=0) writes to its
# serial port without pause, so the first byte comes as soon as the guest runs again.
# Run by bench/svmhost-snapshot.sh; prints "bench: WHAT MEM RUN VALUE" lines.
RUNS=${NV_BENCH_RUNS:-5}
T=/nv/tests/guests
FB=/nv/firstbyte
export XDG_RUNTIME_DIR=/run/bsnap
mkdir -p $XDG_RUNTIME_DIR && chmod 700 $XDG_RUNTIME_DIR
mkdir -p /tmp/bs
cd /tmp/bs || exit 1
# QEMU's 2 GiB of guest RAM in this 2 GiB host: the kernel's overcommit heuristic refuses it otherwise (nestvisor
# maps guest RAM MAP_NORESERVE)
echo 1 > /proc/sys/vm/overcommit_memory
# firstbyte prints "FIRST END" in ms: when a command's first output byte came, and when it ended
took() { r=$($FB "$@"); echo "${r##* }"; }
for mem in 128 2048; do
	rm -f n.snap
	nestvisor run --detach --name bs --kernel $T/count.elf --mem ${mem}M --cmdline "n=100000000 ms=0" \
		--console none --timeout 300 > /dev/null 2>&1
	sleep 2
	touched=$(nestvisor stats bs --json 2>/dev/null | tr ',' '\n' | sed -n 's/.*"mem_touched":\([0-9]*\).*/\1/p')
	t=$(took sh -c 'nestvisor snapshot bs n.snap --stop > snap.out 2>&1')
	[ -s n.snap ] || { echo "# $(cat snap.out)"; continue; }
	disk=$(($(stat -c %b n.snap) * 512))
	echo "bench: nestvisor-snapshot-ms $mem 1 $t"
	echo "bench: nestvisor-snapshot-disk-bytes $mem 1 $disk"
	echo "bench: nestvisor-touched-bytes $mem 1 ${touched:-0}"
	head -c $disk /dev/urandom > same.bin
	sync
	echo "bench: cp-ms $mem 1 $(took sh -c 'cp same.bin copy.bin && sync')"
	rm -f same.bin copy.bin
	for run in $(seq 1 $RUNS); do
		r=$($FB nestvisor run --restore n.snap --name bsr --console stdio --timeout 1 2>/dev/null)
		echo "bench: nestvisor-restore-first-byte-ms $mem $run ${r%% *}"
	done
	rm -f n.snap
	for run in $(seq 1 $RUNS); do	# the floor: nestvisor starting and ending, its libraries loaded
		r=$($FB nestvisor --version)
		echo "bench: nestvisor-version-ms $mem $run ${r##* }"
	done
	for run in $(seq 1 $RUNS); do	# for scale: the same guest booted, to its first byte
		r=$($FB nestvisor run --kernel $T/count.elf --mem ${mem}M --cmdline "n=100000000 ms=0" \
			--console stdio --timeout 1 2>/dev/null)
		echo "bench: nestvisor-boot-first-byte-ms $mem $run ${r%% *}"
	done
	# QEMU: the same guest migrated to a file while it runs (a stopped source would leave the destination
	# stopped), then started from it
	(sleep 2; echo 'migrate "exec:cat > q.mig"'; echo quit) |
		timeout 120 qemu-system-x86_64 -M pc -accel kvm -cpu host -m $mem -nodefaults -display none \
			-no-reboot -L /usr/share/qemu -kernel $T/count.elf -append "n=100000000 ms=0" \
			-serial null -monitor stdio > qmon.out 2>&1
	echo "bench: qemu-migration-bytes $mem 1 $(stat -c %s q.mig 2>/dev/null || echo 0)"
	[ -s q.mig ] || tail -n 5 qmon.out | sed 's/^/# qemu: /'
	for run in $(seq 1 $RUNS); do
		r=$($FB timeout 3 qemu-system-x86_64 -M pc -accel kvm -cpu host -m $mem -nodefaults -display none \
			-no-reboot -L /usr/share/qemu -kernel $T/count.elf -append "n=100000000 ms=0" \
			-serial stdio -monitor none -incoming "exec:cat q.mig" 2>/dev/null)
		echo "bench: qemu-incoming-first-byte-ms $mem $run ${r%% *}"
	done
	rm -f q.mig
done | tee /out/bench.txt
for what in nestvisor-restore-first-byte-ms nestvisor-boot-first-byte-ms nestvisor-version-ms qemu-incoming-first-byte-ms; do
	for mem in 128 2048; do
		awk -v w=$what -v m=$mem '$2 == w && $3 == m && $5 >= 0 { print $5 }' /out/bench.txt | sort -n |
			awk -v w=$what -v m=$mem '{ x[NR] = $1 } END { if (NR) print "bench-median: " w " " m " " x[int((NR + 1) / 2)] }'
	done
done
