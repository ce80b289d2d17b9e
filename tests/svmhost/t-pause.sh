# t-pause.sh: a pause stops everything that changes the guest. Debian's kernel keeps its disk (cache=none,
# io_uring) and network busy both ways (guest-init's nv.traffic: dd to and from /dev/vda, tcpsend to this host,
# a listener this host sends to; virtio-rng beside them); `nestvisor pause` in the middle of it, then three
# digests half a second apart
# (`nestvisor stats --digest`: guest RAM hashed, each queue's positions) must be equal, and the devices' counts
# still; after `nestvisor resume` the traffic goes on. Over user networking and over a tap, its frames moved
# by our own threads and by the kernel's vhost-net (detached for the pause, attached again). A guest that stops making
# progress is diagnosed (its stack in symbols); one stopped by the emulated CPU's fault (if_off below) is
# said as such, counted by run.sh, and its scenario run again; any other stall fails.
. /svmhost/tap.sh
. /svmhost/stall.sh
G=/guest
out=/out/pause
mkdir -p $out
export XDG_RUNTIME_DIR=/run/pause
mkdir -p $XDG_RUNTIME_DIR && chmod 700 $XDG_RUNTIME_DIR

# the devices' byte counts, "virtio-blk_vda_io_uring=N virtio-net=N" (stats --json)
counts() { nestvisor stats "$1" --json 2>/dev/null | tr '{},' '\n\n\n' | awk -F'"' '/"what"/ { w = $4; gsub(/ /, "_", w) }
	/"bytes"/ { split($0, a, ":"); if (w ~ /blk|net/) printf "%s=%s ", w, a[2] }'; }
# both counts move within 2 s, tried for 20 s (the guest's loops may still be starting)
grows() {
	for t in 1 2 3 4 5 6 7 8 9 10; do
		a=$(counts "$1"); sleep 2; b=$(counts "$1")
		[ -n "$a" ] && [ "$(moved "$a" "$b")" = 2 ] && return 0
	done
	return 1
}
moved() { echo "$1 $2" | tr ' ' '\n' | awk -F= 'NF == 2 { if (seen[$1] != "" && seen[$1] != $2) n++; seen[$1] = $2 }
	END { print n + 0 }'; }

# A guest whose devices stay still: the VMM's statistics, then paused once more: where each queue stands
# (the driver's index beside ours: offered work we never took is a lost kick), its vCPU's state and stack
# in symbols, and whether an interrupt was taken with interrupts off ($out/NAME-stalled.if-off); its last
# lines.
stalled() {
	f=$out/$1.stalled
	nestvisor stats "$1" > $f 2>&1
	nestvisor pause "$1" > /dev/null 2>&1 && nestvisor stats "$1" --digest >> $f 2>&1
	cpu_fault "$1" $out/$1.log $out/$1-stalled
	nestvisor resume "$1" > /dev/null 2>&1
	cat $out/$1-stalled.cpus >> $f
	echo "its KASLR seed: $seed; its RIP and stack in this kernel's symbols:" >> $f
	cat $out/$1-stalled.symbols >> $f
	sleep 5
	echo "after 5 s more: $(counts $1)" >> $f
	tail -n 15 $out/$1.log >> $f
	diag $f 100
}

# traffic WHAT: the guest's disk and network move: ok. Or it stalled: diagnosed; if the emulated CPU took
# an interrupt with interrupts off, status 2 (its scenario runs again, up to 3 attempts: said here and
# counted by run.sh as the emulator's failure); otherwise not ok.
traffic() {
	if grows $name; then ok "$how: $1 ($(counts $name))"; return 0; fi
	c=$(counts $name)
	stalled $name
	if [ -s $out/$name-stalled.if-off ] && [ $attempt -lt 3 ]; then
		echo "# emulator fault: $how: $1: no ($c); not nestvisor's doing: the emulated CPU took an" \
			"interrupt with interrupts off ($(cat $out/$name-stalled.if-off)); the scenario runs again" \
			"(attempt $((attempt + 1)) of 3)"
		return 2
	fi
	not_ok "$how: $1 ($c)"
}

# scenario HOW NETOPT HOSTADDR LOOP: one VM through pause, digests and resume; run again (a new VM, placed
# by a new seed) when the emulated CPU stopped its guest
scenario() {
	attempt=1
	until one_scenario "$@"; do attempt=$((attempt + 1)); done
}

one_scenario() {
	how=$1 netopt=$2 peer=$3 name=pz-$1 loop=/dev/loop$4
	# cache=none (O_DIRECT: io_uring's requests in flight) needs a block device: this host's tmpfs
	# has no O_DIRECT
	truncate -s 64M /tmp/$name.img && losetup $loop /tmp/$name.img
	(while :; do nc -l -p 5001 > /dev/null < /dev/null; done) & sink=$!
	# a placement of its own each time, named (as a crash report would), for a stall's diagnosis
	seed=${PAUSE_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d " ")}
	rm -f $out/$name.log	# a scenario run again must not find the last one's console
	NESTVISOR_KASLR_SEED=$seed nestvisor run --detach --name $name --kernel $G/vmlinuz --initrd $G/initrd --mem 256M --rng \
		--disk $loop,cache=none --net "$netopt" --serial-log $out/$name.log \
		--cmdline "console=ttyS0 panic=-1 quiet nv.traffic=${how%%-*}" --timeout 600 > $out/$name.run 2>&1
	i=0
	until grep -q 'NVG: traffic on' $out/$name.log 2>/dev/null || [ $i -ge 120 ]; do sleep 1; i=$((i + 1)); done
	grep -q 'running in the background' $out/$name.run || diag $out/$name.run 20
	(while :; do head -c 64000000 /dev/zero | nc $peer 5002 2>/dev/null || sleep 1; done) & feed=$!
	traffic "the guest's disk and network are busy"
	[ $? = 2 ] && { teardown; return 1; }
	nestvisor pause $name > $out/$name.pause 2>&1
	check "$how: nestvisor pause says so ($(cat $out/$name.pause))" grep -q "VM $name paused" $out/$name.pause
	c1=$(counts $name)
	for k in 1 2 3; do
		nestvisor stats $name --digest > $out/$name.digest$k 2>&1
		sleep 0.5
	done
	c2=$(counts $name)
	check "$how: a digest of the paused VM ($(cut -c1-60 $out/$name.digest1))" grep -q '"memory":"' $out/$name.digest1
	check "$how: guest memory and every queue position unchanged across three digests" \
		sh -c "grep -q '\"queues\":\[{' $out/$name.digest1 && cmp $out/$name.digest1 $out/$name.digest2 &&
			cmp $out/$name.digest1 $out/$name.digest3"
	check "$how: the devices moved no byte while paused ($c1)" sh -c "[ -n '$c1' ] && [ '$c1' = '$c2' ]"
	nestvisor stats $name --cpus > $out/$name.cpus 2>&1
	check "$how: the paused vCPU's state: RIP, its local APIC, its last exits ($(cut -c1-80 $out/$name.cpus))" \
		sh -c "grep -q '\"cpus\":\[{\"cpu\":0,\"rip\":\"0x[0-9a-f]*\"' $out/$name.cpus &&
			grep -q '\"lapic\":{\"tpr\":' $out/$name.cpus && grep -q '\"last_exits\":\[\"' $out/$name.cpus"
	# its stack read through its page tables: return addresses this kernel's symbols name
	words < $out/$name.cpus | symbolize "$(guest_text $out/$name.log)" > $out/$name.symbols
	syms=$(head -n 3 $out/$name.symbols | cut -d' ' -f3 | tr "\n" " ")
	# paused in a program, or on a system call's first instructions (entry_SYSCALL_64 before it
	# switches to the kernel's stack): no kernel address on the stack to name
	if grep -q '"cpl":3' $out/$name.cpus || ! grep -q '"rsp":"0xffff' $out/$name.cpus; then
		n=$(words < $out/$name.cpus | wc -l)
		check "$how: the paused vCPU was on a program's stack ($syms), its stack read ($((n - 1)) words)" \
			test $n -ge 2
	else
		check "$how: the paused vCPU's RIP and stack in the kernel's symbols ($syms)" \
			test "$(wc -l < $out/$name.symbols)" -ge 3
	fi
	# --at: the words at an address the user names, RSP+8 here: the stack's from its second word
	rsp=$(sed -n 's/.*"rsp":"0x\([0-9a-f]*\)".*/\1/p' $out/$name.cpus | head -n 1)
	lo=$(echo $rsp | sed 's/.*\(.\{8\}\)$/\1/')
	at=$(printf '0x%s%08x' "${rsp%$lo}" $((0x${lo:-0} + 8)))
	nestvisor stats $name --cpus --at $at > $out/$name.cpus-at 2>&1
	words < $out/$name.cpus | awk '$1 != "rip" && $1 >= 1 { print $2 }' > $out/$name.stack-1
	words_at < $out/$name.cpus-at | cut -d' ' -f2 > $out/$name.at
	check "$how: --at $at (RSP+8) reads the stack's words from its second ($(wc -l < $out/$name.at) words)" \
		sh -c "test -s $out/$name.stack-1 && head -n \$(wc -l < $out/$name.stack-1) $out/$name.at |
			cmp - $out/$name.stack-1"
	nestvisor resume $name > $out/$name.resume 2>&1
	traffic "after resume the traffic goes on"
	[ $? = 2 ] && { teardown; return 1; }
	nestvisor stats $name --digest > $out/$name.digest-running 2>&1
	check "$how: a running VM has no digest (it says to pause it)" grep -q 'pause it first' $out/$name.digest-running
	nestvisor stats $name --cpus > $out/$name.cpus-running 2>&1
	check "$how: a running VM's vCPUs are read too, stopped a moment ($(cut -c1-70 $out/$name.cpus-running))" \
		sh -c "grep -q '\"cpus\":\[{\"cpu\":0,\"rip\":\"0x' $out/$name.cpus-running &&
			grep -q '\"paused\":false' $out/$name.cpus-running"
	traffic "... and it runs on"
	[ $? = 2 ] && { teardown; return 1; }
	teardown
	check "$how: the VM stopped" sh -c "! nestvisor ps 2>/dev/null | grep -qw $name"
	return 0
}

teardown() {
	kill $feed $sink 2>/dev/null
	nestvisor stop $name > /dev/null 2>&1
	cp $XDG_RUNTIME_DIR/nestvisor/$name.log $out/$name.vmm.log 2>/dev/null	# the VMM's own log
	diag $out/$name.vmm.log 12
	i=0
	while nestvisor ps 2>/dev/null | grep -qw $name && [ $i -lt 20 ]; do sleep 1; i=$((i + 1)); done
	losetup -d $loop
	rm -f /tmp/$name.img
}

[ -n "${PAUSE_FUNCTIONS:-}" ] && return 0	# sourced inside the namespace below, for scenario()

scenario user "user,hostloopback=on,hostfwd=tcp::5002-:5002" 127.0.0.1 1
# the tap in a network namespace of its own, as t-net.sh does: our threads move its frames (vhost=off), then
# the kernel's vhost-net does (vhost=on: detached from the tap while paused, each ring's position read back)
unshare -n sh -c '
	ip link set lo up
	tunctl -t nv0 > /dev/null && ip addr add 10.0.3.1/24 dev nv0 && ip link set nv0 up
	PAUSE_FUNCTIONS=1 . /svmhost/t-pause.sh
	scenario tap "tap=nv0,vhost=off" 10.0.3.15 2
	scenario tap-vhost "tap=nv0,vhost=on" 10.0.3.15 3'
