#!/bin/sh
# debian-image.sh: two Debian 12 disk images as users have them, made once from Debian's packages and kept outside
# the tree ($SVM_CACHE/../images/); prints their paths, one a line. debian12.img is laid out as Debian's own
# cloud images are: GPT, an ext4 root as partition 1, a BIOS boot partition 14. debian12-boot.img as an installer
# lays out a system with a separate /boot: /boot on partition 1 (ext2), the root on partition 2 (ext4), BIOS boot
# 14. Both hold Debian's cloud kernel and its initramfs (initramfs-tools), systemd, openssh-server, cloud-init, sudo
# and GRUB, installed to the disk, its grub.cfg written by update-grub, inside the AMD-V test host with the images
# as its disks (this machine's kernel makes no partition devices for a loop device). Needs root, mmdebstrap and
# Debian's package registry; about 5 minutes, once.
#   tests/svmhost/debian-image.sh          the images' paths (made if they are not there)
set -eu
S=${NV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$S/tests/svmhost/lib.sh"
VERSION=3	# made again when this changes
dir=$(dirname "$SVM_CACHE")/images
img=$dir/debian12.img
bimg=$dir/debian12-boot.img
if [ -s "$img" ] && [ -s "$bimg" ] && [ "$(cat "$img.version" 2>/dev/null)" = $VERSION ]; then
	echo "$img"
	echo "$bimg"
	exit 0
fi
command -v mmdebstrap > /dev/null || { echo "debian-image.sh: mmdebstrap is needed: apt-get install mmdebstrap" >&2; exit 1; }
mkdir -p "$dir"
w=$(mktemp -d "${TMPDIR:-/tmp}/debimg.XXXXXX")
trap 'rm -rf "$w"' EXIT
echo "debian-image.sh: making $img and $bimg (mmdebstrap, about 5 minutes, once)" >&2
# the system's files, kept beside the images until they are made (a failed step does not fetch them again)
tarball=$dir/debian12-root.tar
if [ "$(cat "$tarball.version" 2>/dev/null)" != $VERSION ]; then
	mmdebstrap --quiet --variant=minbase \
		--include=linux-image-cloud-amd64,initramfs-tools,grub-pc,systemd-sysv,udev,dbus,openssh-server,cloud-init,sudo,netbase,iproute2,ifupdown,isc-dhcp-client,procps \
		bookworm "$dir/debian12-root.new.tar" >&2
	mv "$dir/debian12-root.new.tar" "$tarball" && echo $VERSION > "$tarball.version"
fi

# system ROOT_UUID [BOOT_UUID]: the files in $w/root, configured as an image's (fstab, the serial console,
# cloud-init's data source); with BOOT_UUID, /boot's files moved to $w/boot for a partition of their own
system() {
	R=$w/root
	rm -rf "$R" "$w/boot" && mkdir "$R"
	tar -C "$R" -xpf "$tarball" --numeric-owner
	echo "UUID=$1 / ext4 rw,discard,errors=remount-ro 0 1" > $R/etc/fstab
	if [ -n "${2:-}" ]; then
		echo "UUID=$2 /boot ext2 defaults 0 2" >> $R/etc/fstab
		mv "$R/boot" "$w/boot" && mkdir "$R/boot"
	fi
	echo debian > $R/etc/hostname
	: > $R/etc/machine-id	# systemd makes one at first boot, as on a cloud image
	# the serial console, as Debian's cloud images set it; no menu wait (their timeout is 0 too)
	mkdir -p $R/etc/default/grub.d
	cat > $R/etc/default/grub.d/50-image.cfg <<-'EOF'
	GRUB_TIMEOUT=0
	GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200"
	GRUB_TERMINAL="console serial"
	GRUB_SERIAL_COMMAND="serial --speed=115200"
	EOF
	# cloud-init: its seed is a NoCloud disk (what nestvisor --cloud-init and QEMU users give it)
	echo 'datasource_list: [ NoCloud, None ]' > $R/etc/cloud/cloud.cfg.d/90-datasource.cfg
}

# 3 GiB each, a BIOS boot partition (14) from 1 MiB, the last MiB left for the backup GPT
gpt() {	# FILE: first the partitions as "N START SECTORS TYPE" lines on stdin
	truncate -s 3G "$1"
	{ printf 'label: gpt\nfirst-lba: 2048\n'
	  while read -r n start size type; do printf '%s%s : start=%s, size=%s, type=%s\n' "$1" $n $start $size $type; done
	  printf '%s14 : start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649\n' "$1"; } | sfdisk -q "$1"
}
all=$((3 * 1024 * 1024 * 2 - 4096 - 2048))

ROOT1=$(cat /proc/sys/kernel/random/uuid)
system "$ROOT1"
echo "1 4096 $all L" | gpt "$w/img"
mke2fs -q -F -t ext4 -L root -U "$ROOT1" -d "$w/root" -E offset=$((4096 * 512)) "$w/img" $((all / 2))k

ROOT2=$(cat /proc/sys/kernel/random/uuid) BOOT2=$(cat /proc/sys/kernel/random/uuid)
system "$ROOT2" "$BOOT2"
boot=$((512 * 1024 * 2))	# 512 MiB of /boot
printf '1 4096 %d L\n2 %d %d L\n' $boot $((4096 + boot)) $((all - boot)) | gpt "$w/bimg"
mke2fs -q -F -t ext2 -L boot -U "$BOOT2" -d "$w/boot" -E offset=$((4096 * 512)) "$w/bimg" $((boot / 2))k
mke2fs -q -F -t ext4 -L root -U "$ROOT2" -d "$w/root" -E offset=$(((4096 + boot) * 512)) "$w/bimg" \
	$(((all - boot) / 2))k
rm -rf "$w/root" "$w/boot"

# GRUB to each disk, grub.cfg by update-grub: inside the test host, the images its /dev/vda and /dev/vdb; the
# links udev would make, so that update-grub names the filesystems by UUID as on an installed system
out=$(NV_SRCDIR=$S "$S/tests/svmhost/run.sh" --drive "$w/img,rw" --drive "$w/bimg,rw" --timeout 900 --cmd '
	mkdir -p /dev/disk/by-uuid /mnt
	ln -s ../../vda1 /dev/disk/by-uuid/'"$ROOT1"'; ln -s ../../vdb2 /dev/disk/by-uuid/'"$ROOT2"'
	ln -s ../../vdb1 /dev/disk/by-uuid/'"$BOOT2"'
	grub() {	# DISK ROOT [BOOT]
		mount -t ext4 $2 /mnt && { [ -z "${3:-}" ] || mount -t ext2 $3 /mnt/boot; } &&
		mount -o bind /dev /mnt/dev && mount -t proc proc /mnt/proc && mount -t sysfs sys /mnt/sys &&
		chroot /mnt grub-install --target=i386-pc $1 2>&1 && chroot /mnt update-grub 2>&1 &&
		echo "image: grub done on $1"
		umount /mnt/sys /mnt/proc /mnt/dev; [ -z "${3:-}" ] || umount /mnt/boot; umount /mnt; sync
	}
	grub /dev/vda /dev/vda1
	grub /dev/vdb /dev/vdb2 /dev/vdb1' 2>&1)
if ! echo "$out" | grep -q "image: grub done on /dev/vda" || ! echo "$out" | grep -q "image: grub done on /dev/vdb"; then
	echo "$out" | tail -n 30 >&2
	echo "debian-image.sh: GRUB could not be installed" >&2
	exit 1
fi
mv "$w/img" "$img"
mv "$w/bimg" "$bimg"
echo $VERSION > "$img.version"
rm -f "$tarball" "$tarball.version"
echo "$img"
echo "$bimg"
