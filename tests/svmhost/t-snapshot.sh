# t-snapshot.sh: `nestvisor snapshot` and `run --restore`. A test guest counting on its serial port (1 and 2
# vCPUs) is saved in the middle of its count, ended (--stop) and restored: the count goes on from the next
# number, none twice, none skipped, to its end. Saved without --stop it runs on, and the file restored twice
# gives two clones that each count to the end (one in the background), the file unchanged. Debian's kernel is saved and restored: its uptime goes on from
# where it was and it finishes its work; one running a guest of its own (nested) is saved while that guest
# runs, and after the restore that guest finishes. Refused, each with its reason: a VM whose devices cannot be saved yet
# (it runs on), a file that is there already, a damaged or cut-short file, options that make another VM.
# svmhost-limit: 800
. /svmhost/tap.sh
out=/out/snapshot
mkdir -p $out
export XDG_RUNTIME_DIR=/run/snapshot
mkdir -p $XDG_RUNTIME_DIR && chmod 700 $XDG_RUNTIME_DIR
T=/nv/tests/guests
G=/guest
S=/tmp/snap
mkdir -p $S

# wait_for FILE PATTERN SECONDS
wait_for() {
	i=0
	while [ $i -lt $(($3 * 5)) ] && ! grep -q "$2" "$1" 2>/dev/null; do sleep 0.2; i=$((i + 1)); done
	grep -q "$2" "$1" 2>/dev/null
}
gone() {
	i=0
	while nestvisor ps 2>/dev/null | grep -qw "$1" && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	! nestvisor ps 2>/dev/null | grep -qw "$1"
}
# counted FILE... N: the files' serial output, one after the other, is "count 1".."count N" once each, in
# order, then "count done" (a line cut by the snapshot goes on in the next file); each file counted some
counted() {
	n=$(eval echo \${$#})
	files=
	while [ $# -gt 1 ]; do
		grep -q '^count' "$1" || return 1
		files="$files $1"
		shift
	done
	cat $files | tr -d '\r' | grep '^count' > $S/seq
	seq 1 $n | sed 's/^/count /' > $S/want
	echo "count done" >> $S/want
	cmp -s $S/seq $S/want
}

# 1. saved with --stop in the middle of its count, restored: it goes on
for cpus in 1 2; do
	n=c$cpus
	rm -f $S/$n.snap
	nestvisor run --detach --name $n --kernel $T/count.elf --cpus $cpus --cmdline "n=200 ms=30" \
		--serial-log $out/$n.log --timeout 300 > $out/$n.run 2>&1
	wait_for $out/$n.log '^count 40$' 60
	nestvisor snapshot $n $S/$n.snap --stop > $out/$n.snapshot 2>&1
	st=$?
	check "$cpus vCPU(s): saved in the middle of its count, and ended ($(cat $out/$n.snapshot))" \
		sh -c "test $st = 0 && grep -q 'VM $n saved to $S/$n.snap in' $out/$n.snapshot && grep -q 'it has ended' $out/$n.snapshot"
	gone $n
	last=$(tr -d '\r' < $out/$n.log | grep '^count [0-9]*$' | tail -n 1)
	check "$cpus vCPU(s): it counted no further once saved ($last of 200, the VM gone)" \
		sh -c "sleep 1; ! nestvisor ps | grep -qw $n && ! grep -q 'count done' $out/$n.log &&
			test '$last' != 'count 200' && test \"\$(tr -d '\r' < $out/$n.log | grep '^count [0-9]*$' | tail -n 1)\" = '$last'"
	check "$cpus vCPU(s): the file is the user's alone, mode 0600 ($(stat -c '%a %s' $S/$n.snap))" \
		test "$(stat -c %a $S/$n.snap)" = 600
	t0=$(date +%s)
	nestvisor run --restore $S/$n.snap --name ${n}r --console none --serial-log $out/${n}r.log \
		--timeout 120 > $out/${n}r.run 2>&1
	st=$?
	check "$cpus vCPU(s): restored, it counted on from where it was to 200, none twice or skipped (status $st, $(($(date +%s) - t0)) s, $(grep -c . $out/${n}r.log) lines after)" \
		sh -c "test $st = 1 && ! grep -q '^count 1$' $out/${n}r.log && grep -q '^count done' $out/${n}r.log"
	check "$cpus vCPU(s): the two consoles together are the whole count" counted $out/$n.log $out/${n}r.log 200 ||
		{ diff $S/seq $S/want | head -n 10 | sed 's/^/#   /'; diag $out/${n}r.run 10; }
done

# 2. saved without --stop: it runs on; the same file restored twice: two clones, each counting to the end, the
# file unchanged by them (what a guest writes stays in its VM). One after the other: two at once from one file
# crashed the emulated host's own kernel ("corrupted stack end detected inside scheduler"), and once made one
# clone's stack read back stale: this QEMU's emulation of AMD-V with two guests' nested page tables sharing a
# page-cache page while copy-on-write splits it (tests/svmhost/README.md)
rm -f $S/run.snap
nestvisor run --detach --name cr --kernel $T/count.elf --cmdline "n=150 ms=30" --serial-log $out/cr.log \
	--timeout 300 > $out/cr.run 2>&1
wait_for $out/cr.log '^count 30$' 60
nestvisor snapshot cr $S/run.snap > $out/cr.snapshot 2>&1
check "running: saved, and it runs on to its end ($(cat $out/cr.snapshot))" \
	sh -c "grep -q 'VM cr saved to' $out/cr.snapshot && ! grep -q 'ended' $out/cr.snapshot"
wait_for $out/cr.log '^count done' 120
check "running: its own count is whole" counted $out/cr.log 150
nestvisor snapshot cr $S/run.snap > $out/cr.again 2>&1
check "a file that is there is not written over ($(head -c 150 $out/cr.again))" grep -q 'File exists' $out/cr.again
sum=$(sha256sum < $S/run.snap)
for k in 1 2; do
	if [ $k = 1 ]; then
		nestvisor run --restore $S/run.snap --name clone$k --console none --serial-log $out/clone$k.log \
			--timeout 120 > $out/clone$k.run 2>&1
		st=$?
	else	# in the background (its own process, which closes every other file but the snapshot)
		nestvisor run --restore $S/run.snap --name clone$k --detach --serial-log $out/clone$k.log \
			--timeout 120 > $out/clone$k.run 2>&1
		st=$?
		wait_for $out/clone$k.log '^count done' 120 && gone clone$k && [ $st = 0 ] && st=1	# as the first
		grep -q 'running in the background' $out/clone$k.run || diag $out/clone$k.run 5
	fi
	# the original's console up to the save, then the clone's
	at=$(tr -d '\r' < $out/clone$k.log | grep -m 1 '^count [0-9]*$' | cut -d' ' -f2)
	tr -d '\r' < $out/cr.log | grep '^count [0-9]*$' | awk -v at="${at:-0}" '$2 < at' > $out/cr-before
	check "clone $k: restored from the one file, it counts on from ${at:-?} to the end (status $st)" \
		sh -c "test $st = 1 && [ -n '$at' ]" && check "clone $k: its count is whole" counted \
		$out/cr-before $out/clone$k.log 150
	check "clone $k: the file is unchanged by it" test "$(sha256sum < $S/run.snap)" = "$sum"
done

# 3. refused: devices that cannot be saved yet (the VM runs on); damaged files; options for another VM
nestvisor run --detach --name rng --kernel $T/spin.elf --rng --timeout 120 > /dev/null 2>&1
rm -f $S/rng.snap
nestvisor snapshot rng $S/rng.snap > $out/rng.snapshot 2>&1
st=$?
check "a VM with virtio-rng: refused, naming the device ($(cat $out/rng.snapshot))" \
	sh -c "test $st = 1 && grep -q 'virtio-rng device cannot be saved yet' $out/rng.snapshot && test ! -e $S/rng.snap"
check "... and it runs on" sh -c "nestvisor ps | grep -qw rng"
nestvisor stop rng --force > /dev/null 2>&1
# section FILE NAME: where a section's bytes start, from the table (docs/snapshot.md: nsections at 12, table_off
# at 16; entries of 56 bytes, the name first, the offset at 32)
section() {
	n=$(od -An -tu4 -j 12 -N 4 $1 | tr -d ' ') t=$(od -An -tu8 -j 16 -N 8 $1 | tr -d ' ') i=0
	while [ $i -lt $n ]; do
		e=$((t + 56 * i))
		[ "$(dd if=$1 bs=1 skip=$e count=24 2>/dev/null | tr -d '\000')" = $2 ] &&
			{ od -An -tu8 -j $((e + 32)) -N 8 $1 | tr -d ' '; return; }
		i=$((i + 1))
	done
}
cp $S/c1.snap $S/bad.snap
off=$(section $S/bad.snap vcpu.0)	# a byte of vCPU 0's registers changed
printf 'Z' | dd of=$S/bad.snap bs=1 seek=$((${off:-0} + 100)) conv=notrunc 2>/dev/null
nestvisor snapshot --verify $S/bad.snap > $out/bad.verify 2>&1
st=$?
check "a damaged file: --verify finds it (vcpu.0 at ${off:-?}: $(cat $out/bad.verify))" \
	sh -c "test $st = 1 && grep -q 'vcpu.0 section is damaged' $out/bad.verify"
nestvisor run --restore $S/bad.snap --name bad --console none > $out/bad.run 2>&1
st=$?
check "a damaged file: not restored, saying so (status $st: $(head -c 200 $out/bad.run))" \
	sh -c "test $st = 2 && grep -q 'vcpu.0 section is damaged' $out/bad.run"
head -c 6000 $S/c1.snap > $S/short.snap
nestvisor run --restore $S/short.snap --name short --console none > $out/short.run 2>&1
st=$?
check "a file cut short: not restored (status $st: $(head -c 200 $out/short.run))" \
	sh -c "test $st = 2 && grep -q 'cut short' $out/short.run"
nestvisor run --restore $S/c1.snap --mem 512M > $out/opts.run 2>&1
st=$?
check "--restore with --mem: refused, not ignored (status $st)" sh -c "test $st = 2 && grep -q 'leave out' $out/opts.run"
check "--verify of a whole file ($(nestvisor snapshot --verify $S/c1.snap 2>&1))" nestvisor snapshot --verify $S/c1.snap

# 4. Debian's kernel: saved while it ticks, restored: its uptime goes on from where it was
nestvisor run --detach --name lx --kernel $G/vmlinuz --initrd $G/initrd --mem 256M \
	--cmdline "console=ttyS0 panic=-1 quiet nv.ticks=30" --serial-log $out/lx.log --timeout 400 > $out/lx.run 2>&1
wait_for $out/lx.log '^NVG: tick 8 ' 150
nestvisor snapshot lx $S/lx.snap --stop > $out/lx.snapshot 2>&1
check "Linux: saved while it ticks ($(cat $out/lx.snapshot))" grep -q 'VM lx saved to' $out/lx.snapshot
gone lx
before=$(tr -d '\r' < $out/lx.log | grep '^NVG: tick ' | tail -n 1)
t0=$(date +%s)
nestvisor run --restore $S/lx.snap --name lxr --console none --serial-log $out/lxr.log --timeout 300 \
	> $out/lxr.run 2>&1
st=$?
after=$(tr -d '\r' < $out/lxr.log | grep '^NVG: tick ' | head -n 1)
check "Linux: restored, it ticked on to its end and powered off (status $st, $(($(date +%s) - t0)) s; before: $before; after: $after)" \
	sh -c "test $st = 0 && grep -q '^NVG: ticks done' $out/lxr.log && ! grep -q '^NVG: init' $out/lxr.log"
# both consoles together (a line the save cut goes on in the second): ticks 1 to 30 once each, its uptime
# never stepping back, nor jumping across the save
cat $out/lx.log $out/lxr.log | tr -d '\r' | grep '^NVG: tick ' > $S/ticks
grep -q '^NVG: tick ' $out/lxr.log || echo "not a tick after the restore" >> $S/ticks	# (fails below)
# the gap across the save no longer than the longest other gap and a second (its clock was read at the pause)
b=$(tr -d '\r' < $out/lx.log | grep -c '^NVG: tick [0-9]* [0-9.]*$')
gaps=$(awk -v b=$b 'NR > 1 { g = $4 - prev; if (NR == b + 1) at = g; else if (g > m) m = g } { prev = $4 + 0 }
	END { printf "%.2f s across the save, at most %.2f s elsewhere", at, m }' $S/ticks)
check "Linux: its uptime went on from where it was: ticks 1 to 30 once each, never back, no jump ($gaps)" \
	awk -v b=$b '{ if ($3 != NR || $4 + 0 < prev) bad = 1 }
		NR > 1 { g = $4 - prev; if (NR == b + 1) at = g; else if (g > m) m = g } { prev = $4 + 0 }
		END { exit bad || NR != 30 || at > m + 1 }' $S/ticks
grep -q 'NVG: ticks done' $out/lxr.log || { diag $out/lxr.log 15; diag $out/lxr.run 10; }
rm -f $S/lx.snap $S/c2.snap $S/run.snap $S/bad.snap $S/short.snap	# the host's RAM is the next test's

# 5. nested: Debian's kernel (L2, nested on) runs our count guest (L3) on its own KVM; L2 saved while L3 counts
# (KVM's nested state: L2 was running L3 at the time), ended, restored: L3 counts on to its end
nestvisor run --detach --name nx --kernel $G/vmlinuz --initrd $G/initrd-nested --mem 768M --cpus 1 --nested on \
	--cmdline "console=ttyS0 panic=-1 quiet nv.l3count=60" --serial-log $out/nx.log --timeout 600 \
	> $out/nx.run 2>&1
wait_for $out/nx.log '^NVG: l3 count 12' 300
nestvisor snapshot nx $S/nx.snap --stop > $out/nx.snapshot 2>&1
check "nested: L2 saved while its own guest L3 counts ($(cat $out/nx.snapshot))" grep -q 'VM nx saved to' $out/nx.snapshot
gone nx
nestvisor run --restore $S/nx.snap --name nxr --console none --serial-log $out/nxr.log --timeout 600 \
	> $out/nxr.run 2>&1
st=$?
check "nested: restored, L3 counted on to its end (debug-exit, status 1 in L2) and L2 powered off (status $st)" \
	sh -c "test $st = 0 && grep -q '^NVG: l3 status 1' $out/nxr.log && grep -q '^NVG: l3 count' $out/nxr.log"
cat $out/nx.log $out/nxr.log | tr -d '\r' | sed -n 's/^NVG: l3 //p' > $S/l3.log
check "nested: L3's count is whole across L2's save and restore ($(grep -c '^count' $S/l3.log) lines)" \
	counted $S/l3.log 60
grep -q '^NVG: l3 status 1' $out/nxr.log || { diag $out/nx.log 10; diag $out/nxr.log 15; diag $out/nxr.run 10; }
rm -rf $S
