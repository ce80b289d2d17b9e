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
stats=""
while [ $t -lt "$LIMIT" ] && ! grep -q "Linux version" "$log" 2>/dev/null; do
	stats=$("$B/nestvisor" stats "$name" 2>/dev/null) || break	# the VM ended on its own
	sleep 5
	t=$((t + 5))
done
"$B/nestvisor" stop "$name" >/dev/null 2>&1
echo "after ${t}s the kernel said:"
head -c 3000 "$log"
echo
if grep -q "Linux version" "$log"; then
	echo "check-linux: PASS: the kernel booted and printed its first messages"
elif echo "$stats" | grep -q "0x03fb serial"; then
	# earlyprintk=serial,ttyS0,115200 makes the decompressor program COM1 (LCR at 0x3fb, divisor 1): it ran
	# in long mode from our zero page and read our command line, but did not finish within the limit.
	echo "$stats"
	echo "check-linux: SKIP: the decompressor ran and programmed COM1 as the command line asked, but no"
	echo "'Linux version' within ${LIMIT}s: on a software KVM its ring-0 code is emulated (raise LINUX_TIMEOUT)"
	exit 77
else
	echo "$stats"
	echo "check-linux: FAIL: no sign of the kernel on the console within ${LIMIT}s"
	exit 1
fi
