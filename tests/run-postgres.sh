#!/bin/sh
# run-postgres: the shared compatibility database against a real PostgreSQL server, started here on a
# loopback port in a temporary cluster as an unprivileged user (PostgreSQL refuses root). TAP.
set -u
B=${NV_BUILDDIR:-.}
NV="$B/nestvisor"
# crash POINT CMD...: CMD with tests/crashpoint.so preloaded, killed by SIGKILL at POINT (see crashpoint.c)
crash() {
	point=$1
	shift
	NV_CRASH_AT=$point LD_PRELOAD="$B/tests/crashpoint.so${LD_PRELOAD:+:$LD_PRELOAD}" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
. "${NV_SRCDIR:-.}/scripts/pg-temp.sh"
T=$(mktemp -d /tmp/nv-pg.XXXXXX)
# the server's own directory (it becomes postgres's); our databases stay in T, which is ours alone
chmod 755 "$T" && mkdir "$T/pg"
pg_temp_start "$T/pg" || { echo "1..0 # SKIP $PG_WHY"; rm -rf "$T"; exit 0; }
trap 'pg_temp_stop; rm -rf "$T"' EXIT
URL=$PG_URL bin=$PG_BIN
psql_n() { "$bin/psql" -X -A -t -q -d "$URL" -c "$1" 2>&1; }
unset NESTVISOR_COMPAT_URL
n=0 fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
has() { printf '%s' "$1" | grep -q -- "$2"; }

echo "1..26"
out=$("$NV" db init --to "$URL" 2>&1); ok $? "db init creates the shared schema: $out"
out=$("$NV" db init --to "$URL" 2>&1); ok $? "db init again is harmless"
[ "$(psql_n 'SELECT version FROM nestvisor_schema')" = 2 ]; ok $? "the shared schema is versioned (2)"

A=$T/a.db
# probes alternate with and without the functional check: each finds other facts than the last
# report, so each is a new report (the same facts again are that report seen again)
"$NV" probe --db "$A" --no-run >/dev/null 2>&1
"$NV" probe --db "$A" >/dev/null 2>&1
id=$("$NV" report list --db "$A" --json | sed -n 's/.*"report":"\([^"]*\)".*/\1/p' | head -1)
"$NV" report export --db "$A" "$id" -o "$T/x.json"
sed 's/"host_id":"[^"]*"/"host_id":"other-host-b"/; s/"uuid":"[^"]*"/"uuid":"00000000-0000-4000-8000-00000000000b"/' \
	"$T/x.json" > "$T/b.json"
"$NV" report import --db "$A" "$T/b.json" >/dev/null
out=$("$NV" report submit --db "$A" --to "$URL" 2>&1); has "$out" "3 report(s) queued: 3 sent, 0 already there"; ok $? "submit sends 3 reports: $out"
[ "$(psql_n 'SELECT count(*) FROM reports')" = 3 ] && [ "$(psql_n 'SELECT count(DISTINCT host_id) FROM reports')" = 2 ]
ok $? "the shared database holds 3 reports of 2 hosts"
out=$("$NV" report submit --db "$A" --to "$URL" 2>&1); has "$out" "0 report(s) queued"; ok $? "a second submit sends nothing"

# the crash window: killed after the remote commit, before the local mark
"$NV" probe --db "$A" --no-run >/dev/null 2>&1
crash mark "$NV" report submit --db "$A" --to "$URL" >/dev/null 2>&1	# SIGKILL from tests/crashpoint.so
[ $? = 137 ]; ok $? "a submit killed (SIGKILL) between the remote commit and the local mark"
out=$("$NV" report submit --db "$A" --to "$URL" 2>&1); has "$out" "1 report(s) queued: 0 sent, 1 already there"
ok $? "the next submit finds it already there: $out"
[ "$(psql_n 'SELECT count(*) FROM reports')" = 4 ]; ok $? "exactly once: 4 reports, no duplicate"

# an unreachable server: nothing lost, the report stays queued
"$NV" probe --db "$A" >/dev/null 2>&1
out=$("$NV" report submit --db "$A" --to "postgresql://nv@127.0.0.1:1/postgres" 2>&1); rc=$?
[ $rc != 0 ] && has "$out" "could not reach the shared database" && has "$out" "1 still queued"
ok $? "an unreachable server is named and the report stays queued: $(echo "$out" | tail -1)"
out=$(NESTVISOR_COMPAT_URL="$URL" "$NV" report submit --db "$A" 2>&1); has "$out" "1 sent"; ok $? "it is sent later (URL from NESTVISOR_COMPAT_URL)"

# libpq is loaded when needed, not linked: a probe never pays for it, and its absence is named
! ldd "$NV" | grep -q libpq; ok $? "nestvisor is not linked with libpq ($(ldd "$NV" | wc -l) libraries)"
"$NV" probe --db "$A" --no-run >/dev/null 2>&1
out=$(NESTVISOR_LIBPQ=/nonexistent/libpq.so.5 "$NV" report submit --db "$A" --to "$URL" 2>&1); rc=$?
[ $rc != 0 ] && has "$out" "apt-get install libpq5" && has "$out" "1 still queued"
ok $? "without libpq a submit says what to install and the report stays queued: $(echo "$out" | head -1 | cut -c1-150)"
out=$("$NV" report submit --db "$A" --to "$URL" 2>&1); has "$out" "1 sent"; ok $? "with libpq back it is sent: $out"

# many hosts at once
i=0
while [ $i -lt 6 ]; do
	sed "s/\"host_id\":\"[^\"]*\"/\"host_id\":\"fleet-$i\"/; s/\"uuid\":\"[^\"]*\"/\"uuid\":\"00000000-0000-4000-8000-00000000010$i\"/" \
		"$T/x.json" > "$T/f$i.json"
	"$NV" report import --db "$T/f$i.db" "$T/f$i.json" >/dev/null
	i=$((i + 1))
done
for i in 0 1 2 3 4 5; do "$NV" report submit --db "$T/f$i.db" --to "$URL" > "$T/s$i.log" 2>&1 & done
wait
[ "$(cat "$T"/s*.log | grep -c '1 sent')" = 6 ] && [ "$(psql_n 'SELECT count(*) FROM reports')" = 12 ]
ok $? "6 hosts submitting at once: all 6 arrive, 12 reports in all"

out=$("$NV" db device 1af4:1041 --to "$URL" --json 2>&1)
has "$out" '"hosts": *8,'; ok $? "fleet question: a device model's hosts across the fleet: $(echo $out | tr -d '\n' | cut -c1-120)"
out=$("$NV" db stats --to "$URL" 2>&1); has "$out" "8 *12"; ok $? "fleet totals: $(echo "$out" | tail -1)"
out=$("$NV" db hosts --to "$URL" --json 2>&1)
has "$out" '"nested": *\(true\|false\),' && has "$out" '"reports": *[0-9]'
ok $? "the fleet's answers in JSON: a boolean as a boolean, a count as a number: $(echo $out | cut -c1-100)"

# What VMs did with passed-through devices (run --device records it as each VM ends: compat-db/passthrough.c)
# reaches the fleet too, each outcome once: two outcomes of a model the fleet's reports know, as an older
# nestvisor (schema 4, no uuid yet) left them in the local database
sqlite3 "$A" "INSERT INTO passthrough (host_id, at, address, vendor_device, kernel, outcome, how) VALUES
	('h', '2026-12-07T08:00:00Z', '0000:01:00.0', '1af4:1041', '6.1.0-test', 'worked', 'the guest drove it'),
	('h', '2026-12-07T08:05:00Z', '0000:01:00.0', '1af4:1041', '6.1.0-test', 'failed', 'device-lost')"
out=$("$NV" report submit --db "$A" --to "$URL" 2>&1)
has "$out" "2 passthrough outcome(s): 2 sent, 0 already there"; ok $? "submit sends the passthrough outcomes: $out"
[ "$(psql_n 'SELECT count(*) FROM passthrough')" = 2 ]; ok $? "the shared database holds both"
out=$("$NV" db device 1af4:1041 --to "$URL" --json 2>&1)
has "$out" '"passed_through": *1,' && has "$out" '"passthrough_failed": *1,' &&
	has "$out" '"worked_on_kernels": *"6.1.0-test"' && has "$out" '"last_failure": *"device-lost"'
ok $? "fleet question: a model's passthroughs across the fleet: $(echo $out | tr -d '\n' | sed 's/.*"passed_through"/"passed_through"/' | cut -c1-140)"
sqlite3 "$A" "INSERT INTO passthrough (host_id, at, address, vendor_device, kernel, outcome, how, uuid) VALUES
	('h', '2026-12-07T08:10:00Z', '0000:01:00.0', '1af4:1041', '6.1.0-test', 'worked', 'x', lower(hex(randomblob(16))))"
crash mark "$NV" report submit --db "$A" --to "$URL" >/dev/null 2>&1
[ $? = 137 ]; ok $? "a submit killed (SIGKILL) between the outcome's remote commit and its local mark"
out=$("$NV" report submit --db "$A" --to "$URL" 2>&1)
has "$out" "1 passthrough outcome(s): 0 sent, 1 already there"; ok $? "the next submit finds it already there: $out"
[ "$(psql_n 'SELECT count(*) FROM passthrough')" = 3 ]; ok $? "exactly once: 3 outcomes, no duplicate"

# a report the server refuses (bytes it cannot store as text, put there behind the import's back, as an older
# nestvisor could) is named, stays queued, and the others are sent (issue 12, 6)
C=$T/c.db
"$NV" probe --db "$C" --no-run >/dev/null 2>&1
"$NV" probe --db "$C" >/dev/null 2>&1
bad=$("$NV" report list --db "$C" --json | sed -n 's/.*"report":"\([^"]*\)".*/\1/p' | head -1)
sqlite3 "$C" "UPDATE checks SET evidence = CAST(X'ff66' AS TEXT) WHERE report = '$bad'"
out=$("$NV" report submit --db "$C" --to "$URL" 2>&1); rc=$?
[ $rc != 0 ] && has "$out" "report $bad was refused by the shared database" && has "$out" "1 sent" && has "$out" "1 refused"
ok $? "a report the server refuses is named, the other is sent: $(echo "$out" | tail -1)"
"$NV" report delete --db "$C" "$bad" >/dev/null && out=$("$NV" report submit --db "$C" --to "$URL" 2>&1) &&
	has "$out" "0 report(s) queued"
ok $? "report delete drops it, and the queue is clear: $out"
[ $fails = 0 ]
