/* reports: the Reports screen: the local report history (compat-db), a report's checks, what
 * changed between two, export to a file and submit to the shared database, all through the
 * compat-db API. */
#include "config.h"
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "compat-db/compatdb.h"
#include "tui/crt.h"
#include "tui/screens.h"

#define MAX_REPORTS 512
#define PANEL_LINES 64

static struct {
	char uuid[37], created[32], hw[8], nested[8], worst[12], hypervisor[64];
} rows[MAX_REPORTS];
static int nrows = -1;			/* -1: not read yet */
static char marked[2][37];
static char panel[PANEL_LINES][256];
static int npanel;
/* One handle for the screen's life: SQLite's WAL lets the probe and submit threads write beside it.
 */
static struct compatdb *screen_db;

/* A submit runs in its own thread: the screen keeps moving and shows how far it got. */
static struct {
	pthread_t thread;
	atomic_int state;		/* 0 idle, 1 running, 2 done */
	atomic_int queued, sent, already;
	char url[1024], shown[1024], err[512];
	int rc;
	double started_ms;
} sub;

static void submit_progress(void *ctx, const struct compatdb_submit_result *r)
{
	(void)ctx;
	atomic_store(&sub.queued, r->queued);
	atomic_store(&sub.sent, r->sent);
	atomic_store(&sub.already, r->already);
}

static void *submit_thread(void *arg)
{
	struct compatdb_submit_result r = { .progress = submit_progress };
	struct compatdb *db;

	(void)arg;
	sub.rc = compatdb_open(NULL, &db, sub.err, sizeof(sub.err));
	if (sub.rc == 0) {
		sub.rc = compatdb_submit(db, sub.url, &r, sub.err, sizeof(sub.err));
		compatdb_close(db);
	}
	atomic_store(&sub.state, 2);
	return NULL;
}

static void submit_start(struct tui *t)
{
	if (atomic_load(&sub.state) == 1)
		return;
	char why[1400];
	int rc = compatdb_url(NULL, sub.url, sizeof(sub.url), why, sizeof(why));
	if (rc == 0)
		compatdb_url_shown(sub.url, sub.shown, sizeof(sub.shown));
	if (rc < 0) {
		if (rc == -EPERM) /* the message area holds its start; the path and why come first */
			snprintf(t->message, sizeof(t->message), "%.300s", why);
		else
			snprintf(t->message, sizeof(t->message),
				 "no shared database: set NESTVISOR_COMPAT_URL or compat_url in "
				 "nestvisor.conf");
		return;
	}
	atomic_store(&sub.queued, -1);
	atomic_store(&sub.sent, 0);
	atomic_store(&sub.already, 0);
	sub.err[0] = '\0';
	sub.started_ms = tui_now_ms();
	atomic_store(&sub.state, 1);
	if (pthread_create(&sub.thread, NULL, submit_thread, NULL) != 0) {
		atomic_store(&sub.state, 0);
		snprintf(t->message, sizeof(t->message), "could not start the submit: %s",
			 strerror(errno));
	}
}

bool tui_reports_busy(void)
{
	return atomic_load(&sub.state) == 1;
}

/* Where a submit stands, on the message line; its result once it is over. */
static void submit_poll(struct tui *t)
{
	static const char spin[] = "|/-\\";
	int state = atomic_load(&sub.state), q = atomic_load(&sub.queued),
	    s = atomic_load(&sub.sent), a = atomic_load(&sub.already);

	if (state == 1 && q < 0)
		snprintf(t->message, sizeof(t->message), "%c connecting to %.200s ...",
			 spin[(int)((tui_now_ms() - sub.started_ms) / 100) % 4], sub.shown);
	else if (state == 1)
		snprintf(t->message, sizeof(t->message),
			 "%c submitting to %.200s: %d of %d done (%d sent, %d already there)",
			 spin[(int)((tui_now_ms() - sub.started_ms) / 100) % 4], sub.shown, s + a,
			 q, s, a);
	else if (state == 2) {
		pthread_join(sub.thread, NULL);
		atomic_store(&sub.state, 0);
		q = q < 0 ? 0 : q;
		if (sub.rc < 0)
			snprintf(t->message, sizeof(t->message),
				 "%d queued: %d sent, %d already there; %d still queued: %.250s", q,
				 s, a, q - s - a, sub.err);
		else
			snprintf(t->message, sizeof(t->message),
				 "%d queued: %d sent, %d already there", q, s, a);
	}
}

void tui_reports_done(void)
{
	if (atomic_load(&sub.state) != 0)
		/* a submit in flight finishes; it is safe to stop, but this is kinder */
		pthread_join(sub.thread, NULL);
	compatdb_close(screen_db);
	screen_db = NULL;
}

static struct compatdb *open_db(struct tui *t)
{
	char err[512];

	if (!screen_db && compatdb_open(NULL, &screen_db, err, sizeof(err)) < 0) {
		screen_db = NULL;
		if (t)
			snprintf(t->message, sizeof(t->message), "%.300s", err);
	}
	return screen_db;
}

static const char *cell(const struct compatdb_table *tb, int row, const char *col)
{
	const char *v = compatdb_table_get(tb, row, col);

	return v ? v : "-";
}

/* A boolean column as the list shows it. */
static const char *yes_no(const struct compatdb_table *tb, int row, const char *col)
{
	const char *v = compatdb_table_get(tb, row, col);

	return !v ? "-" : strcmp(v, "0") ? "yes" : "no";
}

/* One line of what the compatibility database knows of a device model (cached: the details redraw
 * often). */
const char *tui_device_history(const char *vd)
{
	static char last[16], line[320];
	struct compatdb_table *tb = NULL;
	char err[512];
	int rc;

	if (!strcmp(vd, last))
		return line;
	snprintf(last, sizeof(last), "%s", vd);
	if (!open_db(NULL)) {
		snprintf(line, sizeof(line), "compatibility database: cannot be opened");
		return line;
	}
	rc = compatdb_device(screen_db, vd, &tb, err, sizeof(err));
	if (rc == 0)
		snprintf(line, sizeof(line),
			 "compatibility database: seen on %s host(s), ready for passthrough on %s; "
			 "drivers seen: %s; verdicts: %s",
			 cell(tb, 0, "hosts"), cell(tb, 0, "ready_on"), cell(tb, 0, "drivers"),
			 cell(tb, 0, "verdicts"));
	else if (rc == -ENOENT)
		snprintf(line, sizeof(line), "compatibility database: no report has seen %s yet",
			 vd);
	else
		snprintf(line, sizeof(line), "compatibility database: %.280s", err);
	compatdb_table_free(tb);
	return line;
}

void tui_reports_reload(struct tui *t)
{
	struct compatdb_table *tb = NULL;
	char err[512];

	nrows = 0;
	if (!open_db(t))
		return;
	if (compatdb_report_list(screen_db, &tb, err, sizeof(err)) < 0) {
		snprintf(t->message, sizeof(t->message), "%.300s", err);
		return;
	}
	for (int i = tb->nrows; i-- > 0 && nrows < MAX_REPORTS;) {	/* newest first */
		snprintf(rows[nrows].uuid, 37, "%s", cell(tb, i, "report"));
		snprintf(rows[nrows].created, 32, "%s", cell(tb, i, "created"));
		snprintf(rows[nrows].hw, 8, "%s", yes_no(tb, i, "hw_vms"));
		snprintf(rows[nrows].nested, 8, "%s", yes_no(tb, i, "nested"));
		snprintf(rows[nrows].worst, 12, "%s", cell(tb, i, "worst"));
		snprintf(rows[nrows++].hypervisor, 64, "%s", cell(tb, i, "hypervisor"));
	}
	compatdb_table_free(tb);
}

static void panel_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void panel_add(const char *fmt, ...)
{
	va_list ap;

	if (npanel >= PANEL_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(panel[npanel++], sizeof(panel[0]), fmt, ap);
	va_end(ap);
}

/* A table into the panel: a header line, then a line a row; widths per column, the last one free.
 */
static void panel_table(const struct compatdb_table *tb, const char *const *heads,
			const int *widths)
{
	char line[sizeof(panel[0])];
	int n = 0;

	for (int c = 0; c < tb->ncols; c++)
		n += snprintf(line + n, sizeof(line) - n, "%-*s ", widths[c], heads[c]);
	panel_add("%s", line);
	for (int r = 0; r < tb->nrows; r++) {
		n = 0;
		for (int c = 0; c < tb->ncols && n < (int)sizeof(line); c++) {
			const char *v = tb->cells[(size_t)r * tb->ncols + c];
			n += snprintf(line + n, sizeof(line) - n, "%-*.*s ", widths[c],
				      widths[c] ? widths[c] : 200, v ? v : "-");
		}
		panel_add("%s", line);
	}
	if (!tb->nrows)
		panel_add("(none)");
}

static void show(struct tui *t)
{
	static const char *const hc[] = { "CHECK", "STATUS", "EVIDENCE" };
	static const int wc[] = { 16, 7, 0 };
	static const char *const hd[] = { "DEVICE", "ID", "DRIVER", "VERDICT", "REASON" };
	static const int wd[] = { 12, 9, 12, 19, 0 };
	struct compatdb_table *checks = NULL, *devices = NULL;
	char err[512] = "";

	npanel = 0;
	if (compatdb_report_checks(screen_db, rows[t->sel].uuid, &checks, err, sizeof(err)) < 0 ||
	    compatdb_report_devices(screen_db, rows[t->sel].uuid, &devices, err, sizeof(err)) < 0) {
		panel_add("%s", err);
	} else {
		panel_add("report %s", rows[t->sel].uuid);
		panel_table(checks, hc, wc);
		panel_add("%s", "");
		panel_table(devices, hd, wd);
	}
	compatdb_table_free(checks);
	compatdb_table_free(devices);
}

static void diff(void)
{
	static const char *const h[] = { "WHAT", "ITEM", "BEFORE", "AFTER" };
	static const int w[] = { 8, 16, 28, 0 };
	struct compatdb_table *tb = NULL;
	char err[512] = "";

	npanel = 0;
	if (compatdb_report_diff(screen_db, marked[0], marked[1], &tb, err, sizeof(err)) < 0)
		panel_add("%s", err);
	else
		panel_table(tb, h, w);
	compatdb_table_free(tb);
}

static int reports_count(struct tui *t)
{
	(void)t;
	return nrows < 0 ? 0 : nrows;
}

static void reports_draw(struct tui *t)
{
	int y = TUI_BODY_TOP, list_end;

	if (nrows < 0)
		tui_reports_reload(t);
	crt_fill(y, ROLE_HEADER);
	crt_text(y++, 0, ROLE_HEADER, 0, "   %-10s %-24s %-6s %-6s %-7s %s", "REPORT", "CREATED",
		 "HW VMS", "NESTED", "WORST", "HYPERVISOR");
	list_end = npanel ? y + (t->rows - y - 2) / 3 : t->rows - 2;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + (list_end - y))
		t->scroll = t->sel - (list_end - y) + 1;
	t->list_top = y;
	t->list_rows = list_end - y;
	for (int i = t->scroll; i < nrows && y < list_end; i++, y++) {
		bool m = !strcmp(rows[i].uuid, marked[0]) || !strcmp(rows[i].uuid, marked[1]);
		crt_text(y, 0, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 0,
			 " %c %-10.8s %-24s %-6s %-6s %-7s %s", m ? '*' : ' ', rows[i].uuid,
			 rows[i].created, rows[i].hw, rows[i].nested, rows[i].worst,
			 rows[i].hypervisor);
	}
	if (!nrows)
		crt_text(y, 1, ROLE_DIM, 0,
			 "no reports yet: each probe records one (F5 here, or `nestvisor probe`)");
	for (int i = 0; i < npanel && list_end + 1 + i < t->rows - 2; i++)
		crt_text(list_end + 1 + i, 1, i == 0 ? ROLE_HEADER : ROLE_DEFAULT, 0, "%s",
			 panel[i]);
	submit_poll(t);
	crt_text(1, 1, ROLE_DIM, 0, "Enter show  Space mark two  d diff  x export  u submit  (%s)",
		 nrows ? "newest first" : "empty");
}

/* The selected report, and the database to act on it: NULL (nothing to do) when either is missing.
 */
static const char *selected(struct tui *t)
{
	return t->sel < nrows && open_db(t) ? rows[t->sel].uuid : NULL;
}

static int reports_show(struct tui *t)
{
	if (selected(t))
		show(t);
	return TUI_REDRAW;
}

/* Space marks the selected report, or unmarks it; a third mark replaces the older one. */
static int reports_mark(struct tui *t)
{
	const char *id = selected(t);

	if (!id)
		return TUI_REDRAW;
	if (!strcmp(marked[0], id)) {
		marked[0][0] = '\0';
	} else if (!strcmp(marked[1], id)) {
		marked[1][0] = '\0';
	} else {
		memcpy(marked[0], marked[1], sizeof(marked[0]));
		snprintf(marked[1], sizeof(marked[1]), "%s", id);
	}
	return TUI_REDRAW;
}

static int reports_diff(struct tui *t)
{
	if (!open_db(t))
		return TUI_REDRAW;
	if (marked[0][0] && marked[1][0])
		diff();
	else
		snprintf(t->message, sizeof(t->message), "mark two reports with Space first");
	return TUI_REDRAW;
}

/* x: the report to nestvisor-report-ID.json here, identifiers left out; created 0600, never through
 * a link. */
static int reports_export(struct tui *t)
{
	const char *id = selected(t);
	char err[512] = "", path[64];
	char *doc = id ? compatdb_report_export(screen_db, id, false, err, sizeof(err)) : NULL;
	int fd = -1;
	FILE *f = NULL;

	if (!id)
		return TUI_REDRAW;
	snprintf(path, sizeof(path), "nestvisor-report-%.8s.json", id);
	if (!doc) {
		snprintf(t->message, sizeof(t->message), "%.300s", err);
	} else if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) <
			   0 ||
		   !(f = fdopen(fd, "w")) || fputs(doc, f) < 0 || fclose(f) != 0) {
		snprintf(t->message, sizeof(t->message), "could not write %s: %s", path,
			 errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		if (fd >= 0 && !f)
			close(fd);
	} else {
		snprintf(t->message, sizeof(t->message), "exported to %s (identifiers left out)",
			 path);
	}
	free(doc);
	return TUI_REDRAW;
}

static int reports_submit(struct tui *t)
{
	submit_start(t);
	return TUI_REDRAW;
}

static const struct tui_key reports_keys[] = {
	{ '\n', KEY_ENTER, NULL, NULL, "Enter     the selected report's checks and devices",
	  reports_show },
	{ ' ', 0, NULL, NULL,
	  "Space     mark a report (two marked: d shows what changed between them)", reports_mark },
	{ 'd', 0, NULL, NULL, "d         what changed between the two marked reports",
	  reports_diff },
	{ 'x', 0, NULL, NULL,
	  "x         export the selected report to a file here (identifiers left out)",
	  reports_export },
	{ 'u', 0, NULL, NULL, "u         submit the reports not yet sent to the shared database",
	  reports_submit },
};

const struct tui_screen_def tui_reports_screen = {
	.name = "Reports",
	.draw = reports_draw,
	.count = reports_count,
	.keys = reports_keys,
	.nkeys = sizeof(reports_keys) / sizeof(reports_keys[0]),
	.shown = tui_reports_reload,
};
