#!/bin/sh
# check-linux: boots Debian's kernel (a bzImage, through the 64-bit boot protocol) and waits for its first
# messages on the serial console ("Linux version", printed by earlyprintk once the kernel is decompressed).
# On a software KVM (kvm_pvm) the kernel's ring-0 code is emulated: decompression takes minutes there, and
# the check stops at the first messages rather than a shell. Run by `make check-linux`.
set -u
B=${NV_BUILDDIR:-.}
S=${NV_SRCDIR:-.}
LIMIT=${LINUX_TIMEOUT:-600}
"$S/scripts/get-debian-kernel.sh" "$B/tests/linux" || { echo "check-linux: SKIP: could not fetch the kernel package"; exit 77; }
log=$B/tests/linux/serial.log
name=check-linux-$$
rm -f "$log"
"$B/nestvisor" run --kernel "$B/tests/linux/vmlinuz" --mem 512M --name "$name" --detach --serial-log "$log" \
	--timeout "$LIMIT" --cmdline "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" || exit 1
t=0
while [ $t -lt "$LIMIT" ] && ! grep -q "Linux version" "$log" 2>/dev/null; do
	"$B/nestvisor" stats "$name" >/dev/null 2>&1 || break	# the VM ended on its own
	sleep 5
	t=$((t + 5))
done
"$B/nestvisor" stop "$name" >/dev/null 2>&1
echo "after ${t}s the kernel said:"
head -c 3000 "$log"
echo
if grep -q "Linux version" "$log"; then
	echo "check-linux: PASS: the kernel booted and printed its first messages"
else
	echo "check-linux: FAIL: no 'Linux version' on the console within ${LIMIT}s"
	exit 1
fi
