#!/bin/sh
# bench/vmm: nestvisor's VMM against the floor (a bare KVM_RUN loop, bench/kvmloop.c) and QEMU, in one run:
#   1. exit round trip: a multiboot guest making N port writes from ring 3 (tests/guests/portloop.elf)
#   2. start to first serial byte, and start to exit, of a hello-world (tests/guests/hello.elf)
#   3. peak RSS beyond the guest RAM actually touched, for a 128 MiB guest
# Usage: make bench && bench/vmm.sh [N] (default 1000000). Needs /dev/kvm; QEMU is optional.
set -u
N=${1:-1000000}
top=$(cd "$(dirname "$0")/.." && pwd)
B=${NV_BUILDDIR:-$top}
NV=$B/nestvisor G=$B/tests/guests
for f in "$NV" "$B/bench/kvmloop" "$B/bench/firstbyte" "$G/portloop.elf" "$G/hello.elf"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "bench/vmm: $f missing: run \`make bench\` first" >&2; exit 2; }
done
QEMU=$(command -v qemu-system-x86_64 || true)
qemu() {	# QEMU as our environment notes say it runs here: qemu64 CPU, under timeout (it pauses on failures)
	timeout 300 "$QEMU" -accel kvm -cpu qemu64 -m 128 -nodefaults -display none \
		-device isa-debug-exit,iobase=0xf4,iosize=4 "$@"
}
secs() { s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }	# microseconds
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "== 1. exit round trip: $N port writes to 0x80 from ring 3"
bare=$("$B/bench/kvmloop" "$G/portloop.elf" "x count=$N" | awk '{ print $(NF-3) }')
t1=$(secs "$NV" run --console none --kernel "$G/portloop.elf" --cmdline count=1)
tn=$(secs "$NV" run --console none --kernel "$G/portloop.elf" --cmdline count="$N")
nv=$(awk -v a="$tn" -v b="$t1" -v n="$N" 'BEGIN { printf "%.3f", (a - b) / n }')
printf "  %-34s %8s us per exit\n" "bare KVM_RUN loop (the floor)" "$bare" "nestvisor run" "$nv"
printf "  nestvisor / bare loop = %s   (target <= 1.05)\n" "$(ratio "$nv" "$bare")"
if [ -n "$QEMU" ]; then
	q1=$(secs qemu -serial none -kernel "$G/portloop.elf" -append count=1)
	qn=$(secs qemu -serial none -kernel "$G/portloop.elf" -append count="$N")
	qe=$(awk -v a="$qn" -v b="$q1" -v n="$N" 'BEGIN { printf "%.3f", (a - b) / n }')
	printf "  %-34s %8s us per exit\n" "QEMU $("$QEMU" --version | head -1 | awk '{ print $4 }')" "$qe"
	printf "  nestvisor / QEMU = %s   (target <= 1)\n" "$(ratio "$nv" "$qe")"
fi

echo "== 2. start to first serial byte and to exit (hello world), median of 11"
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
runs() { i=0; while [ $i -lt 11 ]; do "$B/bench/firstbyte" "$@"; i=$((i + 1)); done; }
out=$(runs "$NV" run --console stdio --kernel "$G/hello.elf" </dev/null)
nv_first=$(echo "$out" | awk '{ print $1 }' | med) nv_exit=$(echo "$out" | awk '{ print $2 }' | med)
printf "  %-34s first byte %8s ms, exit %8s ms   (target: first byte < 5 ms)\n" "nestvisor run" "$nv_first" "$nv_exit"
if [ -n "$QEMU" ]; then
	out=$(i=0; while [ $i -lt 3 ]; do "$B/bench/firstbyte" timeout 300 "$QEMU" -accel kvm -cpu qemu64 -m 128 \
		-nodefaults -display none -device isa-debug-exit,iobase=0xf4,iosize=4 -serial stdio \
		-kernel "$G/hello.elf" </dev/null; i=$((i + 1)); done)
	q_first=$(echo "$out" | awk '{ print $1 }' | med) q_exit=$(echo "$out" | awk '{ print $2 }' | med)
	printf "  %-34s first byte %8s ms, exit %8s ms (median of 3)\n" "QEMU" "$q_first" "$q_exit"
	printf "  QEMU / nestvisor, start to exit = %s   (target >= 200)\n" "$(ratio "$q_exit" "$nv_exit")"
fi

echo "== 3. peak RSS beyond guest RAM touched (128 MiB guest)"
st=$( { /usr/bin/time -f "RSS %M" "$NV" run --console none --stats --kernel "$G/hello.elf" --mem 128M; } 2>&1 )
rss=$(echo "$st" | awk '/^RSS/ { print $2 }')
touched=$(echo "$st" | awk '/guest RAM touched/ || /KiB of it touched/ { for (i = 1; i < NF; i++) if ($(i+1) == "KiB") print $i }' | head -1)
printf "  nestvisor: peak RSS %s KiB, guest RAM touched %s KiB: %s KiB beyond   (target < 3072)\n" \
	"$rss" "$touched" "$((rss - touched))"
if [ -n "$QEMU" ]; then
	q=$( { /usr/bin/time -f "RSS %M" timeout 300 "$QEMU" -accel kvm -cpu qemu64 -m 128 -nodefaults -display none \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -serial none -kernel "$G/hello.elf"; } 2>&1 | awk '/^RSS/ { print $2 }')
	printf "  QEMU: peak RSS %s KiB\n" "$q"
fi
