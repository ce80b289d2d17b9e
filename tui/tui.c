/* tui: the ncurses interface: a tab bar of screens (one file each: host.c, devices.c, vms.c,
 * reports.c, help.c), the keys every screen shares, the probe running in a thread so the screen
 * never freezes, one relayout on resize. */
#include "config.h"
#include <curses.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compat-db/compatdb.h"
#include "probe/probe.h"
#include "tui/crt.h"
#include "tui/screens.h"
#include "tui/tui.h"

struct probe_job {
	struct probe_options opt;
	struct probe_report rep;
	char err[512];
	atomic_int state;	/* 0 idle, 1 running, 2 done, 3 failed */
	pthread_t thread;
	double done_ms;		/* when the probe itself finished, not when the screen noticed */
};

static void *probe_thread(void *arg)
{
	struct probe_job *j = arg;

	int rc = probe_run(&j->opt, &j->rep, j->err, sizeof(j->err));

	j->done_ms = tui_now_ms();
	atomic_store(&j->state, rc == 0 ? 2 : 3);
	return NULL;
}

static void probe_start(struct tui *t)
{
	struct probe_job *j = t->job;

	if (atomic_load(&j->state) == 1)
		return;
	if (atomic_load(&j->state) == 2) {
		pthread_join(j->thread, NULL);
		probe_report_free(&j->rep);
	}
	t->report = NULL;
	atomic_store(&j->state, 1);
	t->probe_started_ms = tui_now_ms();
	if (pthread_create(&j->thread, NULL, probe_thread, j) != 0)
		atomic_store(&j->state, 3);
}

const struct tui_screen_def *const tui_screens[SCREEN_COUNT] = {
	[SCREEN_HOST] = &tui_host_screen, [SCREEN_DEVICES] = &tui_devices_screen,
	[SCREEN_VMS] = &tui_vms_screen,   [SCREEN_REPORTS] = &tui_reports_screen,
	[SCREEN_HELP] = &tui_help_screen,
};

/* The keys of every screen: one handler per action, shared by a letter and an F-key. */
static int act_help(struct tui *t) { return tui_show(t, SCREEN_HELP); }
static int act_host(struct tui *t) { return tui_show(t, SCREEN_HOST); }
static int act_devices(struct tui *t) { return tui_show(t, SCREEN_DEVICES); }
static int act_vms(struct tui *t) { return tui_show(t, SCREEN_VMS); }
static int act_reports(struct tui *t) { return tui_show(t, SCREEN_REPORTS); }
static int act_launch(struct tui *t) { tui_show(t, SCREEN_VMS); return tui_vms_launch(t); }
static int act_quit(struct tui *t) { (void)t; return TUI_QUIT; }
static int act_rerun(struct tui *t) { probe_start(t); return TUI_REDRAW; }
void tui_probe_rerun(struct tui *t) { probe_start(t); }
static int act_up(struct tui *t) { return tui_move(t, -1); }
static int act_down(struct tui *t) { return tui_move(t, 1); }
static int act_pgup(struct tui *t) { return tui_move(t, -(t->rows - 6)); }
static int act_pgdn(struct tui *t) { return tui_move(t, t->rows - 6); }
static int act_home(struct tui *t) { return tui_move(t, -100000); }
static int act_end(struct tui *t) { return tui_move(t, 100000); }
static int act_next(struct tui *t) { return tui_show(t, (t->screen + 1) % SCREEN_COUNT); }
static int act_prev(struct tui *t)
{
	return tui_show(t, (t->screen + SCREEN_COUNT - 1) % SCREEN_COUNT);
}

/* htop's habits: F1 help, F3 search, F4 filter, F6 sort, F10 quit; the screens are the tab bar's
 * (1-5, Tab). A screen's own keys (host.c, devices.c, vms.c, reports.c) join the bar only while it
 * is up. */
const struct tui_key tui_keys[] = {
	{ KEY_F(1), '?', "F1", "Help", "F1 ? h    this help", act_help },
	{ 'h', '5', NULL, NULL, NULL, act_help },
	{ KEY_F(2), '\t', "F2", "Next",
	  "F2 Tab    next screen (Shift-Tab: the one before); 1-5 or a click: that one", act_next },
	{ KEY_BTAB, 0, NULL, NULL, NULL, act_prev },
	{ '1', 0, NULL, NULL, "1         Host: can this host run VMs, and nested ones? every check",
	  act_host },
	{ '2', 0, NULL, NULL, "2         Devices: PCI devices and their passthrough verdicts",
	  act_devices },
	{ '3', 0, NULL, NULL, "3         VMs: running VMs, exits per second, their consoles",
	  act_vms },
	{ '4', 0, NULL, NULL, "4         Reports: the probe reports recorded on this machine",
	  act_reports },
	{ KEY_F(5), 'r', "F5", "Probe", "F5 r      run the probe again (and record it)",
	  act_rerun },
	{ KEY_F(7), 0, "F7", "Launch",
	  "F7        launch a VM (a form: kernel, initrd, disks, network, memory, vCPUs)",
	  act_launch },
	{ KEY_UP, 0, NULL, NULL, "Up Down   move; PgUp PgDn Home End", act_up },
	{ KEY_DOWN, 0, NULL, NULL, NULL, act_down },
	{ KEY_PPAGE, 0, NULL, NULL, NULL, act_pgup },
	{ KEY_NPAGE, 0, NULL, NULL, NULL, act_pgdn },
	{ KEY_HOME, 'g', NULL, NULL, NULL, act_home },
	{ KEY_END, 'G', NULL, NULL, NULL, act_end },
	{ KEY_F(10), 'q', "F10", "Quit", "F10 q     quit", act_quit },
	/* the launch form and the console take every key while open (launch.c, console.c): help
	   lines only */
	{ -2, 0, NULL, NULL,
	  "Launch form: Up Down Tab move, ^O browse, ^U clear, F7 launch, Esc cancel",
	  NULL },
	{ -2, 0, NULL, NULL,
	  "VM console: every key goes to the guest; Ctrl-] (or an F-key) detaches", NULL },
};
const int tui_nkeys = sizeof(tui_keys) / sizeof(tui_keys[0]);

static int run_key(struct tui *t, const struct tui_key *keys, int n, int key)
{
	for (int i = 0; i < n; i++)
		if (keys[i].fn && (keys[i].key == key || (keys[i].alt && keys[i].alt == key)))
			return keys[i].fn(t);
	return 0;
}

/* What is open over the screen first (the launch form, a console), then the screen's own keys, then
 * these. */
static int dispatch(struct tui *t, int key)
{
	const struct tui_screen_def *sc = tui_screens[t->screen];
	int rc;

	if (tui_launch_open())
		return tui_launch_key(t, key);
	if (tui_console_attached() && (rc = tui_console_key(t, key)))
		return rc;
	if (sc->modal && (rc = sc->modal(t, key)))
		return rc;
	if ((rc = run_key(t, sc->keys, sc->nkeys, key)))
		return rc;
	return run_key(t, tui_keys, tui_nkeys, key);
}

/* Clicks become keys: a tab, an F-key label, or a row. */
static int click(struct tui *t, int y, int x)
{
	if (y == 0) {	/* a tab: whatever was open over the screen gives way */
		tui_launch_close();
		tui_console_detach();
		return tui_tab_at(x);
	}
	if (y == t->rows - 1)
		return tui_fkey_at(t, x);
	if (tui_launch_open()) {
		tui_launch_click(t, y);
		return -1;	/* handled: no key to dispatch */
	}
	if (t->list_rows > 0 && y >= t->list_top && y < t->list_top + t->list_rows) {
		t->sel = t->scroll + (y - t->list_top);
		tui_move(t, 0);	/* past the last row: the last row */
	}
	return -1;
}

/* A live probe is recorded, as `nestvisor probe` records it; a database that cannot be written
 * costs the record. */
static void record(struct tui *t)
{
	char err[512], uuid[37];
	char *doc = probe_output_json(t->report);
	int rc = doc ? compatdb_report_record_at(NULL, doc, uuid, err, sizeof(err)) : -ENOMEM;

	if (!doc)
		snprintf(t->message, sizeof(t->message), "probe not recorded: out of memory");
	else if (rc == 0)
		snprintf(t->message, sizeof(t->message),
			 "probe recorded as report %.8s (Reports: 4)", uuid);
	else if (rc == 1)
		snprintf(t->message, sizeof(t->message),
			 "the same as report %.8s: recorded as seen again (Reports: 4)", uuid);
	else
		snprintf(t->message, sizeof(t->message), "probe not recorded: %.250s", err);
	free(doc);
	tui_reports_reload(t);
}

/* The message, wrapped over up to two lines above the function keys, for 8 s after it changes;
 * screens end their body above it (t->bottom). */
static char msg_lines[2][TUI_LINE];
static int msg_rows;

static void layout_message(struct tui *t)
{
	static char last[sizeof(t->message)];
	static double since;

	if (strcmp(last, t->message)) {
		snprintf(last, sizeof(last), "%s", t->message);
		since = tui_now_ms();
	}
	msg_rows = 0;
	if (t->message[0] && tui_now_ms() - since <= 8000)
		msg_rows = tui_wrap(t->message, t->cols - 2, msg_lines, 2);
	t->bottom = t->rows - 1 - msg_rows;
}

static void draw_message(struct tui *t)
{
	if (t->own_bottom)
		return;
	for (int i = 0; i < msg_rows; i++) {
		int y = t->rows - 1 - msg_rows + i;
		crt_text(y, 0, ROLE_NOTE, t->cols, "%*s", t->cols, "");
		crt_text(y, 1, ROLE_NOTE, 0, "%s", msg_lines[i]);
	}
}

static void draw(struct tui *t)
{
	struct probe_job *j = t->job;

	crt_clear();
	crt_size(&t->rows, &t->cols);
	if (crt_too_small()) {	/* said in full, wrapped to whatever there is */
		char text[96], lines[6][TUI_LINE];
		snprintf(text, sizeof(text), "terminal too small (needs %dx%d, is %dx%d)",
			 CRT_MIN_COLS, CRT_MIN_ROWS, t->cols, t->rows);
		int n = tui_wrap(text, t->cols, lines, t->rows < 6 ? t->rows : 6);
		for (int i = 0; i < n; i++)
			crt_text(i, 0, ROLE_WARN, 0, "%s", lines[i]);
		crt_refresh();
		return;
	}
	if (atomic_load(&j->state) == 2 && !t->report) {
		pthread_join(j->thread, NULL);
		t->report = &j->rep;
		t->probe_ms = j->done_ms - t->probe_started_ms;
		if (!j->opt.replay_dir)
			record(t);
	}
	if (atomic_load(&j->state) == 3)
		snprintf(t->error, sizeof(t->error), "the probe could not run: %s", j->err);
	tui_draw_tabs(t);
	t->list_rows = 0;
	t->own_bottom = false;
	layout_message(t);
	tui_screens[t->screen]->draw(t);
	draw_message(t);
	tui_draw_fkeys(t);
	crt_refresh();
}

/* How long to wait for a key: the summary shows as soon as it exists, a console and a submit move
 * on. */
static int wait_ms(const struct tui *t, struct probe_job *job)
{
	if (atomic_load(&job->state) == 1)
		return 10;
	if (tui_console_attached())
		return 40;
	if (tui_reports_busy())
		return 100;
	return t->screen == SCREEN_VMS ? 250 : 1000;
}

int tui_main(const struct tui_options *opt)
{
	static struct probe_job job;
	struct tui t = { .screen = SCREEN_HOST,
			 .job = &job,
			 .launch = {
				 .kernel = "tests/guests/hello.elf", .mem = "128M", .cpus = "1" } };
	int my = 0, mx = 0;

	job.opt.replay_dir = opt->replay_dir;
	if (crt_init() < 0) {
		fprintf(stderr,
			"nestvisor tui: needs a terminal (stdout is not one); `nestvisor probe` "
			"prints a report\n");
		return -1;
	}
	probe_start(&t);
	for (;;) {
		draw(&t);
		int k = crt_key(wait_ms(&t, &job), &my, &mx);
		if (k == KEY_MOUSE)
			k = click(&t, my, mx);
		if (k == KEY_RESIZE || k < 0)
			continue;	/* the next draw lays everything out again */
		if (dispatch(&t, k) == TUI_QUIT)
			break;
	}
	crt_done();
	tui_reports_done();
	if (atomic_load(&job.state) == 1 || atomic_load(&job.state) == 2)
		pthread_join(job.thread, NULL);
	if (atomic_load(&job.state) == 2)
		probe_report_free(&job.rep);
	return 0;
}
