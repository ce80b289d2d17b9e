# t-virtio.sh: Debian's kernel with its own virtio modules, under nestvisor in the AMD-V host: an ext4 image
# made here (mke2fs -d) as /dev/vda, read and written by the guest and read back here (debugfs, e2fsck); a
# read-only second disk the guest cannot write; a flushed write that survives kill -9 of the VMM.
. /svmhost/tap.sh
G=/guest
CMDLINE="console=ttyS0 panic=-1 quiet"
mkdir -p /tmp/src && echo "hello from the host" > /tmp/src/hello.txt
/sbin/mke2fs -q -t ext4 -d /tmp/src -F /tmp/a.img 16M > /dev/null 2>&1 && cp /tmp/a.img /tmp/b.img
before=$(md5sum < /tmp/b.img)
log=/out/virtio-blk.log
nestvisor run --console stdio --name blk --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --cmdline "$CMDLINE" \
	--disk /tmp/a.img,serial=nv-test-a,aio=io_uring --disk /tmp/b.img,ro --timeout 240 --stats < /dev/null 2>&1 | tr -d '\r' > $log
check "virtio-blk: the guest powered off cleanly" grep -q 'VM blk (bzImage[^)]*) ended (powered-off, exit status 0)' $log
check "virtio-blk: the guest sees the disk's serial" grep -q '^NVG: vda serial nv-test-a$' $log
# its reads went in flight together through io_uring (asked for: in this tmpfs preadv is the default)
check "virtio-blk: vda served through io_uring" grep -q '^  virtio-blk vda io_uring  *[1-9][0-9]*  *[1-9][0-9]*  *[1-9]' $log
check "virtio-blk: the guest mounts the image and reads its file" grep -q '^NVG: vda says hello from the host$' $log
check "virtio-blk: the guest's write is flushed and unmounted" grep -q '^NVG: vda unmounted$' $log
check "virtio-blk: its file is in the image, read here with debugfs" \
	sh -c '/sbin/debugfs -R "cat /from-guest.txt" /tmp/a.img 2>/dev/null | grep -qx "written by the guest"'
check "virtio-blk: the image is a clean ext4 (e2fsck -fn)" /sbin/e2fsck -fn /tmp/a.img
check "virtio-blk: the read-only disk mounts and reads" grep -q '^NVG: vdb says hello from the host$' $log
check "virtio-blk: the guest sees it read-only" grep -q '^NVG: vdb ro 1$' $log
check "virtio-blk: a raw write to it fails in the guest" grep -q '^NVG: vdb refused a write$' $log
check "virtio-blk: the read-only image is unchanged" test "$(md5sum < /tmp/b.img)" = "$before"
grep -q '^NVG: vda unmounted$' $log || diag $log 30

# a flush the guest saw acknowledged survives kill -9 of the VMM
/sbin/mke2fs -q -t ext4 -d /tmp/src -F /tmp/c.img 16M > /dev/null 2>&1
nestvisor run --console stdio --name blk-kill --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
	--cmdline "$CMDLINE nv.hang" --disk /tmp/c.img --timeout 240 < /dev/null > /tmp/kill.log 2>&1 &
pid=$!
i=0; while [ $i -lt 1200 ] && ! grep -q 'NVG: hanging' /tmp/kill.log; do sleep 0.1; i=$((i + 1)); done
kill -9 $pid; wait $pid 2>/dev/null
check "virtio-blk: the guest flushed before the VMM was killed" grep -q 'NVG: vda synced' /tmp/kill.log
check "virtio-blk: after kill -9, the flushed file is in the image" \
	sh -c '/sbin/debugfs -R "cat /from-guest.txt" /tmp/c.img 2>/dev/null | grep -qx "written by the guest"'

# cache=none (O_DIRECT, where io_uring is the default) on a block device, a loop device (this host's tmpfs has
# no O_DIRECT): the guest's reads and O_DIRECT writes go in flight together, and the image is whole afterwards
/sbin/mke2fs -q -t ext4 -d /tmp/src -F /tmp/d.img 16M > /dev/null 2>&1 && losetup /dev/loop0 /tmp/d.img
log=/out/virtio-blk-direct.log
nestvisor run --console stdio --name blk-direct --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --cmdline "$CMDLINE" \
	--disk /dev/loop0,cache=none --timeout 240 --stats < /dev/null 2>&1 | tr -d '\r' > $log
losetup -d /dev/loop0
check "virtio-blk cache=none: served through io_uring by default" \
	grep -q '^  virtio-blk vda io_uring  *[1-9][0-9]*  *[1-9][0-9]*  *[1-9]' $log
check "virtio-blk cache=none: the guest reads its file and its write is flushed" \
	sh -c "grep -q '^NVG: vda says hello from the host$' $log && grep -q '^NVG: vda unmounted$' $log"
check "virtio-blk cache=none: the guest's file is in the image, and it is a clean ext4" \
	sh -c '/sbin/debugfs -R "cat /from-guest.txt" /tmp/d.img 2>/dev/null | grep -qx "written by the guest" &&
		/sbin/e2fsck -fn /tmp/d.img > /dev/null 2>&1'
grep -q '^NVG: vda unmounted$' $log || diag $log 30

# the same disk for two VMs at once: the second is refused while the first runs
nestvisor run --console none --name blk-hold --kernel /nv/tests/guests/spin.elf --disk /tmp/c.img --timeout 60 &
hold=$!
sleep 1
nestvisor run --console none --kernel /nv/tests/guests/hello.elf --disk /tmp/c.img > /tmp/second.log 2>&1
check "virtio-blk: a second VM cannot open an image the first one writes" grep -q 'in use by another VM' /tmp/second.log
nestvisor stop blk-hold > /dev/null 2>&1; wait $hold 2>/dev/null

# INTx beyond slot 7: with pci=nomsi every virtio device interrupts through its slot's pin, which only the
# DSDT's _PRT routes (tables.c); eight disks and the RNG fill slots 1 to 9
args=
for i in 1 2 3 4 5 6 7 8; do
	printf 'disk %s' $i > /tmp/x$i.img && truncate -s 1M /tmp/x$i.img && args="$args --disk /tmp/x$i.img"
done
nestvisor run --console stdio --name intx --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --rng $args \
	--cmdline "console=ttyS0 panic=-1 quiet pci=nomsi nv.disks" --timeout 120 > /tmp/intx.log 2>&1 < /dev/null
read8=0
for i in 1 2 3 4 5 6 7 8; do grep -q "^NVG: disk vd[a-h] disk $i 0000:00:" /tmp/intx.log && read8=$((read8 + 1)); done
check "virtio on INTx (pci=nomsi): the guest reads each of its eight disks ($read8 of 8)" test $read8 = 8
high=$(sed -n 's/^NVG: disk \(vd.\) disk . 0000:00:\(0[89a-f]\|1.\)\.0 irq \(1[01]\).*/\1 slot 0x\2 irq \3/p' /tmp/intx.log)
check "virtio on INTx: the disk in slot 8 or beyond reads through its pin's GSI (${high:-none})" test -n "$high"
unrouted=$(sed -n 's/^NVG: unrouted \([0-9]*\).*/\1/p' /tmp/intx.log)
check "virtio on INTx: the DSDT routes every slot's pin (the guest guessed none: ${unrouted:-?} unrouted)" \
	test "$unrouted" = 0
check "virtio on INTx: the RNG answers too (32 bytes read)" grep -q '^NVG: hwrng virtio_rng.0 [0-9a-f]\{64\}' /tmp/intx.log
[ $read8 = 8 ] && [ -n "$high" ] && [ "$unrouted" = 0 ] || diag /tmp/intx.log 30
rm -f /tmp/x?.img
