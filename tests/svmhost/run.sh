#!/bin/sh
# run.sh: boots the AMD-V test host (Debian's kernel with kvm_amd, nested=1, under QEMU's TCG) and runs test
# scripts inside it as root; prints their TAP. `make check-svmhost` runs it with every t-*.sh.
#   tests/svmhost/run.sh [--out DIR] [--timeout SEC] [--cpus N] [SCRIPT...]   SCRIPTs from tests/svmhost/
#   tests/svmhost/run.sh --iommu intel|amd [--root-port] ...   the IOMMU host (q35, an emulated Intel or AMD IOMMU,
#                                     an e1000e, behind a PCIe root port or not); its scripts are i-*.sh
#   tests/svmhost/run.sh --iommu intel|amd --pair ...   with a two-function e1000e too; its scripts are p-*.sh
#   tests/svmhost/run.sh --shell      a shell inside the host, on this terminal (README.md)
#   tests/svmhost/run.sh --cmd 'CMD'  one command inside the host; its output and status come back
#   tests/svmhost/run.sh --drive IMG[,rw] ...   a raw disk image as the host's /dev/vda (virtio), its writes
#                                     thrown away unless rw (c-cloud.sh's Debian image); again: /dev/vdb...
set -u
S=${NV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${NV_BUILDDIR:-$S}
. "$S/tests/svmhost/lib.sh"

OUT=$B/tests/svmhost-out
LIMIT=${SVMHOST_TIMEOUT:-}
CPUS=2
MODE=tests
CMD=
SCRIPTS=
IOMMU=
ROOTPORT=
PAIR=
DRIVE=
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift ;;
	--timeout) LIMIT=$2; shift ;;
	--cpus) CPUS=$2; shift ;;
	--shell) MODE=shell ;;
	--cmd) MODE=cmd; CMD=$2; shift ;;
	--iommu) IOMMU=$2; shift ;;
	--root-port) ROOTPORT=1 ;;
	--pair) PAIR=1 ;;
	--drive) DRIVE="$DRIVE $2"; shift ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	*) SCRIPTS="$SCRIPTS $1" ;;
	esac
	shift
done
# The IOMMU host (ENVIRONMENT.md's recipe): q35 with the IOMMU's device before the PCI devices, interrupt
# remapping (xAPIC mode: eim needs a KVM accelerator), an e1000e on the outer QEMU's user network. no_timer_check:
# one boot in 32 panicked without it ("timer doesn't work through Interrupt-remapped IO-APIC").
SVM_MACHINE= SVM_KOPTS=
W=$(mktemp -d "${TMPDIR:-/tmp}/svmhost.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
for d in $DRIVE; do
	case $d in
	*,rw) SVM_MACHINE="$SVM_MACHINE -drive file=${d%,rw},if=virtio,format=raw,cache=writeback" ;;
	*) SVM_MACHINE="$SVM_MACHINE -drive file=$d,if=virtio,format=raw,snapshot=on" ;;
	esac
done
if [ -n "$IOMMU" ]; then
	case $IOMMU in
	intel) unit="intel-iommu,intremap=on,caching-mode=on" kopt=intel_iommu=on ;;
	amd) unit="amd-iommu,intremap=on" kopt= ;;
	*) echo "run.sh: --iommu takes intel or amd, not '$IOMMU'" >&2; exit 2 ;;
	esac
	# i-pass.sh's guest moves data through the e1000e to two programs the outer QEMU's user network
	# starts per connection (guestfwd): one serves `seq 1 2300000` (17288896 bytes) over HTTP, one
	# answers the SHA-256 of as many bytes received
	mkdir -p "$W/fwd"
	# the request is read before the answer: a program that ends with bytes unread in its socket makes
	# the user network see a reset, and drop the answer's tail (13 of 17 MB arrived, once)
	cat > "$W/fwd/down" <<-'EOF'
	#!/bin/sh
	cr=$(printf '\r')
	while IFS= read -r l && [ -n "${l%$cr}" ]; do :; done
	printf 'HTTP/1.0 200 OK\r\n\r\n'
	exec seq 1 2300000
	EOF
	printf '#!/bin/sh\nhead -c 17288896 | sha256sum\n' > "$W/fwd/up"
	chmod +x "$W/fwd/down" "$W/fwd/up"
	fwd="guestfwd=tcp:10.0.2.100:5000-cmd:$W/fwd/down,guestfwd=tcp:10.0.2.101:5001-cmd:$W/fwd/up"
	# the NIC's expansion ROM is iPXE's, as QEMU ships it (i-pass.sh reads it through the guest)
	rom=/usr/lib/ipxe/qemu/efi-e1000e.rom
	[ -r $rom ] || rom=
	nic="-netdev user,id=n0,$fwd -device e1000e,netdev=n0,romfile=$rom"
	[ -n "$ROOTPORT" ] && nic="-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1 $nic,bus=rp1"
	# --pair: a two-function e1000e behind a root port of its own, each function on a user network of its own
	# with the same far end. Without ACS Linux puts a multifunction endpoint's functions in one IOMMU group
	# (p-group.sh); on the root bus it would not: Intel's integrated endpoints are isolated by a quirk.
	if [ -n "$PAIR" ]; then
		nic="$nic -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=0x0a"
		for f in 0 1; do	# Linux reads multifunction from each function's header
			nic="$nic -netdev user,id=p$f,net=10.0.$((3 + f)).0/24,guestfwd=tcp:10.0.$((3 + f)).100:5000-cmd:$W/fwd/down"
			nic="$nic -device e1000e,netdev=p$f,bus=rp2,addr=0.$f,multifunction=on,romfile="
		done
	fi
	SVM_MACHINE="-machine q35 -device $unit $nic"
	SVM_KOPTS="iommu=pt no_timer_check $kopt nv.iommu=$IOMMU${ROOTPORT:+-root-port}${PAIR:+-pair}"
	pre=i
	[ -n "$PAIR" ] && pre=p
	[ -n "$SCRIPTS" ] || SCRIPTS=$(cd "$S/tests/svmhost" && ls $pre-*.sh)
fi
[ -n "$DRIVE" ] && [ -z "$SCRIPTS" ] && SCRIPTS=$(cd "$S/tests/svmhost" && ls c-*.sh)	# the image's
[ -n "$SCRIPTS" ] || SCRIPTS=$(cd "$S/tests/svmhost" && ls t-*.sh)
# the whole host's time: the IOMMU host's i-pass.sh boots up to six Linux guests; the main host's scripts
# took 458 s on one machine and passed 600 on a slower one (stop 37's CI), before t-snapshot.sh (about 4
# minutes more)
[ -n "$LIMIT" ] || { [ -n "$IOMMU" ] && LIMIT=1200 || LIMIT=1500; }

skip() { echo "1..0 # SKIP $*"; exit 0; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
for t in cpio xz; do command -v $t >/dev/null || skip "$t is not installed (apt-get install $t)"; done
[ -x "$B/nestvisor" ] || { echo "Bail out! $B/nestvisor is not built (make)"; exit 1; }
svm_fetch
rc=$?
[ $rc = $SVM_SKIP ] && skip "could not fetch Debian's kernel or busybox-static packages (see above)"
[ $rc = 0 ] || { echo "Bail out! preparing the host's kernel failed"; exit 1; }

rm -rf "$OUT" && mkdir -p "$OUT" || exit 1

# The Linux guest's initramfs: busybox, guest-init, and the kernel package's virtio, e1000e (i-pass.sh's
# passed-through NIC) and ext4 modules, in the
# order guest-init loads them (each after what it depends on).
svm_stage_busybox "$W/guest"
cp "$S/tests/svmhost/guest-init" "$W/guest/init"
mkdir -p "$W/guest/lib/modules"
i=10
for m in drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_modern_dev.ko \
	drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko drivers/char/hw_random/virtio-rng.ko \
	net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko \
	drivers/block/virtio_blk.ko drivers/net/ethernet/intel/e1000e/e1000e.ko \
	lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko crypto/crc32c_generic.ko fs/ext4/ext4.ko; do
	cp "$(svm_module $m)" "$W/guest/lib/modules/$i-$(basename $m)" ||
		{ echo "Bail out! the kernel package has no $m"; exit 1; }
	i=$((i + 1))
done
# the ACPI power button's driver and the input events it sends, loaded only where a test asks (nv.button)
mkdir -p "$W/guest/lib/modules/acpi"
for m in drivers/acpi/button.ko drivers/input/evdev.ko; do
	cp "$(svm_module $m)" "$W/guest/lib/modules/acpi/" || { echo "Bail out! the kernel package has no $m"; exit 1; }
done
cp "$S/tests/svmhost/udhcpc.script" "$W/guest/bin/udhcpc.script" && chmod +x "$W/guest/bin/udhcpc.script"
gcc -static -O2 -pthread -o "$W/guest/bin/blkbench" "$S/tests/svmhost/blkbench.c" 2>/dev/null ||
	echo "# svmhost: no static blkbench (gcc -static failed): bench/virtio.sh cannot measure disks"
gcc -static -O2 -o "$W/guest/bin/tcpsend" "$S/tests/svmhost/tcpsend.c" 2>/dev/null ||
	echo "# svmhost: no static tcpsend (gcc -static failed): bench/virtio.sh cannot measure networks"
svm_pack "$W/guest" "$W/guest.cpio"

# A Linux guest that is a KVM host itself (t-nested.sh): kvm_amd's modules, nestvisor, the hello guest.
N=$W/nested
svm_stage_busybox "$N"
cp "$S/tests/svmhost/nested-init" "$N/init"
mkdir -p "$N/lib/modules"
svm_add_nestvisor "$N" || exit 1
for g in hello portloop count; do [ -f "$B/tests/guests/$g.elf" ] && cp "$B/tests/guests/$g.elf" "$N/$g.elf"; done

# The host's initramfs: busybox, kvm_amd's modules, nestvisor and its libraries, the test guests and the test
# program that runs them, the Linux guest, QEMU with its firmware (the reference the tests compare with).
R=$W/host
svm_stage_busybox "$R"
cp "$S/tests/svmhost/host-init" "$R/init"
mkdir -p "$R/lib/modules" "$R/nv/tests/guests" "$R/nv/tests/data" "$R/svmhost" "$R/guest" "$R/usr/share/qemu"
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko drivers/crypto/ccp/ccp.ko arch/x86/kvm/kvm-amd.ko; do
	{ cp "$(svm_module $m)" "$R/lib/modules/" && cp "$(svm_module $m)" "$N/lib/modules/"; } ||
		{ echo "Bail out! the kernel package has no $m"; exit 1; }
done
for m in drivers/net/tun.ko drivers/net/tap.ko drivers/vhost/vhost_iotlb.ko drivers/vhost/vhost.ko \
	drivers/vhost/vhost_net.ko drivers/block/loop.ko drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko \
	drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko \
	drivers/block/virtio_blk.ko lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko crypto/crc32c_generic.ko fs/ext4/ext4.ko \
	drivers/vfio/vfio.ko drivers/vfio/vfio_iommu_type1.ko drivers/vfio/vfio_virqfd.ko \
	drivers/vfio/pci/vfio-pci-core.ko drivers/vfio/pci/vfio-pci.ko drivers/net/ethernet/intel/e1000e/e1000e.ko \
	drivers/mfd/lpc_ich.ko drivers/i2c/i2c-smbus.ko drivers/i2c/busses/i2c-i801.ko; do
	# t-net.sh's tap and vhost-net; t-virtio.sh's O_DIRECT; i-vfio.sh's VFIO and the host drivers it binds
	cp "$(svm_module $m)" "$R/lib/modules/" || { echo "Bail out! the kernel package has no $m"; exit 1; }
done
gcc -static -O2 -o "$R/bin/vfiostat" "$S/tests/svmhost/vfiostat.c" ||
	{ echo "Bail out! could not build tests/svmhost/vfiostat.c (gcc -static)"; exit 1; }
svm_pack "$N" "$W/nested.cpio"
# SVMHOST_EXTRA: more programs for a debugging session (strace, gdb, ...), with their libraries
svm_add_nestvisor "$R" && svm_add_binary "$R" /usr/bin/qemu-system-x86_64 ${SVMHOST_EXTRA:-} || exit 1
# iproute2's ip beside busybox's (which has no tuntap): t-net.sh makes a tap of another user's with it
ipfull=$(command -v ip 2>/dev/null)
[ -n "$ipfull" ] && ! [ -L "$ipfull" -a "$(readlink -f "$ipfull")" = /bin/busybox ] &&
	cp -L "$ipfull" "$R/nv/ip-full" && svm_add_libs "$R" "$ipfull"
# t-virtio.sh makes and reads back ext4 images; t-image.sh partitions disk images, converts one to qcow2
# c-cloud.sh logs in to a Debian guest with ssh
for b in /sbin/mke2fs /sbin/debugfs /sbin/e2fsck /sbin/sfdisk /usr/bin/qemu-img /usr/bin/ssh /usr/bin/ssh-keygen; do
	svm_add_binary "$R" "$b" ||
		{ echo "Bail out! $b is needed: apt-get install e2fsprogs fdisk qemu-utils openssh-client"; exit 1; }
done
for t in test_run_guests test_acpi_guests test_nested; do
	[ -x "$B/tests/$t" ] && svm_add_libs "$R" "$B/tests/$t" && cp "$B/tests/$t" "$R/nv/tests/"
done
[ -f "$B/tests/sandboxpoke.so" ] && cp "$B/tests/sandboxpoke.so" "$R/nv/tests/"	# t-sandbox.sh's forbidden calls
[ -x "$B/bench/firstbyte" ] && cp "$B/bench/firstbyte" "$R/nv/firstbyte"	# b-snapshot.sh's clock
# pci.ids, where libpci looks for it: the probe names devices' classes as on a user's host
ids=$(pkg-config --variable=idsdir libpci 2>/dev/null)/pci.ids
[ -f "$ids" ] && mkdir -p "$R$(dirname "$ids")" && cp -L "$ids" "$R$ids"
cp -r "$S/tests/data/hosts" "$R/nv/tests/data/"	# test_nested replays the recorded hosts too
cp "$B"/tests/guests/*.elf "$B"/tests/guests/*.bin "$R/nv/tests/guests/" 2>/dev/null
cp "$S/tests/data/guest-env" "$R/nv/tests/data/"
cp -r "$S/tests/data/imgboot" "$R/nv/tests/data/"	# t-image.sh: Debian's grub.cfg
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/kvmvapic.bin \
	 /usr/share/qemu/qboot.rom /usr/share/qemu/pvh.bin /usr/share/qemu/multiboot_dma.bin; do
	[ -e "$f" ] && cp -L "$f" "$R/usr/share/qemu/"
done
ln -sf qboot.rom "$R/usr/share/qemu/bios-microvm.bin"
cp "$S/tests/svmhost/tap.sh" "$S/tests/svmhost/stall.sh" "$S"/tests/svmhost/[tbipc]-*.sh "$R/svmhost/" 2>/dev/null
[ -d "$W/fwd" ] && cp "$W/fwd/down" "$R/svmhost/fwd-down" && cp "$W/fwd/up" "$R/svmhost/fwd-up"	# b-pass.sh's QEMU
cp "$SVM_VMLINUZ" "$R/guest/vmlinuz" && cp "$SVM_VMLINUX" "$R/guest/vmlinux" && cp "$W/guest.cpio" "$R/guest/initrd" &&
	cp "$W/nested.cpio" "$R/guest/initrd-nested"
case $MODE in
tests) echo $SCRIPTS > "$R/svmhost/tests" ;;
cmd) printf '%s\n' "$CMD" > "$R/svmhost/cmd.sh"; echo cmd.sh > "$R/svmhost/tests" ;;
esac
svm_pack "$R" "$W/host.cpio" || { echo "Bail out! packing the host's initramfs failed"; exit 1; }

if [ $MODE = shell ]; then
	exec qemu-system-x86_64 -accel tcg,thread=multi -cpu "$SVM_CPU" -smp "$CPUS" -m 2048 -nographic \
		$SVM_MACHINE -no-reboot -kernel "$SVM_VMLINUZ" -initrd "$W/host.cpio" \
		-append "console=ttyS0 quiet panic=-1 $SVM_KOPTS nv.shell"
fi

t0=$(date +%s)
: > "$OUT/results-earlier.tap"
[ $MODE = cmd ] && SVMHOST_APPEND="nv.limit=$LIMIT"
SVMHOST_APPEND=${SVMHOST_APPEND:-} svm_boot "$W/host.cpio" "$OUT/console.log" "$OUT/results.tap" "$W/files.b64" \
	"$LIMIT" "$CPUS"
qrc=$?
boots=1
# Whether the host stopped before its scripts were done by the emulator's doing, not a test's: it froze (no
# heartbeat), or its kernel panicked in a process that is not nestvisor (QEMU's, the reference VMM inside it: a
# panic in nestvisor's own process is ours, and fails). fail_how says which, for the line that says so.
emulator_failed() {
	if [ $qrc = 125 ]; then
		where=$(sed -n 's/^svmhost: frozen: //p' "$OUT/console.log.frozen" 2>/dev/null | tr '\n' ';' | sed 's/;$//')
		fail_how="froze (no heartbeat for 60 s; ${where:-its CPUs could not be read})"
		return 0
	fi
	grep -q '^# svmhost: done' "$OUT/results.tap" 2>/dev/null && return 1
	# QEMU 7.2's own device model asserting (its e1000e once aborted on a throttling timer left over from a
	# change of interrupt mode: "e1000e_intrmgr_on_throttling_timer: Assertion ... failed", status 134)
	assertion=$(grep -o 'qemu-system-x86_64: .*Assertion .* failed' "$OUT/console.log" 2>/dev/null | head -n 1)
	if [ $qrc = 134 ] && [ -n "$assertion" ]; then
		fail_how="aborted on an assertion of its own (${assertion#qemu-system-x86_64: })"
		return 0
	fi
	comm=$(awk '/Kernel panic/ { p = 1 } p && /Comm: / { sub(/.*Comm: /, ""); print $1; exit }' "$OUT/console.log")
	# A task's kernel stack found overwritten names its victim, not what wrote there, and no process can write
	# there: seen beside QEMU as the guest's VMM (2026-12-06) and in nestvisor processes while VMs restored from
	# snapshots ran (t-snapshot.sh, 2026-12-07; two of them at once made it come within seconds)
	if grep -q 'Kernel panic - not syncing: corrupted stack end detected' "$OUT/console.log"; then
		fail_how="kernel panicked: the kernel stack of a task ($comm) found overwritten, which no process can do"
		return 0
	fi
	[ -n "$comm" ] && [ "$comm" != nestvisor ] || return 1
	fail_how="kernel panicked in $comm, not in nestvisor: $(grep -o 'Kernel panic - not syncing: .*' \
		"$OUT/console.log" | head -n 1 | cut -c29-100)"
}
# The emulator failed (not a test): boot again, up to 5 boots in all, for the scripts that had not finished; what
# the finished ones said is kept, and every such boot is said and counted. (Single-threaded TCG for the retries was
# tried: t-linux.sh then outgrew 300 s.)
while emulator_failed && [ $boots -lt 5 ] && [ $MODE = tests ]; do
	boots=$((boots + 1))
	last=$(sed -n 's/^# svmhost: //p' "$OUT/results.tap" | tail -n 1)
	[ "$last" = done ] && break	# every script finished; only the files it was sending back are lost
	finished=$(sed -n 's/^# svmhost: //p' "$OUT/results.tap" | grep -vx "$last")
	[ -n "$last" ] && sed "/^# svmhost: $last\$/,\$d" "$OUT/results.tap" >> "$OUT/results-earlier.tap"
	left=
	for t in $SCRIPTS; do echo "$finished" | grep -qx "$t" || left="$left${left:+,}$t"; done
	echo "# svmhost: the emulated host $fail_how, in ${last:-its start}; booting it again for $left" \
		"(boot $boots of 5)"
	cp "$OUT/console.log" "$OUT/console-failed-$boots.log"
	[ -f "$OUT/console.log.frozen" ] && mv "$OUT/console.log.frozen" "$OUT/console-failed-$boots.frozen"
	t0=$(date +%s)
	SVMHOST_APPEND="nv.tests=$left" svm_boot "$W/host.cpio" "$OUT/console.log" "$OUT/results.tap" "$W/files.b64" \
		"$LIMIT" "$CPUS"
	qrc=$?
done
cat "$OUT/results.tap" >> "$OUT/results-earlier.tap" && mv "$OUT/results-earlier.tap" "$OUT/results.tap"
base64 -d < "$W/files.b64" 2>/dev/null | tar x -C "$OUT" 2>/dev/null
if [ $MODE = cmd ]; then
	cat "$OUT/results.tap"
	emulator_failed && echo "# svmhost: the emulated host $fail_how"
	tail -n 40 "$OUT/console.log" >&2
	exit 0
fi

# Number the host's TAP lines; everything else it printed stays a comment.
awk -v secs=$(( $(date +%s) - t0 )) -v qrc=$qrc -v boots=$boots '
	/^(ok|not ok)/ { n++; sub(/^ok/, "ok " n); sub(/^not ok/, "not ok " n); print; next }
	/^# svmhost: done/ { done = 1 }
	/^# emulator fault: / { faults++ }	# a guest the emulated CPU stopped; its script ran it again
	{ print }
	END {
		n++
		again = boots > 1 ? ", after " boots - 1 " failure(s) of the emulator, each said above" : ""
		if (faults) again = again "; " faults " guest(s) stopped by the emulated CPU, each said above and run again"
		if (done) print "ok " n " - the host ran every script to the end (" secs " s" again ")"
		else if (boots == 5) print "not ok " n " - the emulated host failed five times (" secs " s): console tail below"
		else if (qrc == 125) print "not ok " n " - the emulated host froze (" secs " s): console tail below"
		else print "not ok " n " - the host did not finish its scripts (QEMU status " qrc ", " secs " s): console tail below"
		print "1.." n
	}' "$OUT/results.tap" > "$OUT/tap"
cat "$OUT/tap"
if ! grep -q '^# svmhost: done' "$OUT/results.tap" || grep -q '^not ok' "$OUT/tap"; then
	echo "# console tail ($OUT/console.log):"
	tail -n 30 "$OUT/console.log" | sed 's/^/#   /'
fi
awk '/^ok/ { p++ } /^not ok/ { f++ } END { printf "svmhost: %d passed, %d failed\n", p, f }' "$OUT/tap"
echo "# results, logs and files the tests sent back: $OUT"
! grep -q '^not ok' "$OUT/tap"
