/* db: opens the SQLite database: WAL, foreign keys, the schema by PRAGMA user_version, and the
 * table of prepared statements every query uses (bound parameters only). */
#include "config.h"
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/statvfs.h>
#include "common/paths.h"
#include "common/trustpath.h"
#include "common/errmsg.h"
#include "compat-db/db.h"
#include "data/class-rules.h"

/* Compatibility contract (docs/compat-db.md): version N opens files of versions 0..N, migrating
 * each step in its own transaction; a file of version > N is refused and left untouched. */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE hosts (host_id TEXT PRIMARY KEY, label TEXT, first_seen TEXT"
	" NOT NULL, last_seen TEXT NOT NULL);"
	"CREATE TABLE reports (uuid TEXT PRIMARY KEY, host_id TEXT NOT NULL"
	" REFERENCES hosts(host_id),"
	" created TEXT NOT NULL, nestvisor_version TEXT NOT NULL, schema_version INTEGER"
	" NOT NULL, hw_virt INTEGER,"
	" hw_virt_how TEXT, kvm_kind TEXT, hypervisor TEXT, nested INTEGER NOT NULL, iommu INTEGER"
	" NOT NULL,"
	" worst TEXT NOT NULL, json TEXT NOT NULL, submitted TEXT);"
	"CREATE INDEX reports_host ON reports(host_id, created);"
	"CREATE TABLE checks (report TEXT NOT NULL REFERENCES reports(uuid)"
	" ON DELETE CASCADE, id TEXT NOT NULL,"
	" status TEXT NOT NULL, evidence TEXT NOT NULL, fix TEXT,"
	" PRIMARY KEY (report, id)) WITHOUT ROWID;"
	"CREATE TABLE devices (report TEXT NOT NULL REFERENCES reports(uuid)"
	" ON DELETE CASCADE, address TEXT NOT NULL,"
	" vendor_device TEXT NOT NULL, subsystem TEXT, class TEXT"
	" NOT NULL, vendor_name TEXT, device_name TEXT,"
	" driver TEXT, iommu_group INTEGER, verdict TEXT NOT NULL, reason TEXT, alternative TEXT,"
	" PRIMARY KEY (report, address)) WITHOUT ROWID;"
	"CREATE INDEX devices_vd ON devices(vendor_device);",
	/* 1 -> 2: device class rules (data/class-rules.tsv), refreshed from the binary's copy */
	"CREATE TABLE class_rules (base TEXT NOT NULL, sub TEXT NOT NULL, name TEXT"
	" NOT NULL, alternative TEXT NOT NULL,"
	" note TEXT NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (base, sub)) WITHOUT ROWID;",
	/* 2 -> 3: a probe that finds what the host's last report said is not a new report: the last
	 * one is seen again (seen_count, seen_last) */
	"ALTER TABLE reports ADD COLUMN seen_count INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE reports ADD COLUMN seen_last TEXT;",
	/* 3 -> 4: what became of each device passed through to a VM (compat-db/passthrough.c) */
	"CREATE TABLE passthrough (id INTEGER PRIMARY KEY, host_id TEXT NOT NULL, at TEXT NOT NULL,"
	" address TEXT NOT NULL, vendor_device TEXT NOT NULL, kernel TEXT NOT NULL,"
	" outcome TEXT NOT NULL, how TEXT NOT NULL);"
	"CREATE INDEX passthrough_vd ON passthrough(vendor_device);",
	/* 4 -> 5: each outcome sent to the shared database once (remote.c): its uuid, and when it
	 * was sent (rows without a uuid get one at the next submit) */
	"ALTER TABLE passthrough ADD COLUMN uuid TEXT;"
	"ALTER TABLE passthrough ADD COLUMN submitted TEXT;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(SCHEMA_VERSION == COMPATDB_SCHEMA_VERSION, "compatdb.h names the schema's version");

void compatdb_default_path(char *buf, size_t len)
{
	const char *env = getenv("NESTVISOR_DB"), *xdg = getenv("XDG_DATA_HOME"),
		   *home = getenv("HOME");

	char base[4000];

	(void)xdg;
	(void)home;
	paths_xdg("XDG_DATA_HOME", ".local/share", base, sizeof(base));
	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (base[0])
		snprintf(buf, len, "%s/nestvisor/compat.db", base);
	/* no home at all: a fixed place of root's or the user's own, never the current directory */
	else
		snprintf(buf, len, "/tmp/nestvisor-%u/compat.db", (unsigned)geteuid());
}

/* The database's directories, made 0700 where missing (it holds other hosts' reports too), each
 * step beneath one no other user can change: root running with another user's HOME (sudo -E, su
 * without -) must not create or write anything where that user can redirect it. */
static int trusted_parents(const char *path, char *err, size_t errlen)
{
	char dir[4096], why[1024];
	const char *slash = strrchr(path, '/');

	if (!strcmp(path, ":memory:"))
		return 0;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	int fd = trustpath_dir(dir, true, 0700, why, sizeof(why));
	if (fd < 0)
		return errmsg(err, errlen, fd,
			      "%s: not opened: %s (with another user's HOME, as sudo -E or su "
			      "without '-' leave it, use sudo -H or su -, or give --db FILE)",
			      path, why);
	close(fd);
	return 0;
}

void compatdb_sql_error(struct compatdb *db, int rc, char *err, size_t errlen)
{
	const char *fix = "";

	if (rc == SQLITE_FULL || sqlite3_system_errno(db->sql) == ENOSPC)
		fix = " (the disk is full: free space and try again)";
	else if (rc == SQLITE_READONLY)
		fix = " (the database file is read-only: check its permissions, or use another "
		      "database file)";
	snprintf(err, errlen, "%s: %s%s", db->path, sqlite3_errmsg(db->sql), fix);
}

int compatdb_exec(struct compatdb *db, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	compatdb_sql_error(db, rc, err, errlen);
	return -EIO;
}

static int user_version(struct compatdb *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db->sql, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Each step in its own transaction, so an interrupted upgrade leaves a file of a known version. */
static int migrate(struct compatdb *db, int from, char *err, size_t errlen)
{
	char sql[64];

	for (int v = from; v < SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; COMMIT;", v + 1);
		if (compatdb_exec(db, "BEGIN IMMEDIATE;", err, errlen) < 0)
			return -EIO;
		if (compatdb_exec(db, migrations[v], err, errlen) < 0 ||
		    compatdb_exec(db, sql, err, errlen) < 0) {
			compatdb_exec(db, "ROLLBACK;", err + strlen(err), 0);
			return -EIO;
		}
	}
	return 0;
}

/* Why a read-write open failed, from the system's errno: these still allow reading. */
static const char *unwritable_reason(int e)
{
	switch (e) {
	case ENOSPC: return "the disk is full: free some space and record again";
	case EROFS: return "it is on a read-only file system";
	case EACCES:
	case EPERM:
		return "the database file is read-only: check its permissions, or use another "
		       "database file";
	default: return NULL;
	}
}

/* When errno says nothing useful (it can be the last of several syscalls), ask the file system. */
static const char *unwritable_fs(const char *path)
{
	struct statvfs fs;

	if (statvfs(path, &fs) < 0)
		return NULL;
	if (fs.f_flag & ST_RDONLY)
		return unwritable_reason(EROFS);
	return fs.f_bavail == 0 ? unwritable_reason(ENOSPC) : NULL;
}

/* Read-only and immutable: a WAL database cannot create its -shm file on a full or read-only disk.
 */
static int reopen_readonly(struct compatdb *db, const char *why)
{
	char uri[4200];

	sqlite3_close(db->sql);
	snprintf(uri, sizeof(uri), "file:%s?immutable=1", db->path);
	if (sqlite3_open_v2(uri, &db->sql,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return -EIO;
	snprintf(db->readonly_why, sizeof(db->readonly_why), "%s", why);
	return user_version(db);
}

int compatdb_writable(struct compatdb *db, char *err, size_t errlen)
{
	if (!db->readonly_why[0])
		return 0;
	snprintf(err, errlen, "%s: not written: %s", db->path, db->readonly_why);
	return -EROFS;
}

/* The rules this binary carries replace the table's when they differ (count or total text length).
 */
static int load_class_rules(struct compatdb *db, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	long want = 0, have = -1;

	for (int i = 0; i < class_rules_count; i++)
		want += 1 +
			(long)(strlen(class_rules[i].name) + strlen(class_rules[i].alternative) +
			       strlen(class_rules[i].note));
	if (sqlite3_prepare_v2(db->sql,
			       "SELECT count(*) +"
			       " coalesce(sum(length(name) + length(alternative) +"
			       " length(note)), 0)"
			       " FROM class_rules",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (have == want || db->readonly_why[0])
		return 0;
	if (compatdb_exec(db, "BEGIN IMMEDIATE; DELETE FROM class_rules;", err, errlen) < 0 ||
	    sqlite3_prepare_v2(db->sql,
			       "INSERT OR IGNORE INTO class_rules VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < class_rules_count; i++) {
		char base[4], sub[4];
		snprintf(base, sizeof(base), "%02x", class_rules[i].base);
		snprintf(sub, sizeof(sub), class_rules[i].sub < 0 ? "*" : "%02x",
			 class_rules[i].sub);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, base, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, sub, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, class_rules[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, class_rules[i].alternative, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, class_rules[i].note, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, i);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	return compatdb_exec(db, "COMMIT;", err, errlen);
fail:
	snprintf(err, errlen, "%s: loading the device class rules: %s", db->path,
		 sqlite3_errmsg(db->sql));
	sqlite3_exec(db->sql, "ROLLBACK;", NULL, NULL, NULL);
	return -EIO;
}

int compatdb_open(const char *path, struct compatdb **out, char *err, size_t errlen)
{
	struct compatdb *db = calloc(1, sizeof(*db));
	const char *why;
	int rc, v;

	if (!db)
		return -ENOMEM;
	if (path)
		snprintf(db->path, sizeof(db->path), "%s", path);
	else
		compatdb_default_path(db->path, sizeof(db->path));
	if ((rc = trusted_parents(db->path, err, errlen)) < 0) {
		free(db);
		return rc;
	}
	struct stat before;
	bool fresh = strcmp(db->path, ":memory:") && stat(db->path, &before) < 0 && errno == ENOENT;
	/* NOMUTEX: a connection belongs to one thread at a time (compatdb.h), so SQLite need not
	 * lock on every call; an import binds ~500 parameters per report */
	if ((rc = sqlite3_open_v2(db->path, &db->sql,
				  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
					  SQLITE_OPEN_NOFOLLOW,
				  NULL)) != SQLITE_OK) {
		snprintf(err, errlen,
			 "%s: cannot open the compatibility database: %s (choose another file, or "
			 "NESTVISOR_DB)",
			 db->path, db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
		goto fail;
	}
	/* ours from the start, and only ours: SQLite's own would follow the umask (0644) */
	if (fresh)
		chmod(db->path, 0600);
	sqlite3_busy_timeout(db->sql, 5000); /* another nestvisor writing: wait rather than fail */
	v = user_version(db);
	why = v < 0 ? unwritable_reason(sqlite3_system_errno(db->sql)) : NULL;
	if (v < 0 && !why)
		why = unwritable_fs(db->path);
	if (v < 0 && why && (v = reopen_readonly(db, why)) >= 0) {
		*out = db;	/* readable; every write says why it cannot be done */
		return v > SCHEMA_VERSION || v == 0 ?
			(compatdb_close(db), snprintf(err, errlen, "%s: %s", db->path, why),
			 -EROFS) :
			0;
	}
	if (v < 0) {
		snprintf(err, errlen,
			 "%s: not an SQLite database (%s); move it away or use another database "
			 "file",
			 db->path, sqlite3_errmsg(db->sql));
		goto fail;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: written by a newer nestvisor (schema %d; this one knows up to %d); "
			 "it was left unchanged: upgrade nestvisor or use another database file",
			 db->path, v, SCHEMA_VERSION);
		goto fail;
	}
	/* WAL with synchronous=NORMAL: a killed process loses nothing; a power cut may lose the
	 * last commits. Reads through mmap: a fleet query over 10,000 reports reads ~3,600 pages,
	 * one pread each otherwise. */
	if (compatdb_exec(db,
			  "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA "
			  "cache_size = -32768; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = "
			  "268435456;",
			  err, errlen) <
	    0) /* 32 MiB: a batch of reports does not spill pages mid-transaction */
		goto fail;
	/* 8 KiB pages for a new file: a report is ~22 KiB of rows and JSON, and an import's commits
	 * and checkpoints write 20% faster than with 4 KiB (bench/compatdb.sh); an existing file
	 * keeps its size */
	if (v == 0 && compatdb_exec(db, "PRAGMA page_size = 8192;", err, errlen) < 0)
		goto fail;
	if (v < SCHEMA_VERSION &&
	    (compatdb_exec(db, "PRAGMA journal_mode = WAL;", err, errlen) < 0 ||
	     migrate(db, v, err, errlen) < 0))
		goto fail;
	if (load_class_rules(db, err, errlen) < 0)
		goto fail;
	*out = db;
	return 0;
fail:
	compatdb_close(db);
	return -EIO;
}

sqlite3_stmt *compatdb_stmt(struct compatdb *db, enum compatdb_sql which)
{
	static const char *const sql[COMPATDB_SQL_COUNT] = {
		[SQL_HOST_UPSERT] = "INSERT INTO hosts (host_id, label, first_seen, last_seen)"
				    " VALUES (?1, ?2, ?3, ?3)"
				    " ON CONFLICT (host_id) DO UPDATE SET last_seen ="
				    " max(last_seen, ?3),"
				    " label = coalesce(?2, label)",
		[SQL_REPORT_INSERT] = "INSERT INTO reports (uuid, host_id, created,"
				      " nestvisor_version, schema_version,"
				      " hw_virt, hw_virt_how, kvm_kind, hypervisor, nested, iommu, "
				      "worst, json)"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
				      "?13)",
		[SQL_REPORT_BY_UUID] = "SELECT uuid, json FROM reports"
				       " WHERE uuid = ?1", /* the index, exactly */
		[SQL_MARK_SUBMITTED] = "UPDATE reports SET submitted ="
				       " strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE uuid = ?1",
		/* a prefix as a range, so the primary key's index answers it (callers pass hex
		   digits and '-' only) */
		[SQL_REPORT_JSON] = "SELECT uuid, json, host_id, created, nestvisor_version"
				    " FROM reports"
				    " WHERE uuid >= ?1 AND uuid < ?1 || 'g' LIMIT 2",
		/* each report of a batch is a savepoint: prepared once, not parsed again for every
		   report */
		[SQL_SAVEPOINT] = "SAVEPOINT report",
		[SQL_RELEASE] = "RELEASE report",
		[SQL_ROLLBACK_TO] = "ROLLBACK TO report",
	};

	if (!db->stmt[which] &&
	    sqlite3_prepare_v2(db->sql, sql[which], -1, &db->stmt[which], NULL) != SQLITE_OK)
		return NULL;
	sqlite3_reset(db->stmt[which]);
	sqlite3_clear_bindings(db->stmt[which]);
	return db->stmt[which];
}

/* "INSERT INTO t (...)"
   " VALUES (?, ...), (?, ...)" for k rows: parameter r * columns + c + 1 is row r's column c. */
sqlite3_stmt *compatdb_rows_stmt(struct compatdb *db, enum compatdb_rows which, int k)
{
	static const struct { const char *head; int columns;
	} rows[] = {
		[ROWS_CHECKS] = { "INSERT INTO checks (report, id, status, evidence, fix)"
				  " VALUES ",
				  5 },
		[ROWS_DEVICES] = { "INSERT INTO devices (report, address, vendor_device, subsystem,"
				   " class, vendor_name,"
				   " device_name, driver, iommu_group, verdict, reason, "
				   "alternative) VALUES ",
				   12 },
	};
	sqlite3_stmt **st = &db->rows[which][k - 1];
	char sql[4096];
	size_t n;

	if (!*st) {
		n = (size_t)snprintf(sql, sizeof(sql), "%s", rows[which].head);
		for (int r = 0; r < k; r++)
			for (int c = 0; c < rows[which].columns; c++) {
				const char *open =
					r ? ", (" : "("; /* a row's first column opens it */
				const char *close = c == rows[which].columns - 1 ? ")" : ", ";
				n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s?%s",
						      c ? "" : open, close);
			}
		if (sqlite3_prepare_v2(db->sql, sql, (int)n, st, NULL) != SQLITE_OK)
			return NULL;
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

static void *checkpointer_run(void *arg)
{
	struct compatdb_checkpointer *ck = arg;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->due && !ck->stop)
			pthread_cond_wait(&ck->wake, &ck->lock);
		if (!ck->due)
			break;
		ck->due = false;
		ck->busy = true;
		pthread_mutex_unlock(&ck->lock);
		/* PASSIVE: never waits for the writer. A failure (a full disk) leaves the frames in
		 * the WAL, as safe there as in the file, for the next checkpoint. */
		sqlite3_wal_checkpoint_v2(ck->sql, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&ck->lock);
		ck->busy = false;
		pthread_cond_broadcast(&ck->wake);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

void compatdb_checkpointer_start(struct compatdb *db, struct compatdb_checkpointer *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->db = db;
	/* a connection reads the header (and so knows the file is WAL) only when it first runs a
	 * statement */
	if (sqlite3_open_v2(db->path, &ck->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(ck->sql, "PRAGMA schema_version;", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->wake, NULL);
	if (pthread_create(&ck->thread, NULL, checkpointer_run, ck) != 0) {
		pthread_cond_destroy(&ck->wake);
		pthread_mutex_destroy(&ck->lock);
		goto fail;
	}
	sqlite3_wal_autocheckpoint(db->sql, 0);
	return;
fail:
	sqlite3_close(ck->sql);
	ck->sql = NULL;
}

void compatdb_checkpointer_commit(struct compatdb_checkpointer *ck)
{
	if (!ck->sql)
		return;
	pthread_mutex_lock(&ck->lock);
	ck->due = true;
	pthread_cond_broadcast(&ck->wake);
	bool settle = ++ck->commits % 4 == 0;
	while (settle && (ck->due || ck->busy))
		pthread_cond_wait(&ck->wake, &ck->lock);
	pthread_mutex_unlock(&ck->lock);
}

void compatdb_checkpointer_stop(struct compatdb_checkpointer *ck)
{
	if (!ck->sql)
		return;
	pthread_mutex_lock(&ck->lock);
	ck->stop = true;
	pthread_cond_broadcast(&ck->wake);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	pthread_cond_destroy(&ck->wake);
	pthread_mutex_destroy(&ck->lock);
	sqlite3_close(ck->sql);
	ck->sql = NULL;
	sqlite3_wal_autocheckpoint(ck->db->sql, 1000);	/* SQLite's default */
}

const char *compatdb_path(const struct compatdb *db)
{
	return db->path;
}

void compatdb_close(struct compatdb *db)
{
	if (!db)
		return;
	for (int i = 0; i < COMPATDB_SQL_COUNT; i++)
		sqlite3_finalize(db->stmt[i]);
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < COMPATDB_ROWS_MAX; k++)
			sqlite3_finalize(db->rows[t][k]);
	sqlite3_close(db->sql);
	free(db);
}
