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
trap 'tm kill-server 2>/dev/null' EXIT
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

echo "1..23"
start "$NV tui --replay $H"
see "Hardware-accelerated VMs: yes"; ok $? "the Host screen shows the summary"
see "APICv / AVIC *WARN"; ok $? "every check is listed with its status"
tm send-keys -t "t$s" F3
see "10de:2204 GA102"; ok $? "F3 shows the devices"
screen | grep -q "0b:00.0.*nvidia.*14.*not-ready"; ok $? "a device row: address, driver, IOMMU group, verdict"
tm send-keys -t "t$s" / n v i d Enter
see "1 device(s)"; ok $? "/ searches"
tm send-keys -t "t$s" Enter
see "IOMMU group 14 also holds 02:00.0 (USB controller"; ok $? "Enter shows the device's details: why it is not ready"
tm send-keys -t "t$s" F1
see "F10 q     quit"; ok $? "F1 lists every key"
tm resize-window -t "t$s" -x 60 -y 15
see "terminal too small (needs 80x24, is 60x15)"; ok $? "60x15 says the terminal is too small"
tm resize-window -t "t$s" -x 100 -y 30
see "1 Host .*2 Devices"; ok $? "100x30 lays the screen out again"
tm send-keys -t "t$s" q
see "TUI-ENDED"; ok $? "q quits"
see "icanon echo"; ok $? "the terminal is sane afterwards (icanon, echo)"

start "NO_COLOR=1 $NV tui --replay $H"
see "Hardware-accelerated VMs"
tm capture-pane -t "t$s" -p -e | grep -q "$(printf '\033')\[3[1-7]m"; [ $? = 1 ]; ok $? "NO_COLOR: no colors"
tm send-keys -t "t$s" F10
start "$NV tui"
see "software KVM\|Hardware-accelerated VMs"; ok $? "the live host probes without freezing the screen"
pid=$(pgrep -f "^$NV tui\$" | head -1)
kill -TERM "$pid" 2>/dev/null
see "icanon echo"; ok $? "a fatal signal still restores the terminal"

# the Reports screen: two reports of this host (one tested, one not), their difference, an export
db=$(mktemp -d /tmp/nv-tui-db.XXXXXX)
NESTVISOR_DB=$db/c.db "$NV" probe >/dev/null 2>&1
NESTVISOR_DB=$db/c.db "$NV" probe --no-run >/dev/null 2>&1
start "cd $db && NESTVISOR_DB=$db/c.db $NV tui --replay $H"
see "Hardware-accelerated VMs"
tm send-keys -t "t$s" F9
see "REPORT .*CREATED .*HW VMS"
rows() { screen | grep -c '^ . [0-9a-f]\{8\} .*20[0-9][0-9]-[01][0-9]-[0-3][0-9]T'; }
i=0; while [ "$(rows)" != 2 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done	# tmux may show half a redraw
[ "$(rows)" = 2 ]; ok $? "F9 lists the two reports recorded on this machine"
tm send-keys -t "t$s" " " Down " " d
see "kvm.run .*not run (--no-run)"; ok $? "Space marks two, d shows what changed between them"
tm send-keys -t "t$s" x
see "exported to nestvisor-report-"; ok $? "x exports the selected report"
tm send-keys -t "t$s" q
rm -rf "$db"

# the VMs screen: launch the project's test guest from the form, watch it, pause it, stop it
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	rt=$(mktemp -d /tmp/nv-tui-rt.XXXXXX)
	start "cd $(cd "$B" && pwd) && XDG_RUNTIME_DIR=$rt $NV tui --replay $H"
	see "Hardware-accelerated VMs"
	tm send-keys -t "t$s" F7
	see "kernel (a multiboot"
	tm send-keys -t "t$s" "tests/guests/portloop.elf" Enter "count=1000000000" Enter Enter Enter
	see "launched vm-"; ok $? "F7: the launch form starts the test guest as its own process"
	see "running .*128M"; ok $? "the VMs screen lists it (found through its control socket)"
	see "exits, [0-9]*/s now"; ok $? "the statistics panel shows exits per second"
	see "0x0080 post .*#"; ok $? "the busiest port, with a bar"
	tm send-keys -t "t$s" p
	see " paused "; ok $? "p pauses it"
	tm send-keys -t "t$s" k y
	see "no VMs running"; ok $? "k and y stop it, and it leaves the list"
	tm send-keys -t "t$s" q
	rm -rf "$rt"
else
	for t in 1 2 3 4 5 6; do n=$((n + 1)); echo "ok $n # SKIP /dev/kvm is not usable here"; done
fi
[ $fails = 0 ]
