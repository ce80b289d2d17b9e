# b-cloud.sh: inside the AMD-V host with the Debian 12 image twice (/dev/vda, /dev/vdb: run.sh --drive IMG --drive IMG,
# each a first boot), seconds from launching the VMM to the first ssh login that works, for nestvisor (the
# image's own kernel, read from the disk: no firmware, no boot loader) and QEMU -M pc (SeaBIOS, then the image's
# GRUB); same seed (cloud-init NoCloud), memory, vCPUs, user networking with ssh forwarded. Also the time
# `nestvisor image inspect` takes (the confined reader alone). Run by bench/svmhost-cloud.sh; prints
# "bench: WHAT SECONDS".
grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >> /etc/passwd
mkdir -p /root/.ssh /out/bench && chmod 700 /root/.ssh
ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
up() { cut -d' ' -f1 /proc/uptime; }
# login PORT T0: polls ssh until a login works; prints the seconds since T0
login() {
	i=0
	until ssh -p $1 -i /root/.ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR bench@127.0.0.1 true 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 600 ] && { echo FAILED; return; }
		sleep 1
	done
	awk -v a="$2" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }'
}
for k in 1 2 3; do
	t0=$(up)
	nestvisor image inspect /dev/vda > /out/bench/inspect.txt 2>&1
	echo "bench: inspect $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }')"
done
t0=$(up)
nestvisor run --disk /dev/vda --cloud-init ssh-key=/root/.ssh/id_ed25519.pub,user=bench --mem 1G --cpus 2 \
	--net user,hostfwd=tcp::2222-:22 --detach --quiet --name bench --serial-log /out/bench/nestvisor.log
echo "bench: nestvisor $(login 2222 $t0)"
cp /run/nestvisor/bench.cidata.iso /tmp/seed.iso 2>/dev/null || cp "${XDG_RUNTIME_DIR:-/run}"/nestvisor/bench.cidata.iso /tmp/seed.iso
nestvisor stop bench --force > /dev/null 2>&1
sleep 2
t0=$(up)
qemu-system-x86_64 -M pc -accel kvm -cpu host -m 1024 -smp 2 -nodefaults -display none -no-reboot -L /usr/share/qemu \
	-drive file=/dev/vdb,if=virtio,format=raw -drive file=/tmp/seed.iso,if=virtio,format=raw,readonly=on \
	-netdev user,id=n0,hostfwd=tcp::2223-:22 -device virtio-net-pci,netdev=n0 \
	-serial file:/out/bench/qemu.log -daemonize -pidfile /tmp/qemu.pid
echo "bench: qemu-pc $(login 2223 $t0)"
kill "$(cat /tmp/qemu.pid)" 2>/dev/null
