/* report: records probe reports (one transaction each: all of a report or none of it), stores
 * imported ones, and exports them in a versioned envelope. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "compat-db/envelope.h"

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
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;	/* version 4, RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
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

/* ---- insertion: one transaction ---- */


static const struct {
	const char *member;
	int columns;
	const char *const
		keys[12]; /* the JSON member of each column after the first (the report's UUID) */
} children[] = {
	[ROWS_CHECKS] = { "checks", 5, { "id", "status", "evidence", "fix" } },
	[ROWS_DEVICES] = { "devices",
			   12,
			   { "address", "id", "subsystem", "class", "vendor_name", "device_name",
			     "driver", "iommu_group", "verdict", "reason",
			     "paravirtual_alternative" } },
};

/* The member as the column's type (text or integer); anything else binds NULL, as the checks allow.
 */
static struct cell cell_as(json_object *o, enum cell_kind want)
{
	if (want == CELL_TEXT && json_object_is_type(o, json_type_string))
		return (struct cell){ CELL_TEXT,
				      json_object_get_string_len(o),
				      { .s = json_object_get_string(o) } };
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

/* env must have passed compatdb_envelope_check(); the cells live as long as env (the probe's text,
 * kept with the probe, included). */
int compatdb_report_flatten(json_object *env, json_object *p, struct flat *f)
{
	json_object *sum = json_obj(p, "summary"),
		    *a[2] = { json_obj(p, "checks"), json_obj(p, "devices") };
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
		f->c = c;
		f->cap = need;
	}
	struct cell *c = f->c, uuid = text_cell(json_obj(env, "uuid"));
	c[at++] = uuid;
	c[at++] = text_cell(json_obj(env, "host_id"));
	c[at++] = text_cell(json_obj(env, "created"));
	c[at++] = text_cell(json_obj(p, "nestvisor_version"));
	c[at++] = cell_as(json_obj(p, "schema_version"), CELL_INT);
	c[at++] = cell_as(json_obj(sum, "hw_vms"), CELL_INT);
	c[at++] = text_cell(json_obj(sum, "hw_vms_how"));
	c[at++] = text_cell(json_obj(json_obj(p, "kvm"), "module"));
	c[at++] = text_cell(json_obj(json_obj(p, "host"), "hypervisor"));
	c[at++] = bool_cell(json_obj(sum, "nested"));
	c[at++] = bool_cell(json_obj(json_obj(p, "iommu"), "active"));
	c[at++] = text_cell(json_obj(sum, "worst"));
	c[at++] = (struct cell){ CELL_TEXT, (int)plen, { .s = ptext } };
	for (int t = 0; t < 2; t++)
		for (size_t i = 0, n = json_object_array_length(a[t]); i < n; i++) {
			json_object *row = json_object_array_get_idx(a[t], i);
			c[at++] = uuid;
			for (int k = 0; k < children[t].columns - 1; k++)
				c[at++] = cell_as(json_obj(row, children[t].keys[k]),
						  t == ROWS_DEVICES && k == 7 ?
							  CELL_INT :
							  CELL_TEXT); /* iommu_group */
		}
	return 0;
}

static void bind_cell(sqlite3_stmt *st, int i, const struct cell *c)
{
	if (c->kind == CELL_TEXT)
		sqlite3_bind_text(st, i, c->s, c->len,
				  SQLITE_STATIC); /* the tree outlives the statement's step */
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

static int insert_report(struct compatdb *db, const struct flat *f, const char *label, char *err,
			 size_t errlen)
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
	bind_cell(st, 1, &f->c[1]);
	bind_text(st, 2, label);
	bind_cell(st, 3, &f->c[2]);
	if ((rc = step(db, st, err, errlen)) < 0 || !(st = compatdb_stmt(db, SQL_REPORT_INSERT)))
		goto fail;
	for (int i = 0; i < REPORT_CELLS; i++)
		bind_cell(st, i + 1, &f->c[i]);
	if (step(db, st, err, errlen) < 0 || insert_children(db, f, err, errlen) < 0)
		goto fail;
	return db->batch ? step(db, compatdb_stmt(db, SQL_RELEASE), err, errlen) :
			   compatdb_exec(db, "COMMIT;", err, errlen);
fail:
	if (!*err)
		snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	/* nothing of the report stays */
	if (!db->batch)
		sqlite3_exec(db->sql, "ROLLBACK;", NULL, NULL, NULL);
	else if (!sqlite3_get_autocommit(
			 db->sql)) { /* else SQLite rolled the whole batch back itself */
		if ((st = compatdb_stmt(db, SQL_ROLLBACK_TO)))
			sqlite3_step(st);
		if ((st = compatdb_stmt(db, SQL_RELEASE)))
			sqlite3_step(st);
	}
	return -EIO;
}

static json_object *envelope(json_object *probe, const char *uuid, const char *created,
			     const char *host)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "nestvisor_report", json_object_new_int(COMPATDB_REPORT_FORMAT));
	json_object_object_add(e, "uuid", json_object_new_string(uuid));
	json_object_object_add(e, "created", json_object_new_string(created));
	json_object_object_add(e, "host_id", json_object_new_string(host));
	json_object_object_add(e, "probe", probe);
	return e;
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

/* What a report says of the host, without what changes from run to run: the functional check's
 * timings (its members, and the digits of the checks' evidence). malloc'd. */
static char *facts_text(json_object *probe)
{
	json_object *p = NULL, *kvm, *checks;
	char *text;

	if (json_object_deep_copy(probe, &p, NULL) < 0)
		return NULL;
	if (json_object_object_get_ex(p, "kvm", &kvm)) {
		json_object_object_del(kvm, "run_total_us");
		json_object_object_del(kvm, "exit_round_trip_us");
	}
	if (json_object_object_get_ex(p, "checks", &checks))
		for (size_t i = 0; i < json_object_array_length(checks); i++) {
			json_object *c = json_object_array_get_idx(checks, i), *e;
			if (!json_object_object_get_ex(c, "evidence", &e))
				continue;
			char *ev = strdup(json_object_get_string(e));
			for (char *q = ev; q && *q; q++)
				*q = *q >= '0' && *q <= '9' ? '#' : *q;
			if (ev)
				json_object_object_add(c, "evidence", json_object_new_string(ev));
			free(ev);
		}
	text = strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
	return text;
}

/* 1 (uuid set) when the host's last report says what probe does: that one is seen again instead of
 * a new one made; 0 when it does not (or there is none); -errno. */
static int seen_again(struct compatdb *db, const char *host, json_object *probe, const char *now,
		      char uuid[37], char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (sqlite3_prepare_v2(db->sql, "SELECT uuid, json FROM reports WHERE host_id = ?1"
			       " ORDER BY created DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return 0;	/* no answer is no match: record a new report */
	bind_text(st, 1, host);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_object *last = json_tokener_parse((const char *)sqlite3_column_text(st, 1));
		char *a = last ? facts_text(last) : NULL, *b = facts_text(probe);
		if (a && b && !strcmp(a, b)) {
			snprintf(uuid, 37, "%s", (const char *)sqlite3_column_text(st, 0));
			rc = 1;
		}
		free(a);
		free(b);
		json_object_put(last);
	}
	sqlite3_finalize(st);
	if (rc != 1)
		return rc;
	if (sqlite3_prepare_v2(db->sql,
			       "UPDATE reports SET seen_count = seen_count + 1, seen_last = ?2"
			       " WHERE uuid = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return errmsg(err, errlen, -EIO, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	bind_text(st, 1, uuid);
	bind_text(st, 2, now);
	rc = sqlite3_step(st) == SQLITE_DONE ? 1 : -EIO;
	if (rc < 0)
		compatdb_sql_error(db, sqlite3_errcode(db->sql), err, errlen);
	sqlite3_finalize(st);
	if (rc == 1 && sqlite3_prepare_v2(db->sql, "UPDATE hosts SET last_seen = max(last_seen, ?2)"
					  " WHERE host_id = ?1", -1, &st, NULL) == SQLITE_OK) {
		bind_text(st, 1, host);
		bind_text(st, 2, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return rc;
}

int compatdb_report_record(struct compatdb *db, const char *probe_json, const char *label,
			   char uuid[37], char *err, size_t errlen)
{
	char host[64], created[32], why[256] = "";
	json_object *p = compatdb_json_parse(probe_json, strlen(probe_json), why, sizeof(why)),
		    *env;
	int rc;

	if (!p)
		return errmsg(err, errlen, -EINVAL, "the probe's report: %s", why);
	if (compatdb_host_id(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host),
			 "unknown-host"); /* no /etc/machine-id: reports still count */
	now_iso(created);
	if ((rc = compatdb_writable(db, err, errlen)) < 0 ||
	    (rc = seen_again(db, host, p, created, uuid, err, errlen)) != 0) {
		json_object_put(p);
		return rc;
	}
	new_uuid(uuid);
	env = envelope(p, uuid, created, host);
	if ((rc = compatdb_envelope_check(env, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "the probe's report: %s", why);
	} else {
		struct flat f = { 0 };
		rc = compatdb_report_flatten(env, p, &f);
		rc = rc < 0 ? (snprintf(err, errlen, "out of memory"), rc) :
			      insert_report(db, &f, label, err, errlen);
		free(f.c);
	}
	json_object_put(env);
	return rc;
}

int compatdb_report_record_at(const char *path, const char *probe_json, char uuid[37], char *err,
			      size_t errlen)
{
	struct compatdb *db;
	int rc = compatdb_open(path, &db, err, errlen);

	if (rc < 0)
		return rc;
	rc = compatdb_report_record(db, probe_json, NULL, uuid, err, errlen);
	compatdb_close(db);
	return rc;
}

/* Keeps only the IOMMU-related words of the kernel command line: the rest can name hosts and disks.
 */
static void redact_cmdline(json_object *probe)
{
	json_object *io = json_obj(probe, "iommu");
	const char *cmd = json_str(io, "cmdline");
	char out[1024] = "", word[256];
	size_t used = 0;

	if (!cmd)
		return;
	for (const char *p = cmd; *p;) {
		size_t n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s",
			 (int)(n < sizeof(word) - 1 ? n : sizeof(word) - 1), p);
		if (strstr(word, "iommu") && used + n + 2 < sizeof(out))
			used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s",
						 used ? " " : "", word);
		p += n + (p[n] == ' ');
	}
	json_object_object_add(io, "cmdline", json_object_new_string(out));
}

/* Same UUID: identical content is "already there"; different content is refused. */
static int compare_existing(struct compatdb *db, json_object *env, char *err, size_t errlen)
{
	sqlite3_stmt *st = compatdb_stmt(db, SQL_REPORT_BY_UUID);
	const char *uuid = json_str(env, "uuid");
	int rc = 0;

	if (!st)
		return -EIO;
	bind_text(st, 1, uuid);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    !strcmp((const char *)sqlite3_column_text(st, 0), uuid)) {
		json_object *mine = json_tokener_parse((const char *)sqlite3_column_text(st, 1)),
			    *theirs = NULL;
		/* an export leaves out identifiers: compare both without them */
		json_object_deep_copy(json_obj(env, "probe"), &theirs, NULL);
		redact_cmdline(mine);
		redact_cmdline(theirs);
		rc = json_object_equal(mine, theirs) ? 1 : -EEXIST;
		json_object_put(theirs);
		if (rc < 0)
			snprintf(err, errlen,
				 "report %s is already in %.400s with different content; nothing "
				 "was imported",
				 uuid, db->path);
		json_object_put(mine);
	}
	sqlite3_reset(st);
	return rc;
}

/* The other half: "already there", refused as a conflict, or inserted. */
int compatdb_report_store(struct compatdb *db, const char *file, struct loaded *l, char uuid[37],
			  char *err, size_t errlen)
{
	char why[640] = "";
	int rc;

	if (l->rc < 0)
		return errmsg(err, errlen, l->rc, "%s", l->why);
	snprintf(uuid, 37, "%s", json_str(l->env, "uuid"));
	if ((rc = compare_existing(db, l->env, why, sizeof(why))) == 0)
		rc = insert_report(db, &l->flat, NULL, err, errlen);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", file, why);
	return rc;
}

char *compatdb_report_export(struct compatdb *db, const char *id, bool identifiers, char *err,
			     size_t errlen)
{
	sqlite3_stmt *st;
	char full[37], *out = NULL;

	if (compatdb_report_resolve(db, id, full, err, errlen) < 0 ||
	    !(st = compatdb_stmt(db, SQL_REPORT_JSON)))
		return NULL;
	bind_text(st, 1, full);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_object *p = json_tokener_parse((const char *)sqlite3_column_text(st, 1));
		json_object *e = envelope(p, full, (const char *)sqlite3_column_text(st, 3),
					  (const char *)sqlite3_column_text(st, 2));
		if (!identifiers)
			redact_cmdline(p);
		out = strdup(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(e);
	}
	if (!out)
		snprintf(err, errlen, "%s: report %s could not be read", db->path, full);
	sqlite3_reset(st);
	return out;
}
