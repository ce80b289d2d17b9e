/* screens: the TUI's state and its screens, keys and layout (private to tui/). */
#ifndef NESTVISOR_TUI_SCREENS_H
#define NESTVISOR_TUI_SCREENS_H

#include <stdbool.h>
#include <stddef.h>

enum { TUI_REDRAW = 1, TUI_QUIT = 2 };
enum tui_screen { SCREEN_HOST, SCREEN_DEVICES, SCREEN_VMS, SCREEN_REPORTS, SCREEN_HELP, SCREEN_COUNT };
enum tui_prompt_kind { PROMPT_NONE, PROMPT_STOP };
enum { DEVICE_SORTS = 4 };
#define TUI_BODY_TOP 2

struct probe_report;
struct probe_job;

struct tui {
	enum tui_screen screen;
	int rows, cols;
	int sel, scroll;
	int list_top, list_rows;	/* where the drawn list's rows are (for clicks); 0 rows: no list */
	bool detail;
	int sort;			/* devices: address, name, driver, verdict */
	bool filter_ready;		/* devices: ready for passthrough only */
	bool searching;
	char search[64];
	struct probe_job *job;
	struct probe_report *report;	/* NULL while the probe runs */
	double probe_started_ms, probe_ms;
	char error[600];
	/* the prompt line (VMs: the launch form, confirmations) */
	enum tui_prompt_kind prompt_kind;
	char prompt[160], input[256], message[320];
	struct { char kernel[256], initrd[256], disks[512], net[128], cmdline[256], mem[16], cpus[8]; int nested; } launch;	/* nested: enum nested_mode */
};

/* Asks on the prompt line; the answer goes to tui_vms_prompt_done(). */
void tui_prompt(struct tui *t, enum tui_prompt_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int tui_prompt_key(struct tui *t, int key);
/* The VMs screen (vms.c). */
void tui_vms_draw(struct tui *t);
int tui_vms_count(struct tui *t);
int tui_vms_pause(struct tui *t);
int tui_vms_stop(struct tui *t);
void tui_vms_prompt_done(struct tui *t, int which, const char *text);
int tui_vms_attach(struct tui *t);
void tui_vms_refresh_now(void);
/* The launch form (launch.c): F7 opens it; while open it takes every key. */
int tui_vms_launch(struct tui *t);
bool tui_launch_open(void);
void tui_launch_close(void);
int tui_launch_key(struct tui *t, int key);
void tui_launch_click(struct tui *t, int y);
void tui_launch_draw(struct tui *t);
/* A VM's serial console (console.c): while attached it takes the keys (Ctrl-] detaches; 0: not its key). */
int tui_console_attach(struct tui *t, const char *name);
bool tui_console_attached(void);
void tui_console_detach(void);
int tui_console_key(struct tui *t, int key);
void tui_console_draw(struct tui *t);
/* The console's terminal (term.c; unit-tested, fuzzed): bytes in; a kept line out (0: the last), NULL past
 * the first; how many are kept. */
void tui_term_feed(const char *buf, size_t n);
const char *tui_term_line(int back);
int tui_term_lines(void);
void tui_term_reset(void);
/* The Reports screen (reports.c): its own keys first; 0 when a key is not its. */
void tui_reports_draw(struct tui *t);
int tui_reports_count(struct tui *t);
int tui_reports_key(struct tui *t, int key);
void tui_reports_reload(struct tui *t);
bool tui_reports_busy(void);
const char *tui_device_history(const char *vendor_device);	/* "seen on N hosts, ..." from compat-db */	/* a submit is running: the screen refreshes often */
void tui_reports_done(void);	/* at exit: waits for a submit in flight */

struct tui_key {
	int key, alt;
	const char *fkey, *label;	/* on the function-key bar when set */
	const char *help;		/* a help line when set */
	int (*fn)(struct tui *t);
	unsigned on;			/* the screens whose bar shows it (ON(SCREEN_...) bits); 0: every screen */
};
#define ON(s) (1u << (s))
extern const struct tui_key tui_keys[];
extern const int tui_nkeys;

struct tui_screen_def { const char *name; int key; void (*draw)(struct tui *t); int (*count)(struct tui *t); };
extern const struct tui_screen_def tui_screens[SCREEN_COUNT];

void tui_draw_tabs(struct tui *t);
void tui_draw_fkeys(struct tui *t);
int tui_tab_at(int x);
int tui_fkey_at(struct tui *t, int x);
int tui_move(struct tui *t, int delta);
int tui_search_key(struct tui *t, int key);
double tui_now_ms(void);

/* Formatting (format.c; unit-tested): fit s into width columns, ending in ".." when cut. */
void tui_fit(char *out, size_t len, const char *s, int width);
/* 1234567 -> "1.2M"; below 10000 as is. */
void tui_count(char *out, size_t len, unsigned long long v);
/* A sparkline of n samples scaled to their largest: "▁..█" (utf8) or " _.-=+*%#" per sample. */
void tui_sparkline(char *out, size_t len, const double *v, int n, bool utf8);

#endif
