#!/bin/sh
# bench/compatdb: 10,000 reports of 20 devices each imported into SQLite, then submitted to PostgreSQL, and
# the fleet's device-verdict question timed over them. Prints reports per second and query latency.
# Usage: bench/compatdb.sh [N] (default 10000). Needs the PostgreSQL server binaries for the second half.
set -u
N=${1:-10000}
top=$(cd "$(dirname "$0")/.." && pwd)
NV=${NV_BUILDDIR:-$top}/nestvisor
T=$(mktemp -d /tmp/nv-bench.XXXXXX)
trap 'command -v pg_temp_stop >/dev/null && pg_temp_stop; rm -rf "$T"' EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
best_of_5() {	# the fastest of five runs, in ms, process start included
	best=999999
	for i in 1 2 3 4 5; do
		s=$(ms); "$@" > /dev/null; e=$(ms)
		[ $((e - s)) -lt $best ] && best=$((e - s))
	done
	echo $best
}

# one real report with its devices replaced by 20 generated ones, then N copies with their own UUID and host
"$NV" probe --replay "$top/tests/data/hosts/gpu-group-shared-usb" --json > "$T/probe.json"
awk -v n="$N" -v dir="$T" '
	BEGIN { RS = "\0" }
	{
		doc = $0
		sub(/"devices":\[.*\]\n?\}[ \n]*$/, "", doc)
		devs = ""
		for (d = 0; d < 20; d++)
			devs = devs sprintf("%s{\"address\":\"0000:%02x:00.0\",\"id\":\"8086:%04x\",\"subsystem\":\"8086:0000\",\"class\":\"0200\",\"class_name\":\"Ethernet controller\",\"vendor_name\":\"Intel Corporation\",\"device_name\":\"NIC %d\",\"revision\":1,\"driver\":\"%s\",\"iommu_group\":%d,\"verdict\":\"%s\",\"reason\":\"r\",\"paravirtual_alternative\":\"virtio-net\"}",
				d ? "," : "", d + 1, 0x1500 + d, d, d % 3 ? "ixgbe" : "vfio-pci", d, d % 2 ? "ready" : "not-ready")
		for (i = 0; i < n; i++) {
			f = sprintf("%s/r%05d.json", dir, i)
			printf "{\"nestvisor_report\":1,\"uuid\":\"00000000-0000-4000-8000-%012d\",\"created\":\"2026-11-%02dT%02d:%02d:%02d.000Z\",\"host_id\":\"bench-host-%d\",\"probe\":%s\"devices\":[%s]}}\n", i, 1 + int(i / 86400), int(i / 3600) % 24, int(i / 60) % 60, i % 60, i % 2000, doc, devs > f
			close(f)
		}
	}' "$T/probe.json"

echo "== SQLite: import $N reports of 20 devices"
t0=$(ms)
"$NV" report import --db "$T/c.db" "$T"/r*.json > "$T/import.log" 2>&1
t1=$(ms)
ok=$(grep -c "imported report" "$T/import.log")
printf "  %s reports in %d ms: %d reports/s   (target >= 5000)\n" "$ok" $((t1 - t0)) $((ok * 1000 / (t1 - t0 + 1)))
best=$(best_of_5 "$NV" db devices --db "$T/c.db" --verdict ready --json)
printf "  device-verdict query (db devices --verdict ready) over %s reports: %d ms, process start included   (target < 50)\n" "$ok" $best

. "$top/scripts/pg-temp.sh"
if pg_temp_start "$T"; then
	echo "== PostgreSQL: submit them"
	"$NV" db init --to "$PG_URL" >/dev/null
	t0=$(ms)
	"$NV" report submit --db "$T/c.db" --to "$PG_URL"
	t1=$(ms)
	printf "  %d reports/s\n" $((ok * 1000 / (t1 - t0 + 1)))
	best=$(best_of_5 "$NV" db devices --to "$PG_URL" --verdict ready --json)
	printf "  device-verdict query over %s reports: %d ms\n" "$ok" $best
else
	echo "== PostgreSQL: skipped: $PG_WHY"
fi
