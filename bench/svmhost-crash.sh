#!/bin/sh
# svmhost-crash: how often a guest dies before its end, counted, in the AMD-V test host (tests/svmhost): Debian's
# kernel flooding its serial port, and a nested guest flooding a port with writes, each RUNS times under
# nestvisor (KASLR, nokaslr, --no-unpack) and under QEMU as the guest's VMM in the same host. A freeze or a kernel
# panic of the emulated host ends that boot: it is counted, and the runs left go on in a new boot.
#   NV_BUILDDIR=build sh bench/svmhost-crash.sh [RUNS] [CONFIG...]   CONFIG: HOW:WHAT[:SIZE], e.g. nv:serial:1024
# Prints every run as it ends (crash: HOW WHAT RUN RESULT SECONDS), then a table of counts per configuration.
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
out=$B/tests/svmhost-crash
RUNS=${1:-20}
[ $# -gt 0 ] && shift
CONFIGS=${*:-nv:serial nokaslr:serial nounpack:serial qemu:serial nv:portflood qemu:portflood}
mkdir -p "$out" || exit 1
all=$out/runs.txt
: > "$all"
for c in $CONFIGS; do
	how=${c%%:*} rest=${c#*:} what=${rest%%:*} size=
	[ "$rest" != "$what" ] && size=${rest#*:}
	next=1 boots=0
	while [ $next -le "$RUNS" ] && [ $boots -lt 10 ]; do
		boots=$((boots + 1))
		o=$out/$how-$what-$boots
		NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$o" --timeout 5400 \
			--cmd "sh /svmhost/b-crash.sh $how $what $next $RUNS $size" > "$o.txt" 2>/dev/null
		grep '^\(crash\|# \)' "$o.txt"
		grep '^crash: ' "$o.txt" >> "$all"
		done_runs=$(grep -c "^crash: $how $what " "$o.txt")
		next=$((next + done_runs))
		grep -q "^crash-end: $how $what" "$o.txt" && break
		why="froze or stopped"
		p=$(grep -o 'Kernel panic - not syncing: .*' "$o/console.log" 2>/dev/null | head -n 1)
		[ -n "$p" ] && why="kernel panicked ($p)"
		echo "crash: $how $what $next emulator $why" | tee -a "$all"
		next=$((next + 1))	# the run the host died in is counted as that run
	done
done
echo
awk '$1 == "crash:" { k = $2 " " $3; n[k]++; r[k, $5]++; keys[k] = 1; res[$5] = 1 }
	END {
		printf "%-22s %5s", "configuration", "runs"
		for (x in res) printf " %13s", x
		print ""
		for (k in keys) {
			printf "%-22s %5d", k, n[k]
			for (x in res) printf " %13d", r[k, x]
			print ""
		}
	}' "$all"
