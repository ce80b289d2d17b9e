# b-virtio.sh: inside the AMD-V host, Debian's guest's /dev/vda under nestvisor and under QEMU (virtio-blk-pci),
# the same image (80 MiB in the host's tmpfs), kernel, initramfs and memory: blkbench's MB/s and IOPS, 3 runs
# each; the VM exits one MiB costs written through virtio-blk and through the emulated serial port; and TCP from
# the guest to this host (tcpsend, 128 MiB, 3 times a boot) over a tap (in a network namespace; vhost-net for both
# VMMs, and nestvisor's own threads) and over user networking (libslirp for both).
# Run by bench/virtio.sh, one part a boot (blk, net, exits; all by default); prints "bench: VMM RUN write MBPS
# read MBPS randread IOPS", "net: VMM HOW MBPS" and "exits: HOW N". The part "sandbox" (bench/sandbox.sh) runs
# nestvisor's disk and user network with every thread confined (the default) and without (--sandbox off), and
# times a ring-3 port-write loop both ways ("exitloop: on|off N MICROSECONDS").
G=/guest
CMDLINE="console=ttyS0 panic=-1 quiet"
truncate -s 80M /tmp/bench.img
part() { [ -z "${1:-}" ] || [ "$1" = "$2" ]; }
PART=${1:-}
part "$PART" blk && for run in 1 2 3; do
	nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --disk /tmp/bench.img \
		--cmdline "$CMDLINE nv.blkbench" --timeout 300 < /dev/null 2>&1 | tr -d '\r' |
		sed -n "s/^NVG: blkbench/bench: nestvisor $run/p"
	nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --disk /tmp/bench.img,aio=io_uring \
		--cmdline "$CMDLINE nv.blkbench" --timeout 300 < /dev/null 2>&1 | tr -d '\r' |
		sed -n "s/^NVG: blkbench/bench: nestvisor-uring $run/p"
	timeout 300 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none -no-reboot \
		-serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd -append "$CMDLINE nv.blkbench" \
		-drive file=/tmp/bench.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0 < /dev/null 2>&1 |
		tr -d '\r' | sed -n "s/^NVG: blkbench/bench: qemu $run/p"
done
exits() { nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --disk /tmp/bench.img \
	--cmdline "$CMDLINE $1" --timeout 300 --stats < /dev/null 2>&1 | tr -d '\r' | sed -n 's/^exits: \([0-9]*\) in.*/\1/p'; }

# net VMM HOW: one boot sending to a listener here (3 connections); its MB/s lines
sink() { for i in 1 2 3; do nc -l -p 5001 < /dev/null > /dev/null; done; }
net() {
	vmm=$1 how=$2
	case $vmm-$how in
	nestvisor-tap*) vh=${how#tap-}; [ "$vh" = tap ] && vh=auto
		set -- nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
			--net tap=nv0,vhost=$vh --cmdline "$CMDLINE nv.tcpsend=tap" --timeout 300 ;;
	nestvisor*-user) set -- nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
			--net user,hostloopback=on --cmdline "$CMDLINE nv.tcpsend=user" --timeout 300 ${NV_ARGS:-} ;;
	qemu-*) nd="user,id=n0"; [ $how = tap ] && nd="tap,id=n0,ifname=nv0,script=no,downscript=no,vhost=on"
		set -- timeout 300 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none \
			-no-reboot -serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd \
			-append "$CMDLINE nv.tcpsend=${how%%-*}" -netdev $nd -device virtio-net-pci,netdev=n0,romfile= ;;
	esac
	if [ "${how%%-*}" = tap ]; then	# a namespace of its own: the tap and 10.0.3.1 are nobody else's
		unshare -n sh -c '
			ip link set lo up
			tunctl -t nv0 > /dev/null && ip addr add 10.0.3.1/24 dev nv0 && ip link set nv0 up
			(for i in 1 2 3; do nc -l -p 5001 < /dev/null > /dev/null; done) &
			"$@" < /dev/null 2>&1' sh "$@"
	else
		sink &
		"$@" < /dev/null 2>&1
		kill $! 2> /dev/null
	fi | tr -d '\r' | sed -n "s/^NVG: tcpsend [0-9]* [0-9.]* \([0-9.]*\)$/net: $vmm $how \1/p"
}
part "$PART" net && for how in tap tap-off user; do net nestvisor $how; done
part "$PART" net && for how in tap user; do net qemu $how; done
part "$PART" sandbox && for run in 1 2 3; do
	for sb in on off; do
		nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --disk /tmp/bench.img \
			--cmdline "$CMDLINE nv.blkbench" --timeout 300 --sandbox $sb < /dev/null 2>&1 | tr -d '\r' |
			sed -n "s/^NVG: blkbench/bench: sandbox-$sb $run/p"
	done
done
uptime_us() { awk '{ printf "%d", $1 * 1000000 }' /proc/uptime; }
part "$PART" sandbox && for run in 1 2 3; do
	for sb in on off; do
		t0=$(uptime_us)	# busybox's date has no %N
		nestvisor run --console none --kernel /nv/tests/guests/portloop.elf --cmdline count=200000 --sandbox $sb \
			--timeout 300 > /dev/null 2>&1
		echo "exitloop: $sb 200000 $(( $(uptime_us) - t0 ))"
	done
done
# (the network last: the emulated host has frozen in network runs, and what came before is kept)
part "$PART" sandbox && for sb in on off; do NV_ARGS="--sandbox $sb" net nestvisor-sandbox-$sb user; done
# last: a flood of port writes from a nested guest at times starves this emulated host of its heartbeat
part "$PART" exits && for how in none:nv.idle blk:nv.blkmib serial:nv.sermib; do
	echo "exits: ${how%%:*} $(exits ${how#*:})"
done
