/* compatdb: the compatibility database: probe reports, the devices they saw, and device knowledge.
 * SQLite locally; a shared PostgreSQL database for a fleet (compatdb_remote_*, compatdb_submit). */
#ifndef NESTVISOR_COMPATDB_H
#define NESTVISOR_COMPATDB_H

#include <stdbool.h>
#include <stddef.h>

#define COMPATDB_SCHEMA_VERSION 5
#define COMPATDB_REPORT_FORMAT 1	/* the export envelope's "nestvisor_report" */
#define COMPATDB_MAX_REPORT (4 << 20)	/* bytes: a probe report is tens of KiB; more is hostile */

/* A handle belongs to one thread at a time (its SQLite connection takes no locks); a thread that
 * needs the database beside another opens its own, as the TUI's submit and probe threads do. */
struct compatdb;

/* Opens (creating or migrating) the database at path, or the default when path is NULL:
 * $NESTVISOR_DB, else $XDG_DATA_HOME/nestvisor/compat.db, else ~/.local/share/nestvisor/compat.db.
 * A file from a newer nestvisor is refused, never changed. err names the file and the fix. */
int compatdb_open(const char *path, struct compatdb **out, char *err, size_t errlen);
void compatdb_close(struct compatdb *db);
const char *compatdb_path(const struct compatdb *db);
void compatdb_default_path(char *buf, size_t len);

/* Records a probe report (the probe's JSON) for this host: 0 with the new report's UUID in
 * uuid[37], or 1 when the host's last report says the same (timings aside): that report is seen
 * again (seen_count, seen_last) and its UUID given; -errno. */
int compatdb_report_record(struct compatdb *db, const char *probe_json, const char *label,
			   char uuid[37], char *err, size_t errlen);
/* The same on the database at path (NULL: the default), opened and closed for this one report:
 * what `nestvisor probe` and the TUI do after a live probe. */
int compatdb_report_record_at(const char *path, const char *probe_json, char uuid[37], char *err,
			      size_t errlen);
/* Imports an exported report file. 0 imported, 1 already there (same content), -errno refused. */
int compatdb_report_import(struct compatdb *db, const char *file, char uuid[37], char *err,
			   size_t errlen);
/* Imports many files, each whole or not at all, committing every 1000; reader threads (one per CPU
 * beyond the writer's) read and parse ahead. done() hears each file's result (as
 * compatdb_report_import's, err in why). Returns the number of refused files, or -errno (err set)
 * when the database itself fails: everything before it stays. */
typedef void (*compatdb_import_cb)(void *ctx, const char *file, int rc, const char *uuid,
				   const char *why);
int compatdb_report_import_files(struct compatdb *db, int n, char **files, compatdb_import_cb done,
				 void *ctx, char *err, size_t errlen);
/* The export envelope (malloc'd JSON); identifiers (the kernel command line) only when asked. */
char *compatdb_report_export(struct compatdb *db, const char *uuid, bool identifiers, char *err,
			     size_t errlen);

/* Many imports in one transaction, each report still all-or-nothing (a savepoint): pages are
 * written once per batch instead of once per report. on=false commits. */
int compatdb_batch(struct compatdb *db, bool on, char *err, size_t errlen);

/* A query's answer: named columns, each of one kind, and rows of cells (text; NULL where there is
 * none). An INT cell is decimal, a BOOL cell "1" or "0". Printing is the caller's: the CLI prints a
 * table or JSON, the TUI lays rows out itself. */
enum compatdb_kind { COMPATDB_TEXT, COMPATDB_INT, COMPATDB_BOOL };
struct compatdb_table {
	int ncols, nrows, cap;
	char **cols;			/* the columns' names (the JSON keys) */
	enum compatdb_kind *kinds;
	char **cells;			/* row r, column c at [r * ncols + c] */
};
/* The column named name (-1: none), and a cell by row and column name (NULL: none, or no such
 * column). */
int compatdb_table_find(const struct compatdb_table *t, const char *name);
const char *compatdb_table_get(const struct compatdb_table *t, int row, const char *name);
void compatdb_table_free(struct compatdb_table *t);

/* Queries: 0 with *out set (free it with compatdb_table_free), or -errno with err set. An id may be
 * a unique prefix of a report's UUID; compatdb_report_resolve gives the whole UUID. */
int compatdb_report_resolve(struct compatdb *db, const char *id, char full[37], char *err,
			    size_t errlen);
int compatdb_report_list(struct compatdb *db, struct compatdb_table **out, char *err,
			 size_t errlen);
/* One report's checks, in the probe's order, and its devices (the export is the whole report). */
int compatdb_report_checks(struct compatdb *db, const char *id, struct compatdb_table **out,
			   char *err, size_t errlen);
int compatdb_report_devices(struct compatdb *db, const char *id, struct compatdb_table **out,
			    char *err, size_t errlen);
/* What changed between two reports: checks whose status moved, devices that came, went or changed.
 */
int compatdb_report_diff(struct compatdb *db, const char *a, const char *b,
			 struct compatdb_table **out, char *err, size_t errlen);
int compatdb_hosts(struct compatdb *db, struct compatdb_table **out, char *err, size_t errlen);
struct compatdb_device_filter { const char *vendor, *class_, *verdict; };
int compatdb_devices(struct compatdb *db, const struct compatdb_device_filter *f,
		     struct compatdb_table **out, char *err, size_t errlen);
/* One device model across hosts; -ENOENT when no report has seen it. */
/* passthrough.c: a device passed through to a VM, as that VM ended: outcome "worked" (the guest's
 * driver drove it, the VM ended cleanly), "failed" or "unused", how the VM ended; kept with this
 * host and kernel. 0 or -errno with err. */
int compatdb_passthrough_record(struct compatdb *db, const char *address, const char *vendor_device,
				const char *outcome, const char *how, char *err, size_t errlen);
/* The same for a VMM (vmm_config's passthrough_open, _tell, _close): the default database
 * opened by the VM's process while it sets up, before it confines itself (NULL: it could not be,
 * said on stderr), each outcome kept (a failure said on stderr, never fatal), closed. */
void *compatdb_passthrough_open(void);
void compatdb_passthrough_tell(void *handle, const char *address, const char *vendor_device,
			       const char *outcome, const char *how);
void compatdb_passthrough_close(void *handle);
int compatdb_device(struct compatdb *db, const char *vendor_device, struct compatdb_table **out,
		    char *err, size_t errlen);
int compatdb_stats(struct compatdb *db, struct compatdb_table **out, char *err, size_t errlen);

/* The shared PostgreSQL database. url: a libpq URI or key=value string: given, else
 * $NESTVISOR_COMPAT_URL, else compat_url in nestvisor.conf. -ENOENT: none; -EPERM: a config file
 * that is not to be trusted (another user's, or writable by others), err saying which and why. */
int compatdb_url(const char *given, char *buf, size_t len, char *err, size_t errlen);
/* The URL as it may be shown: any password (postgresql://u:PW@..., ?password=PW, password=PW or 'P
 * W' in key=value form) replaced by "***". Every message that names the database uses this. */
void compatdb_url_shown(const char *url, char *out, size_t len);
int compatdb_remote_init(const char *url, char *err, size_t errlen);
/* Exactly once: a report is marked submitted only after the remote transaction committed; a failed
 * or interrupted submit leaves it queued, and a re-send is recognised by its UUID. */
struct compatdb_submit_result {
	int queued, sent, already;
	/* reports the shared database would not take: they stay queued, named in err */
	int refused;
	/* passthrough outcomes (passthrough.c) queued, sent, and found there already */
	int outcomes, outcomes_sent, outcomes_already;
	/* optional, kept across the call: told after the queue is read and after each report (the
	 * TUI's progress) */
	void (*progress)(void *ctx, const struct compatdb_submit_result *so_far);
	void *ctx;
};
/* Deletes one report (a UUID or unique prefix); prune: every report created more than days ago (*n:
 * how many). */
int compatdb_report_delete(struct compatdb *db, const char *id, char *err, size_t errlen);
int compatdb_report_prune(struct compatdb *db, int days, int *n, char *err, size_t errlen);
int compatdb_submit(struct compatdb *db, const char *url, struct compatdb_submit_result *res,
		    char *err, size_t errlen);
enum compatdb_fleet_query { FLEET_HOSTS, FLEET_DEVICES, FLEET_DEVICE, FLEET_STATS };
/* The same questions of the fleet's database (arg: FLEET_DEVICE's VENDOR:DEVICE). */
int compatdb_remote_query(const char *url, enum compatdb_fleet_query q,
			  const struct compatdb_device_filter *f, const char *arg,
			  struct compatdb_table **out, char *err, size_t errlen);

/* Validates an envelope (import and fuzzing): 0, or -errno with a reason naming the member. */
struct json_object;
int compatdb_envelope_check(struct json_object *env, char *err, size_t errlen);

#endif
