/* passthrough: what became of a device passed through to a VM (the VMM tells, as the VM ends), kept
 * against the device's model with this host and kernel: which models really passed through where,
 * beside what the probe predicted (`nestvisor db device` shows both). */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "common/errmsg.h"
#include "compat-db/db.h"

static int record_as(struct compatdb *db, const char *host, const char *address,
		     const char *vendor_device, const char *outcome, const char *how, char *err,
		     size_t errlen)
{
	static const char *const outcomes[] = { "worked", "failed", "unused" };
	struct utsname u;
	sqlite3_stmt *st = NULL;
	unsigned a, b;
	int rc, known = 0;

	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		known |= !strcmp(outcome, outcomes[i]);
	if (!known || strlen(vendor_device) != 9 || sscanf(vendor_device, "%4x:%4x", &a, &b) != 2)
		return errmsg(err, errlen, -EINVAL, "a passthrough outcome of %s (%s): not one to keep",
			      vendor_device, outcome);
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	if ((rc = compatdb_writable(db, err, errlen)) < 0)
		return rc;
	if (sqlite3_prepare_v2(db->sql,
			       "INSERT INTO passthrough (host_id, at, address, vendor_device, kernel,"
			       " outcome, how, uuid) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),"
			       " ?2, lower(?3), ?4, ?5, ?6, lower(hex(randomblob(16))))", -1, &st,
			       NULL) != SQLITE_OK)
		return errmsg(err, errlen, -EIO, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, address, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, vendor_device, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, u.release, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, outcome, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, how, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 :
		errmsg(err, errlen, -EIO, "%s: %s", db->path, sqlite3_errmsg(db->sql));
	sqlite3_finalize(st);
	return rc;
}

int compatdb_passthrough_record(struct compatdb *db, const char *address, const char *vendor_device,
				const char *outcome, const char *how, char *err, size_t errlen)
{
	char host[64];

	if (compatdb_host_id(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown-host");
	return record_as(db, host, address, vendor_device, outcome, how, err, errlen);
}

/* Everything a record needs from files opened now: at the VM's end, under its sandbox, only the
 * database's own file is written (the host id's cache may need a user database lookup). */
struct compatdb_pt {
	struct compatdb *db;
	char host[64];
};

void *compatdb_passthrough_open(void)
{
	struct compatdb_pt *h = calloc(1, sizeof(*h));
	char err[600];

	if (h && compatdb_open(NULL, &h->db, err, sizeof(err)) == 0) {
		if (compatdb_host_id(h->host, sizeof(h->host)) < 0)
			snprintf(h->host, sizeof(h->host), "unknown-host");
		return h;
	}
	if (h)
		fprintf(stderr, "nestvisor: passthrough outcomes will not be recorded: %s\n", err);
	free(h);
	return NULL;
}

void compatdb_passthrough_tell(void *handle, const char *address, const char *vendor_device,
			       const char *outcome, const char *how)
{
	struct compatdb_pt *h = handle;
	char err[600];

	if (h && record_as(h->db, h->host, address, vendor_device, outcome, how, err, sizeof(err)) < 0)
		fprintf(stderr, "nestvisor: the passthrough of %s (%s) is not recorded: %s\n",
			address, outcome, err);
}

void compatdb_passthrough_close(void *handle)
{
	struct compatdb_pt *h = handle;

	if (h) {
		compatdb_close(h->db);
		free(h);
	}
}
