/* remote: the shared PostgreSQL database (libpq): its schema, exactly-once submission of local
 * reports, and the fleet's questions. Parameters are always bound, never pasted into SQL. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "compat-db/db.h"
#include "compat-db/pq.h"

/* Versioned like the local file (docs/compat-db.md): nestvisor_schema holds the version; each step
 * is one transaction. Submitting hosts need INSERT on hosts/reports/checks/devices/passthrough and
 * UPDATE on hosts only. */
static const char *const remote_migrations[] = {
	"CREATE TABLE hosts (host_id text PRIMARY KEY, label text, first_seen text"
	" NOT NULL, last_seen text NOT NULL);"
	"CREATE TABLE reports (uuid text PRIMARY KEY, host_id text NOT NULL"
	" REFERENCES hosts(host_id),"
	" created text NOT NULL, nestvisor_version text NOT NULL, schema_version integer"
	" NOT NULL, hw_virt boolean,"
	" hw_virt_how text, kvm_kind text, hypervisor text, nested boolean NOT NULL, iommu boolean"
	" NOT NULL,"
	" worst text NOT NULL, json jsonb NOT NULL, received timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE checks (report text NOT NULL REFERENCES reports(uuid)"
	" ON DELETE CASCADE, id text NOT NULL,"
	" status text NOT NULL, evidence text NOT NULL, fix text, PRIMARY KEY (report, id));"
	"CREATE TABLE devices (report text NOT NULL REFERENCES reports(uuid)"
	" ON DELETE CASCADE, address text NOT NULL,"
	" vendor_device text NOT NULL, subsystem text, class text"
	" NOT NULL, vendor_name text, device_name text,"
	" driver text, iommu_group integer, verdict text NOT NULL, reason text, alternative text,"
	" PRIMARY KEY (report, address));"
	"CREATE INDEX devices_vd ON devices(vendor_device);",
	/* 1 -> 2: what became of devices passed through to VMs (the local passthrough table), each
	 * outcome once by its uuid */
	"CREATE TABLE passthrough (uuid text PRIMARY KEY, host_id text NOT NULL, at text NOT NULL,"
	" address text NOT NULL, vendor_device text NOT NULL, kernel text NOT NULL,"
	" outcome text NOT NULL, how text NOT NULL, received timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX passthrough_vd ON passthrough(vendor_device);",
};
#define REMOTE_VERSION ((int)(sizeof(remote_migrations) / sizeof(remote_migrations[0])))

/* Appends n bytes of s to out (bounded). */
static void put(char *out, size_t len, size_t *at, const char *s, size_t n)
{
	while (n-- && *at + 1 < len)
		out[(*at)++] = *s++;
	out[*at < len ? *at : len - 1] = '\0';
}

/* key=value form: each password value, plain or single-quoted (with backslash escapes), becomes
 * ***. */
static void redact_keywords(const char *url, char *out, size_t len)
{
	size_t at = 0;
	const char *p = url;

	while (*p) {
		const char *key = p;
		while (*p && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		bool pw = (size_t)(p - key) == 8 && !strncmp(key, "password", 8);
		put(out, len, &at, key, (size_t)(p - key));
		while (*p == ' ' || *p == '\t')
			put(out, len, &at, p++, 1);
		if (*p != '=')
			continue;
		put(out, len, &at, p++, 1);
		while (*p == ' ' || *p == '\t')
			put(out, len, &at, p++, 1);
		const char *v = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		put(out, len, &at, pw ? "***" : v, pw ? 3 : (size_t)(p - v));
		while (*p == ' ' || *p == '\t')
			put(out, len, &at, p++, 1);
	}
}

void compatdb_url_shown(const char *url, char *out, size_t len)
{
	const char *scheme = strstr(url, "://");
	size_t at = 0;

	if (!len)
		return;
	out[0] = '\0';
	if (!scheme || (strncmp(url, "postgresql://", 13) && strncmp(url, "postgres://", 11))) {
		redact_keywords(url, out, len);
		return;
	}
	const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?"), *at_sign = NULL;
	for (const char *q = auth; q < end; q++)
		if (*q == '@')
			at_sign = q;
	const char *colon = at_sign ? memchr(auth, ':', (size_t)(at_sign - auth)) : NULL;
	put(out, len, &at, url, (size_t)((colon ? colon : end) - url));
	if (colon) {
		put(out, len, &at, ":***", 4);
		put(out, len, &at, at_sign, (size_t)(end - at_sign));
	}
	const char *query = end + strcspn(end, "?");
	put(out, len, &at, end, (size_t)(query - end));	/* the path */
	for (const char *p = query; *p;) {	/* the query: ?password=PW&... */
		const char *seg = p, *stop = p + 1 + strcspn(p + 1, "&");
		if ((*p == '?' || *p == '&') && !strncmp(p + 1, "password=", 9)) {
			put(out, len, &at, seg, 10);
			put(out, len, &at, "***", 3);
		} else {
			put(out, len, &at, seg, (size_t)(stop - seg));
		}
		p = stop;
	}
}

static int exec_ok(PGconn *c, PGresult *r, char *err, size_t errlen)
{
	ExecStatusType s = pq.PQresultStatus(r);
	int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!ok) {
		snprintf(err, errlen, "shared database: %s", pq_error(c));
		err[strcspn(err, "\n")] = '\0';
	}
	pq.PQclear(r);
	return ok ? 0 : -EIO;
}

/* The shared schema's version; 0 when there is none yet; -1 when the server did not answer it
 * (pq_error() says why). */
static int remote_version(PGconn *c)
{
	PGresult *r = pq_exec(c, "SELECT version FROM nestvisor_schema");
	ExecStatusType st = pq.PQresultStatus(r);
	int v = st == PGRES_TUPLES_OK && pq.PQntuples(r) == 1 ? atoi(pq.PQgetvalue(r, 0, 0)) : 0;

	if (!r || (st == PGRES_FATAL_ERROR && !pq.PQresultErrorMessage(r)[0]) ||
	    pq.PQstatus(c) != CONNECTION_OK)
		v = -1;
	pq.PQclear(r);
	return v;
}

int compatdb_remote_init(const char *url, char *err, size_t errlen)
{
	PGconn *c = pq_connect(url, err, errlen);
	int rc = 0, v;

	if (!c)
		return -ECONNREFUSED;
	if ((rc = exec_ok(c, pq_exec(c, "SET client_min_messages = warning;"
					"CREATE TABLE IF NOT EXISTS nestvisor_schema (version"
					" integer NOT NULL)"), err, errlen)) < 0)
		goto out;
	if ((v = remote_version(c)) < 0) {
		rc = errmsg(err, errlen, -EIO, "shared database: %s", pq_error(c));
		err[strcspn(err, "\n")] = '\0';
		goto out;
	}
	if (v > REMOTE_VERSION) {
		char shown[1024];
		compatdb_url_shown(url, shown, sizeof(shown));
		snprintf(err, errlen,
			 "%s holds schema %d, newer than this nestvisor knows (%d); it was left "
			 "unchanged",
			 shown, v, REMOTE_VERSION);
		rc = -ENOTSUP;
		goto out;
	}
	for (; v < REMOTE_VERSION && rc == 0; v++) {
		char bump[96];
		snprintf(bump, sizeof(bump), "DELETE FROM nestvisor_schema; INSERT INTO"
					     " nestvisor_schema VALUES (%d)", v + 1);
		if ((rc = exec_ok(c, pq_exec(c, "BEGIN"), err, errlen)) < 0 ||
		    (rc = exec_ok(c, pq_exec(c, remote_migrations[v]), err, errlen)) < 0 ||
		    (rc = exec_ok(c, pq_exec(c, bump), err, errlen)) < 0 ||
		    (rc = exec_ok(c, pq_exec(c, "COMMIT"), err, errlen)) < 0)
			pq.PQclear(pq_exec(c, "ROLLBACK"));
	}
out:
	pq.PQfinish(c);
	return rc;
}

/* What a submit sends, prepared once per connection: the server parses and plans each once, not per
 * row. */
enum { NV_HOST, NV_KNOWN, NV_REPORT, NV_CHECK, NV_DEVICE, NV_OUTCOME, NV_COUNT };
static const struct { const char *name, *local, *remote; int ncols;
} submit_sql[NV_COUNT] = {
	[NV_HOST] = { "nv_host",
		      "SELECT h.host_id, h.label, r.created FROM reports r JOIN hosts h ON "
		      "h.host_id = r.host_id"
		      " WHERE r.uuid ="
		      " ?1",
		      "INSERT INTO hosts VALUES ($1, $2, $3, $3) ON CONFLICT (host_id) DO UPDATE "
		      "SET"
		      " last_seen = greatest(hosts.last_seen, excluded.last_seen)",
		      3 },
	[NV_KNOWN] = { "nv_known", NULL, "SELECT 1 FROM reports WHERE uuid = $1", 1 },
	[NV_REPORT] = { "nv_report",
			"SELECT uuid, host_id, created, nestvisor_version, schema_version,"
			" CASE hw_virt WHEN 1 THEN 'true' WHEN 0 THEN 'false' END, hw_virt_how, "
			"kvm_kind, hypervisor,"
			" CASE nested WHEN 1 THEN 'true' ELSE 'false' END, CASE iommu WHEN 1 THEN "
			"'true' ELSE 'false' END,"
			" worst, json FROM reports WHERE uuid = ?1",
			"INSERT INTO reports (uuid, host_id, created, nestvisor_version,"
			" schema_version, hw_virt, hw_virt_how,"
			" kvm_kind, hypervisor, nested, iommu, worst, json) VALUES ($1, $2, $3, "
			"$4, $5, $6, $7, $8, $9, $10,"
			" $11, $12, $13) ON CONFLICT (uuid) DO NOTHING",
			13 },
	[NV_CHECK] = { "nv_check",
		       "SELECT report, id, status, evidence, fix FROM checks WHERE report = ?1",
		       "INSERT INTO checks VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", 5 },
	[NV_DEVICE] = { "nv_device",
			"SELECT report, address, vendor_device, subsystem, class, vendor_name, "
			"device_name,"
			" driver, iommu_group, verdict, reason, alternative FROM devices"
			" WHERE report = ?1",
			"INSERT INTO devices"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
			" ON CONFLICT DO NOTHING",
			12 },
	/* the passthrough outcomes not yet sent, up to the last one read (?1: its id) */
	[NV_OUTCOME] = { "nv_outcome",
			 "SELECT uuid, host_id, at, address, vendor_device, kernel, outcome, how"
			 " FROM passthrough WHERE submitted IS NULL AND id <= ?1",
			 "INSERT INTO passthrough (uuid, host_id, at, address, vendor_device, kernel,"
			 " outcome, how) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			 " ON CONFLICT (uuid) DO NOTHING",
			 8 },
};

static int prepare_submit(PGconn *c, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < NV_COUNT && rc == 0; i++)
		rc = exec_ok(c,
			     pq_prepare(c, submit_sql[i].name, submit_sql[i].remote,
					submit_sql[i].ncols),
			     err, errlen);
	return rc;
}

/* Queues a local table's rows, chosen by its query's ?1 (a report's uuid; for outcomes the last id),
 * one prepared INSERT ... ON CONFLICT DO NOTHING each (pipeline mode: nothing waits for the server
 * yet). */
static int queue_rows(struct compatdb *db, PGconn *c, const char *key, int which, int *queued,
		      char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (sqlite3_prepare_v2(db->sql, submit_sql[which].local, -1, &st, NULL) != SQLITE_OK)
		return errmsg(err, errlen, -EIO, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *v[16];
		for (int i = 0; i < submit_sql[which].ncols && i < 16; i++)
			v[i] = (const char *)sqlite3_column_text(st, i);
		if (pq.PQsendQueryPrepared(c, submit_sql[which].name, submit_sql[which].ncols, v,
					   NULL, NULL, 0))
			(*queued)++;
		else {
			snprintf(err, errlen, "%s", pq_error(c));
			rc = -EIO;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int queue(PGconn *c, const char *sql, const char *prepared, const char *const *v,
		 int *queued, char *err, size_t errlen)
{
	if (!(prepared ? pq.PQsendQueryPrepared(c, prepared, 1, v, NULL, NULL, 0) :
			 pq.PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 0)))
		return errmsg(err, errlen, -EIO, "%s", pq_error(c));
	return (*queued)++;
}

/* The results of a pipelined transaction of `queued` statements: 0 once its COMMIT committed,
 * -EBADMSG when the server refused a statement's data, -EIO when the connection failed. At
 * statement `probe`, a query whose empty answer sets *fresh; -1: none. Statements with a row count
 * (INSERTs) add the rows they inserted to *fresh. */
static int pipeline_end(PGconn *c, int queued, int probe, int *fresh, char *err, size_t errlen)
{
	int rc = 0;

	if (!pq.PQpipelineSync(c))
		return errmsg(err, errlen, -EIO, "%s", pq_error(c));
	/* each statement's result, then a NULL; the first failure aborts the rest (and the
	 * transaction) */
	for (int i = 0; i < queued; i++) {
		PGresult *r = pq_result(c);
		ExecStatusType st = pq.PQresultStatus(r);
		if (!r)
			return errmsg(err, errlen, -EIO, "%s", pq_error(c));
		if (i == probe && st == PGRES_TUPLES_OK)
			*fresh = pq.PQntuples(r) == 0;
		else if (probe < 0 && st == PGRES_COMMAND_OK)
			*fresh += atoi(pq.PQcmdTuples(r));
		/* the server refused this data */
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == 0) {
			snprintf(err, errlen, "%s", st == PGRES_PIPELINE_ABORTED ? "aborted" :
				 pq.PQresultErrorMessage(r));
			rc = st == PGRES_FATAL_ERROR ? -EBADMSG : -EIO;
		}
		pq.PQclear(r);
		pq.PQclear(pq_result(c));
	}
	PGresult *sync = pq_result(c);
	bool synced = pq.PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
	pq.PQclear(sync);
	if (!synced || !pq.PQexitPipelineMode(c))
		return errmsg(err, errlen, -EIO, "%s", pq_error(c));
	if (rc < 0)
		pq.PQclear(pq_exec(c, "ROLLBACK"));
	return rc;
}

/* One report in one remote transaction, its ~45 statements pipelined (one round trip, not one
 * each); ON CONFLICT makes a re-send (after a crash) a no-op. 0 only once the COMMIT's own result
 * says it committed. */
static int send_report(struct compatdb *db, PGconn *c, const char *uuid, int *fresh, char *err,
		       size_t errlen)
{
	const char *v[1] = { uuid };
	int queued = 0, probe_at, rc;

	if (!pq.PQenterPipelineMode(c))
		return errmsg(err, errlen, -EIO, "%s", pq_error(c));
	if ((rc = queue(c, "BEGIN", NULL, NULL, &queued, err, errlen)) < 0 ||
	    (rc = queue_rows(db, c, uuid, NV_HOST, &queued, err, errlen)) < 0 ||
	    (rc = probe_at = queue(c, NULL, submit_sql[NV_KNOWN].name, v, &queued, err, errlen)) <
		    0 ||
	    (rc = queue_rows(db, c, uuid, NV_REPORT, &queued, err, errlen)) < 0 ||
	    (rc = queue_rows(db, c, uuid, NV_CHECK, &queued, err, errlen)) < 0 ||
	    (rc = queue_rows(db, c, uuid, NV_DEVICE, &queued, err, errlen)) < 0 ||
	    (rc = queue(c, "COMMIT", NULL, NULL, &queued, err, errlen)) < 0)
		/* the connection is unusable: the caller closes it, and nothing was committed */
		return rc;
	return pipeline_end(c, queued, probe_at, fresh, err, errlen);
}

/* The reports not yet submitted, oldest first, into a malloc'd *queue of *n UUIDs. */
static int read_queue(struct compatdb *db, char (**queue)[37], int *n)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db->sql, "SELECT uuid FROM reports WHERE submitted IS NULL"
			       " ORDER BY created", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char (*q)[37] = realloc(*queue, (size_t)(*n + 1) * sizeof(**queue));
		if (!q)
			break;
		*queue = q;
		snprintf(q[(*n)++], 37, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return 0;
}

/* Only after the remote COMMIT: a report marked here is in the shared database. */
static int mark_submitted(struct compatdb *db, const char *uuid, char *err, size_t errlen)
{
	sqlite3_stmt *mark = compatdb_stmt(db, SQL_MARK_SUBMITTED);

	if (mark && sqlite3_bind_text(mark, 1, uuid, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
	    sqlite3_step(mark) == SQLITE_DONE)
		return 0;
	return errmsg(err, errlen, -EIO, "%s: %s (report %s reached the shared database; the next "
		      "submit finds it there)", db->path, sqlite3_errmsg(db->sql), uuid);
}

/* The passthrough outcomes not yet sent (*n), each with a uuid (rows of schema 4 get theirs now):
 * the id of the last of them, which bounds what is sent and then marked (a VM ending meanwhile
 * adds one for the next submit). */
static sqlite3_int64 outcomes_pending(struct compatdb *db, int *n)
{
	sqlite3_stmt *st;
	sqlite3_int64 last = 0;

	*n = 0;
	if (sqlite3_exec(db->sql, "UPDATE passthrough SET uuid = lower(hex(randomblob(16)))"
			 " WHERE uuid IS NULL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->sql, "SELECT count(*), max(id) FROM passthrough"
			       " WHERE submitted IS NULL", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int(st, 0);
		last = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return last;
}

/* Every pending outcome up to last in one remote transaction (ON CONFLICT: a re-send after a crash
 * adds nothing), marked sent only after it committed. *fresh: the ones the server did not have. */
static int send_outcomes(struct compatdb *db, PGconn *c, sqlite3_int64 last, int *fresh,
			 char *err, size_t errlen)
{
	char upto[24];
	sqlite3_stmt *mark;
	int queued = 0, rc;

	snprintf(upto, sizeof(upto), "%lld", (long long)last);
	if (!pq.PQenterPipelineMode(c))
		return errmsg(err, errlen, -EIO, "%s", pq_error(c));
	if ((rc = queue(c, "BEGIN", NULL, NULL, &queued, err, errlen)) < 0 ||
	    (rc = queue_rows(db, c, upto, NV_OUTCOME, &queued, err, errlen)) < 0 ||
	    (rc = queue(c, "COMMIT", NULL, NULL, &queued, err, errlen)) < 0 ||
	    (rc = pipeline_end(c, queued, -1, fresh, err, errlen)) < 0)
		return rc;
	if (sqlite3_prepare_v2(db->sql, "UPDATE passthrough SET submitted ="
			       " strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
			       " WHERE submitted IS NULL AND id <= ?1", -1, &mark, NULL) != SQLITE_OK)
		return errmsg(err, errlen, -EIO, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	sqlite3_bind_int64(mark, 1, last);
	rc = sqlite3_step(mark) == SQLITE_DONE ? 0 :
		errmsg(err, errlen, -EIO, "%s: %s (the passthrough outcomes reached the shared "
		       "database; the next submit finds them there)", db->path,
		       sqlite3_errmsg(db->sql));
	sqlite3_finalize(mark);
	return rc;
}

/* Sends every local report not yet marked submitted, then the passthrough outcomes; marks each
 * only after its remote commit. */
int compatdb_submit(struct compatdb *db, const char *url, struct compatdb_submit_result *res,
		    char *err, size_t errlen)
{
	PGconn *c;
	int rc = 0;

	char (*queue)[37] = NULL;

	res->queued = res->sent = res->already = 0;
	res->outcomes = res->outcomes_sent = res->outcomes_already = 0;
	/* unwritable, a report could be sent but never marked */
	if ((rc = compatdb_writable(db, err, errlen)) < 0)
		return rc;
	if ((rc = read_queue(db, &queue, &res->queued)) < 0)
		return rc;
	sqlite3_int64 last = outcomes_pending(db, &res->outcomes);
	if (res->progress)
		res->progress(res->ctx, res);
	if (!res->queued && !res->outcomes) {
		free(queue);
		return 0;
	}
	if (!(c = pq_connect(url, err, errlen))) {
		free(queue);
		return -ECONNREFUSED;	/* nothing changed: every report stays queued */
	}
	int version = remote_version(c);
	char shown[1024];
	compatdb_url_shown(url, shown, sizeof(shown));
	if (version < 0) {
		snprintf(err, errlen, "shared database %s: %s", shown, pq_error(c));
		err[strcspn(err, "\n")] = '\0';
		rc = -ETIMEDOUT;
	} else if (version != REMOTE_VERSION) {
		if (!version)
			snprintf(err, errlen, "%s has no nestvisor schema: run `nestvisor db init --to "
				 "URL` first", shown);
		else if (version < REMOTE_VERSION)
			snprintf(err, errlen, "%s holds schema %d, older than this nestvisor's (%d): "
				 "`nestvisor db init --to URL` brings it up to date, keeping what it "
				 "holds", shown, version, REMOTE_VERSION);
		else
			snprintf(err, errlen, "%s holds schema %d, newer than this nestvisor knows "
				 "(%d): submit with a newer nestvisor", shown, version,
				 REMOTE_VERSION);
		rc = -ENOENT;
	} else {
		rc = prepare_submit(c, err, errlen);
	}
	char refused[600] = "";
	for (int i = 0; i < res->queued && rc == 0; i++) {
		int fresh = 0;
		if ((rc = send_report(db, c, queue[i], &fresh, err, errlen)) == -EBADMSG) {
			/* its data, not the connection: the others go on; it stays queued, named,
			 * until deleted */
			if (!res->refused++)
				snprintf(refused, sizeof(refused),
					 "report %s was refused by the shared database (%.400s); "
					 "it stays queued: `nestvisor report delete %.8s` drops it",
					 queue[i], err, queue[i]);
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		if ((rc = mark_submitted(db, queue[i], err, errlen)) < 0)
			break;
		if (fresh)
			res->sent++;
		else
			res->already++;
		if (res->progress)
			res->progress(res->ctx, res);
	}
	if (rc == 0 && res->outcomes) {
		int fresh = 0;
		if ((rc = send_outcomes(db, c, last, &fresh, err, errlen)) == 0) {
			res->outcomes_sent = fresh;
			res->outcomes_already = res->outcomes - fresh;
		} else if (rc == -EBADMSG) {
			char why[500];
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "the shared database refused the passthrough outcomes "
				 "(%.400s); they stay queued", why);
		}
	}
	pq.PQfinish(c);
	free(queue);
	if (rc == 0 && res->refused) {
		snprintf(err, errlen, "%s%s", refused,
			 res->refused > 1 ? " (and others: see `nestvisor report list`)" : "");
		rc = -EBADMSG;
	}
	return rc;
}
