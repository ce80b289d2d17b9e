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
		# probe --json ends with the id it was recorded under
		sub(/,[ \n]*"report":(null|"[^"]*")[ \n]*\}[ \n]*$/, "}", doc)
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

sync	# the generator's 127 MB would otherwise be written back during the timed import, and not during the peer's
echo "== SQLite: import $N reports of 20 devices"
t0=$(ms)
"$NV" report import --db "$T/c.db" "$T"/r*.json > "$T/import.log" 2>&1
t1=$(ms)
ok=$(grep -c "imported report" "$T/import.log")
printf "  %s reports in %d ms: %d reports/s   (target >= 5000)\n" "$ok" $((t1 - t0)) $((ok * 1000 / (t1 - t0 + 1)))
# the peer: SQLite alone (its shell, its JSON functions) putting the same rows from the same files into the same
# schema in one transaction, with no validation: what a hand-written import script would do
if command -v sqlite3 >/dev/null 2>&1; then
	ls "$T"/r*.json > "$T/files.txt"
	{ echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	  sqlite3 "$T/c.db" .schema | grep -v "^CREATE TABLE class_rules"
	  cat <<-'EOF'
		CREATE TEMP TABLE f(name TEXT);
		.import files.txt f
		BEGIN;
		CREATE TEMP TABLE raw AS SELECT readfile(name) AS j FROM f;
		INSERT INTO hosts SELECT j->>'host_id', NULL, j->>'created', j->>'created' FROM raw WHERE 1
		  ON CONFLICT (host_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen);
		INSERT INTO reports (uuid, host_id, created, nestvisor_version, schema_version, hw_virt, hw_virt_how, kvm_kind,
		  hypervisor, nested, iommu, worst, json)
		  SELECT j->>'uuid', j->>'host_id', j->>'created', j->>'$.probe.nestvisor_version', j->>'$.probe.schema_version',
		  j->>'$.probe.summary.hw_vms', j->>'$.probe.summary.hw_vms_how', j->>'$.probe.kvm.module',
		  j->>'$.probe.host.hypervisor', j->>'$.probe.summary.nested', j->>'$.probe.iommu.active',
		  j->>'$.probe.summary.worst', json(j->'probe') FROM raw;
		INSERT INTO checks SELECT r.j->>'uuid', c.value->>'id', c.value->>'status', c.value->>'evidence', c.value->>'fix'
		  FROM raw r, json_each(r.j, '$.probe.checks') c;
		INSERT INTO devices SELECT r.j->>'uuid', d.value->>'address', d.value->>'id', d.value->>'subsystem',
		  d.value->>'class', d.value->>'vendor_name', d.value->>'device_name', d.value->>'driver',
		  d.value->>'iommu_group', d.value->>'verdict', d.value->>'reason', d.value->>'paravirtual_alternative'
		  FROM raw r, json_each(r.j, '$.probe.devices') d;
		COMMIT;
		EOF
	} > "$T/peer.sql"
	t2=$(ms)
	(cd "$T" && sqlite3 p.db < peer.sql > /dev/null)
	t3=$(ms)
	peer=$(sqlite3 "$T/p.db" "SELECT count(*) FROM reports")
	printf "  peer: the sqlite3 shell's JSON functions, same rows: %s reports in %d ms: %d reports/s; nestvisor is %s x its speed\n" \
		"$peer" $((t3 - t2)) $((peer * 1000 / (t3 - t2 + 1))) \
		"$(awk -v a=$((t1 - t0)) -v b=$((t3 - t2)) 'BEGIN { printf "%.2f", b / a }')"
fi
best=$(best_of_5 "$NV" db devices --db "$T/c.db" --verdict ready --json)
printf "  device-verdict query (db devices --verdict ready) over %s reports: %d ms, process start included   (target < 50)\n" "$ok" $best

. "$top/scripts/pg-temp.sh"
chmod 755 "$T" && mkdir -p "$T/pg"	# the server's (it becomes postgres's); the databases stay in T, ours alone
if pg_temp_start "$T/pg"; then
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
