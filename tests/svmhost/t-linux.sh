# t-linux.sh: Debian's own kernel as a guest of nestvisor inside the AMD-V host, to its init and power-off:
# bzImage with 1 and 2 vCPUs (its kernel unpacked on the host, then from the cache, with KASLR; once with
# nokaslr; once decompressing itself with --no-unpack), the uncompressed vmlinux through PVH; its clock must be
# kvm-clock, and its kernel log may hold no error or warning that the same kernel under QEMU does not log.
. /svmhost/tap.sh
G=/guest
CMDLINE="console=ttyS0 panic=-1 quiet"

# Errors and warnings of a guest's log, with numbers blanked so two boots compare line by line. Left out: the
# clocksource watchdog's verdict on the TSC (and the tracing clock's note that follows it). TCG's TSC skews
# against kvm-clock when the emulator's threads lose the CPU: it came and went with this machine's load (3
# times today, in whichever boot was running then, twice while a fuzzer ran); it says nothing of the VMM.
problems() {
	sed -n 's/^NVG: dmesg <[0-4]>\[[^]]*\] *//p' "$1" |
		grep -v -e "^clocksource:" -e "Unstable clock detected" -e "want to keep using the local clock" \
			-e '"trace_clock=local"' -e "^on the kernel command line" |
		sed 's/0x[0-9a-f]*/#/g; s/[0-9][0-9]*/#/g' | sort -u
}

nv_guest() {	# name cpus kernel [cmdline words or nestvisor options...]
	name=$1 cpus=$2 kernel=$3 log=/out/linux-$1.log extra= opts=
	shift 3
	for a; do case $a in --*) opts="$opts $a" ;; *) extra="$extra $a" ;; esac; done
	nestvisor run --console stdio --name "$name" --kernel "$kernel" --initrd $G/initrd --mem 256M --cpus "$cpus" \
		--cmdline "$CMDLINE$extra" --timeout 240 --stats $opts > $log.raw 2>&1 < /dev/null
	st=$?
	tr -d '\r' < $log.raw > $log && rm -f $log.raw
	check "linux $name: powered off cleanly (exit status $st)" test $st = 0
	check "linux $name: reached init" grep -q '^NVG: init' $log
	check "linux $name: the guest sees $cpus vCPU(s)" grep -q "^NVG: cpus $cpus\$" $log
	check "linux $name: offered kvm-clock" grep -q '^NVG: available.*kvm-clock' $log
	check "linux $name: uses kvm-clock" grep -q '^NVG: clocksource kvm-clock' $log
	check "linux $name: its PCI address writes were queued by KVM, not exits" \
		grep -q '^port writes queued by KVM instead of exiting (coalesced): [1-9]' $log
	grep -q '^NVG: end' $log || diag $log 40
}

qemu_guest() {	# name cpus
	log=/out/qemu-$1.log
	timeout 300 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp "$2" -nodefaults -display none -no-reboot \
		-serial stdio -L /usr/share/qemu -kernel $G/vmlinuz -initrd $G/initrd -append "$CMDLINE" 2>&1 < /dev/null | tr -d '\r' > $log
	check "linux $1 under QEMU (the reference): reached init" grep -q '^NVG: init' $log
}

# The guest's errors and warnings that QEMU's guest, booted the same way, does not have.
compare() {	# ours theirs
	problems /out/linux-$1.log > /tmp/ours
	problems /out/qemu-$2.log > /tmp/theirs
	grep -v -x -F -f /tmp/theirs /tmp/ours > /tmp/extra
	if [ -s /tmp/extra ]; then
		not_ok "linux $1: no error or warning that QEMU's guest does not log"
		sed 's/^/#   ours only: /' /tmp/extra
	else
		ok "linux $1: no error or warning that QEMU's guest does not log ($(wc -l < /tmp/ours) shared)"
	fi
}

qemu_guest smp1 1
qemu_guest smp2 2
# Where the guest's kernel text starts: KASLR moves it from the link address, nokaslr keeps it there.
text() { sed -n 's/^NVG: text //p' /out/linux-$1.log; }
LINKED=ffffffff81000000

rm -rf /root/.cache/nestvisor/kernels
nv_guest bzimage-smp1 1 $G/vmlinuz
check "linux bzimage-smp1: its kernel was unpacked on the host" \
	grep -q 'VM bzimage-smp1 (bzImage, unpacked) ended' /out/linux-bzimage-smp1.log
check "linux bzimage-smp1: the unpacked kernel is cached" sh -c 'ls /root/.cache/nestvisor/kernels/*.v2'
compare bzimage-smp1 smp1
L1=/out/linux-bzimage-smp1.log
# The PCI root as ACPI describes it: MCFG's ECAM window taken (reserved in the e820 map, as Linux demands), the
# 32-bit window and the 64-bit one above RAM among the root bus's resources.
check "linux bzimage-smp1: the kernel uses MCFG's ECAM window for PCI Express config space" \
	sh -c "grep -q '^NVG: info .*PCI: MMCONFIG at \[mem 0xc0000000-0xc00fffff\] reserved in E820' $L1 && \
	       ! grep -q 'not using MMCONFIG' $L1"
check "linux bzimage-smp1: the root bus has the 32-bit and the 64-bit memory windows (32 GiB from 4 GiB)" \
	sh -c "grep -q '^NVG: info .*root bus resource \[mem 0xe0000000-0xfebfffff window\]' $L1 && \
	       grep -q '^NVG: info .*root bus resource \[mem 0x100000000-0x8ffffffff window\]' $L1"
nv_guest bzimage-smp2 2 $G/vmlinuz --rng
check "linux bzimage-smp2: virtio-rng (PCI, MSI-X) feeds the guest's /dev/hwrng" \
	grep -q '^NVG: hwrng virtio_rng.0 [0-9a-f]\{64\}$' /out/linux-bzimage-smp2.log
check "linux bzimage-smp2: its kernel came from the cache" \
	grep -q 'VM bzimage-smp2 (bzImage, unpacked from cache) ended' /out/linux-bzimage-smp2.log
compare bzimage-smp2 smp2
nv_guest bzimage-nokaslr 1 $G/vmlinuz nokaslr
check "linux bzimage-nokaslr: nokaslr keeps the kernel at its link address ($(text bzimage-nokaslr))" \
	test "$(text bzimage-nokaslr)" = $LINKED
check "linux bzimage: KASLR moved the unpacked kernel ($(text bzimage-smp1), $(text bzimage-smp2))" \
	sh -c "test -n '$(text bzimage-smp1)' && test -n '$(text bzimage-smp2)' && \
	       { test '$(text bzimage-smp1)' != $LINKED || test '$(text bzimage-smp2)' != $LINKED; }"
nv_guest bzimage-self 1 $G/vmlinuz --no-unpack
check "linux bzimage-self: --no-unpack boots the bzImage's own decompressor" \
	grep -q 'VM bzimage-self (bzImage) ended' /out/linux-bzimage-self.log
compare bzimage-self smp1
# --cpu baseline (the default on a software KVM) and the host's CPU, with one KASLR seed: the kernel lands at
# the same place both times, and only the host's CPU shows what a software KVM's emulator lacks.
flag() { grep -q "^NVG: flags.* $2 " /out/linux-$1.log; }
export NESTVISOR_KASLR_SEED=20261206
nv_guest seed-baseline 1 $G/vmlinuz --cpu=baseline
nv_guest seed-host 1 $G/vmlinuz --cpu=host
unset NESTVISOR_KASLR_SEED
check "linux seed-*: one NESTVISOR_KASLR_SEED, one placement ($(text seed-baseline), $(text seed-host))" \
	sh -c "test -n '$(text seed-baseline)' && test '$(text seed-baseline)' = '$(text seed-host)' && \
	       test '$(text seed-host)' != $LINKED"
check "linux seed-baseline: the seed is said, not hidden" \
	grep -q 'KASLR placement comes from NESTVISOR_KASLR_SEED=20261206' /out/linux-seed-baseline.log
check "linux seed-baseline: --cpu baseline shows no cx16, xsave, avx, aes, pcid, fsgsbase" \
	sh -c '! grep -q "^NVG: flags.* \(cx16\|xsave\|avx\|aes\|pcid\|fsgsbase\) " /out/linux-seed-baseline.log'
check "linux seed-baseline: ... and keeps fpu, sse2, lm, nx, syscall" \
	sh -c 'for f in fpu sse2 lm nx syscall; do grep -q "^NVG: flags.* $f " /out/linux-seed-baseline.log || exit 1; done'
check "linux seed-host: --cpu host shows cx16 (this emulated CPU has it; kvm_pvm cannot emulate it)" flag seed-host cx16
check "linux seed-baseline: --stats names the CPU model" grep -q '^cpu: baseline' /out/linux-seed-baseline.log
compare seed-baseline smp1
for bad in -5 0 12x 99999999999999999999999; do
	NESTVISOR_KASLR_SEED=$bad nestvisor run --kernel $G/vmlinuz --initrd $G/initrd --timeout 30 > /tmp/badseed 2>&1 < /dev/null
	st=$?
	check "linux: NESTVISOR_KASLR_SEED=$bad is refused, named, before the guest runs (status $st)" \
		sh -c "test $st = 2 && grep -q 'NESTVISOR_KASLR_SEED=.* is not a seed' /tmp/badseed && ! grep -q NVG: /tmp/badseed"
done
nv_guest pvh-smp1 1 $G/vmlinux
check "linux pvh-smp1: booted through the PVH entry" grep -q 'VM pvh-smp1 (PVH ELF) ended' /out/linux-pvh-smp1.log
compare pvh-smp1 smp1
