/* import: report files into the database: one whole or not at all, and many at once with reader
 * threads parsing ahead of the one writer. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "common/safefile.h"
#include "compat-db/envelope.h"

void compatdb_report_load(const char *file, struct loaded *l, struct readbuf *b)
{
	struct stat sb;
	int fd = safefile_open_regular(file,
				       &sb); /* a FIFO or a device is refused, not read forever */
	ssize_t n = 0;

	json_object_put(l->env);
	l->env = NULL;
	l->size = 0;
	l->why[0] = '\0';
	l->rc = -EINVAL;
	if (fd < 0) {
		snprintf(l->why, sizeof(l->why), "%s: %s; nothing was imported", file,
			 fd == -EINVAL ? "not a regular file" : strerror(-fd));
		l->rc = -ENOENT;
		return;
	}
	if (sb.st_size > COMPATDB_MAX_REPORT) {
		snprintf(l->why, sizeof(l->why),
			 "%s: %lld bytes is larger than a report can be (%d)", file,
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
		b->text = t;
		b->cap = (size_t)sb.st_size + 1;
	}
	for (ssize_t r = 1; r != 0 && n < sb.st_size; n += r > 0 ? r : 0)
		if ((r = read(fd, b->text + n, (size_t)(sb.st_size - n))) < 0 && errno != EINTR) {
			snprintf(l->why, sizeof(l->why), "%s: %s; nothing was imported", file,
				 strerror(errno));
			close(fd);
			l->rc = -EIO;
			return;
		}
	close(fd);
	char why[512] = "";
	b->text[n] = '\0';
	if (strlen(b->text) != (size_t)n)
		snprintf(why, sizeof(why), "a NUL byte inside the file");
	else if ((l->env = compatdb_json_parse(b->text, (size_t)n, why, sizeof(why))))
		l->rc = compatdb_envelope_check(l->env, why, sizeof(why));
	if (why[0]) {
		snprintf(l->why, sizeof(l->why),
			 "%s: not a nestvisor report: %s; nothing was imported", file, why);
		l->rc = l->rc == -ENOTSUP ? l->rc : -EINVAL;
		json_object_put(l->env);
		l->env = NULL;
		return;
	}
	l->size = (size_t)n;
	if ((l->rc = compatdb_report_flatten(l->env, json_obj(l->env, "probe"), &l->flat)) < 0)
		snprintf(l->why, sizeof(l->why), "%s: out of memory", file);
}

void compatdb_loaded_free(struct loaded *l)
{
	json_object_put(l->env);
	free(l->flat.c);
}

int compatdb_report_import(struct compatdb *db, const char *file, char uuid[37], char *err,
			   size_t errlen)
{
	struct loaded l = { 0 };
	struct readbuf b = { 0 };
	int rc;

	compatdb_report_load(file, &l, &b);
	free(b.text);
	rc = compatdb_report_store(db, file, &l, uuid, err, errlen);
	compatdb_loaded_free(&l);
	return rc;
}

/* ---- many files: reader threads read and parse ahead while this one writes ---- */

/* Parsing (json-c) costs about as much as inserting: the writer, the one thread SQLite allows,
 * keeps a core, and a reader runs on each of the others (one on two cores: two were no faster
 * there, four slower). Reader r loads files r, r + readers, ...; AHEAD is a multiple of the
 * readers, so a slot is always loaded, and its tree freed, by the same thread. The read-ahead
 * covers the writer's commits. */
#define READERS_MAX 4
#define AHEAD 240		/* a multiple of 1..READERS_MAX */
#define AHEAD_BYTES \
	(32 << 20) /* and no more file text than this parsed ahead (its trees are larger) */

struct pipeline {
	char **files;
	int n, readers, stored;		/* stored: by the writer (under lock) */
	size_t ahead;			/* bytes loaded and not yet stored (under lock) */
	bool stop;
	struct loaded slot[AHEAD];
	int ready[AHEAD]; /* the file index loaded into each slot, -1 when none (under lock) */
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
		while ((i - pl->stored >= AHEAD || (pl->ahead > AHEAD_BYTES && i > pl->stored)) &&
		       !pl->stop)
			pthread_cond_wait(&pl->room, &pl->lock);
		bool stop = pl->stop;
		pthread_mutex_unlock(&pl->lock);
		if (stop)
			break;
		compatdb_report_load(pl->files[i], &pl->slot[i % AHEAD], &buf);
		pthread_mutex_lock(&pl->lock);
		pl->ready[i % AHEAD] = i;
		pl->ahead += pl->slot[i % AHEAD].size;
		pthread_cond_signal(&pl->more);		/* only the writer waits on it */
		pthread_mutex_unlock(&pl->lock);
	}
	free(buf.text);
	return NULL;
}

/* Results wait for their batch's COMMIT: "imported" is never said of a report a crash could still
 * take. */
struct pending {
	int file, rc;
	char uuid[37];
	char *why;
};

static void pending_flush(struct pending *p, int *np, char **files, compatdb_import_cb done,
			  void *ctx, const char *lost)
{
	for (int i = 0; i < *np; i++) {
		bool gone =
			lost && p[i].rc == 0; /* "already there" was committed before: not lost */
		char why[1024];
		if (gone)
			snprintf(why, sizeof(why), "%s: report %s was not imported: %s",
				 files[p[i].file], p[i].uuid, lost);
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

/* One reader per CPU beyond the writer's, at most READERS_MAX; NESTVISOR_IMPORT_READERS sets it
 * (tuning, and the tests). */
static int readers_for(int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("NESTVISOR_IMPORT_READERS");

	if (n < 2)
		return 0;
	if (env && atoi(env) >= 1)
		return atoi(env) > READERS_MAX ? READERS_MAX : atoi(env);
	if (cpus < 3)
		return 1;
	return cpus > READERS_MAX + 1 ? READERS_MAX : (int)cpus - 1;
}

/* The reader threads, as many as can be had: how many run (0: the writer loads every file). */
static int pipeline_start(struct pipeline *pl, struct reader *rd)
{
	int started = 0;

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
	if (started < pl->readers) {
		pipeline_stop(pl, rd, started);
		pl->readers = started = 0;
		pl->stop = false;
	}
	return started;
}

/* The writer waits for file i's slot, and gives it back once stored. */
static void slot_wait(struct pipeline *pl, int i)
{
	pthread_mutex_lock(&pl->lock);
	while (pl->ready[i % AHEAD] != i)
		pthread_cond_wait(&pl->more, &pl->lock);
	pthread_mutex_unlock(&pl->lock);
}

static void slot_done(struct pipeline *pl, int i)
{
	pthread_mutex_lock(&pl->lock);
	pl->stored = i + 1;
	pl->ahead -= pl->slot[i % AHEAD].size;
	pthread_cond_broadcast(&pl->room);
	pthread_mutex_unlock(&pl->lock);
}

int compatdb_report_import_files(struct compatdb *db, int n, char **files, compatdb_import_cb done,
				 void *ctx, char *err, size_t errlen)
{
	enum { BATCH = 1000 };	/* a commit every 1000 reports keeps the WAL small */
	struct pipeline *pl = calloc(1, sizeof(*pl));
	struct pending *pend = calloc(BATCH, sizeof(*pend));
	struct readbuf wbuf = { 0 };	/* when there is no reader thread */
	struct reader rd[READERS_MAX];
	struct compatdb_checkpointer ck;
	char why[1024];
	int rc = 0, failed = 0, np = 0, started = 0;

	if (!pl || !pend) {
		free(pl);
		free(pend);
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	}
	if ((rc = compatdb_batch(db, true, err, errlen)) < 0) {
		free(pl);
		free(pend);
		return rc;
	}
	compatdb_checkpointer_start(db, &ck);
	pl->files = files;
	pl->n = n;
	pl->readers = readers_for(n);
	started = pipeline_start(pl, rd);
	for (int i = 0; i < n; i++) {
		struct loaded *l = &pl->slot[i % AHEAD];
		struct pending *p = &pend[np++];

		if (started)
			slot_wait(pl, i);
		else
			compatdb_report_load(files[i], l, &wbuf);
		p->file = i;
		p->uuid[0] = '\0';
		why[0] = '\0';
		p->rc = compatdb_report_store(db, files[i], l, p->uuid, why, sizeof(why));
		p->why = p->rc < 0 ? strdup(why) : NULL;
		failed += p->rc < 0;
		if (started)
			slot_done(pl, i);
		if (p->rc < 0 && sqlite3_get_autocommit(db->sql)) {
			/* SQLite rolled the whole batch back (a full disk, an I/O error): say so of
			 * each, and stop */
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
		compatdb_loaded_free(&pl->slot[i]);
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
