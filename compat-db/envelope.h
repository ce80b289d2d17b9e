/* envelope: a report file as import, validation and storing share it (private to compat-db/):
 * parsed with bounds, checked, and flattened into the cells its INSERTs bind. */
#ifndef NESTVISOR_COMPATDB_ENVELOPE_H
#define NESTVISOR_COMPATDB_ENVELOPE_H

#include <json-c/json.h>
#include "compat-db/db.h"

#define MAX_CHECKS 128
#define MAX_DEVICES 4096
#define MAX_DEPTH 16

static inline const char *json_str(json_object *o, const char *k)
{
	json_object *m;

	return json_object_object_get_ex(o, k, &m) && json_object_is_type(m, json_type_string) ?
	       json_object_get_string(m) : NULL;
}

static inline json_object *json_obj(json_object *o, const char *k)
{
	json_object *m;

	return json_object_object_get_ex(o, k, &m) ? m : NULL;
}

/* A checked report as the parameters its INSERTs bind, in order: the reports row (REPORT_CELLS),
 * then each check's row, then each device's. The text stays in the parsed tree, so the writer binds
 * it without a copy and without looking anything up (an import's writer thread is its bottleneck).
 */
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

/* A report file read, parsed, checked and flattened, ready to store: the half of an import that
 * needs no database. Its tree is freed by the thread that made it (before the slot is loaded
 * again): freeing on the other thread makes both fight over one malloc arena. */

struct loaded {
	json_object *env;
	size_t size; /* the file's bytes while env holds it, for the read-ahead's bound */
	struct flat flat;		/* the cells point into env */
	char why[640];
	int rc;
};

struct readbuf {
	char *text;
	size_t cap;
};

/* One JSON document in UTF-8, at most MAX_DEPTH deep, no repeated keys (validate.c); NULL with err
 * set. */
json_object *compatdb_json_parse(const char *text, size_t len, char *err, size_t errlen);
/* env must have passed compatdb_envelope_check(); the cells live as long as env (report.c). */
int compatdb_report_flatten(json_object *env, json_object *probe, struct flat *f);
/* A loaded report into the database: 0 inserted, 1 already there, -errno refused (report.c). */
int compatdb_report_store(struct compatdb *db, const char *file, struct loaded *l, char uuid[37],
			  char *err, size_t errlen);
/* Reads, parses, checks and flattens one file into l, reusing b's buffer (import.c). */
void compatdb_report_load(const char *file, struct loaded *l, struct readbuf *b);
void compatdb_loaded_free(struct loaded *l);

#endif
