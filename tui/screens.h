/* screens: the TUI's state and its screens, keys and layout (private to tui/). */
#ifndef NESTVISOR_TUI_SCREENS_H
#define NESTVISOR_TUI_SCREENS_H

#include <stdbool.h>
#include <stddef.h>

enum { TUI_REDRAW = 1, TUI_QUIT = 2 };
enum tui_screen {
	SCREEN_HOST,
	SCREEN_DEVICES,
	SCREEN_VMS,
	SCREEN_REPORTS,
	SCREEN_HELP,
	SCREEN_COUNT
};
#define TUI_BODY_TOP 2

struct probe_report;
struct probe_job;

/* What every screen shares; each screen keeps its own state in its file. */
struct tui {
	enum tui_screen screen;
	int rows, cols;
	int sel, scroll;
	int list_top, list_rows; /* where the drawn list's rows are (for clicks); 0 rows: no list */
	bool detail; /* Host, Devices: the selected item's details below the list */
	struct probe_job *job;
	struct probe_report *report;	/* NULL while the probe runs */
	double probe_started_ms, probe_ms;
	char error[600];
	char message[320];		/* the message line, above the function keys */
	bool own_bottom; /* this frame's screen drew its own line there (a search, a question) */
	int bottom; /* the first row below the screen's body: the message's, then the keys' */
	struct {
		char kernel[256], initrd[256], disks[512], net[128], devices[80], cmdline[256],
			mem[16], cpus[8], cloud[320];
		int nested;
	} launch; /* nested: enum nested_mode */
};

/* A key: its code and another that does the same, its place on the function-key bar (fkey, label)
 * and its line in the help. A NULL fn is a help line only (the launch form's and console's keys).
 */
struct tui_key {
	int key, alt;
	const char *fkey, *label;
	const char *help;
	int (*fn)(struct tui *t);
};

/* A screen (htop's Panel): what it draws, how many rows it lists, its keys (tried before the global
 * ones and shown on the bar only while it is up), and, optionally, a handler that sees every key
 * first (a search or a question being typed: it returns 0 for keys that are not its) and what to do
 * when it comes up. */
struct tui_screen_def {
	const char *name;
	void (*draw)(struct tui *t);
	int (*count)(struct tui *t);
	const struct tui_key *keys;
	int nkeys;
	int (*modal)(struct tui *t, int key);
	void (*shown)(struct tui *t);
};
extern const struct tui_screen_def tui_host_screen, tui_devices_screen, tui_vms_screen,
	tui_reports_screen, tui_help_screen;
extern const struct tui_screen_def *const tui_screens[SCREEN_COUNT];
/* The keys of every screen (tui.c). */
extern const struct tui_key tui_keys[];
extern const int tui_nkeys;

/* The frame (frame.c): the tab bar, the function-key bar (the global F-keys and the screen's),
 * moving. */
void tui_draw_tabs(struct tui *t);
void tui_draw_fkeys(struct tui *t);
int tui_tab_at(int x);
int tui_fkey_at(struct tui *t, int x);
int tui_move(struct tui *t, int delta);
int tui_show(struct tui *t, enum tui_screen s);
/* The probe run again (the Host and Devices screens show it when done). */
void tui_probe_rerun(struct tui *t);
double tui_now_ms(void);
/* While the probe runs, says so (or why it failed) and returns true: Host and Devices have nothing
 * else. */
bool tui_waiting(struct tui *t);
/* F3 on Host: Devices, with a search begun (devices.c). */
int tui_devices_search(struct tui *t);

/* The VMs screen (vms.c) and its launch form (launch.c: F7 opens it; while open it takes every
 * key). */
void tui_vms_refresh_now(void);
void tui_vms_select(const char *name);	/* select this VM once the list has it (after a launch) */
int tui_vms_launch(struct tui *t);
bool tui_launch_open(void);
void tui_launch_close(void);
int tui_launch_key(struct tui *t, int key);
void tui_launch_click(struct tui *t, int y);
void tui_launch_draw(struct tui *t);
/* A VM's serial console (console.c): while attached it takes the keys (Ctrl-] detaches; 0: not its
 * key). */
int tui_console_attach(struct tui *t, const char *name);
bool tui_console_attached(void);
void tui_console_detach(void);
int tui_console_key(struct tui *t, int key);
void tui_console_draw(struct tui *t);
/* The console's terminal (term.c; unit-tested, fuzzed): bytes in; a kept line out (0: the last),
 * NULL past the first; how many are kept. */
void tui_term_feed(const char *buf, size_t n);
const char *tui_term_line(int back);
int tui_term_lines(void);
void tui_term_reset(void);
/* The Reports screen (reports.c). */
void tui_reports_reload(struct tui *t);
bool tui_reports_busy(void);		/* a submit is running: the screen refreshes often */
const char *tui_device_history(
	const char *vendor_device); /* "seen on N hosts, ..." from compat-db */
void tui_reports_done(void);		/* at exit: waits for a submit in flight */

/* Formatting (format.c; unit-tested): fit s into width columns, ending in ".." when cut. */
void tui_fit(char *out, size_t len, const char *s, int width);
/* s word-wrapped into at most max lines of width columns (the last ends in ".." when more was
 * left); how many. A word longer than a line is cut. */
#define TUI_LINE 256
int tui_wrap(const char *s, int width, char lines[][TUI_LINE], int max);
/* Table columns laid out by priority (0 first): each shown at its min width where it fits (a space
 * before each), the room left given by priority up to max; out[i] 0: left out. htop's way with a
 * narrow terminal. */
struct tui_col { const char *head; int min, max, prio; };
void tui_columns(const struct tui_col *cols, int n, int width, int *out);
/* 1234567 -> "1.2M"; below 10000 as is. */
void tui_count(char *out, size_t len, unsigned long long v);
/* A sparkline of n samples scaled to their largest: "▁..█" (utf8) or " _.-=+*%#" per sample. */
void tui_sparkline(char *out, size_t len, const double *v, int n, bool utf8);

#endif
