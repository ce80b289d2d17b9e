/* fleet: the questions asked of the shared PostgreSQL database (`nestvisor db ... --to URL`), with
 * the local ones' columns (query.c), answered as tables. Parameters are always bound. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compat-db/db.h"
#include "compat-db/pq.h"

static enum compatdb_kind kind_of(unsigned oid)
{
	switch (oid) {
	case 16: return COMPATDB_BOOL;			/* bool */
	case 20: case 21: case 23: return COMPATDB_INT;	/* int8, int2, int4 */
	default: return COMPATDB_TEXT;
	}
}

/* A libpq result as a table: bool as "1"/"0", the integer types as integers. */
static struct compatdb_table *table_of(PGresult *r)
{
	int rows = pq.PQntuples(r), cols = pq.PQnfields(r);
	struct compatdb_table *t = cols <= 16 ? compatdb_table_new(cols) : NULL;
	const char *cells[16];

	if (!t)
		return NULL;
	for (int c = 0; c < cols; c++) {
		if (compatdb_table_column(t, c, pq.PQfname(r, c), kind_of(pq.PQftype(r, c))) < 0)
			goto fail;
	}
	for (int i = 0; i < rows; i++) {
		for (int c = 0; c < cols; c++) {
			const char *v = pq.PQgetisnull(r, i, c) ? NULL : pq.PQgetvalue(r, i, c);
			if (v && t->kinds[c] == COMPATDB_BOOL)
				v = *v == 't' ? "1" : "0";
			cells[c] = v;
		}
		if (compatdb_table_add(t, cells) < 0)
			goto fail;
	}
	return t;
fail:
	compatdb_table_free(t);
	return NULL;
}

#define LATEST_PG "(SELECT DISTINCT ON (host_id) uuid FROM reports ORDER BY host_id, created DESC)"

/* The fleet's questions, with the local ones' columns (query.c); the alternative is the one each
 * report's probe gave (the fleet has no class rules table). */
static const struct {
	const char *sql;
	int nparams;
} fleet[] = {
	[FLEET_HOSTS] = { "SELECT h.host_id AS host, h.label, count(r.uuid) AS reports,"
	" h.last_seen,"
	" bool_or(r.hw_virt) FILTER (WHERE r.uuid IN " LATEST_PG ") AS hw_vms,"
	" bool_or(r.nested) FILTER (WHERE r.uuid IN " LATEST_PG ") AS nested,"
	" max(r.hypervisor) FILTER (WHERE r.uuid IN " LATEST_PG ") AS hypervisor"
	" FROM hosts h LEFT JOIN reports r ON r.host_id = h.host_id"
	" GROUP BY h.host_id ORDER BY h.last_seen DESC", 0 },
	[FLEET_DEVICES] = { "SELECT vendor_device AS id, class, count(DISTINCT r.host_id) AS hosts,"
	" count(DISTINCT r.host_id) FILTER (WHERE verdict = 'ready') AS ready_on,"
	" string_agg(DISTINCT driver, ',') AS drivers, max(device_name) AS name"
	" FROM devices d JOIN reports r ON r.uuid = d.report WHERE d.report IN " LATEST_PG
	" AND ($1 = '' OR vendor_device LIKE $1 || ':%') AND ($2 = '' OR class LIKE $2 || '%')"
	" AND ($3 = '' OR verdict = $3) GROUP BY vendor_device, class ORDER BY hosts DESC, id", 3 },
	/* with what the fleet's passthroughs did with the model (submitted beside the reports) */
	[FLEET_DEVICE] = { "SELECT x.*,"
	" (SELECT count(*) FROM passthrough p WHERE p.vendor_device = x.id"
	" AND outcome = 'worked') AS passed_through,"
	" (SELECT count(*) FROM passthrough p WHERE p.vendor_device = x.id"
	" AND outcome = 'failed') AS passthrough_failed,"
	" (SELECT string_agg(DISTINCT kernel, ',') FROM passthrough p"
	" WHERE p.vendor_device = x.id AND outcome = 'worked') AS worked_on_kernels,"
	" (SELECT how FROM passthrough p WHERE p.vendor_device = x.id AND outcome = 'failed'"
	" ORDER BY at DESC LIMIT 1) AS last_failure"
	" FROM (SELECT vendor_device AS id,"
	" max(vendor_name || ' ' || device_name) AS name,"
	" count(DISTINCT r.host_id) AS hosts,"
	" count(DISTINCT r.host_id) FILTER (WHERE verdict = 'ready') AS ready_on,"
	" string_agg(DISTINCT driver, ',') AS drivers,"
	" string_agg(DISTINCT verdict, ',') AS verdicts, max(alternative) AS alternative"
	" FROM devices d JOIN reports r ON r.uuid = d.report"
	" WHERE vendor_device = lower($1) GROUP BY vendor_device) x", 1 },
	[FLEET_STATS] = { "SELECT (SELECT count(*) FROM hosts) AS hosts,"
	" (SELECT count(*) FROM reports) AS reports,"
	" (SELECT count(*) FROM reports WHERE uuid IN " LATEST_PG " AND hw_virt) AS hw_vms,"
	" (SELECT count(*) FROM reports WHERE uuid IN " LATEST_PG " AND nested) AS nested,"
	" (SELECT count(*) FROM reports WHERE uuid IN " LATEST_PG " AND iommu) AS iommu,"
	" (SELECT count(DISTINCT vendor_device) FROM devices) AS device_models,"
	" (SELECT count(DISTINCT vendor_device) FROM devices WHERE verdict = 'ready') AS ready",
		0 },
};

int compatdb_remote_query(const char *url, enum compatdb_fleet_query q,
			  const struct compatdb_device_filter *f, const char *arg,
			  struct compatdb_table **out, char *err, size_t errlen)
{
	const char *p[3] = { f && f->vendor ? f->vendor : "", f && f->class_ ? f->class_ : "",
			     f && f->verdict ? f->verdict : "" };
	PGconn *c = pq_connect(url, err, errlen);
	PGresult *r;

	*out = NULL;
	if (q == FLEET_DEVICE)
		p[0] = arg;
	if (!c)
		return -ECONNREFUSED;
	r = pq_exec_params(c, fleet[q].sql, fleet[q].nparams, p);
	if (pq.PQresultStatus(r) != PGRES_TUPLES_OK) {
		char shown[1024];
		compatdb_url_shown(url, shown, sizeof(shown));
		snprintf(err, errlen, "shared database %s: %s", shown, pq_error(c));
		err[strcspn(err, "\n")] = '\0';
		pq.PQclear(r);
		pq.PQfinish(c);
		return -EIO;
	}
	*out = table_of(r);
	pq.PQclear(r);
	pq.PQfinish(c);
	if (!*out) {
		snprintf(err, errlen, "shared database: out of memory for the answer");
		return -ENOMEM;
	}
	if (q == FLEET_DEVICE && !(*out)->nrows) {
		compatdb_table_free(*out);
		*out = NULL;
		snprintf(err, errlen, "no report in the shared database has seen %s", arg);
		return -ENOENT;
	}
	return 0;
}

