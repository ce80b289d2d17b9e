#!/bin/sh
# run-integration: the nestvisor command line as a user meets it (exit statuses, help, replay), as TAP.
B=${NV_BUILDDIR:-.}/nestvisor
D=${NV_SRCDIR:-.}/tests/data/hosts
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
status() { "$@" >/dev/null 2>&1; echo $?; }

echo "1..63"
ok "$(status "$B" --version)" "--version exits 0"
"$B" --version | grep -q "^nestvisor [0-9]"; ok $? "--version prints the version"
ok "$([ "$(status "$B" --no-such-option)" = 2 ]; echo $?)" "an unknown option exits 2"
ok "$([ "$(status "$B" frobnicate)" = 2 ]; echo $?)" "an unknown command exits 2"
"$B" help probe | grep -q -- "--replay DIR"; ok $? "help probe lists --replay"
ok "$([ "$(status "$B" probe --replay /nonexistent)" = 2 ]; echo $?)" "a missing recording exits 2"
"$B" probe --replay /nonexistent 2>&1 | grep -q "/nonexistent: not a recording directory"; ok $? "the error names the recording"
ok "$(status "$B" probe --replay "$D/intel-vtx-nested")" "a nested-capable Intel host exits 0"
ok "$([ "$(status "$B" probe --replay "$D/cloud-guest-no-nested")" = 1 ]; echo $?)" "a host that cannot run VMs exits 1"
"$B" probe --replay "$D/intel-vtx-nested" --color=always | grep -q "$(printf '\033')\[32mPASS"; ok $? "--color=always colors statuses"
NO_COLOR=1 "$B" probe --replay "$D/intel-vtx-nested" | grep -q "$(printf '\033')"; ok $([ $? = 1 ]; echo $?) "NO_COLOR (and no terminal) gives plain text"
"$B" probe --replay "$D/gpu-group-shared-usb" | grep -q "Nested guests: *yes"; ok $? "the summary says nested yes"

# ---- conventions (issue 15): --help everywhere, one error prefix, a guess at a typo, colors
S=${NV_SRCDIR:-.}
for c in probe run tui report db image ps stop stats console dismiss help; do
	out=$("$B" $c --help 2>&1); st=$?
	[ $st = 0 ] && printf '%s' "$out" | grep -q "^usage: nestvisor $c" || { echo "# $c --help: $st: $out" | head -3; break; }
done
ok $? "every command takes --help (exit 0, its own usage; ps --help no longer lists VMs)"
"$B" prob 2>&1 | grep -q "no command 'prob'; did you mean 'probe'?"; ok $? "a typo gets a guess: prob -> probe"
"$B" stpo 2>&1 | grep -q "did you mean 'stop'?"; ok $? "two letters swapped: stpo -> stop"
missing=""
for o in $(sed -n '/^static const struct option run_options/,/^};/p' "$S/cli/cmd-run.c" | sed -n 's/.*{ "\([a-z-]*\)".*/\1/p'); do
	"$B" run --help | grep -q -- "--$o" || missing="$missing --$o"
done
[ -z "$missing" ]; ok $? "run --help explains every option it takes${missing:+ (missing:$missing)}"
"$B" stop no-such-vm 2>&1 | grep -q "^nestvisor stop: no VM named no-such-vm"; ok $? "errors name their command: nestvisor stop: ..."
for c in pause resume "stats --digest" "stats --cpus" "stats --cpus --at 0xffffc90000003f58"; do
	out=$("$B" $c no-such-vm 2>&1); st=$?
	[ $st = 1 ] && echo "$out" | grep -q "^nestvisor ${c%% *}: no VM named no-such-vm"
	ok $? "nestvisor $c of no VM: exit 1, named ($out)"
done
out=$("$B" stats no-such-vm --cpus --at 0x3f5c 2>&1); st=$?
[ $st = 2 ] && echo "$out" | grep -q "8-byte aligned guest virtual address in hex"
ok $? "stats --at an unaligned address: exit 2 before any VM is asked, saying what it wants ($out)"
"$B" report show ffff --db "$(mktemp -u)" 2>&1 | grep -q "^nestvisor report: no report ffff"; ok $? "nestvisor report: ..."
for w in yes always force; do
	"$B" probe --replay "$D/intel-vtx-nested" --color=$w | grep -q "$(printf '\033')\[32mPASS" || { echo "# --color=$w"; false; break; }
done
ok $? "--color=yes, always and force color"
"$B" probe --replay "$D/intel-vtx-nested" --color | grep -q "$(printf '\033')\[32mPASS"; ok $? "--color alone colors"
"$B" probe --replay "$D/intel-vtx-nested" --color=no | grep -q "$(printf '\033')"; ok $([ $? = 1 ]; echo $?) "--color=no does not"
ok "$([ "$(status "$B" probe --replay "$D/intel-vtx-nested" --color=bogus)" = 2 ]; echo $?)" "--color=bogus exits 2"
# on a terminal (script gives one): an empty NO_COLOR is no NO_COLOR (no-color.org), a set one is
NO_COLOR= script -qec "$B probe --replay $D/intel-vtx-nested" /dev/null | grep -q "$(printf '\033')\[32mPASS"
ok $? "on a terminal an empty NO_COLOR still colors"
NO_COLOR=1 script -qec "$B probe --replay $D/intel-vtx-nested" /dev/null | grep -q "$(printf '\033')\[32mPASS"
ok $([ $? = 1 ]; echo $?) "on a terminal NO_COLOR=1 does not"
grep -q "nestvisor.conf" "$S/nestvisor.1" && sed -n '/^\.SH FILES/,/^\.SH ENV/p' "$S/nestvisor.1" | grep -q "nestvisor.conf"
ok $? "the man page's FILES lists nestvisor.conf"
T=$(mktemp -d)
(cd "${NV_BUILDDIR:-.}" && make -s install DESTDIR="$T" >/dev/null 2>&1)
comp=$(find "$T" -path "*bash-completion/completions/nestvisor" | head -1)
[ -n "$comp" ] && bash -c ". '$comp'; COMP_WORDS=(nestvisor pro); COMP_CWORD=1; _nestvisor; [ \"\${COMPREPLY[*]}\" = probe ]"
ok $? "make install puts bash completion where bash-completion finds it, and it completes"
rm -rf "$T"

NESTVISOR_DB=$(mktemp -u) "$B" probe --no-run --json 2>/dev/null | python3 -c 'import json,sys,re; v=json.load(sys.stdin); assert re.match("^[0-9a-f-]{36}$", v["report"])'
ok $? "probe --json carries the id it was recorded under"
"$B" probe --replay "$D/intel-vtx-nested" --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["report"] is None'
ok $? "a replay is not recorded: report null"
DB=$(mktemp -u)
"$B" probe --no-run --db "$DB" >/dev/null 2>&1
msg=$("$B" probe --no-run --db "$DB" 2>&1 >/dev/null)
"$B" report list --db "$DB" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); assert len(v) == 1 and v[0]["seen"] == 2 and v[0]["seen_last"]'
ok $? "the same facts again are the last report seen again, not a new one: $msg"
"$B" probe --db "$DB" >/dev/null 2>&1
[ "$("$B" report list --db "$DB" --json | grep -c '"report"')" = 2 ]; ok $? "other facts (the functional check run) are a new report"
rm -f "$DB" "$DB-wal" "$DB-shm"

# ---- the probe's text as a new user reads it (issue 15)
P=$("$B" probe --replay "$D/firecracker-pvm-amd")
printf '%s' "$P" | sed -n '/^Hardware/,/^Nested/p' | tr -s ' \n' ' ' | grep -q "Hardware-accelerated VMs: no: VMs run, on a software KVM (kvm_pvm) .* guest kernel code is emulated, so a Linux guest boots in minutes, not seconds"
ok $? "the headline says VMs yes, hardware acceleration no, and what that means for a Linux guest"
cpu=$(printf '%s' "$P" | sed -n '/^CPU$/,/^$/p')
printf '%s' "$cpu" | grep -q "^  6 more checks \.* NOTE" && [ "$(printf '%s' "$cpu" | grep -c "not applicable")" = 1 ]
ok $? "the 6 'not applicable' notes under CPU are one"
"$B" probe --replay "$D/firecracker-pvm-amd" -v | sed -n '/^CPU$/,/^$/p' | grep -c "not applicable" | grep -qx 6
ok $? "with -v each shows"
printf '%s' "$P" | grep -q "^  Running under \.*" && ! printf '%s' "$P" | grep -q "^  Where this host runs"
ok $? "the section and its check have different names"
printf '%s' "$P" | grep -q "see [a-z]*\.[a-z]"; ok $([ $? = 1 ]; echo $?) "no reference to a check id that only -v shows"
printf '%s' "$P" | grep -q 'see "VT-x / AMD-V"' && printf '%s' "$P" | grep -q 'fix: see "IOMMU in firmware (DMAR/IVRS)"'
ok $? "references name the check's title"
listed=$(printf '%s' "$P" | grep -c "^    [0-9a-f][0-9a-f]:")
printf '%s' "$P" | sed -n '/^Device passthrough/,/^$/p' | tr -s ' \n' ' ' | grep -q "none of the $listed device(s) could go to a guest (5 paravirtual (virtio); 1 host infrastructure; no active IOMMU)"
ok $? "the passthrough line counts the $listed devices listed below it"
"$B" probe --replay "$D/intel-vtx-nested" -v | grep -q "SR-IOV VFs -1"; ok $([ $? = 1 ]; echo $?) "no 'SR-IOV VFs -1': none"
"$B" probe --replay "$D/gpu-group-shared-usb" | tr -s ' \n' ' ' | grep -q "ready (IOMMU group 15 to itself; reset: bus; the host's iwlwifi has it now: driverctl set-override 0000:0c:00.0 vfio-pci hands it over)"
ok $? "a ready device still bound to a host driver says how to hand it to vfio-pci"
nx=$(printf '%s' "$P" | sed -n '/^What to do next/,$p')
[ "$(printf '%s' "$nx" | grep -c "^  - ")" = 3 ] && printf '%s' "$nx" | grep -q "VMs run here, but slowly"
ok $? "it ends with what to do next, in plain words"

# ---- run, ps and stats as a user meets them (real KVM; SKIP where there is none)
if [ ! -c /dev/kvm ]; then
	for i in $(seq 17); do n=$((n + 1)); echo "ok $n # SKIP /dev/kvm is missing"; done
	[ $fails = 0 ]; exit
fi
G=${NV_BUILDDIR:-.}/tests/guests
export XDG_RUNTIME_DIR=$(mktemp -d)
chmod 700 "$XDG_RUNTIME_DIR"
err=$("$B" run --kernel "$G/hello.elf" 2>&1 >/dev/null)
printf '%s' "$err" | grep -q "^nestvisor: VM vm-[0-9]* ended: debug-exit 0 (exit status 1)$"
ok $? "a normal end says how it ended without --stats: $err"
err=$("$B" run --kernel "$G/hello.elf" --quiet 2>&1 >/dev/null); [ -z "$err" ]; ok $? "--quiet leaves it out"
# Ctrl-a x on a terminal after output that ends no line: the end says so on a line of its own
(sleep 1; printf 'ab'; sleep 0.5; printf '\001x'; sleep 1) |
	script -qec "$B run --kernel $G/echo.elf" "$XDG_RUNTIME_DIR/ctrla.out" >/dev/null 2>&1
tr -d '\r' < "$XDG_RUNTIME_DIR/ctrla.out" | grep -q "^AB$" && tr -d '\r' < "$XDG_RUNTIME_DIR/ctrla.out" |
	grep -q "^nestvisor: VM vm-[0-9]* ended: stopped (exit status 130)$"
ok $? "Ctrl-a x: the guest's open line is ended before how the VM ended"
out=$("$B" run --kernel "$G/hello.elf" --mem 4G 2>/dev/null); printf '%s' "$out" | grep -q "RAM: 4096 MiB"
ok $? "--mem 4G: the guest reads 4096 MiB through fw_cfg (64 bits): $(printf '%s' "$out" | grep RAM)"
avail=$(sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo)
big=$(( (avail / 1048576 + 8) ))G
err=$("$B" run --kernel "$G/hello.elf" --mem $big 2>&1 >/dev/null)
printf '%s' "$err" | grep -q "is more than this host has available"; ok $? "--mem $big (above available memory) is warned about"
out=$("$B" run --kernel "$G/spin.elf" --name quiet1 --detach --quiet --timeout 30 2>&1); st=$?
[ $st = 0 ] && [ -z "$out" ]; ok $? "--detach --quiet prints nothing"
"$B" stop quiet1 >/dev/null 2>&1
"$B" run --kernel "$G/hello.elf" --name gone1 --detach >/dev/null 2>&1
# it stays on its control socket a second after its end (for a console viewer), then leaves its record
i=0; while [ $i -lt 100 ] && ! [ -e "$XDG_RUNTIME_DIR/nestvisor/gone1.ended" ]; do sleep 0.1; i=$((i + 1)); done
line=$("$B" ps --all | grep "^gone1 ")
printf '%s' "$line" | grep -q "ended .*debug-exit .* 1  .*RAM:"; ok $? "a VM that ended in the background stays in ps --all: how, status, its last output: $line"
"$B" ps | grep -q "^gone1 "; ok $([ $? = 1 ]; echo $?) "ps alone lists only the running"
"$B" ps --all --json | python3 -c 'import json,sys; v=[x for x in json.load(sys.stdin) if x["name"]=="gone1"][0]; assert v["state"]=="ended" and v["status"]==1 and v["how"]=="debug-exit" and "Hello" in v["console_tail"]'
ok $? "ps --all --json: the same, typed"
grep -q "ended: debug-exit 0 (exit status 1)" "$XDG_RUNTIME_DIR/nestvisor/gone1.log"; ok $? "its log says how it ended (it was empty when nothing failed)"
"$B" dismiss gone1 && ! "$B" ps --all | grep -q "^gone1 "; ok $? "dismiss forgets it"
ok "$([ "$(status "$B" dismiss gone1)" = 1 ]; echo $?)" "dismissing it again fails"
"$B" run --kernel "$G/spin.elf" --name watch1 --detach --timeout 3 >/dev/null 2>&1
"$B" ps --json | python3 -c 'import json,sys; v=[x for x in json.load(sys.stdin) if x["name"]=="watch1"][0]; assert v["state"]=="running" and isinstance(v["nested"], bool) and v["cpus"]==1'
ok $? "ps --json: running VMs, booleans as booleans"
"$B" stats watch1 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); assert v["exits"] > 0 and isinstance(v["by_reason"], list)'
ok $? "stats --json: the VM's statistics"
out=$(timeout 20 "$B" stats watch1 --watch 2>&1)
printf '%s' "$out" | tail -1 | grep -q "VM watch1 has ended: timeout (exit status 124)"; ok $? "stats --watch says when the VM has ended: $(printf '%s' "$out" | tail -1)"
printf '%s' "$out" | grep -q "$(printf '\033')\[H"; ok $([ $? = 1 ]; echo $?) "not on a terminal: no screen codes"
"$B" run --kernel "$G/spin.elf" --name watch2 --detach --timeout 3 >/dev/null 2>&1
script -qec "timeout 20 $B stats watch2 --watch" /dev/null > "$XDG_RUNTIME_DIR/w.out" 2>&1
grep -q "$(printf '\033')\[H$(printf '\033')\[J" "$XDG_RUNTIME_DIR/w.out" && grep -q "watch2 has ended" "$XDG_RUNTIME_DIR/w.out"
ok $? "on a terminal it redraws in place"
"$B" dismiss --all >/dev/null
rm -rf "$XDG_RUNTIME_DIR"
[ $fails = 0 ]
