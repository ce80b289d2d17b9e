#!/bin/sh
# check-linux: Debian's own kernel (bzImage) with a busybox initramfs, booted to its init on THIS host's KVM,
# whatever it is: on a software KVM (kvm_pvm) the guest's kernel code is emulated and nestvisor shows it the
# baseline CPU (--cpu auto), which is what gets it there. Prints the time to init. Where the limit
# (LINUX_TIMEOUT, 300 s by default) comes first, it still passes if the kernel got past the point where it died
# before the baseline CPU (its slab allocator's first cmpxchg16b, right after "SLUB:") and was still running,
# and says how far it got. Fails on an emulation failure (126) or a triple fault (128). SKIP without /dev/kvm.
#   tests/check-linux.sh [--qemu]   --qemu: QEMU (-accel kvm, its default CPU) booting the same, beside it
# Run by `make check` (tests/run-linux-here.sh) and bench/linux-here.sh.
set -u
B=${NV_BUILDDIR:-.}
S=${NV_SRCDIR:-.}
LIMIT=${LINUX_TIMEOUT:-300}
[ -c /dev/kvm ] || { echo "check-linux: SKIP: no /dev/kvm here ($(dmesg 2>/dev/null | grep -o 'kvm[-_a-z]*: [^[]*not binding' | tail -n 1))"; exit 77; }
W=$(mktemp -d "${TMPDIR:-/tmp}/check-linux.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
if [ -n "${LINUX_KERNEL:-}" ] && [ -n "${LINUX_INITRD:-}" ]; then	# given (inside the AMD-V test host)
	SVM_VMLINUZ=$LINUX_KERNEL
	cp "$LINUX_INITRD" "$W/initrd" || exit 1
else
	. "$S/tests/svmhost/lib.sh"
	svm_fetch || { echo "check-linux: SKIP: could not fetch Debian's kernel or busybox-static"; exit 77; }
	svm_stage_busybox "$W/root"
	cat > "$W/root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "NVG: init $(cut -d' ' -f1 /proc/uptime)"
echo "NVG: flags $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
poweroff -f
INIT
	chmod +x "$W/root/init"
	svm_pack "$W/root" "$W/initrd"
fi
CMDLINE="console=ttyS0 panic=-1 loglevel=7"

# Runs one VMM with the console stamped as its lines arrive: "SECONDS LINE" (/proc/uptime's 10 ms ticks).
stamped() {	# log command...
	log=$1
	shift
	"$@" < /dev/null 2>&1 | tr -d '\r' | awk -v t0="$(cut -d' ' -f1 /proc/uptime)" '{
		getline u < "/proc/uptime"; close("/proc/uptime"); split(u, a, " ")
		printf "%.2f %s\n", a[1] - t0, $0; fflush() }' > "$log"
}
report() {	# name log status
	init=$(awk '/ NVG: init( |$)/ { print $1; exit }' "$2")
	slub=$(awk '/SLUB: / { print $1; exit }' "$2")
	last=$(grep -v ' NVG: flags' "$2" | tail -n 1 | cut -c1-160)
	echo "check-linux: $1: exit status $3; SLUB at ${slub:-never} s; init at ${init:-never} s"
	echo "check-linux: $1: last line: $last"
	grep -q 'KVM could not emulate\|triple-faulted' "$2" && sed -n '/KVM could not emulate\|triple-faulted/,$p' "$2" | head -n 12
}
stamped "$W/nv.log" timeout -k 10 $((LIMIT + 20)) "${NESTVISOR:-$B/nestvisor}" run --kernel "$SVM_VMLINUZ" --initrd "$W/initrd" \
	--mem 512M --cmdline "$CMDLINE" --timeout "$LIMIT" --stats
st=$(awk '/ended: .*exit status/ { sub(/.*exit status /, ""); sub(/\).*/, ""); s = $0 } END { print s }' "$W/nv.log")
report nestvisor "$W/nv.log" "${st:-?}"
cp "$W/nv.log" "$B/tests/check-linux-nestvisor.log" 2>/dev/null
if [ "${1:-}" = --qemu ]; then
	stamped "$W/qemu.log" timeout -k 10 "$LIMIT" qemu-system-x86_64 -accel kvm -m 512 -nodefaults -display none \
		-no-reboot -serial stdio -kernel "$SVM_VMLINUZ" -initrd "$W/initrd" -append "$CMDLINE"
	report qemu "$W/qemu.log" "?"
	cp "$W/qemu.log" "$B/tests/check-linux-qemu.log" 2>/dev/null
fi
if grep -q ' NVG: init\( \|$\)' "$W/nv.log" && [ "$st" = 0 ]; then
	echo "check-linux: PASS: Debian's kernel reached init ($(awk '/ NVG: init( |$)/ { print $1; exit }' "$W/nv.log") s) and powered off"
elif [ "$st" = 124 ] && grep -q 'SLUB: ' "$W/nv.log" && [ "$(sed -n '/SLUB: /,$p' "$W/nv.log" | wc -l)" -gt 5 ]; then
	echo "check-linux: PASS: still running at the limit (${LIMIT} s), past where it died before (SLUB's cmpxchg16b);"
	echo "check-linux: not yet at init (raise LINUX_TIMEOUT to see it get there)"
else
	echo "check-linux: FAIL: Debian's kernel did not reach init (status ${st:-?}); console tail:"
	tail -n 15 "$W/nv.log"
	exit 1
fi
