/* query: what the local database knows: reports, a report, what changed between two, hosts,
 * devices, one device's record across hosts, totals. Tables for people, JSON for programs. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/errmsg.h"
#include "compat-db/db.h"

static enum compatdb_kind kind_of(char k)
{
	if (k == 'i')
		return COMPATDB_INT;
	return k == 'b' ? COMPATDB_BOOL : COMPATDB_TEXT;
}

/* Runs sql with text parameters into a table; kinds gives each column's kind ('t' text, 'i'
 * integer, 'b' boolean). */
static int run_query(struct compatdb *db, const char *sql, const char *const *params, int nparams,
		     const char *kinds, struct compatdb_table **out, char *err, size_t errlen)
{
	struct compatdb_table *t = NULL;
	const char *cells[16];
	sqlite3_stmt *st;
	int ncol, rc;

	*out = NULL;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		compatdb_sql_error(db, sqlite3_errcode(db->sql), err, errlen);
		return -EIO;
	}
	ncol = sqlite3_column_count(st);
	if (ncol > 16 || (int)strlen(kinds) != ncol || !(t = compatdb_table_new(ncol))) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "%s: out of memory", db->path);
		return -ENOMEM;
	}
	for (int c = 0; c < ncol; c++) {
		if (compatdb_table_column(t, c, sqlite3_column_name(st, c), kind_of(kinds[c])) < 0)
			goto nomem;
	}
	for (int i = 0; i < nparams; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < ncol; c++)
			cells[c] = (const char *)sqlite3_column_text(st, c);
		if (compatdb_table_add(t, cells) < 0)
			goto nomem;
	}
	if (rc != SQLITE_DONE) {
		compatdb_sql_error(db, rc, err, errlen);
		sqlite3_finalize(st);
		compatdb_table_free(t);
		return -EIO;
	}
	sqlite3_finalize(st);
	*out = t;
	return 0;
nomem:
	sqlite3_finalize(st);
	compatdb_table_free(t);
	snprintf(err, errlen, "%s: out of memory", db->path);
	return -ENOMEM;
}

int compatdb_report_list(struct compatdb *db, struct compatdb_table **out, char *err, size_t errlen)
{
	return run_query(db,
			 "SELECT uuid AS report, created, substr(host_id, 1, 12)"
			 " AS host, hw_virt AS hw_vms,"
			 " nested, iommu, worst, hypervisor, seen_count AS seen, seen_last FROM "
			 "reports"
			 " ORDER BY created, uuid",
			 NULL, 0, "tttbbbttit", out, err, errlen);
}

/* A UUID or a unique prefix of one; fills full[37]. */
int compatdb_report_resolve(struct compatdb *db, const char *prefix, char full[37], char *err,
			    size_t errlen)
{
	sqlite3_stmt *st = compatdb_stmt(db, SQL_REPORT_JSON);
	int n = 0;

	if (!st)
		return -EIO;
	if (!*prefix || strspn(prefix, "0123456789abcdef-") != strlen(prefix)) {
		snprintf(err, errlen, "%s: a report id is a UUID or a prefix of one (0-9, a-f, -)",
			 prefix);
		return -EINVAL;
	}
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW && ++n == 1)
		snprintf(full, 37, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (n == 1)
		return 0;
	if (n)
		snprintf(err, errlen, "%s matches more than one report: give more of the UUID",
			 prefix);
	else
		snprintf(err, errlen, "no report %s in %s", prefix, db->path);
	return -ENOENT;
}

/* Runs one statement that changes rows, with one text parameter; *changed: how many (when asked).
 */
static int change_rows(struct compatdb *db, const char *sql, const char *param, int *changed,
		       char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = compatdb_writable(db, err, errlen);

	if (rc < 0)
		return rc;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		compatdb_sql_error(db, sqlite3_errcode(db->sql), err, errlen);
		return -EIO;
	}
	sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		compatdb_sql_error(db, rc, err, errlen);
	else if (changed)
		*changed = sqlite3_changes(db->sql);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int compatdb_report_delete(struct compatdb *db, const char *id, char *err, size_t errlen)
{
	char full[37];
	int rc = compatdb_report_resolve(db, id, full, err, errlen);

	if (rc < 0)
		return rc;
	/* its checks and devices go with it (ON DELETE CASCADE) */
	return change_rows(db, "DELETE FROM reports WHERE uuid = ?1", full, NULL, err, errlen);
}

int compatdb_report_prune(struct compatdb *db, int days, int *n, char *err, size_t errlen)
{
	char age[32];

	*n = 0;
	if (days < 0 || days > 100000) {
		snprintf(err, errlen, "%d days: an age is from 0 to 100000 days", days);
		return -EINVAL;
	}
	snprintf(age, sizeof(age), "-%d days", days);
	/* created is ISO 8601 in UTC (validated at import), so text order is time order */
	return change_rows(db, "DELETE FROM reports WHERE created <"
			       " strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
			   age, n, err, errlen);
}

/* A query about one report, its id resolved first (?1 is its whole UUID). */
static int of_report(struct compatdb *db, const char *id, const char *sql, const char *kinds,
		     struct compatdb_table **out, char *err, size_t errlen)
{
	char full[37];
	const char *p[1] = { full };
	int rc = compatdb_report_resolve(db, id, full, err, errlen);

	return rc < 0 ? rc : run_query(db, sql, p, 1, kinds, out, err, errlen);
}

int compatdb_report_checks(struct compatdb *db, const char *id, struct compatdb_table **out,
			   char *err, size_t errlen)
{
	/* in the probe's order (cpu, kvm, iommu, ...), which the checks table, keyed by id, does
	 * not keep */
	return of_report(db, id, "SELECT json_extract(c.value, '$.id') AS \"check\","
			 " json_extract(c.value, '$.status') AS status,"
			 " json_extract(c.value, '$.evidence') AS evidence"
			 " FROM reports r, json_each(r.json, '$.checks') c"
			 " WHERE r.uuid = ?1 ORDER BY c.key", "ttt", out, err, errlen);
}

int compatdb_report_devices(struct compatdb *db, const char *id, struct compatdb_table **out,
			    char *err, size_t errlen)
{
	return of_report(db, id,
			 "SELECT substr(address, 6) AS device, vendor_device AS id, driver,"
			 " verdict, reason FROM devices WHERE report = ?1 ORDER BY address",
			 "ttttt", out, err, errlen);
}

/* What changed on a host between two reports: checks whose status moved (evidence alone holds
 * timings), devices that came, went or changed driver or verdict. */
int compatdb_report_diff(struct compatdb *db, const char *a, const char *b,
			 struct compatdb_table **out, char *err, size_t errlen)
{
	char fa[37], fb[37];
	const char *p[2] = { fa, fb };
	int rc;

	if ((rc = compatdb_report_resolve(db, a, fa, err, errlen)) < 0 ||
	    (rc = compatdb_report_resolve(db, b, fb, err, errlen)) < 0)
		return rc;
	return run_query(db,
		"SELECT 'check' AS what, x.id AS item, x.status || ': ' || x.evidence AS before,"
		" y.status || ': ' || y.evidence AS after"
		" FROM checks x JOIN checks y ON x.id = y.id"
		" WHERE x.report = ?1 AND y.report = ?2 AND x.status != y.status"
		" UNION ALL SELECT 'device', x.address,"
		" x.vendor_device || ' ' || coalesce(x.driver, '-') || ' ' || x.verdict,"
		" y.vendor_device || ' ' || coalesce(y.driver, '-') || ' ' || y.verdict"
		" FROM devices x JOIN devices y ON x.address = y.address"
		" WHERE x.report = ?1 AND y.report = ?2 AND (x.vendor_device != y.vendor_device"
		" OR coalesce(x.driver, '') != coalesce(y.driver, '') OR x.verdict != y.verdict)"
		" UNION ALL SELECT 'gone', address,"
		" vendor_device || ' ' || coalesce(driver, '-'), NULL"
		" FROM devices WHERE report = ?1"
		" AND address NOT IN (SELECT address FROM devices WHERE report = ?2)"
		" UNION ALL SELECT 'new', address, NULL,"
		" vendor_device || ' ' || coalesce(driver, '-')"
		" FROM devices WHERE report = ?2"
		" AND address NOT IN (SELECT address FROM devices WHERE report = ?1)",
		p, 2, "tttt", out, err, errlen);
}

/* The latest of one host's reports, by a correlated subquery over reports_host. */
#define OF_LATEST(col) \
	"(SELECT " col " FROM reports WHERE host_id = h.host_id ORDER BY created DESC LIMIT 1)"

int compatdb_hosts(struct compatdb *db, struct compatdb_table **out, char *err, size_t errlen)
{
	return run_query(db, "SELECT h.host_id AS host, h.label, count(r.uuid) AS reports,"
			 " h.last_seen,"
			 " " OF_LATEST("hw_virt") " AS hw_vms,"
			 " " OF_LATEST("nested") " AS nested,"
			 " " OF_LATEST("hypervisor") " AS hypervisor"
			 " FROM hosts h LEFT JOIN reports r ON r.host_id = h.host_id"
			 " GROUP BY h.host_id ORDER BY h.last_seen DESC",
			 NULL, 0, "ttitbbt", out, err, errlen);
}

/* Each host's latest report (one index walk over reports_host). */
#define LATEST "(SELECT r.uuid FROM reports r JOIN (SELECT host_id, max(created) AS c" \
	" FROM reports GROUP BY host_id) l ON l.host_id = r.host_id AND l.c = r.created)"

int compatdb_devices(struct compatdb *db, const struct compatdb_device_filter *f,
		     struct compatdb_table **out, char *err, size_t errlen)
{
	const char *p[3] = { f->vendor ? f->vendor : "", f->class_ ? f->class_ : "",
			     f->verdict ? f->verdict : "" };

	/* from each host's latest report to its devices (CROSS JOIN keeps that order) */
	return run_query(db,
		"SELECT vendor_device AS id, class, count(DISTINCT l.host_id) AS hosts,"
		" count(DISTINCT CASE WHEN verdict = 'ready' THEN l.host_id END) AS ready_on,"
		" group_concat(DISTINCT driver) AS drivers, max(device_name) AS name"
		" FROM (SELECT r.uuid, r.host_id FROM reports r"
		" JOIN (SELECT host_id, max(created) AS c FROM reports GROUP BY host_id) m"
		" ON m.host_id = r.host_id AND m.c = r.created) l"
		" CROSS JOIN devices d ON d.report = l.uuid"
		" WHERE (?1 = '' OR vendor_device LIKE ?1 || ':%')"
		" AND (?2 = '' OR class LIKE ?2 || '%') AND (?3 = '' OR verdict = ?3)"
		" GROUP BY vendor_device, class ORDER BY hosts DESC, id",
		p, 3, "ttiitt", out, err, errlen);
}

int compatdb_device(struct compatdb *db, const char *vd, struct compatdb_table **out, char *err,
		    size_t errlen)
{
	const char *p[1] = { vd };
	unsigned a, b;
	int rc;

	*out = NULL;
	if (strlen(vd) != 9 || sscanf(vd, "%4x:%4x", &a, &b) != 2)
		return errmsg(err, errlen, -EINVAL,
			      "%s: give a device as VENDOR:DEVICE in hex, e.g. 8086:1572", vd);
	/* the class rule (data/class-rules.tsv) for the device's class: the first that matches */
	rc = run_query(db,
		"SELECT id, name, hosts, ready_on, drivers, verdicts,"
		" (SELECT c.alternative || ' (' || c.name || ')' FROM class_rules c"
		" WHERE c.base = substr(x.class, 1, 2) AND c.sub IN (substr(x.class, 3, 2), '*')"
		" ORDER BY c.ord LIMIT 1) AS alternative,"
		/* what passthrough did with the model, beside what the probe said */
		" (SELECT count(*) FROM passthrough p WHERE p.vendor_device = x.id"
		" AND outcome = 'worked') AS passed_through,"
		" (SELECT count(*) FROM passthrough p WHERE p.vendor_device = x.id"
		" AND outcome = 'failed') AS passthrough_failed,"
		" (SELECT group_concat(DISTINCT kernel) FROM passthrough p"
		" WHERE p.vendor_device = x.id AND outcome = 'worked') AS worked_on_kernels,"
		" (SELECT how FROM passthrough p WHERE p.vendor_device = x.id AND outcome = 'failed'"
		" ORDER BY at DESC LIMIT 1) AS last_failure"
		" FROM (SELECT vendor_device AS id, max(vendor_name || ' ' || device_name) AS name,"
		" max(class) AS class, count(DISTINCT r.host_id) AS hosts,"
		" count(DISTINCT CASE WHEN verdict = 'ready' THEN r.host_id END) AS ready_on,"
		" group_concat(DISTINCT driver) AS drivers,"
		" group_concat(DISTINCT verdict) AS verdicts"
		" FROM devices d JOIN reports r ON r.uuid = d.report"
		" WHERE vendor_device = lower(?1) GROUP BY vendor_device) x",
		p, 1, "ttiitttiitt", out, err, errlen);
	if (rc == 0 && (*out)->nrows == 0) {
		compatdb_table_free(*out);
		*out = NULL;
		return errmsg(err, errlen, -ENOENT, "no report has seen %s", vd);
	}
	return rc;
}

int compatdb_stats(struct compatdb *db, struct compatdb_table **out, char *err, size_t errlen)
{
	return run_query(db, "SELECT (SELECT count(*) FROM hosts) AS hosts,"
		" (SELECT count(*) FROM reports) AS reports,"
		" (SELECT count(*) FROM reports WHERE uuid IN " LATEST " AND hw_virt = 1)"
		" AS hw_vms,"
		" (SELECT count(*) FROM reports WHERE uuid IN " LATEST " AND nested = 1)"
		" AS nested,"
		" (SELECT count(*) FROM reports WHERE uuid IN " LATEST " AND iommu = 1)"
		" AS iommu,"
		" (SELECT count(DISTINCT vendor_device) FROM devices) AS device_models,"
		" (SELECT count(DISTINCT vendor_device) FROM devices WHERE verdict = 'ready')"
		" AS ready",
		NULL, 0, "iiiiiii", out, err, errlen);
}
