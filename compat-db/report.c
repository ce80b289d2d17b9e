/* report: records probe reports (one transaction each: all of a report or none of it), imports and exports
 * them in a versioned envelope, and refuses malformed, oversized or hostile input with the member named. */
#include "config.h"
#define _GNU_SOURCE 1
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/paths.h"
#include "common/text.h"
#include "common/safefile.h"
#include "compat-db/db.h"

#define MAX_CHECKS 128
#define MAX_DEVICES 4096
#define MAX_DEPTH 16

#define MACHINE_ID "/etc/machine-id"
#define HOST_ID_LEN 32

/* "KEY\nID\n" in $XDG_CACHE_HOME/nestvisor/host-id (or ~/.cache/...): KEY names the machine-id file the ID
 * was computed from (device, inode, size, change time), so a new or rewritten machine-id is hashed again. */
static void host_id_cache(char *path, size_t plen, char *key, size_t klen, const struct stat *st)
{
	char base[4000];

	paths_xdg("XDG_CACHE_HOME", ".cache", base, sizeof(base));
	if (base[0])
		snprintf(path, plen, "%s/nestvisor/host-id", base);
	else
		path[0] = '\0';
	snprintf(key, klen, "nestvisor-host-id 1 %llu %llu %lld %lld.%09ld", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino, (long long)st->st_size, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

static bool host_id_cached(const char *path, const char *key, char *buf, size_t len)
{
	char line[256], id[64];
	int fd = path[0] ? safefile_open_regular(path, NULL) : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	bool ok;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	ok = fgets(line, sizeof(line), f) && fgets(id, sizeof(id), f);
	fclose(f);
	line[strcspn(line, "\n")] = '\0', id[strcspn(id, "\n")] = '\0';
	ok = ok && !strcmp(line, key) && strlen(id) == HOST_ID_LEN &&
	     strspn(id, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == HOST_ID_LEN;
	if (ok)
		snprintf(buf, len, "%s", id);
	return ok;
}

/* Best effort (a cache that cannot be written only costs time); written whole, then renamed over. */
static void host_id_remember(const char *path, const char *key, const char *id)
{
	struct safefile_replace r;

	if (path[0] && safefile_replace_begin(path, &r) == 0) {
		if (fprintf(r.f, "%s\n%s\n", key, id) > 0)
			safefile_replace_commit(&r, false);
		else
			safefile_replace_abort(&r);
	}
}

/* The salted SHA-512-crypt (5,000 rounds) of /etc/machine-id: ~2.4 ms, a sixth of a probe, so its result is
 * kept in the user's cache beside the identity of the file it came from. */
int compatdb_host_id(char *buf, size_t len)
{
	struct crypt_data cd;
	struct stat st;
	char id[128] = "", path[4096], key[256];
	FILE *f = fopen(MACHINE_ID, "r");

	if (f && fstat(fileno(f), &st) == 0) {
		host_id_cache(path, sizeof(path), key, sizeof(key), &st);
		if (host_id_cached(path, key, buf, len)) {
			fclose(f);
			return 0;
		}
	} else {
		path[0] = '\0';
	}
	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
	}
	id[strcspn(id, "\n")] = '\0';
	if (!id[0])
		return -ENOENT;
	memset(&cd, 0, sizeof(cd));
	const char *h = crypt_r(id, "$6$nestvisor-compat$", &cd);	/* salted: the machine-id is not recoverable */
	if (!h || h[0] == '*')
		return -EIO;
	snprintf(buf, len, "%.32s", strrchr(h, '$') + 1);
	host_id_remember(path, key, buf);
	return 0;
}

static void new_uuid(char out[37])
{
	unsigned char b[16] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		struct timespec ts;	/* no urandom: time and pid still make it unique here */
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(b, &ts, sizeof(ts) < sizeof(b) ? sizeof(ts) : sizeof(b));
		b[15] ^= (unsigned char)getpid();
	}
	if (fd >= 0)
		close(fd);
	b[6] = (b[6] & 0x0f) | 0x40, b[8] = (b[8] & 0x3f) | 0x80;	/* version 4, RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
		 b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Milliseconds: two probes in one second still sort in the order they ran. */
static void now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char s[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.20s.%03dZ", s, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* ---- validation: every member the database stores, typed and bounded ---- */

static json_object *member(json_object *o, const char *k, json_type t, bool nullable, const char *where, char *err,
			   size_t errlen)
{
	json_object *m = NULL;

	if (!json_object_object_get_ex(o, k, &m) && !nullable) {
		snprintf(err, errlen, "%s.%s is missing", where, k);
		return NULL;
	}
	if (!m && nullable)
		return NULL;
	if (!json_object_is_type(m, t) && !(nullable && json_object_is_type(m, json_type_null))) {
		snprintf(err, errlen, "%s.%s has the wrong type (%s)", where, k, json_type_to_name(json_object_get_type(m)));
		return NULL;
	}
	return m;
}

#define NEED(o, k, t, where) do { if (!member(o, k, t, false, where, err, errlen)) return -EINVAL; } while (0)
#define MAY(o, k, t, where) do { member(o, k, t, true, where, err, errlen); if (*err) return -EINVAL; } while (0)

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Whether entry i's string member k equals an earlier entry's (the tables key on it). Lists are bounded. */
static bool repeated(json_object *arr, size_t i, const char *k)
{
	const char *v = json_object_get_string(json_object_object_get(json_object_array_get_idx(arr, i), k));

	for (size_t j = 0; j < i; j++)
		if (!strcmp(v, json_object_get_string(json_object_object_get(json_object_array_get_idx(arr, j), k))))
			return true;
	return false;
}

/* "2026-12-01T15:57:03.123Z" as now_iso() writes it (fraction optional), a real date and time in UTC. */
static bool iso_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!end || strlen(s) < 20 || s[4] != '-' || s[10] != 'T')
		return false;
	if (*end == '.') {
		size_t digits = strspn(end + 1, "0123456789");
		if (digits < 1 || digits > 9)
			return false;
		end += 1 + digits;
	}
	struct tm back = tm;
	time_t t = timegm(&back);
	return !strcmp(end, "Z") && t != (time_t)-1 && back.tm_mday == tm.tm_mday && back.tm_mon == tm.tm_mon;
}

static int check_checks(json_object *checks, char *err, size_t errlen)
{
	static const char *const statuses[] = { "PASS", "NOTE", "WARN", "FAIL", "UNKNOWN", NULL };
	size_t n = json_object_array_length(checks);

	if (n > MAX_CHECKS)
		return snprintf(err, errlen, "probe.checks has %zu entries (at most %d)", n, MAX_CHECKS), -E2BIG;
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(checks, i), *st;
		if (!json_object_is_type(c, json_type_object))
			return snprintf(err, errlen, "probe.checks[%zu] is not an object", i), -EINVAL;
		NEED(c, "id", json_type_string, "probe.checks[]");
		NEED(c, "evidence", json_type_string, "probe.checks[]");
		MAY(c, "fix", json_type_string, "probe.checks[]");
		if (!(st = member(c, "status", json_type_string, false, "probe.checks[]", err, errlen)))
			return -EINVAL;
		if (!one_of(json_object_get_string(st), statuses))
			return snprintf(err, errlen, "probe.checks[%zu].status \"%.20s\" is not a status", i,
					json_object_get_string(st)), -EINVAL;
		if (repeated(checks, i, "id"))
			return snprintf(err, errlen, "probe.checks[%zu].id \"%.40s\" appears twice", i,
					json_object_get_string(json_object_object_get(c, "id"))), -EINVAL;
	}
	return 0;
}

static int check_devices(json_object *devs, char *err, size_t errlen)
{
	static const char *const verdicts[] = { "ready", "not-ready", "paravirtual", "host-infrastructure", NULL };
	size_t n = json_object_array_length(devs);
	unsigned a, b;

	if (n > MAX_DEVICES)
		return snprintf(err, errlen, "probe.devices has %zu entries (at most %d)", n, MAX_DEVICES), -E2BIG;
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(devs, i), *id, *v;
		if (!json_object_is_type(d, json_type_object))
			return snprintf(err, errlen, "probe.devices[%zu] is not an object", i), -EINVAL;
		NEED(d, "address", json_type_string, "probe.devices[]");
		NEED(d, "class", json_type_string, "probe.devices[]");
		MAY(d, "driver", json_type_string, "probe.devices[]");
		MAY(d, "iommu_group", json_type_int, "probe.devices[]");
		MAY(d, "reason", json_type_string, "probe.devices[]");
		if (!(id = member(d, "id", json_type_string, false, "probe.devices[]", err, errlen)) ||
		    !(v = member(d, "verdict", json_type_string, false, "probe.devices[]", err, errlen)))
			return -EINVAL;
		if (strlen(json_object_get_string(id)) != 9 || sscanf(json_object_get_string(id), "%4x:%4x", &a, &b) != 2)
			return snprintf(err, errlen, "probe.devices[%zu].id is not vvvv:dddd", i), -EINVAL;
		if (!one_of(json_object_get_string(v), verdicts))
			return snprintf(err, errlen, "probe.devices[%zu].verdict is not a verdict", i), -EINVAL;
		if (repeated(devs, i, "address"))
			return snprintf(err, errlen, "probe.devices[%zu].address \"%.40s\" appears twice", i,
					json_object_get_string(json_object_object_get(d, "address"))), -EINVAL;
	}
	return 0;
}

/* The probe document, as docs/probe-json.md describes version 1. */
static int check_probe(json_object *p, char *err, size_t errlen)
{
	json_object *m, *sum, *checks, *devs;

	if (!json_object_is_type(p, json_type_object))
		return snprintf(err, errlen, "probe is not an object"), -EINVAL;
	if (!(m = member(p, "schema", json_type_string, false, "probe", err, errlen)))
		return -EINVAL;
	if (strcmp(json_object_get_string(m), "nestvisor-probe"))
		return snprintf(err, errlen, "probe.schema is not \"nestvisor-probe\""), -EINVAL;
	if (!(m = member(p, "schema_version", json_type_int, false, "probe", err, errlen)))
		return -EINVAL;
	if (json_object_get_int(m) != 1)
		return snprintf(err, errlen, "probe.schema_version %d: this nestvisor reads version 1 (upgrade nestvisor)",
				json_object_get_int(m)), -ENOTSUP;
	NEED(p, "nestvisor_version", json_type_string, "probe");
	if (!(sum = member(p, "summary", json_type_object, false, "probe", err, errlen)) ||
	    !(checks = member(p, "checks", json_type_array, false, "probe", err, errlen)) ||
	    !(devs = member(p, "devices", json_type_array, false, "probe", err, errlen)))
		return -EINVAL;
	MAY(sum, "hw_vms", json_type_boolean, "probe.summary");
	NEED(sum, "nested", json_type_boolean, "probe.summary");
	NEED(sum, "worst", json_type_string, "probe.summary");
	NEED(p, "kvm", json_type_object, "probe");
	NEED(p, "host", json_type_object, "probe");
	NEED(p, "iommu", json_type_object, "probe");
	int rc = check_checks(checks, err, errlen);
	return rc < 0 ? rc : check_devices(devs, err, errlen);
}

int compatdb_envelope_check(json_object *env, char *err, size_t errlen)
{
	json_object *m;

	err[0] = '\0';
	if (!json_object_is_type(env, json_type_object))
		return snprintf(err, errlen, "not a JSON object"), -EINVAL;
	if (!(m = member(env, "nestvisor_report", json_type_int, false, "report", err, errlen)))
		return -EINVAL;
	if (json_object_get_int(m) != COMPATDB_REPORT_FORMAT)
		return snprintf(err, errlen, "report format %d: this nestvisor reads format %d", json_object_get_int(m),
				COMPATDB_REPORT_FORMAT), -ENOTSUP;
	if (!(m = member(env, "uuid", json_type_string, false, "report", err, errlen)))
		return -EINVAL;
	const char *u = json_object_get_string(m);
	if (strlen(u) != 36 || strspn(u, "0123456789abcdef-") != 36)
		return snprintf(err, errlen, "report.uuid is not a UUID"), -EINVAL;
	if (!(m = member(env, "created", json_type_string, false, "report", err, errlen)))
		return -EINVAL;
	if (strlen(json_object_get_string(m)) > 40 || !iso_time(json_object_get_string(m)))
		return snprintf(err, errlen, "report.created \"%.40s\" is not a time like 2026-12-01T15:57:03.123Z",
				json_object_get_string(m)), -EINVAL;
	if (!(m = member(env, "host_id", json_type_string, false, "report", err, errlen)))
		return -EINVAL;
	if (!*json_object_get_string(m) || strlen(json_object_get_string(m)) > 128)
		return snprintf(err, errlen, "report.host_id is empty or too long"), -EINVAL;
	if (!(m = member(env, "probe", json_type_object, false, "report", err, errlen)))
		return -EINVAL;
	return check_probe(m, err, errlen);
}

/* ---- insertion: one transaction ---- */

static const char *str(json_object *o, const char *k)
{
	json_object *m;

	return json_object_object_get_ex(o, k, &m) && json_object_is_type(m, json_type_string) ?
	       json_object_get_string(m) : NULL;
}

static json_object *obj(json_object *o, const char *k)
{
	json_object *m;

	return json_object_object_get_ex(o, k, &m) ? m : NULL;
}

/* A checked report as the parameters its INSERTs bind, in order: the reports row (REPORT_CELLS), then each
 * check's row, then each device's. The text stays in the parsed tree, so the writer binds it without a copy
 * and without looking anything up (an import's writer thread is its bottleneck). */
enum cell_kind { CELL_NULL, CELL_TEXT, CELL_INT };
struct cell {
	enum cell_kind kind;
	int len;
	union { const char *s; long long i; };
};
struct flat {
	struct cell *c;
	size_t cap;
	int nchecks, ndevices;
};
#define REPORT_CELLS 13
static const struct {
	const char *member;
	int columns;
	const char *const keys[12];	/* the JSON member of each column after the first (the report's UUID) */
} children[] = {
	[ROWS_CHECKS] = { "checks", 5, { "id", "status", "evidence", "fix" } },
	[ROWS_DEVICES] = { "devices", 12, { "address", "id", "subsystem", "class", "vendor_name", "device_name", "driver",
					    "iommu_group", "verdict", "reason", "paravirtual_alternative" } },
};

/* The member as the column's type (text or integer); anything else binds NULL, as the checks allow. */
static struct cell cell_as(json_object *o, enum cell_kind want)
{
	if (want == CELL_TEXT && json_object_is_type(o, json_type_string))
		return (struct cell){ CELL_TEXT, json_object_get_string_len(o), { .s = json_object_get_string(o) } };
	if (want == CELL_INT && json_object_is_type(o, json_type_int))
		return (struct cell){ CELL_INT, 0, { .i = json_object_get_int64(o) } };
	if (want == CELL_INT && json_object_is_type(o, json_type_boolean))
		return (struct cell){ CELL_INT, 0, { .i = json_object_get_boolean(o) } };
	return (struct cell){ CELL_NULL, 0, { NULL } };
}

static struct cell text_cell(json_object *o)
{
	return cell_as(o, CELL_TEXT);
}

static struct cell bool_cell(json_object *o)	/* a NOT NULL flag: absent is false */
{
	return (struct cell){ CELL_INT, 0, { .i = json_object_get_boolean(o) } };
}

/* env must have passed compatdb_envelope_check(); the cells live as long as env (the probe's text, kept with
 * the probe, included). */
static int report_flatten(json_object *env, json_object *p, struct flat *f)
{
	json_object *sum = obj(p, "summary"), *a[2] = { obj(p, "checks"), obj(p, "devices") };
	size_t need = REPORT_CELLS, at = 0, plen;
	const char *ptext = json_object_to_json_string_length(p, JSON_C_TO_STRING_PLAIN, &plen);

	if (!ptext)
		return -ENOMEM;
	f->nchecks = (int)json_object_array_length(a[ROWS_CHECKS]);
	f->ndevices = (int)json_object_array_length(a[ROWS_DEVICES]);
	need += (size_t)f->nchecks * 5 + (size_t)f->ndevices * 12;
	if (need > f->cap) {
		struct cell *c = realloc(f->c, need * sizeof(*c));
		if (!c)
			return -ENOMEM;
		f->c = c, f->cap = need;
	}
	struct cell *c = f->c, uuid = text_cell(obj(env, "uuid"));
	c[at++] = uuid, c[at++] = text_cell(obj(env, "host_id")), c[at++] = text_cell(obj(env, "created"));
	c[at++] = text_cell(obj(p, "nestvisor_version")), c[at++] = cell_as(obj(p, "schema_version"), CELL_INT);
	c[at++] = cell_as(obj(sum, "hw_vms"), CELL_INT), c[at++] = text_cell(obj(sum, "hw_vms_how"));
	c[at++] = text_cell(obj(obj(p, "kvm"), "module")), c[at++] = text_cell(obj(obj(p, "host"), "hypervisor"));
	c[at++] = bool_cell(obj(sum, "nested")), c[at++] = bool_cell(obj(obj(p, "iommu"), "active"));
	c[at++] = text_cell(obj(sum, "worst"));
	c[at++] = (struct cell){ CELL_TEXT, (int)plen, { .s = ptext } };
	for (int t = 0; t < 2; t++)
		for (size_t i = 0, n = json_object_array_length(a[t]); i < n; i++) {
			json_object *row = json_object_array_get_idx(a[t], i);
			c[at++] = uuid;
			for (int k = 0; k < children[t].columns - 1; k++)
				c[at++] = cell_as(obj(row, children[t].keys[k]),
						  t == ROWS_DEVICES && k == 7 ? CELL_INT : CELL_TEXT);	/* iommu_group */
		}
	return 0;
}

static void bind_cell(sqlite3_stmt *st, int i, const struct cell *c)
{
	if (c->kind == CELL_TEXT)
		sqlite3_bind_text(st, i, c->s, c->len, SQLITE_STATIC);	/* the tree outlives the statement's step */
	else if (c->kind == CELL_INT)
		sqlite3_bind_int64(st, i, c->i);
	else
		sqlite3_bind_null(st, i);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int step(struct compatdb *db, sqlite3_stmt *st, char *err, size_t errlen)
{
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	compatdb_sql_error(db, rc, err, errlen);
	return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

/* The report's checks and devices, COMPATDB_ROWS_MAX rows per INSERT. */
static int insert_children(struct compatdb *db, const struct flat *f, char *err, size_t errlen)
{
	const struct cell *c = f->c + REPORT_CELLS;
	int rows[2] = { [ROWS_CHECKS] = f->nchecks, [ROWS_DEVICES] = f->ndevices };

	for (int t = 0; t < 2; t++)
		for (int i = 0; i < rows[t]; i += COMPATDB_ROWS_MAX) {
			int k = rows[t] - i < COMPATDB_ROWS_MAX ? rows[t] - i : COMPATDB_ROWS_MAX;
			sqlite3_stmt *st = compatdb_rows_stmt(db, (enum compatdb_rows)t, k);
			if (!st)
				return step(db, NULL, err, errlen);
			for (int p = 1; p <= k * children[t].columns; p++)
				bind_cell(st, p, c++);
			if (step(db, st, err, errlen) < 0)
				return -EIO;
		}
	return 0;
}

static int insert_report(struct compatdb *db, const struct flat *f, const char *label, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = compatdb_writable(db, err, errlen)) < 0)
		return rc;
	if (db->batch ? step(db, compatdb_stmt(db, SQL_SAVEPOINT), err, errlen) < 0 :
			compatdb_exec(db, "BEGIN IMMEDIATE;", err, errlen) < 0)
		return -EIO;
	err[0] = '\0';
	if (!(st = compatdb_stmt(db, SQL_HOST_UPSERT)))
		goto fail;
	bind_cell(st, 1, &f->c[1]), bind_text(st, 2, label), bind_cell(st, 3, &f->c[2]);
	if ((rc = step(db, st, err, errlen)) < 0 || !(st = compatdb_stmt(db, SQL_REPORT_INSERT)))
		goto fail;
	for (int i = 0; i < REPORT_CELLS; i++)
		bind_cell(st, i + 1, &f->c[i]);
	if (step(db, st, err, errlen) < 0 || insert_children(db, f, err, errlen) < 0)
		goto fail;
	return db->batch ? step(db, compatdb_stmt(db, SQL_RELEASE), err, errlen) : compatdb_exec(db, "COMMIT;", err, errlen);
fail:
	if (!*err)
		snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	/* nothing of the report stays */
	if (!db->batch)
		sqlite3_exec(db->sql, "ROLLBACK;", NULL, NULL, NULL);
	else if (!sqlite3_get_autocommit(db->sql)) {	/* else SQLite rolled the whole batch back itself */
		if ((st = compatdb_stmt(db, SQL_ROLLBACK_TO)))
			sqlite3_step(st);
		if ((st = compatdb_stmt(db, SQL_RELEASE)))
			sqlite3_step(st);
	}
	return -EIO;
}

static json_object *envelope(json_object *probe, const char *uuid, const char *created, const char *host)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "nestvisor_report", json_object_new_int(COMPATDB_REPORT_FORMAT));
	json_object_object_add(e, "uuid", json_object_new_string(uuid));
	json_object_object_add(e, "created", json_object_new_string(created));
	json_object_object_add(e, "host_id", json_object_new_string(host));
	json_object_object_add(e, "probe", probe);
	return e;
}

/* The number of members of each object in text, in document order (json-c keeps the last of two equal keys, so
 * a count above the parsed object's is a repeated key). text is valid JSON already. */
static int key_counts(const char *text, size_t len, int *counts, int max)
{
	int stack[MAX_DEPTH + 2], depth = 0, n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '"') {
			for (i++; i < len && text[i] != '"'; i++)
				if (text[i] == '\\')
					i++;
		} else if (c == '{' || c == '[') {
			if (depth >= MAX_DEPTH + 2)
				return -1;
			stack[depth++] = c == '{' && n < max ? n : -1;
			if (c == '{' && n < max)
				counts[n] = 0;
			n += c == '{';
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ':' && depth > 0 && stack[depth - 1] >= 0) {
			counts[stack[depth - 1]]++;
		}
	}
	return n;
}

/* Walks the tree in document order: every object's member count against the text's, every string free of NUL
 * (a "\u0000" that PostgreSQL's text type refuses and C strings cut). */
static bool tree_ok(json_object *o, const int *counts, int n, int *at, char *err, size_t errlen)
{
	switch (json_object_get_type(o)) {
	case json_type_object: {
		int mine = (*at)++;
		if (mine >= n || counts[mine] != json_object_object_length(o))
			return snprintf(err, errlen, "a key appears twice in one object"), false;
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (!tree_ok(v, counts, n, at, err, errlen))
				return false;
		}
		return true;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!tree_ok(json_object_array_get_idx(o, i), counts, n, at, err, errlen))
				return false;
		return true;
	case json_type_string:
		if (strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o))
			return snprintf(err, errlen, "a string holds a NUL character (\\u0000)"), false;
		if (!text_utf8_valid(json_object_get_string(o), (size_t)json_object_get_string_len(o)))
			return snprintf(err, errlen, "a string is not valid UTF-8"), false;
		return true;
	default:
		return true;
	}
}

static json_object *parse_bounded(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
	json_object *o;

	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);	/* PostgreSQL takes only valid UTF-8 */
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "not one valid JSON document in UTF-8 (%s at byte %d)",
			 json_tokener_error_desc(json_tokener_get_error(tok)), (int)json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o) {
		int max = (int)(len / 2 + 1), *counts = malloc(sizeof(int) * (size_t)max), at = 0;
		int n = counts ? key_counts(text, len, counts, max) : -1;
		if (n < 0 || !tree_ok(o, counts, n, &at, err, errlen)) {
			if (n < 0)
				snprintf(err, errlen, "out of memory, or nested too deeply");
			json_object_put(o);
			o = NULL;
		}
		free(counts);
	}
	return o;
}

int compatdb_batch(struct compatdb *db, bool on, char *err, size_t errlen)
{
	int rc;

	if (on == db->batch)
		return 0;
	if ((rc = compatdb_writable(db, err, errlen)) < 0)
		return rc;
	rc = compatdb_exec(db, on ? "BEGIN IMMEDIATE;" : "COMMIT;", err, errlen);
	db->batch = on && rc == 0;
	return rc;
}

int compatdb_report_record(struct compatdb *db, const char *probe_json, const char *label, char uuid[37],
			   char *err, size_t errlen)
{
	char host[64], created[32], why[256] = "";
	json_object *p = parse_bounded(probe_json, strlen(probe_json), why, sizeof(why)), *env;
	int rc;

	if (!p)
		return snprintf(err, errlen, "the probe's report: %s", why), -EINVAL;
	if (compatdb_host_id(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown-host");	/* no /etc/machine-id: reports still count */
	new_uuid(uuid);
	now_iso(created);
	env = envelope(p, uuid, created, host);
	if ((rc = compatdb_envelope_check(env, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "the probe's report: %s", why);
	} else {
		struct flat f = { 0 };
		rc = report_flatten(env, p, &f);
		rc = rc < 0 ? (snprintf(err, errlen, "out of memory"), rc) : insert_report(db, &f, label, err, errlen);
		free(f.c);
	}
	json_object_put(env);
	return rc;
}

int compatdb_report_record_at(const char *path, const char *probe_json, char uuid[37], char *err, size_t errlen)
{
	struct compatdb *db;
	int rc = compatdb_open(path, &db, err, errlen);

	if (rc < 0)
		return rc;
	rc = compatdb_report_record(db, probe_json, NULL, uuid, err, errlen);
	compatdb_close(db);
	return rc;
}

/* Keeps only the IOMMU-related words of the kernel command line: the rest can name hosts and disks. */
static void redact_cmdline(json_object *probe)
{
	json_object *io = obj(probe, "iommu");
	const char *cmd = str(io, "cmdline");
	char out[1024] = "", word[256];
	size_t used = 0;

	if (!cmd)
		return;
	for (const char *p = cmd; *p;) {
		size_t n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) - 1 ? n : sizeof(word) - 1), p);
		if (strstr(word, "iommu") && used + n + 2 < sizeof(out))
			used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? " " : "", word);
		p += n + (p[n] == ' ');
	}
	json_object_object_add(io, "cmdline", json_object_new_string(out));
}

/* Same UUID: identical content is "already there"; different content is refused. */
static int compare_existing(struct compatdb *db, json_object *env, char *err, size_t errlen)
{
	sqlite3_stmt *st = compatdb_stmt(db, SQL_REPORT_BY_UUID);
	const char *uuid = str(env, "uuid");
	int rc = 0;

	if (!st)
		return -EIO;
	bind_text(st, 1, uuid);
	if (sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), uuid)) {
		json_object *mine = json_tokener_parse((const char *)sqlite3_column_text(st, 1)), *theirs = NULL;
		/* an export leaves out identifiers: compare both without them */
		json_object_deep_copy(obj(env, "probe"), &theirs, NULL);
		redact_cmdline(mine);
		redact_cmdline(theirs);
		rc = json_object_equal(mine, theirs) ? 1 : -EEXIST;
		json_object_put(theirs);
		if (rc < 0)
			snprintf(err, errlen, "report %s is already in %.400s with different content; nothing was imported",
				 uuid, db->path);
		json_object_put(mine);
	}
	sqlite3_reset(st);
	return rc;
}

/* A report file read, parsed, checked and flattened, ready to store: the half of an import that needs no
 * database. Its tree is freed by the thread that made it (before the slot is loaded again): freeing on the
 * other thread makes both fight over one malloc arena. */
struct loaded {
	json_object *env;
	size_t size;			/* the file's bytes while env holds it, for the read-ahead's bound */
	struct flat flat;		/* the cells point into env */
	char why[640];
	int rc;
};

struct readbuf {
	char *text;
	size_t cap;
};

static void report_load(const char *file, struct loaded *l, struct readbuf *b)
{
	struct stat sb;
	int fd = safefile_open_regular(file, &sb);	/* a FIFO or a device is refused, not read forever */
	ssize_t n = 0;

	json_object_put(l->env);
	l->env = NULL, l->size = 0, l->why[0] = '\0', l->rc = -EINVAL;
	if (fd < 0) {
		snprintf(l->why, sizeof(l->why), "%s: %s; nothing was imported", file,
			 fd == -EINVAL ? "not a regular file" : strerror(-fd));
		l->rc = -ENOENT;
		return;
	}
	if (sb.st_size > COMPATDB_MAX_REPORT) {
		snprintf(l->why, sizeof(l->why), "%s: %lld bytes is larger than a report can be (%d)", file,
			 (long long)sb.st_size, COMPATDB_MAX_REPORT);
		close(fd);
		l->rc = -E2BIG;
		return;
	}
	if ((size_t)sb.st_size + 1 > b->cap) {
		char *t = realloc(b->text, (size_t)sb.st_size + 1);
		if (!t) {
			snprintf(l->why, sizeof(l->why), "%s: out of memory", file);
			close(fd);
			l->rc = -ENOMEM;
			return;
		}
		b->text = t, b->cap = (size_t)sb.st_size + 1;
	}
	for (ssize_t r = 1; r != 0 && n < sb.st_size; n += r > 0 ? r : 0)
		if ((r = read(fd, b->text + n, (size_t)(sb.st_size - n))) < 0 && errno != EINTR) {
			snprintf(l->why, sizeof(l->why), "%s: %s; nothing was imported", file, strerror(errno));
			close(fd);
			l->rc = -EIO;
			return;
		}
	close(fd);
	char why[512] = "";
	b->text[n] = '\0';
	if (strlen(b->text) != (size_t)n)
		snprintf(why, sizeof(why), "a NUL byte inside the file");
	else if ((l->env = parse_bounded(b->text, (size_t)n, why, sizeof(why))))
		l->rc = compatdb_envelope_check(l->env, why, sizeof(why));
	if (why[0]) {
		snprintf(l->why, sizeof(l->why), "%s: not a nestvisor report: %s; nothing was imported", file, why);
		l->rc = l->rc == -ENOTSUP ? l->rc : -EINVAL;
		json_object_put(l->env);
		l->env = NULL;
		return;
	}
	l->size = (size_t)n;
	if ((l->rc = report_flatten(l->env, obj(l->env, "probe"), &l->flat)) < 0)
		snprintf(l->why, sizeof(l->why), "%s: out of memory", file);
}

static void loaded_free(struct loaded *l)
{
	json_object_put(l->env);
	free(l->flat.c);
}

/* The other half: "already there", refused as a conflict, or inserted. */
static int report_store(struct compatdb *db, const char *file, struct loaded *l, char uuid[37], char *err,
			size_t errlen)
{
	char why[640] = "";
	int rc;

	if (l->rc < 0)
		return snprintf(err, errlen, "%s", l->why), l->rc;
	snprintf(uuid, 37, "%s", str(l->env, "uuid"));
	if ((rc = compare_existing(db, l->env, why, sizeof(why))) == 0)
		rc = insert_report(db, &l->flat, NULL, err, errlen);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", file, why);
	return rc;
}

int compatdb_report_import(struct compatdb *db, const char *file, char uuid[37], char *err, size_t errlen)
{
	struct loaded l = { 0 };
	struct readbuf b = { 0 };
	int rc;

	report_load(file, &l, &b);
	free(b.text);
	rc = report_store(db, file, &l, uuid, err, errlen);
	loaded_free(&l);
	return rc;
}

/* ---- many files: reader threads read and parse ahead while this one writes ---- */

/* Parsing (json-c) costs about as much as inserting: the writer, the one thread SQLite allows, keeps a core,
 * and a reader runs on each of the others (one on two cores: two were no faster there, four slower).
 * Reader r loads files r, r + readers, ...; AHEAD is a multiple of the readers, so a slot is always loaded,
 * and its tree freed, by the same thread. The read-ahead covers the writer's commits. */
#define READERS_MAX 4
#define AHEAD 240		/* a multiple of 1..READERS_MAX */
#define AHEAD_BYTES (32 << 20)	/* and no more file text than this parsed ahead (its trees are larger) */

struct pipeline {
	char **files;
	int n, readers, stored;		/* stored: by the writer (under lock) */
	size_t ahead;			/* bytes loaded and not yet stored (under lock) */
	bool stop;
	struct loaded slot[AHEAD];
	int ready[AHEAD];		/* the file index loaded into each slot, -1 when none (under lock) */
	pthread_mutex_t lock;
	pthread_cond_t more, room;
};

struct reader {
	struct pipeline *pl;
	int first;
	pthread_t thread;
};

static void *pipeline_read(void *arg)
{
	struct reader *r = arg;
	struct pipeline *pl = r->pl;
	struct readbuf buf = { 0 };

	for (int i = r->first; i < pl->n; i += pl->readers) {
		pthread_mutex_lock(&pl->lock);
		/* the file the writer needs next is always loaded, whatever the bytes ahead */
		while ((i - pl->stored >= AHEAD || (pl->ahead > AHEAD_BYTES && i > pl->stored)) && !pl->stop)
			pthread_cond_wait(&pl->room, &pl->lock);
		bool stop = pl->stop;
		pthread_mutex_unlock(&pl->lock);
		if (stop)
			break;
		report_load(pl->files[i], &pl->slot[i % AHEAD], &buf);
		pthread_mutex_lock(&pl->lock);
		pl->ready[i % AHEAD] = i;
		pl->ahead += pl->slot[i % AHEAD].size;
		pthread_cond_signal(&pl->more);		/* only the writer waits on it */
		pthread_mutex_unlock(&pl->lock);
	}
	free(buf.text);
	return NULL;
}

/* Results wait for their batch's COMMIT: "imported" is never said of a report a crash could still take. */
struct pending {
	int file, rc;
	char uuid[37];
	char *why;
};

static void pending_flush(struct pending *p, int *np, char **files, compatdb_import_cb done, void *ctx,
			  const char *lost)
{
	for (int i = 0; i < *np; i++) {
		bool gone = lost && p[i].rc == 0;	/* "already there" was committed before: not lost */
		char why[1024];
		if (gone)
			snprintf(why, sizeof(why), "%s: report %s was not imported: %s", files[p[i].file], p[i].uuid, lost);
		if (done)
			done(ctx, files[p[i].file], gone ? -EIO : p[i].rc, p[i].uuid, gone ? why : p[i].why ? p[i].why : "");
		free(p[i].why);
	}
	*np = 0;
}

static void pipeline_stop(struct pipeline *pl, struct reader *rd, int started)
{
	pthread_mutex_lock(&pl->lock);
	pl->stop = true;
	pthread_cond_broadcast(&pl->room);
	pthread_mutex_unlock(&pl->lock);
	for (int r = 0; r < started; r++)
		pthread_join(rd[r].thread, NULL);
}

int compatdb_report_import_files(struct compatdb *db, int n, char **files, compatdb_import_cb done, void *ctx,
				 char *err, size_t errlen)
{
	enum { BATCH = 1000 };	/* a commit every 1000 reports keeps the WAL small */
	struct pipeline *pl = calloc(1, sizeof(*pl));
	struct pending *pend = calloc(BATCH, sizeof(*pend));
	struct readbuf wbuf = { 0 };	/* when there is no reader thread */
	struct reader rd[READERS_MAX];
	struct compatdb_checkpointer ck;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *readers_env = getenv("NESTVISOR_IMPORT_READERS");
	char why[1024];
	int rc = 0, failed = 0, np = 0, started = 0;

	if (!pl || !pend) {
		free(pl), free(pend);
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	}
	if ((rc = compatdb_batch(db, true, err, errlen)) < 0) {
		free(pl), free(pend);
		return rc;
	}
	compatdb_checkpointer_start(db, &ck);
	pl->files = files, pl->n = n;
	pl->readers = n < 2 ? 0 : cpus < 3 ? 1 : cpus > READERS_MAX + 1 ? READERS_MAX : (int)cpus - 1;
	if (n >= 2 && readers_env && atoi(readers_env) >= 1)	/* NESTVISOR_IMPORT_READERS: tuning, and the tests */
		pl->readers = atoi(readers_env) > READERS_MAX ? READERS_MAX : atoi(readers_env);
	for (int i = 0; i < AHEAD; i++)
		pl->ready[i] = -1;
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->more, NULL);
	pthread_cond_init(&pl->room, NULL);
	for (; started < pl->readers; started++) {
		rd[started] = (struct reader){ .pl = pl, .first = started };
		if (pthread_create(&rd[started].thread, NULL, pipeline_read, &rd[started]) != 0)
			break;
	}
	if (started < pl->readers) {	/* no threads to be had: this one does it all */
		pipeline_stop(pl, rd, started);
		pl->readers = started = 0, pl->stop = false;
	}
	for (int i = 0; i < n; i++) {
		struct loaded *l = &pl->slot[i % AHEAD];
		struct pending *p = &pend[np++];

		if (started) {
			pthread_mutex_lock(&pl->lock);
			while (pl->ready[i % AHEAD] != i)
				pthread_cond_wait(&pl->more, &pl->lock);
			pthread_mutex_unlock(&pl->lock);
		} else {
			report_load(files[i], l, &wbuf);
		}
		p->file = i, p->uuid[0] = '\0', why[0] = '\0';
		p->rc = report_store(db, files[i], l, p->uuid, why, sizeof(why));
		p->why = p->rc < 0 ? strdup(why) : NULL;
		failed += p->rc < 0;
		if (started) {
			pthread_mutex_lock(&pl->lock);
			pl->stored = i + 1;
			pl->ahead -= l->size;
			pthread_cond_broadcast(&pl->room);
			pthread_mutex_unlock(&pl->lock);
		}
		if (p->rc < 0 && sqlite3_get_autocommit(db->sql)) {
			/* SQLite rolled the whole batch back (a full disk, an I/O error): say so of each, and stop */
			db->batch = false;
			snprintf(err, errlen, "%s", why);
			pending_flush(pend, &np, files, done, ctx, why);
			rc = -EIO;
			break;
		}
		if (np == BATCH || i == n - 1) {
			if ((rc = compatdb_batch(db, false, err, errlen)) < 0) {
				pending_flush(pend, &np, files, done, ctx, err);
				break;
			}
			compatdb_checkpointer_commit(&ck);
			pending_flush(pend, &np, files, done, ctx, NULL);
			if (i < n - 1 && (rc = compatdb_batch(db, true, err, errlen)) < 0)
				break;
		}
	}
	pipeline_stop(pl, rd, started);
	for (int i = 0; i < AHEAD; i++)
		loaded_free(&pl->slot[i]);
	free(wbuf.text);
	if (db->batch)
		compatdb_batch(db, false, why, sizeof(why));	/* n == 0 */
	compatdb_checkpointer_stop(&ck);
	free(pend);
	pthread_cond_destroy(&pl->more);
	pthread_cond_destroy(&pl->room);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
	return rc < 0 ? rc : failed;
}

char *compatdb_report_export(struct compatdb *db, const char *uuid, bool identifiers, char *err, size_t errlen)
{
	sqlite3_stmt *st = compatdb_stmt(db, SQL_REPORT_JSON);
	char *out = NULL;

	if (!st)
		return NULL;
	if (!*uuid || strspn(uuid, "0123456789abcdef-") != strlen(uuid)) {
		snprintf(err, errlen, "%s: a report id is a UUID or a prefix of one (0-9, a-f, -)", uuid);
		return NULL;
	}
	bind_text(st, 1, uuid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "no report %s in %s (`nestvisor report list` shows them)", uuid, db->path);
	} else {
		char found[37];
		snprintf(found, sizeof(found), "%s", (const char *)sqlite3_column_text(st, 0));
		json_object *p = json_tokener_parse((const char *)sqlite3_column_text(st, 1));
		json_object *e = envelope(p, found, (const char *)sqlite3_column_text(st, 3),
					  (const char *)sqlite3_column_text(st, 2));
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(err, errlen, "%s matches more than one report: give more of the UUID", uuid);
		else {
			if (!identifiers)
				redact_cmdline(p);
			out = strdup(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		}
		json_object_put(e);
	}
	sqlite3_reset(st);
	return out;
}
