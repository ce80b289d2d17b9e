# pg-temp.sh: sourced by tests and benches: a throwaway PostgreSQL cluster on a loopback port, run as an
# unprivileged user (PostgreSQL refuses root). pg_temp_start DIR sets PG_URL and PG_BIN; pg_temp_stop.
pg_temp_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_temp_start() {
	PG_DIR=$1
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || PG_BIN=$(dirname "$(command -v initdb 2>/dev/null || echo /none/x)")
	[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || { PG_WHY="the PostgreSQL server binaries are not installed (apt-get install postgresql)"; return 1; }
	chmod 755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
	pg_temp_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U nv --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		{ PG_WHY="initdb failed (see $PG_DIR/initdb.log)"; return 1; }
	for p in $(( 20000 + $$ % 20000 )) $(( 21000 + $$ % 19000 )) $(( 22000 + $$ % 18000 )); do
		if pg_temp_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
			-o "-p $p -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1; then
			PG_URL="postgresql://nv@127.0.0.1:$p/postgres"
			return 0
		fi
	done
	PG_WHY="the PostgreSQL server did not start (see $PG_DIR/server.log)"
	return 1
}

pg_temp_stop() { pg_temp_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1; }
