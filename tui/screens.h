/* screens: the TUI's state and its screens, keys and layout (private to tui/). */
#ifndef NESTVISOR_TUI_SCREENS_H
#define NESTVISOR_TUI_SCREENS_H

#include <stdbool.h>
#include <stddef.h>

enum { TUI_REDRAW = 1, TUI_QUIT = 2 };
enum tui_screen { SCREEN_HOST, SCREEN_DEVICES, SCREEN_VMS, SCREEN_REPORTS, SCREEN_HELP, SCREEN_COUNT };
enum tui_prompt_kind { PROMPT_NONE, PROMPT_STOP, PROMPT_KERNEL, PROMPT_CMDLINE, PROMPT_MEM, PROMPT_CPUS };
enum { DEVICE_SORTS = 4 };
#define TUI_BODY_TOP 2

struct probe_report;
struct probe_job;

struct tui {
	enum tui_screen screen;
	int rows, cols;
	int sel, scroll;
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
	struct { char kernel[256], cmdline[256], mem[16], cpus[8]; } launch;
};

/* Asks on the prompt line; the answer goes to tui_vms_prompt_done(). */
void tui_prompt(struct tui *t, enum tui_prompt_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int tui_prompt_key(struct tui *t, int key);
/* The VMs screen (vms.c). */
void tui_vms_draw(struct tui *t);
int tui_vms_count(struct tui *t);
int tui_vms_pause(struct tui *t);
int tui_vms_stop(struct tui *t);
int tui_vms_launch(struct tui *t);
void tui_vms_prompt_done(struct tui *t, int which, const char *text);
/* The Reports screen (reports.c): its own keys first; 0 when a key is not its. */
void tui_reports_draw(struct tui *t);
int tui_reports_count(struct tui *t);
int tui_reports_key(struct tui *t, int key);
void tui_reports_reload(struct tui *t);

struct tui_key {
	int key, alt;
	const char *fkey, *label;	/* on the function-key bar when set */
	const char *help;		/* a help line when set */
	int (*fn)(struct tui *t);
};
extern const struct tui_key tui_keys[];
extern const int tui_nkeys;

struct tui_screen_def { const char *name; int key; void (*draw)(struct tui *t); int (*count)(struct tui *t); };
extern const struct tui_screen_def tui_screens[SCREEN_COUNT];

void tui_draw_tabs(struct tui *t);
void tui_draw_fkeys(struct tui *t);
int tui_tab_at(int x);
int tui_fkey_at(int x);
int tui_move(struct tui *t, int delta);
int tui_search_key(struct tui *t, int key);
double tui_now_ms(void);

/* Formatting (format.c; unit-tested): fit s into width columns, ending in ".." when cut. */
void tui_fit(char *out, size_t len, const char *s, int width);
/* 1234567 -> "1.2M"; below 10000 as is. */
void tui_count(char *out, size_t len, unsigned long long v);

#endif
