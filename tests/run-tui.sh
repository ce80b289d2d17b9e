#!/bin/sh
# run-tui: the real `nestvisor tui` driven through tmux (a detached session of fixed size, send-keys,
# capture-pane), as a person would use it. TAP.
set -u
B=${NV_BUILDDIR:-.}
S=${NV_SRCDIR:-.}
command -v tmux >/dev/null 2>&1 || { echo "1..0 # SKIP tmux is not installed (apt-get install tmux)"; exit 0; }
NV=$(cd "$B" && pwd)/nestvisor
H=$(cd "$S" && pwd)/tests/data/hosts/gpu-group-shared-usb
sock=nv-tui-test-$$
tm() { tmux -L "$sock" "$@" 2>/dev/null; }
s=0
trap 'tm kill-server 2>/dev/null; [ -n "${PG_DIR:-}" ] && pg_temp_stop' EXIT
n=0 fails=0
ok() {	# a failure shows the screen it saw
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; screen | sed 's/^/# /'; fails=$((fails + 1)); fi
}
screen() { tm capture-pane -t "t$s" -p; }
# waits up to 10 s for text to appear on the screen (other suites may be loading the machine)
see() { i=0; while [ $i -lt 200 ]; do screen | grep -q -- "$1" && return 0; sleep 0.05; i=$((i + 1)); done; return 1; }
start() {	# a new session whose shell runs the TUI, then reports the terminal's state after it
	s=$((s + 1))
	tm new-session -d -s "t$s" -x 100 -y 30 "sh"
	tm send-keys -t "t$s" "$1; echo TUI-ENDED; stty -a | tr -s ' ;' '\\n' | grep -E '^-?(icanon|echo)\$' | tr '\\n' ' '" Enter
}

# a mouse click as an xterm sends it (X10 encoding: button, column and row, each + 32), press then release
click() { tm send-keys -t "t$s" -l "$(printf '\033[M %b%b\033[M#%b%b' "\\0$(printf %o $(($1 + 33)))" \
	"\\0$(printf %o $(($2 + 33)))" "\\0$(printf %o $(($1 + 33)))" "\\0$(printf %o $(($2 + 33)))")"; }

echo "1..87"
start "$NV tui --replay $H"
see "Hardware-accelerated VMs: yes"; ok $? "the Host screen shows the summary"
see "APICv / AVIC *WARN"; ok $? "every check is listed with its status"
tm send-keys -t "t$s" 2
see "10de:2204 GA102"; ok $? "2 shows the devices"
screen | grep -q "0b:00.0.*nvidia.*14.*not-ready"; ok $? "a device row: address, driver, IOMMU group, verdict"
tm send-keys -t "t$s" F4
see "1 device(s), sorted by address, only those ready"; ok $? "F4 filters: only devices ready for passthrough"
tm send-keys -t "t$s" F4
see "[2-9][0-9]* device(s), sorted by address *$"; ok $? "F4 again shows them all"
tm send-keys -t "t$s" / n v i d Enter
see "search: nvid "; screen | grep -q "^ *1 device(s), sorted by address *$"; ok $? "/ searches: one device matches nvid"
tm send-keys -t "t$s" Enter
see "IOMMU group 14 is not viable while 02:00.0 (USB controller"; ok $? "Enter shows the device's details: why it is not ready"
tm send-keys -t "t$s" Escape
see "^ *[2-9][0-9]* device(s), sorted by address *$" && ! screen | grep -q "search:"
ok $? "Esc clears a kept search: every device again"
tm send-keys -t "t$s" / z z z
see "search: zzz_" && see "(no device matches)" && tm send-keys -t "t$s" Escape
see "^ *[2-9][0-9]* device(s), sorted by address *$" && ! screen | grep -q "search:"
ok $? "Esc while a search is typed ends and clears it"
tm send-keys -t "t$s" F1
see "F10 q     quit"; ok $? "F1 lists every key"
tm resize-window -t "t$s" -x 60 -y 15
see "terminal too small (needs 80x24, is 60x15)"; ok $? "60x15 says the terminal is too small"
tm resize-window -t "t$s" -x 100 -y 30
see "1 Host .*2 Devices"; ok $? "100x30 lays the screen out again"
tm send-keys -t "t$s" 2
see "ADDRESS .*VERDICT"
bar=$(screen | tail -1)
echo "$bar" | grep -q "^F1Help .*F3Search .*F4Filter .*F5Probe .*F6Sort .*F7Launch .*F10Quit" && ! echo "$bar" | grep -q "F8\|F9"
ok $? "the Devices screen's function-key bar: its keys in order, not the VMs' F8 and F9"
tm send-keys -t "t$s" 3
see "no VMs running\|NAME .*PID"
bar=$(screen | tail -1)
echo "$bar" | grep -q "^F1Help .*F7Launch .*F8Pause .*F9Stop .*F10Quit" && ! echo "$bar" | grep -q "F4\|F6"
ok $? "the VMs screen's bar: F8 and F9, not the devices' F4 and F6"
tm send-keys -t "t$s" q
see "TUI-ENDED"; ok $? "q quits"
see "icanon echo"; ok $? "the terminal is sane afterwards (icanon, echo)"

start "NO_COLOR=1 $NV tui --replay $H"
see "Hardware-accelerated VMs"
cap=$(tm capture-pane -t "t$s" -p -e)
echo "$cap" | grep -q "Hardware-accelerated VMs" && ! echo "$cap" | grep -q "$(printf '\033')\[3[1-7]m"
ok $? "NO_COLOR: no colors (in a capture that holds the screen)"
click 14 0
see "ADDRESS .*VERDICT"; ok $? "a click on the Devices tab shows the devices"
click 5 7
sleep 0.3	# ncurses tells a click from a press after its mouse interval; nobody clicks and types faster
tm send-keys -t "t$s" Enter
see "GA102 \[GeForce RTX 3090\] \[10de:2204\]"; ok $? "a click on a row selects it (Enter details it)"
click 2 29
see "F10 q     quit"; ok $? "a click on F1 in the function-key bar opens the help"
tm send-keys -t "t$s" 2
see "ADDRESS .*VERDICT"
for i in 1 2 3 4; do tm send-keys -t "t$s" -l "$(printf '\033[Ma!&')"; sleep 0.1; done	# the wheel, down
tm send-keys -t "t$s" Enter
see "GA102 \[GeForce RTX 3090\] \[10de:2204\]"; ok $? "the mouse wheel moves the selection"
tm send-keys -t "t$s" F10
start "$NV tui"
see "software KVM\|Hardware-accelerated VMs"; ok $? "the live host probes without freezing the screen"
pid=$(pgrep -f "^$NV tui\$" | head -1)
kill -TERM "$pid" 2>/dev/null
see "icanon echo"; ok $? "a fatal signal still restores the terminal"

# passthrough from the Devices screen (a recorded q35 host with an IOMMU: its e1000e ready, its bridges not)
start "$NV tui --replay $(cd "$S" && pwd)/tests/data/hosts/qemu-q35-intel-iommu"
see "Hardware-accelerated VMs"
tm send-keys -t "t$s" 2
see "ADDRESS .*VERDICT"
tm send-keys -t "t$s" p
see "00:00.0 cannot be passed through: "; ok $? "p on the host bridge: not passed through, the probe's reason said"
tm send-keys -t "t$s" b
see "this is a recording (--replay): b binds devices of the live host only"; ok $? "b on a recording binds nothing"
tm send-keys -t "t$s" F4 p
see "Devices  *00:01.0"; ok $? "F4 then p: the launch form opens with the ready e1000e in its Devices field"
see "00:01.0 is in the Devices field: F7 launches"; ok $? "and says what F7 will do"
# the Disks field's file picker says what each image is: a disk to boot, or one to import first
imgs=$(mktemp -d /tmp/nv-tui-img.XXXXXX)
truncate -s 8M "$imgs/debian.img" && printf 'label: gpt\nstart=2048\n' | sfdisk -q "$imgs/debian.img" 2>/dev/null
printf 'QFI\373\000\000\000\003' > "$imgs/cloud.qcow2" && truncate -s 2M "$imgs/cloud.qcow2"
click 20 7
tm send-keys -t "t$s" C-u "$imgs/" C-o
see "debian.img  *disk, GPT"; ok $? "the Disks field's picker tells a disk image (GPT) ..."
see "cloud.qcow2  *import it first"; ok $? "... and a qcow2 to import first"
tm send-keys -t "t$s" Escape Escape q
rm -rf "$imgs"

# the Reports screen: two reports of this host (one tested, one not), their difference, an export
db=$(mktemp -d /tmp/nv-tui-db.XXXXXX)
NESTVISOR_DB=$db/c.db "$NV" probe >/dev/null 2>&1
NESTVISOR_DB=$db/c.db "$NV" probe --no-run >/dev/null 2>&1
if [ ! -c /dev/kvm ]; then
	# no KVM here: both say UNKNOWN for kvm.run (not run, or skipped), and a diff shows statuses
	# that moved; the first report is made the one of a day KVM worked (its kvm.run PASS)
	first=$(NESTVISOR_DB=$db/c.db "$NV" report list --json | python3 -c 'import json,sys; print(min(json.load(sys.stdin), key=lambda r: r["created"])["report"])')
	NESTVISOR_DB=$db/c.db "$NV" report export "$first" -o "$db/first.json"
	python3 - "$db/first.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["probe"]["checks"]:
    if c["id"] == "kvm.run":
        c["status"], c["evidence"] = "PASS", "a tiny guest ran to its end (the day KVM worked)"
r["uuid"] = "00000000-0000-4000-8000-00000000c0de"
json.dump(r, open(sys.argv[1], "w"))
PY
	NESTVISOR_DB=$db/c.db "$NV" report delete "$first" >/dev/null
	NESTVISOR_DB=$db/c.db "$NV" report import "$db/first.json" >/dev/null
fi
start "cd $db && NESTVISOR_DB=$db/c.db $NV tui --replay $H"
see "Hardware-accelerated VMs"
tm send-keys -t "t$s" 4
see "REPORT .*CREATED .*HW VMS"
rows() { screen | grep -c '^ . [0-9a-f]\{8\} .*20[0-9][0-9]-[01][0-9]-[0-3][0-9]T'; }
i=0; while [ "$(rows)" != 2 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done	# tmux may show half a redraw
[ "$(rows)" = 2 ]; ok $? "4 lists the two reports recorded on this machine"
tm send-keys -t "t$s" " " Down " " d
see "kvm.run .*skipped, as asked"; ok $? "Space marks two, d shows what changed between them"
tm send-keys -t "t$s" x
see "exported to nestvisor-report-"; ok $? "x exports the selected report"
tm send-keys -t "t$s" q
# the device details say what the database knows of the model (this host's devices, in its reports)
start "NESTVISOR_DB=$db/c.db $NV tui"
see "Device passthrough"
tm send-keys -t "t$s" 2 Enter
see "compatibility database: seen on 1 host(s), ready for passthrough on 0"; ok $? "a device's details: its history in the compatibility database"
tm send-keys -t "t$s" q
rm -rf "$db"

# the VMs screen: the launch form (file picker, nested auto/on/off), the test guest watched, paused, stopped;
# the echo guest's serial console inside the TUI
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	rt=$(mktemp -d /tmp/nv-tui-rt.XXXXXX)
	start "cd $(cd "$B" && pwd) && XDG_RUNTIME_DIR=$rt $NV tui --replay $H"
	see "Hardware-accelerated VMs"
	tm send-keys -t "t$s" F7
	see "launch a VM"; ok $? "F7 opens the launch form"
	see "Nested  *\[auto\]  *on  *off"; ok $? "the form offers nested auto, on and off (the recorded host allows it)"
	# at 100 columns the hints do not fit beside the fields: the current field's shows, whole, below
	tm send-keys -t "t$s" Down Down
	see "Disks: images, space between: FILE\[,ro\] (virtio-blk; Ctrl-O)"; ok $? "the form has a Disks field, its hint whole"
	tm send-keys -t "t$s" Down
	see "Cloud-init: optional: ssh-key=FILE,user=NAME,password=WORD (a cloud image)"
	ok $? "the form offers cloud-init for a cloud image"
	tm send-keys -t "t$s" Down
	see "Network: user\[,hostfwd=tcp:2222-:22\] or tap=NAME (virtio-net)"; ok $? "the form has a Network field, its hint whole"
	click 20 13
	tm send-keys -t "t$s" Right
	see "Nested  *auto  *\[on\]  *off"; ok $? "Right chooses nested on"
	tm send-keys -t "t$s" F7	# the live host decides: nestvisor run --nested on refuses where it cannot
	if (cd "$B" && $NV run --nested on --console none --kernel tests/guests/hello.elf >/dev/null 2>&1); then
		see "launched vm-"; ok $? "a VM launched with nested on"
		sleep 1
	else
		see "could not launch: .*nested guests were asked for (on), but this host cannot"
		ok $? "nested on where the live host cannot: refused, with the probe's reason"
	fi
	tm send-keys -t "t$s" Left
	see "Nested  *\[auto\]  *on  *off"
	tm send-keys -t "t$s" Escape
	tm send-keys -t "t$s" F7
	see "launch a VM"
	click 20 11
	see "Memory  *128M_"; ok $? "a click on a field of the form makes it the current one"
	click 20 5
	tm send-keys -t "t$s" C-u "tests/guests/" C-o
	see "choose a file in .*tests/guests"; ok $? "Ctrl-O opens the file picker in the typed directory"
	tm send-keys -t "t$s" e c h o . e Enter
	see "Kernel .*tests/guests/echo.elf_"; ok $? "typing finds a file, Enter fills the kernel field with it"
	tm send-keys -t "t$s" C-u "tests/guests/portloop.elf" Down Down Down Down "user" Down "count=1000000000" F7
	see "launched vm-"; ok $? "F7 in the form starts the test guest as its own process"
	see "running .*128M"; ok $? "the VMs screen lists it (found through its control socket)"
	see "exits, [0-9]*/s now"; ok $? "the statistics panel shows exits per second"
	see "devices: virtio-net 0B"; ok $? "the Network field gave it a virtio-net device (--net user)"
	see "0x0080 post  *[0-9.]*[kM]  *[1-9][0-9.]*[kM]*/s #"; ok $? "the busiest port: exits, exits per second now, a bar"
	see "exits/s, last [2-9][0-9]* s (peak [0-9.]*[kM]*): *[^ ]"; ok $? "a sparkline of exits per second over time"
	tm send-keys -t "t$s" p
	see " paused "; ok $? "p pauses it"
	tm send-keys -t "t$s" k y
	see " ended  *stopped, exit 130 "; ok $? "k and y stop it; it stays listed, ended: how, its exit status"
	tm send-keys -t "t$s" d
	see "no VMs running"; ok $? "d dismisses it"
	tm send-keys -t "t$s" F7 C-u "tests/guests/echo.elf" F7
	see "running .*128M"
	tm send-keys -t "t$s" Enter
	see "echo ready"; ok $? "Enter attaches to its serial console, with what it printed before"
	tm send-keys -t "t$s" a b c
	see "^ABC"; ok $? "keys go to the guest, and its answer shows"
	tm send-keys -t "t$s" C-c d
	see "^ABCD"; ok $? "Ctrl-C is the guest's too (the terminal is raw while attached)"
	tm send-keys -t "t$s" C-]
	see "detached from vm-"; ok $? "Ctrl-] detaches, the VM still running"
	tm send-keys -t "t$s" Enter q
	see "^bye"; ok $? "its last words show as it ends"
	see "the VM has ended"; ok $? "and the console says it ended"
	tm send-keys -t "t$s" C-]
	tm send-keys -t "t$s" d F7 C-u "tests/guests/triple.elf" F7
	see "launched vm-"
	vm=$(screen | sed -n 's/.*launched \(vm-[0-9]*\) .*/\1/p' | head -1)
	see "$vm ended .*triple-fault (exit status 128)"
	ok $? "a guest that triple-faults ends its own process; the launched VM is the one selected, its end shown"
	tm send-keys -t "t$s" Enter
	see "$vm has ended (triple-fault, exit status 128)"; ok $? "Enter on it says it ended, not another VM's console"
	tm send-keys -t "t$s" F1 && see "F10 q     quit"; ok $? "the TUI goes on"
	tm send-keys -t "t$s" q
	rm -rf "$rt"
else
	for t in $(seq 28); do n=$((n + 1)); echo "ok $n # SKIP /dev/kvm is not usable here"; done
fi

# every screen at 80x24, 120x40 and 200x60: nothing cut that matters, nothing drawn over something else
# (issue 15); a recorded software-KVM host, whose headline is the longest
F=$(cd "$S" && pwd)/tests/data/hosts/firecracker-pvm-amd
joined() { screen | sed 's/^ *//' | tr -s ' \n' '  '; }
for size in 80x24 120x40 200x60; do
	cols=${size%x*} lines=${size#*x}
	start "NESTVISOR_DB=$(mktemp -u) $NV tui --replay $F"
	tm resize-window -t "t$s" -x "$cols" -y "$lines"
	see "Hardware-accelerated VMs"
	sleep 0.3
	joined | grep -q "guest kernel code is emulated, so a Linux guest boots in minutes, not seconds" &&
		joined | grep -q "none of the 6 device(s) could go to a guest (5 paravirtual (virtio); 1 host infrastructure; no active IOMMU)"
	ok $? "$size Host: the summary wrapped, not cut"
	tm send-keys -t "t$s" 2
	see "ADDRESS"
	screen | grep -q "VERDICT .*ALTERNATIVE" && [ "$(screen | grep -c "paravirtual  *[a-z]")" = 5 ] &&
		screen | grep -q "00:00.0 .*host-infrastructure"
	ok $? "$size Devices: VERDICT whole, ALTERNATIVE shown (the columns give way by priority)"
	tm send-keys -t "t$s" Enter
	see "instead of passthrough"
	joined | grep -q "bridges stay with the host" && joined | grep -q "compatibility database: no report has seen 8086:0d57 yet"
	ok $? "$size Devices: a device's details wrapped, not cut"
	tm send-keys -t "t$s" 4 u
	see "no shared database"
	joined | grep -q "no shared database: set NESTVISOR_COMPAT_URL or compat_url in nestvisor.conf"
	ok $? "$size: a long message is wrapped whole above the function keys"
	tm send-keys -t "t$s" 5
	see "Every screen"
	joined | grep -q "F2 Tab next screen (Shift-Tab: the one before); 1-5 or a click: that one" &&
		joined | grep -q "Launch form: Up Down Tab move, ^O browse, ^U clear, F7 launch, Esc cancel"
	ok $? "$size Help: each key's line whole (wrapped where it must be)"
	tm send-keys -t "t$s" 3 F7
	see "launch a VM"
	! screen | grep -q "NAME .*PID .*STATE" && screen | grep -q "Enter or F7 launches (from any field); Esc cancels"
	ok $? "$size VMs: the launch form has the body to itself"
	tm send-keys -t "t$s" C-o
	see "choose a file in"
	! screen | grep -q "Memory  *128M" && screen | grep -q "Esc closes"
	ok $? "$size: the file picker covers the form, nothing of it shows through"
	tm send-keys -t "t$s" Escape Escape q
	tm kill-session -t "t$s"
done
start "NESTVISOR_DB=$(mktemp -u) $NV tui --replay $F"
tm resize-window -t "t$s" -x 40 -y 10
see "terminal too small"
joined | grep -q "terminal too small (needs 80x24, is 40x10)"; ok $? "40x10: the too-small message whole, wrapped"
tm send-keys -t "t$s" q
tm kill-session -t "t$s"

# u on the Reports screen submits to a real PostgreSQL server, showing progress and the result
. "$S/scripts/pg-temp.sh"
pg=$(mktemp -d /tmp/nv-tui-pg.XXXXXX)
if pg_temp_start "$pg"; then
	db=$(mktemp -d /tmp/nv-tui-db.XXXXXX)
	NESTVISOR_DB=$db/c.db "$NV" probe --no-run >/dev/null 2>&1
	NESTVISOR_DB=$db/c.db "$NV" probe >/dev/null 2>&1	# other facts: a second report
	"$NV" db init --to "$PG_URL" >/dev/null 2>&1
	start "NESTVISOR_DB=$db/c.db NESTVISOR_COMPAT_URL=$PG_URL $NV tui --replay $H"
	see "Hardware-accelerated VMs"
	tm send-keys -t "t$s" Tab Tab Tab
	see "REPORT .*CREATED"
	tm send-keys -t "t$s" u
	see "2 queued: 2 sent, 0 already there"; ok $? "u submits both reports to the shared database"
	tm send-keys -t "t$s" u
	see "0 queued: 0 sent, 0 already there"; ok $? "u again: nothing left to send"
	tm send-keys -t "t$s" q
	pg_temp_stop
	NESTVISOR_DB=$db/c.db "$NV" probe --no-run >/dev/null 2>&1
	start "NESTVISOR_DB=$db/c.db NESTVISOR_COMPAT_URL=$PG_URL $NV tui --replay $H"
	see "Hardware-accelerated VMs"
	tm send-keys -t "t$s" 4 u
	see "1 queued: 0 sent, 0 already there; 1 still queued: could not reach the shared"; ok $? "the server gone: the report stays queued, and it says why"
	tm send-keys -t "t$s" q
	rm -rf "$db"
else
	for t in 1 2 3; do n=$((n + 1)); echo "ok $n # SKIP $PG_WHY"; done
fi
rm -rf "$pg"
[ $fails = 0 ]
