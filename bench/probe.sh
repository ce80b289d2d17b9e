#!/bin/sh
# bench/probe: median wall time of `nestvisor probe` (functional KVM check included) against kvm-ok and
# virt-host-validate on this machine, as ratios. Usage: bench/probe.sh [RUNS] (default 21).
set -u
RUNS=${1:-21}
top=$(cd "$(dirname "$0")/.." && pwd)
NV=${NESTVISOR:-$top/nestvisor}
[ -x "$NV" ] || { echo "bench/probe: build nestvisor first (make), or set NESTVISOR" >&2; exit 2; }
PATH=$PATH:/usr/sbin:/sbin

# median_ms CMD...: runs CMD RUNS times (output discarded), prints the median wall time in ms
median_ms() {
	i=0
	while [ $i -lt "$RUNS" ]; do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		echo $(( (e - s) / 1000 ))
		i=$((i + 1))
	done | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f\n", a[int((NR + 1) / 2)] / 1000 }'
}

if command -v hyperfine >/dev/null 2>&1; then	# precise: no shell, no date(1) around each run
	median_ms() {
		hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json /tmp/nv-bench.$$ "$*" >/dev/null 2>&1
		awk -F': ' '/"median"/ { gsub(/,/, "", $2); printf "%.2f\n", $2 * 1000; exit }' /tmp/nv-bench.$$
		rm -f /tmp/nv-bench.$$
	}
fi
# a database of the bench's own: the runs after the first are "seen again", as a host probed
# twice is
db=$(mktemp -d /tmp/nv-bench-probe.XXXXXX)
trap 'rm -rf "$db"' EXIT
nv=$(median_ms "$NV" probe --db "$db/c.db")
nv_json=$(median_ms "$NV" probe --json --db "$db/c.db")
printf "%-44s %8s ms\n" "nestvisor probe (guest run and record)" "$nv"
printf "%-44s %8s ms\n" "nestvisor probe --json" "$nv_json"
# where the time goes: each part is the difference of two runs
start=$(median_ms "$NV" --version)
facts=$(median_ms "$NV" probe --no-run --no-record)
run=$(median_ms "$NV" probe --no-record)
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
printf "  %-42s %8s ms\n" "process start (nestvisor --version)" "$start"
printf "  %-42s %8s ms\n" "+ the host's facts (--no-run --no-record)" "$(minus "$facts" "$start")"
printf "  %-42s %8s ms\n" "+ the guest run (--no-record)" "$(minus "$run" "$facts")"
printf "  %-42s %8s ms\n" "+ the record" "$(minus "$nv" "$run")"
for peer in kvm-ok "virt-host-validate qemu"; do
	bin=${peer%% *}
	if ! command -v "$bin" >/dev/null 2>&1; then
		echo "$bin: not installed (apt-get install cpu-checker libvirt-clients); skipped"
		continue
	fi
	# shellcheck disable=SC2086
	t=$(median_ms $peer)
	printf "%-44s %8s ms   nestvisor/peer = %s\n" "$peer" "$t" "$(awk -v a="$nv" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
done
echo "median of $RUNS runs each; target: nestvisor probe <= 0.4 x virt-host-validate (issue 16)"
