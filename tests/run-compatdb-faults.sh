#!/bin/sh
# run-compatdb-faults: the local database under kill -9, a full disk and a read-only file system: no report
# is lost or half-written, and the message says what happened. TAP.
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
T=$(mktemp -d /tmp/nv-faults.XXXXXX)
trap 'umount "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
reports() { "$NV" report list --db "$1" --json 2>/dev/null | grep -c '"report"'; }
# every report whole: as many checks as the first report has, and the file intact
# (a second argument "?immutable=1" for a full or read-only disk, where WAL cannot create its -shm file;
# elsewhere a normal open, so a WAL left by a killed writer is recovered first)
whole() {
	sqlite3 "file:$1${2:-}" "PRAGMA integrity_check" 2>/dev/null | grep -qx ok || return 1
	[ "$(sqlite3 "file:$1${2:-}" 'SELECT count(DISTINCT c) FROM (SELECT count(*) AS c FROM checks GROUP BY report)')" -le 1 ]
}
command -v sqlite3 >/dev/null 2>&1 || { echo "1..0 # SKIP the sqlite3 shell is not installed"; exit 0; }

echo "1..10"
D=$T/k.db
"$NV" probe --db "$D" --no-run >/dev/null 2>&1
id=$("$NV" report list --db "$D" --json | sed -n 's/.*"report":"\([^"]*\)".*/\1/p' | head -1)
"$NV" report export --db "$D" "$id" -o "$T/x.json"
sed 's/"uuid":"[^"]*"/"uuid":"00000000-0000-4000-8000-0000000000aa"/' "$T/x.json" > "$T/y.json"
# killed for real (SIGKILL from tests/crashpoint.so, preloaded) with the report written, before its COMMIT
crash commit "$NV" report import --db "$D" "$T/y.json" >/dev/null 2>&1
[ $? = 137 ] && [ "$(reports "$D")" = 1 ] && whole "$D"; ok $? "killed inside an import: nothing of that report, the file intact"
out=$("$NV" report import --db "$D" "$T/y.json" 2>&1); has_two=$(reports "$D")
[ "$has_two" = 2 ] && whole "$D"; ok $? "the same import again succeeds: $out"

# a real kill -9 in the middle of a stream of imports
i=0
while [ $i -lt 60 ]; do
	sed "s/\"uuid\":\"[^\"]*\"/\"uuid\":\"00000000-0000-4000-8000-0000000001$(printf %02d $i)\"/" "$T/x.json" > "$T/z$i.json"
	i=$((i + 1))
done
( for f in "$T"/z*.json; do "$NV" report import --db "$D" "$f" >/dev/null 2>&1; done ) & pid=$!
sleep 0.3
kill -9 $pid 2>/dev/null	# the loop first, so it starts no new import; then whatever import was running
wait $pid 2>/dev/null
while pkill -9 -f "report import --db $D" 2>/dev/null; do sleep 0.05; done
whole "$D"; ok $? "kill -9 during imports: every report whole ($(reports "$D") in the file), integrity_check ok"

# kill -9 during one import of 2,500 files (committed every 1,000): no report it said it imported is missing
awk -v dir="$T/many" 'BEGIN { RS = "\001" } { for (i = 0; i < 2500; i++) { doc = $0
	sub(/"uuid" *: *"[^"]*"/, sprintf("\"uuid\":\"00000000-0000-4000-8000-%012d\"", 500000 + i), doc)
	f = sprintf("%s%04d.json", dir, i); printf "%s", doc > f; close(f) } }' "$T/x.json"
"$NV" report import --db "$D" "$T"/many*.json > "$T/said" 2>&1 & pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q "imported report" "$T/said" 2>/dev/null; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
# (the last line may be cut where the buffer was: whole UUIDs only)
sed -n 's/.*imported report \([0-9a-f-]\{36\}\)$/\1/p' "$T/said" > "$T/said-ids"
said=$(wc -l < "$T/said-ids")
missing=0
for u in $(cat "$T/said-ids"); do
	[ "$(sqlite3 "$D" "SELECT count(*) FROM reports WHERE uuid = '$u'")" = 1 ] || missing=$((missing + 1))
done
have=$(sqlite3 "$D" "SELECT count(*) FROM reports WHERE uuid LIKE '00000000-0000-4000-8000-0000005%'")
[ "$said" -gt 0 ] && [ $missing = 0 ] && case $have in 1000|2000|2500) true ;; *) false ;; esac && whole "$D"
ok $? "kill -9 inside a 2,500-file import: $said said imported, $missing of them missing, $have in the file (whole batches)"

# a full disk, then a read-only file system
mkdir -p "$T/mnt"
if mount -t tmpfs -o size=512k tmpfs "$T/mnt" 2>/dev/null; then
	F=$T/mnt/compat.db
	"$NV" probe --db "$F" --no-run >/dev/null 2>&1
	answer=$?	# the probe's own answer about this host (1 where a check FAILs, as without KVM)
	dd if=/dev/zero of="$T/mnt/fill" bs=4096 >/dev/null 2>&1
	out=$("$NV" probe --db "$F" --no-run 2>&1 >/dev/null); rc=$?
	printf '%s' "$out" | grep -q "not recorded:.*disk is full"; ok $? "a full disk: the probe says so: $(echo "$out" | tail -1 | cut -c1-110)"
	[ $rc = $answer ] && [ "$(reports "$F")" = 1 ] && whole "$F" "?immutable=1"
	ok $? "the probe's answer stands (exit status $rc, as before: $answer) and the earlier report is intact"
	rm -f "$T/mnt/fill"
	# with the functional check this time: other facts than the last report's, so a new report
	# (the same facts would only be marked as seen again)
	"$NV" probe --db "$F" >/dev/null 2>&1
	[ "$(reports "$F")" = 2 ]; ok $? "with space again, the next probe is recorded"
	# the disk fills in the middle of a many-file import: what it says it imported is there; the rest is named
	G=$T/mnt/many.db
	"$NV" report import --db "$G" "$T"/many000*.json "$T"/many001*.json "$T"/many002*.json > "$T/said2" 2> "$T/err2"
	sed -n 's/.*imported report \([0-9a-f-]\{36\}\)$/\1/p' "$T/said2" > "$T/said2-ids"
	missing=0
	for u in $(cat "$T/said2-ids"); do
		[ "$(sqlite3 "file:$G?immutable=1" "SELECT count(*) FROM reports WHERE uuid = '$u'")" = 1 ] || missing=$((missing + 1))
	done
	have=$(sqlite3 "file:$G?immutable=1" "SELECT count(*) FROM reports" 2>/dev/null || echo 0)
	[ $missing = 0 ] && [ "$(wc -l < "$T/said2-ids")" = "$have" ] && [ "$have" -lt 30 ] && grep -q "disk is full" "$T/err2"
	ok $? "the disk full mid-import: $(wc -l < "$T/said2-ids") said imported, $have in the file, the rest named: $(head -1 "$T/err2" | cut -c1-80)"
	rm -f "$G" "$G-wal" "$G-shm"
	mount -o remount,ro "$T/mnt"
	out=$("$NV" probe --db "$F" --no-run 2>&1 >/dev/null)
	printf '%s' "$out" | grep -q "not recorded:.*read-only"; ok $? "a read-only database: said plainly: $(echo "$out" | tail -1 | cut -c1-110)"
	[ "$(reports "$F")" = 2 ]; ok $? "and the reports are still readable"
else
	for t in 1 2 3 4 5 6; do skip "cannot mount a small tmpfs here (not root?)"; done
fi
[ $fails = 0 ]
