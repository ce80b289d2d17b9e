#!/bin/sh
# svmhost-exits: one port-write exit's round trip in the AMD-V test host (tests/svmhost), whose clocksource is
# HPET (a clock_gettime there costs about 1.5 us): nestvisor against a bare KVM_RUN loop (bench/kvmloop, the
# floor) and, given OLD (another nestvisor binary, e.g. built from an earlier commit), against that one: medians of
# 3, the ratios nestvisor / bare loop and nestvisor / OLD (below 1: faster).
#   make bench/kvmloop && NV_BUILDDIR=build sh bench/svmhost-exits.sh [OLD]
set -u
S=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$S}
OLD=${1:-}
out=$B/tests/svmhost-bench-exits
[ -x "$B/bench/kvmloop" ] || { echo "svmhost-exits: $B/bench/kvmloop missing: make bench/kvmloop" >&2; exit 2; }
[ -z "$OLD" ] || [ -x "$OLD" ] || { echo "svmhost-exits: $OLD is not a program" >&2; exit 2; }
# under the build directory: the test host mounts its own /tmp over one given there
if [ -n "$OLD" ]; then cp "$OLD" "$B/bench/nestvisor-before" && OLD=$B/bench/nestvisor-before; fi
SVMHOST_EXTRA="$B/bench/kvmloop $OLD" NV_SRCDIR=$S NV_BUILDDIR=$B sh "$S/tests/svmhost/run.sh" --out "$out" \
	--timeout 900 --cmd "sh /svmhost/b-exits.sh $B/bench/kvmloop $OLD" 2>/dev/null | grep '^bench\|^clock' |
	tee "$out.txt"
awk -v old="$OLD" 'function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n ? a[int((n + 1) / 2)] : 0
	}
	$1 == "bench:" { v[$2] = v[$2] " " $4 }
	END {
		b = med(v["bare"]); n = med(v["nestvisor"]); o = med(v["before"])
		if (!b || !n) { print "svmhost-exits: a run failed (see tests/svmhost-bench-exits)"; exit 1 }
		printf "port-write exit round trip (medians of 3): bare loop %.3f us, nestvisor %.3f us: ratio %.3f\n", b, n, n / b
		if (o) printf "  before (%s) %.3f us: nestvisor / before %.3f\n", old, o, n / o
	}' "$out.txt"
