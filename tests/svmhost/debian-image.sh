#!/bin/sh
# debian-image.sh: a Debian 12 disk image as a user has one, made once from Debian's packages and kept outside the
# tree ($SVM_CACHE/../images/debian12.img); prints its path. Laid out as Debian's own cloud images are: GPT, an
# ext4 root as partition 1, a BIOS boot partition 14; Debian's cloud kernel and its initramfs (initramfs-tools),
# systemd, openssh-server, cloud-init, sudo, GRUB. GRUB is installed to the disk and its grub.cfg written by
# update-grub inside the AMD-V test host, with the image as its disk (this machine's kernel makes no partition
# devices for a loop device). Needs root, mmdebstrap and Debian's package registry; about 5 minutes, once.
#   tests/svmhost/debian-image.sh          the image's path (made if it is not there)
set -eu
S=${NV_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$S/tests/svmhost/lib.sh"
VERSION=2	# made again when this changes
dir=$(dirname "$SVM_CACHE")/images
img=$dir/debian12.img
if [ -s "$img" ] && [ "$(cat "$img.version" 2>/dev/null)" = $VERSION ]; then echo "$img"; exit 0; fi
command -v mmdebstrap > /dev/null || { echo "debian-image.sh: mmdebstrap is needed: apt-get install mmdebstrap" >&2; exit 1; }
mkdir -p "$dir"
w=$(mktemp -d "${TMPDIR:-/tmp}/debimg.XXXXXX")
trap 'rm -rf "$w"' EXIT
echo "debian-image.sh: making $img (mmdebstrap, about 5 minutes, once)" >&2
# the system's files, kept beside the image until it is made (a failed step does not fetch them again)
tarball=$dir/debian12-root.tar
if [ "$(cat "$tarball.version" 2>/dev/null)" != $VERSION ]; then
	mmdebstrap --quiet --variant=minbase \
		--include=linux-image-cloud-amd64,initramfs-tools,grub-pc,systemd-sysv,udev,dbus,openssh-server,cloud-init,sudo,netbase,iproute2,ifupdown,isc-dhcp-client,procps \
		bookworm "$dir/debian12-root.new.tar" >&2
	mv "$dir/debian12-root.new.tar" "$tarball" && echo $VERSION > "$tarball.version"
fi
mkdir "$w/root"
tar -C "$w/root" -xpf "$tarball" --numeric-owner
R=$w/root
UUID=$(cat /proc/sys/kernel/random/uuid)
echo "UUID=$UUID / ext4 rw,discard,errors=remount-ro 0 1" > $R/etc/fstab
echo debian > $R/etc/hostname
: > $R/etc/machine-id	# systemd makes one at first boot, as on a cloud image
# the serial console, as Debian's cloud images set it; no menu wait (their timeout is 0 too)
mkdir -p $R/etc/default/grub.d
cat > $R/etc/default/grub.d/50-image.cfg <<'EOF'
GRUB_TIMEOUT=0
GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200"
EOF
# cloud-init: its seed is a NoCloud disk (what nestvisor --cloud-init and QEMU users give it)
cat > $R/etc/cloud/cloud.cfg.d/90-datasource.cfg <<'EOF'
datasource_list: [ NoCloud, None ]
EOF
# 3 GiB: the root from 2 MiB to 1 MiB before the end (room for the backup GPT), BIOS boot before it
root_sectors=$((3 * 1024 * 1024 * 2 - 4096 - 2048))
truncate -s 3G "$w/img"
printf 'label: gpt\nfirst-lba: 2048\n%s1 : start=4096, size=%d, type=L\n%s14 : start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649\n' \
	"$w/img" $root_sectors "$w/img" | sfdisk -q "$w/img"
mke2fs -q -F -t ext4 -L root -U "$UUID" -d "$R" -E offset=$((4096 * 512)) "$w/img" $((root_sectors / 2))k
rm -rf "$R"
# GRUB to the disk, grub.cfg by update-grub: inside the test host, the image its /dev/vda; the link udev
# would make, so that update-grub names the root by UUID as on an installed system
out=$(NV_SRCDIR=$S "$S/tests/svmhost/run.sh" --drive "$w/img,rw" --timeout 600 --cmd '
	mkdir -p /dev/disk/by-uuid && ln -s ../../vda1 /dev/disk/by-uuid/'"$UUID"'
	mkdir -p /mnt && mount -t ext4 /dev/vda1 /mnt && mount -o bind /dev /mnt/dev && mount -t proc proc /mnt/proc &&
	mount -t sysfs sys /mnt/sys && chroot /mnt grub-install --target=i386-pc /dev/vda 2>&1 &&
	chroot /mnt update-grub 2>&1 && echo "image: grub done"
	umount /mnt/sys /mnt/proc /mnt/dev; umount /mnt; sync' 2>&1)
echo "$out" | grep -q "image: grub done" || { echo "$out" | tail -n 20 >&2; echo "debian-image.sh: GRUB could not be installed" >&2; exit 1; }
mv "$w/img" "$img"
echo $VERSION > "$img.version"
rm -f "$tarball" "$tarball.version"
echo "$img"
