#!/bin/sh
# run-security: nestvisor as root against a hostile local user (a throwaway account made here and removed
# after), hostile files, names and clients, as issue 12 found them. Each case fails on the code before its fix.
# TAP. Root-only cases SKIP, saying so, where the test is not root or cannot add a user.
set -u
B=${NV_BUILDDIR:-.}
NV=$(cd "$B" && pwd)/nestvisor
T=$(mktemp -d /tmp/nv-sec.XXXXXX)
chmod 755 "$T"
evil=nvsec$$
made_user=
n=0 fails=0
cleanup() {
	[ -n "$made_user" ] && { pkill -u "$evil" 2>/dev/null; userdel "$evil" 2>/dev/null; }
	for s in "$T"/run/nestvisor/*.sock; do [ -S "$s" ] && "$NV" stop "$(basename "$s" .sock)" >/dev/null 2>&1; done
	rm -rf "$T" "/tmp/nestvisor-$(id -u)-test" 2>/dev/null
}
trap cleanup EXIT
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
as_evil() { runuser -u "$evil" -- sh -c "$1"; }

echo "1..24"
if [ "$(id -u)" = 0 ] && useradd -M -d /nonexistent -s /bin/sh "$evil" 2>/dev/null; then
	made_user=1
fi

# 1. --save into a directory another user made, with links to our files: refused, nothing written through them
if [ -n "$made_user" ]; then
	echo precious > "$T/root-file"; mkdir "$T/root-dir"
	as_evil "mkdir /tmp/$evil-rec && ln -s $T/root-file /tmp/$evil-rec/RECORDING && ln -s $T/root-dir /tmp/$evil-rec/proc"
	"$NV" probe --no-record --save "/tmp/$evil-rec" > "$T/out" 2>&1
	rc=$?
	[ $rc != 0 ] && grep -q "belongs to uid" "$T/out" && grep -qx precious "$T/root-file" && [ -z "$(ls "$T/root-dir")" ]
	ok $? "probe --save into another user's directory of links: refused ($(tail -1 "$T/out" | cut -c1-60)...)"
	rm -rf "/tmp/$evil-rec"
else
	skip "not root, or useradd failed: the two-user cases need a throwaway account"
fi

# 3. the runtime directory: another user's /tmp/nestvisor-UID is refused, with a log link and a bound socket there
if [ -n "$made_user" ]; then
	mkdir "$T/nestvisor" && chown "$evil" "$T/nestvisor"	# as if the attacker had made it first
	as_evil "chmod 755 $T/nestvisor && ln -s $T/root-file $T/nestvisor/demo.log"
	XDG_RUNTIME_DIR=$T "$NV" run --kernel "$B/tests/guests/spin.elf" --name demo --detach --timeout 60 > "$T/out" 2>&1
	rc=$?
	[ $rc != 0 ] && grep -q "runtime directory .*not a directory of ours" "$T/out" && grep -qx precious "$T/root-file"
	ok $? "a runtime directory someone else made is refused; the log link there is not followed"
	rm -rf "$T/nestvisor"
else
	skip "not root, or useradd failed"
fi

# (every VM started here ends within a minute by itself: on code where a refusal fails, none outlives the test)

# 4. counts out of range: refused with a message, no crash (UBSan saw index 64 before)
"$NV" run --kernel "$B/tests/guests/hello.elf" --cpus 100000 > "$T/out" 2>&1
[ $? = 2 ] && grep -q "cpus 100000: give 1 to 64" "$T/out"; ok $? "--cpus 100000: refused, not a crash"
"$NV" run --kernel "$B/tests/guests/hello.elf" --cpus 65 > "$T/out" 2>&1
[ $? = 2 ]; ok $? "--cpus 65: refused"
"$NV" run --kernel "$B/tests/guests/hello.elf" --mem 99999999999G > "$T/out" 2>&1
[ $? = 2 ] && grep -q "give a size" "$T/out"; ok $? "--mem that overflows: refused"

# 10. --timeout 1e300: refused at once (it overflowed time_t and spun)
timeout 10 "$NV" run --kernel "$B/tests/guests/spin.elf" --timeout 1e300 > "$T/out" 2>&1
[ $? = 2 ] && grep -q "timeout 1e300" "$T/out"; ok $? "--timeout 1e300: refused"

# 8. names: checked before any file is named after them; a duplicate name leaves the running VM's log alone
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
echo keep > "$T/x.log"
"$NV" run --kernel "$B/tests/guests/spin.elf" --name "../../../$(basename "$T")/x" --detach --timeout 60 > "$T/out" 2>&1
[ $? = 2 ] && grep -q "a VM's name is" "$T/out" && grep -qx keep "$T/x.log"
ok $? "--name ../../x: refused before anything is opened"
"$NV" run --kernel "$B/tests/guests/spin.elf" --name "$(printf 'a%.0s' $(seq 40))" --detach --timeout 60 > "$T/out" 2>&1
[ $? = 2 ]; ok $? "a 40-character name: refused"
"$NV" run --kernel "$B/tests/guests/spin.elf" --name dup --detach --timeout 60 > /dev/null 2>&1
echo "marker from the first VM" >> "$T/run/nestvisor/dup.log"
"$NV" run --kernel "$B/tests/guests/spin.elf" --name dup --detach --timeout 60 > "$T/out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "already running" "$T/out" && grep -q "marker from the first VM" "$T/run/nestvisor/dup.log"
ok $? "a duplicate --name is refused and the running VM's log is not truncated"
[ "$(stat -c %a "$T/run/nestvisor")" = 700 ]; ok $? "the runtime directory is 0700"

# 7. a client that never reads does not wedge the VMM; a NUL byte in a request gets an error
python3 - "$T/run/nestvisor/dup.sock" > "$T/py" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.setblocking(False)
sent = 0
try:
    for i in range(200000):
        s.send(b'{"cmd":"console","from":0}\n' * 64); sent += 1
except BlockingIOError:
    pass
print("flooded", sent); sys.stdout.flush()
time.sleep(30)
EOF
flood=$!
sleep 3
timeout 10 "$NV" ps > "$T/ps" 2>&1
[ $? = 0 ] && grep -q "^dup " "$T/ps"; ok $? "ps answers while a client floods requests and never reads"
python3 - "$T/run/nestvisor/dup.sock" > "$T/nul" 2>&1 <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.send(b'{"cmd":"st\x00atus"}\n{"cmd":"status"}\n')
buf = b""
while buf.count(b"\n") < 2:
    buf += s.recv(65536)
print(buf.decode())
EOF
grep -q '"error":"a NUL byte in the request"' "$T/nul" && grep -q '"state":"running"' "$T/nul"
ok $? "a line with a NUL byte: an error reply, and the connection goes on"
timeout 10 "$NV" stop dup > /dev/null 2>&1; ok $? "stop works while the flooding client is connected"
i=0; while [ $i -lt 50 ] && [ -S "$T/run/nestvisor/dup.sock" ]; do sleep 0.1; i=$((i + 1)); done
[ ! -S "$T/run/nestvisor/dup.sock" ]; ok $? "and the VMM exits (its control thread is not stuck in send)"
kill $flood 2>/dev/null; wait $flood 2>/dev/null

# 11. ps removes only dead sockets of ours, nothing else named *.sock
touch "$T/run/nestvisor/file.sock"; ln -s "$T/x.log" "$T/run/nestvisor/link.sock"; mkfifo "$T/run/nestvisor/fifo.sock"
timeout 10 "$NV" ps > /dev/null 2>&1
[ -f "$T/run/nestvisor/file.sock" ] && [ -L "$T/run/nestvisor/link.sock" ] && [ -p "$T/run/nestvisor/fifo.sock" ] &&
	grep -qx keep "$T/x.log"
ok $? "ps leaves a file, a link and a FIFO named *.sock alone"
rm -f "$T/run/nestvisor/"*.sock
unset XDG_RUNTIME_DIR

# 9. FIFOs: as a kernel (with the signals timeout sends blocked, as before), as a report to import
mkfifo "$T/fifo"
timeout -s KILL 10 "$NV" run --kernel "$T/fifo" > "$T/out" 2>&1
[ $? = 2 ] && grep -q "not a regular file" "$T/out"; ok $? "a FIFO as --kernel: refused at once"
timeout -s KILL 10 "$NV" report --db "$T/db" import "$T/fifo" > "$T/out" 2>&1
[ $? = 1 ] && grep -q "not a regular file" "$T/out"; ok $? "a FIFO to import: refused at once"
timeout -s KILL 10 "$NV" probe --no-record --cpuid-dump "$T/fifo" > "$T/out" 2>&1
[ $? != 137 ]; ok $? "a FIFO as --cpuid-dump: the probe goes on"

# 14. files of ours are 0600, their directories 0700; no HOME: never the current directory
env -u HOME -u XDG_DATA_HOME -u XDG_CACHE_HOME -u NESTVISOR_DB sh -c "cd '$T' && '$NV' probe > /dev/null 2>&1"
[ ! -e "$T/.local" ]; ok $? "no HOME: the database does not land in ./.local"
XDG_DATA_HOME="$T/data" XDG_CACHE_HOME="$T/cache" NESTVISOR_DB= "$NV" probe > /dev/null 2>&1
[ "$(stat -c %a "$T/data/nestvisor/compat.db")" = 600 ] && [ "$(stat -c %a "$T/data/nestvisor")" = 700 ]
ok $? "compat.db is 0600 in a 0700 directory"
[ "$(stat -c %a "$T/cache/nestvisor/host-id")" = 600 ] && [ "$(stat -c %a "$T/cache/nestvisor")" = 700 ]
ok $? "the host-id cache is 0600 in a 0700 directory"

# 12. escapes from a recording never reach the terminal
cp -a "$(cd "${NV_SRCDIR:-.}" && pwd)/tests/data/hosts/intel-vtx-nested" "$T/rec"
printf '../../../bus/pci/drivers/\033[2J\033]0;owned\007evil\n' > "$T/rec/sys/bus/pci/devices/0000:31:00.0/driver"
"$NV" probe --replay "$T/rec" --verbose > "$T/out" 2>&1
! grep -q "$(printf '\033')" "$T/out" && grep -q "evil" "$T/out"
ok $? "a driver name with terminal escapes is printed without them"

# more of the same kind (found while fixing the above): files named on the command line are not opened through a
# link someone planted at that path
echo keep > "$T/victim"; ln -s "$T/victim" "$T/planted"
"$NV" run --kernel "$B/tests/guests/hello.elf" --console none --serial-log "$T/planted" > "$T/out" 2>&1
[ $? = 2 ] && grep -qx keep "$T/victim"; ok $? "--serial-log through a planted link: refused, its target untouched"
"$NV" probe --db "$T/xdb" > /dev/null 2>&1
id=$("$NV" report list --db "$T/xdb" --json | sed -n 's/.*"report":"\([^"]*\)".*/\1/p' | head -1)
"$NV" report export --db "$T/xdb" "$id" -o "$T/planted" > "$T/out" 2>&1
[ $? != 0 ] && grep -qx keep "$T/victim"; ok $? "report export -o through a planted link: refused, its target untouched"

echo "# $fails failed"
[ $fails = 0 ]
