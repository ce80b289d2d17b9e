# t-sandbox.sh: the VM's process confines itself (seccomp per thread kind, capabilities dropped): a call no
# thread of that kind may make ends the VM at once, named, with exit status 159; with --sandbox off the same
# call goes through (so it is the sandbox that stopped it). The forbidden call comes from tests/sandboxpoke.so,
# preloaded here only. Every other script in this host runs its VMs with the sandbox on (the default).
. /svmhost/tap.sh
G=/nv/tests/guests
P=/nv/tests/sandboxpoke.so
[ -f $P ] || { not_ok "sandbox: $P is missing (make tests/sandboxpoke.so)"; exit 0; }

nestvisor run --kernel $G/hello.elf --timeout 60 > /tmp/sb.out 2>&1; rc=$?
check "sandbox: the hello guest runs under it (exit status $rc)" test $rc = 1
nestvisor run --kernel $G/spin.elf --name sb1 --detach --timeout 20 > /dev/null 2>&1
nestvisor ps --json > /tmp/sb.ps 2>&1
nestvisor stop sb1 > /dev/null 2>&1
check "sandbox: ps --json says it is on" grep -q '"sandbox": *true' /tmp/sb.ps
grep -q '"sandbox": *true' /tmp/sb.ps || diag /run/nestvisor/sb1.log 10

# a vCPU thread, at its first KVM_RUN
LD_PRELOAD=$P NV_SANDBOX_POKE=vcpu nestvisor run --kernel $G/hello.elf --timeout 60 > /tmp/sb.out 2>&1; rc=$?
said=$(grep -c "the sandbox stopped a forbidden system call, openat (number 257), on its vCPU thread" /tmp/sb.out)
check "sandbox: openat on a vCPU thread ends the VM, named (exit status $rc)" test "$rc-$said" = 159-1
grep -q "forbidden" /tmp/sb.out || diag /tmp/sb.out 10
LD_PRELOAD=$P NV_SANDBOX_POKE=vcpu nestvisor run --kernel $G/hello.elf --sandbox off --timeout 60 > /tmp/sb.out 2>&1
rc=$?
check "sandbox: --sandbox off lets the same call through (exit status $rc)" test $rc = 1

# a device's I/O thread: virtio-rng's, when the guest asks it for bytes
LD_PRELOAD=$P NV_SANDBOX_POKE=io nestvisor run --kernel $G/virtio-hostile.elf --rng --timeout 120 > /tmp/sb.out 2>&1
rc=$?
said=$(grep -c "forbidden system call, openat (number 257), on its device I/O thread" /tmp/sb.out)
check "sandbox: openat on a device's I/O thread ends the VM, named (exit status $rc)" test "$rc-$said" = 159-1

# the control socket's thread, when a client connects
LD_PRELOAD=$P NV_SANDBOX_POKE=control nestvisor run --kernel $G/spin.elf --name sb2 --detach --timeout 60 \
	> /dev/null 2>&1
nestvisor ps > /dev/null 2>&1
i=0; while [ $i -lt 50 ] && [ -S /run/nestvisor/sb2.sock ] && ! grep -q forbidden /run/nestvisor/sb2.log; do
	sleep 0.1; i=$((i + 1)); done
check "sandbox: openat on the control thread ends the VM, named in its log" \
	grep -q "forbidden system call, openat (number 257), on its control thread" /run/nestvisor/sb2.log
nestvisor stop sb2 > /dev/null 2>&1
# capabilities: none left in a running VM's threads (CapEff and CapBnd of each)
nestvisor run --kernel $G/spin.elf --name sb3 --detach --timeout 20 > /dev/null 2>&1
sleep 1
pid=$(nestvisor ps --json | awk '/"name": *"sb3"/ { f = 1 } f && /"pid"/ { gsub(/[^0-9]/, ""); print; exit }')
caps=$(cat /proc/$pid/task/*/status 2>/dev/null | grep -E '^Cap(Eff|Prm|Bnd):' | sort -u | tr '\n' ' ')
left=$(cat /proc/$pid/task/*/status 2>/dev/null | grep -E '^Cap(Eff|Prm|Bnd):' | grep -vc ':[[:space:]]*0000000000000000$')
check "sandbox: a running VM's threads have no capabilities left ($caps)" test "${pid:+x}-$left" = x-0
nestvisor stop sb3 > /dev/null 2>&1

# a user network's thread may open read-only (libslirp's /etc/resolv.conf), and Landlock keeps that to the one
# file: /etc/shadow is refused to it; the guest's own traffic still flows
[ -e /etc/shadow ] || echo "root:*:19000:0:99999:7:::" > /etc/shadow
mkdir -p /tmp/www && echo "hello over the network" > /tmp/www/hello.txt
httpd -p 127.0.0.1:8000 -h /tmp/www 2>/dev/null
LD_PRELOAD=$P NV_SANDBOX_POKE=slirp nestvisor run --console stdio --name sbnet --kernel /guest/vmlinuz \
	--initrd /guest/initrd --mem 256M --cmdline "console=ttyS0 panic=-1 quiet nv.net" \
	--net user,hostloopback=on --timeout 240 < /dev/null > /tmp/sbnet.raw 2>&1
tr -d '\r' < /tmp/sbnet.raw > /out/sandbox-net.log
check "sandbox: a user network's thread cannot open /etc/shadow (Landlock): $(grep -o 'sandboxpoke: .*' /out/sandbox-net.log | head -n 1)" \
	grep -q 'sandboxpoke: /etc/shadow: Permission denied' /out/sandbox-net.log
check "sandbox: and the guest's traffic went through it" grep -q '^NVG: fetched hello over the network$' /out/sandbox-net.log

# Console input through the control socket (`nestvisor console`, the TUI's console) raises the UART's receive
# interrupt from the control thread: a Linux guest, whose 8250 driver enables that interrupt, must survive it
# (it ended the VM, named as a forbidden ioctl, until the control thread's list had KVM_IRQ_LINE)
nestvisor run --detach --name sbin --kernel /guest/vmlinuz --initrd /guest/initrd --mem 256M \
	--serial-log /tmp/sbin.log --cmdline "console=ttyS0 panic=-1 quiet nv.console" --timeout 200 > /dev/null 2>&1
i=0
until grep -q 'NVG: reading the console' /tmp/sbin.log 2>/dev/null || [ $i -ge 90 ]; do sleep 1; i=$((i + 1)); done
(echo hello; sleep 3) | timeout 10 nestvisor console sbin > /tmp/sbin.con 2>&1
i=0
until grep -q 'NVG: typed' /tmp/sbin.log 2>/dev/null || [ $i -ge 20 ]; do sleep 1; i=$((i + 1)); done
check "sandbox: a line typed into a Linux guest's console through the control socket reaches it ($(grep -a 'NVG: typed' /tmp/sbin.log | tr -d '\r'))" \
	grep -q 'NVG: typed hello' /tmp/sbin.log
check "sandbox: ... and the VM runs on" sh -c "nestvisor ps 2>/dev/null | grep -qw sbin"
nestvisor stop sbin > /dev/null 2>&1
grep -h 'sandbox stopped' /run/nestvisor/sbin.log 2>/dev/null | sed 's/^/#   /'
