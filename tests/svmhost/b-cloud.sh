# b-cloud.sh: inside the AMD-V host with the Debian 12 image three times (/dev/vda, vdb, vdc: run.sh --drive IMG
# x3, each a first boot), seconds from launching the VMM to the first ssh login that works, for nestvisor (the
# image's own kernel, read from the disk: no firmware, no boot loader; its disk served one request at a time
# as by default for a disk in the page cache, then with aio=io_uring, requests in flight together) and QEMU -M pc
# (SeaBIOS, then the image's GRUB; its thread pool serves requests together); same seed (cloud-init NoCloud),
# memory, vCPUs, user networking with ssh forwarded. Also the time `nestvisor image inspect` takes (the
# confined reader alone). Run by bench/svmhost-cloud.sh; prints "bench: WHAT SECONDS".
grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >> /etc/passwd
mkdir -p /root/.ssh /out/bench && chmod 700 /root/.ssh
ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
up() { cut -d' ' -f1 /proc/uptime; }
SSH="ssh -i /root/.ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
	-o ConnectTimeout=5 -o LogLevel=ERROR"
# login PORT T0: polls ssh until a login works; prints the seconds since T0, then the guest's own uptime then
# (what the guest's kernel and its system took; the rest is the VMM, firmware and boot loader before them)
login() {
	i=0
	until $SSH -p $1 bench@127.0.0.1 true 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 600 ] && { echo FAILED; return; }
		sleep 1
	done
	awk -v a="$2" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }'
	echo " $($SSH -p $1 bench@127.0.0.1 cat /proc/uptime | cut -d' ' -f1)"
}
for k in 1 2 3; do
	t0=$(up)
	nestvisor image inspect /dev/vda > /out/bench/inspect.txt 2>&1
	echo "bench: inspect $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }')"
done
# nv NAME DISK[,OPT]: nestvisor to the first login; its exits by reason kept
nv() {
	t0=$(up)
	nestvisor run --disk /dev/$2 --cloud-init ssh-key=/root/.ssh/id_ed25519.pub,user=bench --mem 1G --cpus 2 \
		--net user,hostfwd=tcp::2222-:22 --detach --quiet --name $1 --serial-log /out/bench/$1.log
	echo "bench: $1 $(login 2222 $t0)"
	nestvisor stats $1 > /out/bench/$1.stats 2>&1
	cp /run/nestvisor/$1.cidata.iso /tmp/seed.iso 2>/dev/null
	nestvisor stop $1 --force > /dev/null 2>&1
	sleep 2
}
nv nestvisor vda
nv nestvisor-io_uring vdb,aio=io_uring
t0=$(up)
qemu-system-x86_64 -M pc -accel kvm -cpu host -m 1024 -smp 2 -nodefaults -display none -no-reboot -L /usr/share/qemu \
	-drive file=/dev/vdc,if=virtio,format=raw -drive file=/tmp/seed.iso,if=virtio,format=raw,readonly=on \
	-netdev user,id=n0,hostfwd=tcp::2223-:22 -device virtio-net-pci,netdev=n0,romfile= \
	-serial file:/out/bench/qemu.log -daemonize -pidfile /tmp/qemu.pid 2> /out/bench/qemu.err ||
	{ echo "bench: qemu-pc FAILED"; sed 's/^/# /' /out/bench/qemu.err; exit 0; }
echo "bench: qemu-pc $(login 2223 $t0)"
kill "$(cat /tmp/qemu.pid)" 2>/dev/null
