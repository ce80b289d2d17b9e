#!/bin/sh
# run-image: disk images in other formats as a user meets them, as TAP: a qcow2 given to --disk is refused
# before anything else (any host, /dev/kvm or not) with the way to a raw copy; `nestvisor image import` makes
# that copy, sparse, byte for byte the disk qemu-img reads; an image that names other files (a backing file
# pointing at a host file), a truncated one, a raw disk, an output that exists or is a link are refused, nothing
# left behind. Uses qemu-img (qemu-utils), as import does.
B=${NV_BUILDDIR:-.}/nestvisor
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
T=13
echo "1..$T"
if ! command -v qemu-img > /dev/null; then
	for i in $(seq 1 $T); do echo "ok $i # SKIP qemu-img is not installed (apt-get install qemu-utils)"; done
	exit 0
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/nv-image.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
# a 64 MiB disk: 4 MiB of data at its start and 1 MiB at 40 MiB, the rest never written
head -c 4194304 /dev/urandom > orig.img && truncate -s 64M orig.img
head -c 1048576 /dev/urandom | dd of=orig.img bs=1M seek=40 conv=notrunc 2>/dev/null
qemu-img convert -f raw -O qcow2 orig.img disk.qcow2

out=$("$B" run --kernel /nonexistent --disk disk.qcow2 2>&1); st=$?
[ $st = 2 ] && echo "$out" | grep -q "disk disk.qcow2: a qcow2 image, not a raw disk: .nestvisor image import disk.qcow2. makes a raw copy"
ok $? "run --disk with a qcow2: exit 2 before anything else, saying how to import it ($out)"
# past the disks, to the kernel it was not given: the disk was taken
out=$("$B" run --kernel /nonexistent --disk disk.qcow2,format=raw 2>&1)
echo "$out" | grep -q "^nestvisor run: /nonexistent: "
ok $? "... and with ,format=raw its bytes are taken as they are (the next thing refused is the kernel: $out)"

out=$("$B" image import disk.qcow2 2>&1); st=$?
[ $st = 0 ] && echo "$out" | grep -q "^disk.qcow2 (qcow2, 64 MiB as a disk) -> disk.raw: a raw disk, 5 MiB of it written"
ok $? "image import: exit 0, saying what it made ($out)"
cmp orig.img disk.raw; ok $? "the raw disk is the original byte for byte"
used=$(du -k disk.raw | cut -f1)
[ "$used" -lt 8192 ]; ok $? "and sparse: $used KiB of 65536 on disk"
ok $([ "$(stat -c %a disk.raw)" = 600 ]; echo $?) "made readable by its owner alone (a guest's disk: $(stat -c %a disk.raw))"
out=$("$B" run --kernel /nonexistent --disk disk.raw 2>&1)
echo "$out" | grep -q "^nestvisor run: /nonexistent: "; ok $? "run takes it as a disk (the next thing refused is the kernel: $out)"

out=$("$B" image import disk.qcow2 2>&1); st=$?
[ $st = 1 ] && echo "$out" | grep -q "disk.raw: it exists already: give -o a new name (nothing is overwritten)" &&
	cmp -s orig.img disk.raw
ok $? "an output that exists is refused, untouched ($out)"
ln -s /etc/passwd link.raw
out=$("$B" image import disk.qcow2 -o link.raw 2>&1); st=$?
[ $st = 1 ] && cmp -s /etc/passwd link.raw; ok $? "an output that is a link is refused, its target untouched ($out)"

# a qcow2 whose backing file is a host file: converted as is, it would copy the file into the disk
qemu-img create -q -f qcow2 -b /etc/passwd -F raw evil.qcow2
out=$("$B" image import evil.qcow2 2>&1); st=$?
[ $st = 1 ] && echo "$out" | grep -q "it names other files (a backing file" && [ ! -e evil.raw ]
ok $? "an image with a backing file is refused, nothing made ($out)"
head -c 100000 disk.qcow2 > cut.qcow2
out=$("$B" image import cut.qcow2 2>&1); st=$?
[ $st = 1 ] && echo "$out" | grep -q "qemu-img check finds it corrupt" && [ ! -e cut.raw ]
ok $? "a truncated qcow2 is refused, not read as zeros where its data is missing ($out)"
out=$("$B" image import orig.img 2>&1); st=$?
[ $st = 1 ] && echo "$out" | grep -q "a raw disk already"; ok $? "a raw disk needs no import ($out)"
qemu-img convert -f raw -O vmdk orig.img disk.vmdk && "$B" image import disk.vmdk -o v.raw > /dev/null 2>&1 &&
	cmp -s orig.img v.raw
ok $? "a VMDK is imported the same way"
