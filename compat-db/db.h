/* db: the SQLite handle and its prepared statements (private to compat-db/). */
#ifndef NESTVISOR_COMPATDB_DB_H
#define NESTVISOR_COMPATDB_DB_H

#include <pthread.h>
#include <sqlite3.h>
#include "compat-db/compatdb.h"

enum compatdb_sql {
	SQL_HOST_UPSERT, SQL_REPORT_INSERT, SQL_REPORT_JSON, SQL_MARK_SUBMITTED,
	SQL_REPORT_BY_UUID, SQL_SAVEPOINT, SQL_RELEASE, SQL_ROLLBACK_TO,
	COMPATDB_SQL_COUNT
};
enum compatdb_rows { ROWS_CHECKS, ROWS_DEVICES };

/* A report's checks and devices go in with one INSERT per this many rows: far fewer statement runs.
 */
#define COMPATDB_ROWS_MAX 16

struct compatdb {
	sqlite3 *sql;
	char path[4096];
	sqlite3_stmt *stmt[COMPATDB_SQL_COUNT];
	sqlite3_stmt *rows[2][COMPATDB_ROWS_MAX]; /* multi-row child INSERTs by [table][rows - 1] */
	char readonly_why[160]; /* opened read-only because of this; writes are refused with it */
	bool batch;			/* inside compatdb_batch(): each report is a savepoint */
};

/* A bulk import's checkpoints, on a thread and connection of their own: copying the WAL into the
 * database file, and its fsync, overlap the writer's next batch instead of stopping it. */
struct compatdb_checkpointer {
	struct compatdb *db;
	sqlite3 *sql; /* NULL: not running; the writer's commits checkpoint as usual */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool due, busy, stop;
	unsigned commits;
};
void compatdb_checkpointer_start(struct compatdb *db, struct compatdb_checkpointer *ck);
/* After each commit: a checkpoint is due. Every fourth waits for it, so that the next write
 * transaction starts the WAL over (it holds at most four batches). */
void compatdb_checkpointer_commit(struct compatdb_checkpointer *ck);
/* The last checkpoint; the writer checkpoints its own commits again. */
void compatdb_checkpointer_stop(struct compatdb_checkpointer *ck);

/* 0 when the database may be written; else -EROFS with err saying why (full disk, read-only). */
int compatdb_writable(struct compatdb *db, char *err, size_t errlen);

/* A prepared statement from the table, reset and unbound; NULL on failure. */
sqlite3_stmt *compatdb_stmt(struct compatdb *db, enum compatdb_sql which);
/* The INSERT of k (1..COMPATDB_ROWS_MAX) child rows, prepared once, reset and unbound; NULL on
 * failure. */
sqlite3_stmt *compatdb_rows_stmt(struct compatdb *db, enum compatdb_rows which, int k);
int compatdb_exec(struct compatdb *db, const char *sql, char *err, size_t errlen);
/* "PATH: what SQLite said", and what to do about a full disk or a read-only file. */
void compatdb_sql_error(struct compatdb *db, int rc, char *err, size_t errlen);
/* Building a query's answer (table.c): a table of ncols unnamed columns, each then named; rows
 * copied in. */
struct compatdb_table *compatdb_table_new(int ncols);
int compatdb_table_column(struct compatdb_table *t, int c, const char *name,
			  enum compatdb_kind kind);
int compatdb_table_add(struct compatdb_table *t, const char *const *cells);

/* This machine's anonymous id: a salted SHA-512-crypt of /etc/machine-id. */
int compatdb_host_id(char *buf, size_t len);

#endif
