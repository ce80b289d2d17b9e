/* db: the SQLite handle and its prepared statements (private to compat-db/). */
#ifndef NESTVISOR_COMPATDB_DB_H
#define NESTVISOR_COMPATDB_DB_H

#include <sqlite3.h>
#include "compat-db/compatdb.h"

enum compatdb_sql {
	SQL_HOST_UPSERT, SQL_REPORT_INSERT, SQL_CHECK_INSERT, SQL_DEVICE_INSERT, SQL_REPORT_JSON, SQL_MARK_SUBMITTED,
	SQL_REPORT_BY_UUID,
	COMPATDB_SQL_COUNT
};

struct compatdb {
	sqlite3 *sql;
	char path[4096];
	sqlite3_stmt *stmt[COMPATDB_SQL_COUNT];
	char readonly_why[160];		/* opened read-only because of this; writes are refused with it */
	bool batch;			/* inside compatdb_batch(): each report is a savepoint */
};

/* 0 when the database may be written; else -EROFS with err saying why (full disk, read-only). */
int compatdb_writable(struct compatdb *db, char *err, size_t errlen);

/* A prepared statement from the table, reset and unbound; NULL on failure. */
sqlite3_stmt *compatdb_stmt(struct compatdb *db, enum compatdb_sql which);
int compatdb_exec(struct compatdb *db, const char *sql, char *err, size_t errlen);
/* This machine's anonymous id: a salted SHA-512-crypt of /etc/machine-id. */
int compatdb_host_id(char *buf, size_t len);

#endif
