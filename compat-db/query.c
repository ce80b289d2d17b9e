/* query: what the local database knows: reports, a report, what changed between two, hosts, devices,
 * one device's record across hosts, totals. Tables for people, JSON for programs. */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compat-db/db.h"

/* Runs sql with text parameters; prints rows as a table (headers) or a JSON array of objects. */
static int print_query(struct compatdb *db, FILE *out, bool json, const char *sql, const char *const *params,
		       int nparams, const char *const *headers, const int *widths)
{
	sqlite3_stmt *st;
	json_object *arr = json_object_new_array();
	int ncol, rows = 0, rc;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		json_object_put(arr);
		return -EIO;
	}
	for (int i = 0; i < nparams; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
	ncol = sqlite3_column_count(st);
	if (!json)
		for (int c = 0; c < ncol; c++)
			fprintf(out, "%-*s%s", widths[c], headers[c], c + 1 < ncol ? " " : "\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *o = json_object_new_object();
		rows++;
		for (int c = 0; c < ncol; c++) {
			const char *v = (const char *)sqlite3_column_text(st, c);
			int t = sqlite3_column_type(st, c);
			if (json)
				json_object_object_add(o, sqlite3_column_name(st, c), t == SQLITE_NULL ? NULL :
						       t == SQLITE_INTEGER ? json_object_new_int64(sqlite3_column_int64(st, c)) :
						       json_object_new_string(v));
			else
				fprintf(out, "%-*.*s%s", widths[c], widths[c] > 0 ? widths[c] : 200, v ? v : "-",
					c + 1 < ncol ? " " : "\n");
		}
		json_object_array_add(arr, o);
	}
	sqlite3_finalize(st);
	if (json)
		fprintf(out, "%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!rows)
		fprintf(out, "(none)\n");
	json_object_put(arr);
	return rc == SQLITE_DONE ? rows : -EIO;
}

int compatdb_report_list(struct compatdb *db, FILE *out, bool json)
{
	static const char *const h[] = { "REPORT", "CREATED", "HOST", "HW VMS", "NESTED", "IOMMU", "WORST", "HYPERVISOR" };
	static const int w[] = { 36, 24, 12, 6, 6, 5, 7, 0 };

	return print_query(db, out, json, "SELECT uuid AS report, created, substr(host_id, 1, 12) AS host,"
			   " CASE hw_virt WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE '?' END AS hw_vms,"
			   " CASE nested WHEN 1 THEN 'yes' ELSE 'no' END AS nested,"
			   " CASE iommu WHEN 1 THEN 'yes' ELSE 'no' END AS iommu, worst, hypervisor"
			   " FROM reports ORDER BY created, uuid", NULL, 0, h, w) < 0 ? -EIO : 0;
}

/* A UUID or a unique prefix of one; fills full[37]. */
static int resolve(struct compatdb *db, const char *prefix, char full[37], char *err, size_t errlen)
{
	sqlite3_stmt *st = compatdb_stmt(db, SQL_REPORT_JSON);
	int n = 0;

	if (!st)
		return -EIO;
	if (!*prefix || strspn(prefix, "0123456789abcdef-") != strlen(prefix)) {
		snprintf(err, errlen, "%s: a report id is a UUID or a prefix of one (0-9, a-f, -)", prefix);
		return -EINVAL;
	}
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW && ++n == 1)
		snprintf(full, 37, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (n == 1)
		return 0;
	snprintf(err, errlen, n ? "%s matches more than one report: give more of the UUID" :
		 "no report %s in %s (`nestvisor report list` shows them)", prefix, db->path);
	return -ENOENT;
}

int compatdb_report_delete(struct compatdb *db, const char *id, char *err, size_t errlen)
{
	char full[37];
	sqlite3_stmt *st;
	int rc;

	if ((rc = compatdb_writable(db, err, errlen)) < 0 || (rc = resolve(db, id, full, err, errlen)) < 0)
		return rc;
	if (sqlite3_prepare_v2(db->sql, "DELETE FROM reports WHERE uuid = ?1", -1, &st, NULL) != SQLITE_OK)
		return snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->sql)), -EIO;
	sqlite3_bind_text(st, 1, full, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;	/* its checks and devices go with it (ON DELETE CASCADE) */
	if (rc)
		snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	sqlite3_finalize(st);
	return rc;
}

int compatdb_report_prune(struct compatdb *db, int days, int *n, char *err, size_t errlen)
{
	char age[32];
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (days < 0 || days > 100000)
		return snprintf(err, errlen, "--older-than %d: give days from 0 to 100000", days), -EINVAL;
	if ((rc = compatdb_writable(db, err, errlen)) < 0)
		return rc;
	snprintf(age, sizeof(age), "-%d days", days);
	/* created is ISO 8601 in UTC (validated at import), so text order is time order */
	if (sqlite3_prepare_v2(db->sql, "DELETE FROM reports WHERE created < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
			       -1, &st, NULL) != SQLITE_OK)
		return snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->sql)), -EIO;
	sqlite3_bind_text(st, 1, age, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	*n = sqlite3_changes(db->sql);
	if (rc)
		snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	sqlite3_finalize(st);
	return rc;
}

int compatdb_report_show(struct compatdb *db, const char *uuid, FILE *out, bool json, char *err, size_t errlen)
{
	static const char *const h[] = { "CHECK", "STATUS", "EVIDENCE" };
	static const int w[] = { 16, 7, 0 };
	static const char *const hd[] = { "DEVICE", "ID", "DRIVER", "VERDICT", "REASON" };
	static const int wd[] = { 12, 9, 12, 19, 0 };
	char full[37];
	const char *p[1] = { full };

	if (resolve(db, uuid, full, err, errlen) < 0)
		return -ENOENT;
	if (json) {
		char *doc = compatdb_report_export(db, full, true, err, errlen);
		if (!doc)
			return -EIO;
		fprintf(out, "%s\n", doc);
		free(doc);
		return 0;
	}
	fprintf(out, "report %s\n", full);
	/* in the probe's order (cpu, kvm, iommu, ...), which the checks table, keyed by id, does not keep */
	print_query(db, out, false, "SELECT json_extract(c.value, '$.id'), json_extract(c.value, '$.status'),"
		    " json_extract(c.value, '$.evidence') FROM reports r, json_each(r.json, '$.checks') c"
		    " WHERE r.uuid = ?1 ORDER BY c.key", p, 1, h, w);
	fputc('\n', out);
	print_query(db, out, false, "SELECT substr(address, 6), vendor_device, driver, verdict, reason FROM devices"
		    " WHERE report = ?1 ORDER BY address", p, 1, hd, wd);
	return 0;
}

/* What changed on a host between two reports: checks whose status moved (evidence alone holds timings), devices that came,
 * went or changed driver or verdict. */
int compatdb_report_diff(struct compatdb *db, const char *a, const char *b, FILE *out, bool json, char *err,
			 size_t errlen)
{
	static const char *const h[] = { "WHAT", "ITEM", "BEFORE", "AFTER" };
	static const int w[] = { 8, 16, 28, 0 };
	char fa[37], fb[37];
	const char *p[2] = { fa, fb };

	if (resolve(db, a, fa, err, errlen) < 0 || resolve(db, b, fb, err, errlen) < 0)
		return -ENOENT;
	return print_query(db, out, json,
		"SELECT 'check' AS what, x.id AS item, x.status || ': ' || x.evidence AS before,"
		" y.status || ': ' || y.evidence AS after FROM checks x JOIN checks y ON x.id = y.id"
		" WHERE x.report = ?1 AND y.report = ?2 AND x.status != y.status"
		" UNION ALL SELECT 'device', x.address, x.vendor_device || ' ' || coalesce(x.driver, '-') || ' ' || x.verdict,"
		" y.vendor_device || ' ' || coalesce(y.driver, '-') || ' ' || y.verdict FROM devices x JOIN devices y"
		" ON x.address = y.address WHERE x.report = ?1 AND y.report = ?2 AND (x.vendor_device != y.vendor_device"
		" OR coalesce(x.driver, '') != coalesce(y.driver, '') OR x.verdict != y.verdict)"
		" UNION ALL SELECT 'gone', address, vendor_device || ' ' || coalesce(driver, '-'), NULL FROM devices"
		" WHERE report = ?1 AND address NOT IN (SELECT address FROM devices WHERE report = ?2)"
		" UNION ALL SELECT 'new', address, NULL, vendor_device || ' ' || coalesce(driver, '-') FROM devices"
		" WHERE report = ?2 AND address NOT IN (SELECT address FROM devices WHERE report = ?1)",
		p, 2, h, w) < 0 ? -EIO : 0;
}

int compatdb_hosts(struct compatdb *db, FILE *out, bool json)
{
	static const char *const h[] = { "HOST", "LABEL", "REPORTS", "LAST SEEN", "HW VMS", "NESTED", "HYPERVISOR" };
	static const int w[] = { 32, 12, 7, 20, 6, 6, 0 };

	return print_query(db, out, json, "SELECT h.host_id AS host, h.label, count(r.uuid) AS reports,"
		" h.last_seen, (SELECT CASE hw_virt WHEN 1 THEN 'yes' WHEN 0 THEN 'no' ELSE '?' END FROM reports"
		" WHERE host_id = h.host_id ORDER BY created DESC LIMIT 1) AS hw_vms,"
		" (SELECT CASE nested WHEN 1 THEN 'yes' ELSE 'no' END FROM reports WHERE host_id = h.host_id"
		" ORDER BY created DESC LIMIT 1) AS nested, (SELECT hypervisor FROM reports WHERE host_id = h.host_id"
		" ORDER BY created DESC LIMIT 1) AS hypervisor FROM hosts h LEFT JOIN reports r ON r.host_id = h.host_id"
		" GROUP BY h.host_id ORDER BY h.last_seen DESC", NULL, 0, h, w) < 0 ? -EIO : 0;
}

/* Each host's latest report (one index walk over reports_host). */
#define LATEST "(SELECT r.uuid FROM reports r JOIN (SELECT host_id, max(created) AS c FROM reports GROUP BY host_id) l" \
	" ON l.host_id = r.host_id AND l.c = r.created)"

int compatdb_devices(struct compatdb *db, const struct compatdb_device_filter *f, FILE *out, bool json)
{
	static const char *const h[] = { "ID", "CLASS", "HOSTS", "READY ON", "DRIVERS", "NAME" };
	static const int w[] = { 9, 5, 5, 8, 16, 0 };
	const char *p[3] = { f->vendor ? f->vendor : "", f->class_ ? f->class_ : "", f->verdict ? f->verdict : "" };

	/* from each host's latest report to its devices (CROSS JOIN keeps that order): not every device row */
	return print_query(db, out, json, "SELECT vendor_device AS id, class, count(DISTINCT l.host_id) AS hosts,"
		" count(DISTINCT CASE WHEN verdict = 'ready' THEN l.host_id END) AS ready_on,"
		" group_concat(DISTINCT driver) AS drivers, max(device_name) AS name"
		" FROM (SELECT r.uuid, r.host_id FROM reports r JOIN (SELECT host_id, max(created) AS c FROM reports"
		" GROUP BY host_id) m ON m.host_id = r.host_id AND m.c = r.created) l CROSS JOIN devices d ON d.report = l.uuid"
		" WHERE (?1 = '' OR vendor_device LIKE ?1 || ':%') AND (?2 = '' OR class LIKE ?2 || '%')"
		" AND (?3 = '' OR verdict = ?3) GROUP BY vendor_device, class ORDER BY hosts DESC, id", p, 3, h, w) < 0 ?
		-EIO : 0;
}

int compatdb_device(struct compatdb *db, const char *vd, FILE *out, bool json, char *err, size_t errlen)
{
	static const char *const h[] = { "ID", "NAME", "HOSTS", "READY ON", "DRIVERS SEEN", "VERDICTS", "ALTERNATIVE" };
	static const int w[] = { 9, 30, 5, 8, 16, 24, 0 };
	const char *p[1] = { vd };
	unsigned a, b;

	if (strlen(vd) != 9 || sscanf(vd, "%4x:%4x", &a, &b) != 2) {
		snprintf(err, errlen, "%s: give a device as VENDOR:DEVICE in hex, e.g. 8086:1572", vd);
		return -EINVAL;
	}
	/* the class rule (data/class-rules.tsv) for the device's class: the first that matches */
	int rc = print_query(db, out, json, "SELECT id, name, hosts, ready_on, drivers, verdicts,"
		" (SELECT c.alternative || ' (' || c.name || ')' FROM class_rules c WHERE c.base = substr(x.class, 1, 2)"
		" AND c.sub IN (substr(x.class, 3, 2), '*') ORDER BY c.ord LIMIT 1) AS alternative FROM"
		" (SELECT vendor_device AS id, max(vendor_name || ' ' || device_name) AS name, max(class) AS class,"
		" count(DISTINCT r.host_id) AS hosts, count(DISTINCT CASE WHEN verdict = 'ready' THEN r.host_id END)"
		" AS ready_on, group_concat(DISTINCT driver) AS drivers, group_concat(DISTINCT verdict) AS verdicts"
		" FROM devices d JOIN reports r ON r.uuid = d.report"
		" WHERE vendor_device = lower(?1) GROUP BY vendor_device) x", p, 1, h, w);
	if (rc == 0)
		snprintf(err, errlen, "no report has seen %s", vd);
	return rc < 0 ? -EIO : rc == 0 ? -ENOENT : 0;
}

int compatdb_stats(struct compatdb *db, FILE *out, bool json)
{
	static const char *const h[] = { "HOSTS", "REPORTS", "HW VMS", "NESTED", "IOMMU", "DEVICE MODELS", "READY" };
	static const int w[] = { 5, 7, 6, 6, 5, 13, 0 };

	return print_query(db, out, json, "SELECT (SELECT count(*) FROM hosts) AS hosts,"
		" (SELECT count(*) FROM reports) AS reports,"
		" (SELECT count(*) FROM reports WHERE uuid IN " LATEST " AND hw_virt = 1) AS hw_vms,"
		" (SELECT count(*) FROM reports WHERE uuid IN " LATEST " AND nested = 1) AS nested,"
		" (SELECT count(*) FROM reports WHERE uuid IN " LATEST " AND iommu = 1) AS iommu,"
		" (SELECT count(DISTINCT vendor_device) FROM devices) AS device_models,"
		" (SELECT count(DISTINCT vendor_device) FROM devices WHERE verdict = 'ready') AS ready",
		NULL, 0, h, w) < 0 ? -EIO : 0;
}
