# b-exits.sh: not a test: bench/svmhost-exits.sh runs it. One port-write exit's round trip from ring 3
# (tests/guests/portloop.elf, N writes to port 0x80, less a run of 1), 3 runs each: a bare KVM_RUN loop
# (bench/kvmloop, the floor), this nestvisor, and another nestvisor when given (an earlier build: before a change).
# Prints "bench: WHO RUN US" and what timed the exits ("clock: ...").
KVMLOOP=$1 OLD=${2:-}
N=200000
G=/nv/tests/guests
us() { awk '{ printf "%d", $1 * 1000000 }' /proc/uptime; }	# busybox's date has no %N
per_exit() {
	t0=$(us); "$1" run --console none --kernel $G/portloop.elf --cmdline count=1 > /dev/null 2>&1; t1=$(us)
	"$1" run --console none --kernel $G/portloop.elf --cmdline count=$N > /dev/null 2>&1; t2=$(us)
	awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) -v n=$N 'BEGIN { printf "%.3f", (b - a) / n }'
}
echo "clock: host clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \
	"$(nestvisor run --console none --kernel $G/portloop.elf --cmdline count=10 --stats 2>&1 |
		sed -n 's/.*(timed by \(.*\))$/exits timed by \1/p')"
for run in 1 2 3; do
	echo "bench: bare $run $($KVMLOOP $G/portloop.elf "x count=$N" | awk '{ print $(NF-3) }')"
	echo "bench: nestvisor $run $(per_exit nestvisor)"
	[ -n "$OLD" ] && echo "bench: before $run $(per_exit "$OLD")"
done
