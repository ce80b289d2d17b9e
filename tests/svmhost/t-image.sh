# t-image.sh: `nestvisor run --disk IMAGE` with no --kernel boots what the image's own boot loader would:
# disk images made here as an installer lays them out (sfdisk, mke2fs -d) holding Debian's kernel and the test
# guest's initramfs: a GPT disk with an ext4 root and Debian 12's grub.cfg as update-grub writes it; an MBR disk
# with a separate /boot that GRUB finds by UUID; a filesystem with no partition table and only Debian's
# /vmlinuz links. The guest mounts the root its command line names (nv.root) and says what is on it. A qcow2
# of the first is refused with the advice, imported with `nestvisor image import`, and boots. A hostile image
# (a 100 MB grub.cfg, grub.cfg a loop of links) is refused before any VM starts.
# svmhost-limit: 500
. /svmhost/tap.sh
out=/out/image
w=/tmp/image
mkdir -p $out $w
G=/guest
ver=6.1.0-9-amd64
ROOT=6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39
BOOT=0c5e0ab3-8e43-4a24-bb27-9b34ad3c1b07

# tree DIR BOOTDIR NAME: a system's files: the kernel and initramfs in BOOTDIR, /etc/nv-image saying NAME
tree() {
	rm -rf $1 && mkdir -p $1$2 $1/etc $1/sbin
	cp $G/vmlinuz $1$2/vmlinuz-$ver && cp $G/initrd $1$2/initrd.img-$ver
	echo "$3" > $1/etc/nv-image
	echo "#!/bin/sh" > $1/sbin/init
}

# boot NAME IMAGE [ARGS...]: nestvisor run --disk IMAGE alone (with nv.root added), its console in $out/NAME.log
boot() {
	name=$1 img=$2
	shift 2
	nestvisor run --console stdio --disk $img --mem 256M --cmdline "nv.root panic=-1" --timeout 240 "$@" \
		< /dev/null > $out/$name.raw 2>&1
	st=$?
	tr -d '\r' < $out/$name.raw > $out/$name.log
	grep -q '^NVG: root' $out/$name.log || diag $out/$name.log 15
}

# GPT, an ext4 root, Debian 12's grub.cfg (the entry's kernel under /boot, root=UUID, console=ttyS0,115200)
tree $w/gpt /boot gpt-root
mkdir -p $w/gpt/boot/grub
sed "s/6b9a5a1c-5b37-4c5d-a3ad-0c1a6dfd2b39/$ROOT/g; s/6\.1\.0-28-amd64/$ver/g; s/ quiet$/ panic=-1/" \
	/nv/tests/data/imgboot/debian12-grub.cfg > $w/gpt/boot/grub/grub.cfg
truncate -s 96M $w/gpt.img
printf 'label: gpt\nstart=2048, type=L\n' | /sbin/sfdisk -q $w/gpt.img
/sbin/mke2fs -q -F -t ext4 -U $ROOT -d $w/gpt -E offset=1048576 $w/gpt.img 90000k
boot gpt $w/gpt.img
check "gpt: nestvisor says where the kernel came from ($(grep -o "booting .*" $out/gpt.log | head -n 1))" \
	grep -q "booting $w/gpt.img: GRUB's default entry 'Debian GNU/Linux' in partition 1 (ext4)'s /boot/grub/grub.cfg" \
	$out/gpt.log
check "gpt: the guest has grub.cfg's command line, ours after it, no second console" \
	grep -q "^NVG: cmdline root=UUID=$ROOT ro console=tty0 console=ttyS0,115200 panic=-1 nv.root panic=-1$" \
	$out/gpt.log
check "gpt: the guest mounted the root its command line names ($(grep '^NVG: root' $out/gpt.log))" \
	grep -q '^NVG: root /dev/vda1 gpt-root$' $out/gpt.log

# MBR, /boot on partition 1 (ext2, found by GRUB's search by UUID), the root on partition 2
tree $w/boot "" unused
rm -rf $w/boot/etc $w/boot/sbin
mkdir -p $w/boot/grub
cat > $w/boot/grub/grub.cfg <<EOF
set default="0"
menuentry 'Debian GNU/Linux, separate /boot' {
	insmod part_msdos
	search --no-floppy --fs-uuid --set=root $BOOT
	linux /vmlinuz-$ver root=UUID=$ROOT ro console=ttyS0
	initrd /initrd.img-$ver
}
EOF
rm -rf $w/root && mkdir -p $w/root/etc && echo sep-root > $w/root/etc/nv-image
truncate -s 128M $w/sep.img
printf 'label: dos\nstart=2048, size=98304, type=83\nstart=100352, type=83\n' | /sbin/sfdisk -q $w/sep.img
/sbin/mke2fs -q -F -t ext2 -U $BOOT -d $w/boot -E offset=1048576 $w/sep.img 49152k
/sbin/mke2fs -q -F -t ext4 -U $ROOT -d $w/root -E offset=$((100352 * 512)) $w/sep.img 77000k
boot sep $w/sep.img
check "separate /boot: the kernel from partition 1 ($(grep -o "booting .*" $out/sep.log | head -n 1))" \
	grep -q "GRUB's default entry 'Debian GNU/Linux, separate /boot' in partition 1 (ext2)'s /grub/grub.cfg" \
	$out/sep.log
check "separate /boot: the root on partition 2 mounted ($(grep '^NVG: root' $out/sep.log))" \
	grep -q '^NVG: root /dev/vda2 sep-root$' $out/sep.log

# no partition table, no boot loader: Debian's /vmlinuz and /initrd.img links
tree $w/bare /boot bare-root
ln -s boot/vmlinuz-$ver $w/bare/vmlinuz && ln -s boot/initrd.img-$ver $w/bare/initrd.img
truncate -s 80M $w/bare.img
/sbin/mke2fs -q -F -t ext4 -U $ROOT -d $w/bare $w/bare.img
boot bare $w/bare.img
check "links: /vmlinuz booted, root=UUID of its filesystem, console=ttyS0 added ($(grep '^NVG: cmdline' $out/bare.log))" \
	grep -q "^NVG: cmdline root=UUID=$ROOT ro console=ttyS0 nv.root panic=-1$" $out/bare.log
check "links: the guest mounted that root ($(grep '^NVG: root' $out/bare.log))" \
	grep -q '^NVG: root /dev/vda bare-root$' $out/bare.log

# a qcow2 of the GPT image: refused with the advice, imported, booted
qemu-img convert -O qcow2 $w/gpt.img $w/gpt.qcow2
nestvisor run --disk $w/gpt.qcow2 --mem 256M > $out/qcow2.run 2>&1
st=$?
check "qcow2: refused, status $st, saying to import it ($(head -c 160 $out/qcow2.run))" \
	sh -c "test $st = 2 && grep -q 'nestvisor image import' $out/qcow2.run"
nestvisor image import $w/gpt.qcow2 -o $w/imported.img > $out/import.log 2>&1
check "qcow2: imported ($(tail -n 1 $out/import.log))" test -s $w/imported.img
rm -f $w/gpt.qcow2
boot imported $w/imported.img
check "qcow2: the imported image boots and mounts its root ($(grep '^NVG: root' $out/imported.log))" \
	grep -q '^NVG: root /dev/vda1 gpt-root$' $out/imported.log
rm -f $w/imported.img $w/sep.img $w/bare.img

# hostile: a 100 MB grub.cfg; grub.cfg a loop of links. Refused, exit status 2, no VM started.
tree $w/big /boot big
mkdir -p $w/big/boot/grub && truncate -s 100M $w/big/boot/grub/grub.cfg
truncate -s 64M $w/big.img && /sbin/mke2fs -q -F -t ext4 -d $w/big $w/big.img
nestvisor run --disk $w/big.img --mem 256M --name hostile1 > $out/big.run 2>&1
st=$?
check "hostile: a 100 MB grub.cfg refused, status $st ($(head -c 200 $out/big.run))" \
	sh -c "test $st = 2 && grep -q 'larger than a boot configuration' $out/big.run && ! grep -q NVG $out/big.run"
tree $w/loop /boot loop
mkdir -p $w/loop/boot/grub && ln -s a $w/loop/boot/grub/grub.cfg && ln -s b $w/loop/boot/grub/a &&
	ln -s a $w/loop/boot/grub/b
truncate -s 64M $w/loop.img && /sbin/mke2fs -q -F -t ext4 -d $w/loop $w/loop.img
nestvisor run --disk $w/loop.img --mem 256M > $out/loop.run 2>&1
st=$?
check "hostile: grub.cfg a loop of links refused, status $st ($(head -c 200 $out/loop.run))" \
	sh -c "test $st = 2 && grep -q 'loop of symbolic links' $out/loop.run"
rm -rf $w
