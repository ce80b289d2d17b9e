# b-virtio.sh: inside the AMD-V host, Debian's guest's /dev/vda under nestvisor and under QEMU (virtio-blk-pci),
# the same image (80 MiB in the host's tmpfs), kernel, initramfs and memory: blkbench's MB/s and IOPS, 3 runs
# each; and the VM exits one MiB costs written through virtio-blk and through the emulated serial port.
# Run by bench/virtio.sh; prints "bench: VMM RUN write MBPS read MBPS randread IOPS" and "exits: HOW N".
G=/guest
CMDLINE="console=ttyS0 panic=-1 quiet"
truncate -s 80M /tmp/bench.img
for run in 1 2 3; do
	nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --disk /tmp/bench.img \
		--cmdline "$CMDLINE nv.blkbench" --timeout 300 < /dev/null 2>&1 | tr -d '\r' |
		sed -n "s/^NVG: blkbench/bench: nestvisor $run/p"
	timeout 300 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -display none -no-reboot \
		-serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd -append "$CMDLINE nv.blkbench" \
		-drive file=/tmp/bench.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0 < /dev/null 2>&1 |
		tr -d '\r' | sed -n "s/^NVG: blkbench/bench: qemu $run/p"
done
exits() { nestvisor run --console stdio --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --disk /tmp/bench.img \
	--cmdline "$CMDLINE $1" --timeout 300 --stats < /dev/null 2>&1 | tr -d '\r' | sed -n 's/^exits: \([0-9]*\) in.*/\1/p'; }
echo "exits: none $(exits nv.idle)"
echo "exits: blk $(exits nv.blkmib)"
echo "exits: serial $(exits nv.sermib)"
