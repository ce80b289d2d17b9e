#!/bin/sh
# run-integration: the nestvisor command line as a user meets it (exit statuses, help, replay), as TAP.
B=${NV_BUILDDIR:-.}/nestvisor
D=${NV_SRCDIR:-.}/tests/data/hosts
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
status() { "$@" >/dev/null 2>&1; echo $?; }

echo "1..12"
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
[ $fails = 0 ]
