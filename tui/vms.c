/* vms: the VMs screen: running VMs found through their control sockets, refreshed every second with
 * exits per second; the selected VM's exits by reason and port as bars; pause/resume, stop, attach
 * (the launch form is launch.c, the console console.c). */
#include "config.h"
#include <curses.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tui/crt.h"
#include "tui/screens.h"
#include "vmm/control.h"
#include "vmm/vmm.h"

#define MAX_VMS 64

struct vm_row {
	struct vmm_status st;
	struct vmm_stats stats;
	double rate;				/* exits per second since the last refresh */
};

static struct vm_row rows[MAX_VMS], prev[MAX_VMS];
static int nrows, nprev;
static double refreshed_ms, sample_ms;	/* sample_ms: the time between prev and rows */
static char confirm[64];		/* the VM a "stop?" asks about, while it asks */
/* VMs that ran in the background and ended (vmm/ended.c), listed after the running ones until
 * dismissed */
#define MAX_ENDED 16
static struct vmm_ended ended[MAX_ENDED];
static int nended;
static char select_name[64];		/* a VM just launched: selected once the list has it */

/* Exits per second over the last minute, per VM (by name), for the sparkline. */
#define SPARK 60
static struct { char name[64]; double rate[SPARK]; int n; } hist[MAX_VMS];

static void hist_add(const char *name, double rate)
{
	int free_slot = -1;

	for (int i = 0; i < MAX_VMS; i++) {
		if (!strcmp(hist[i].name, name)) {
			if (hist[i].n == SPARK) {
				memmove(hist[i].rate, hist[i].rate + 1,
					sizeof(double) * (SPARK - 1));
				hist[i].n--;
			}
			hist[i].rate[hist[i].n++] = rate;
			return;
		}
		if (free_slot < 0 && !hist[i].name[0])
			free_slot = i;
	}
	if (free_slot < 0) {	/* all taken: forget the VMs that are gone */
		for (int i = 0; i < MAX_VMS; i++) {
			bool live = false;
			for (int r = 0; r < nrows; r++)
				live |= !strcmp(rows[r].st.name, hist[i].name);
			if (!live && free_slot < 0)
				free_slot = i;
		}
	}
	if (free_slot >= 0) {
		snprintf(hist[free_slot].name, sizeof(hist[free_slot].name), "%s", name);
		hist[free_slot].rate[0] = rate;
		hist[free_slot].n = 1;
	}
}

static const double *hist_of(const char *name, int *n)
{
	for (int i = 0; i < MAX_VMS; i++)
		if (hist[i].name[0] && !strcmp(hist[i].name, name))
			return *n = hist[i].n, hist[i].rate;
	return *n = 0, NULL;
}

static void add_row(const struct vmm_status *st, const struct vmm_stats *stats, void *ctx)
{
	struct vm_row *r = &rows[nrows];
	double dt = *(double *)ctx;

	if (nrows >= MAX_VMS)
		return;
	r->st = *st;
	r->stats = *stats;
	r->rate = st->uptime_ns ? stats->exits / (st->uptime_ns / 1e9) :
				  0; /* until there is a previous sample */
	for (int i = 0; i < nprev && dt > 0; i++)
		if (!strcmp(prev[i].st.name, st->name))
			r->rate = ((double)stats->exits - (double)prev[i].stats.exits) / (dt / 1e3);
	nrows++;
	hist_add(st->name, r->rate);
}

/* At most once a second: ask every VM for its status and statistics. */
static void vms_refresh(void)
{
	double now = tui_now_ms(), dt = refreshed_ms ? now - refreshed_ms : 0;
	int stale;

	if (refreshed_ms && dt < 1000)
		return;
	memcpy(prev, rows, sizeof(rows));
	nprev = nrows;
	nrows = 0;
	vmm_control_list(add_row, &dt, &stale);
	nended = vmm_ended_list(ended, MAX_ENDED);
	nended = nended < 0 ? 0 : nended;
	/* a VMM that has left its record but not yet closed its socket is listed once: as ended */
	for (int i = 0; i < nrows; i++)
		for (int k = 0; k < nended; k++)
			if (!strcmp(rows[i].st.name, ended[k].name)) {
				memmove(&rows[i], &rows[i + 1],
					(size_t)(nrows - i - 1) * sizeof(rows[0]));
				nrows--;
				i--;
				break;
			}
	refreshed_ms = now;
	sample_ms = dt;
}

void tui_vms_select(const char *name)
{
	snprintf(select_name, sizeof(select_name), "%s", name);
	refreshed_ms = 0;
}

/* The row of a VM just launched, once the list has it (running, or already ended). */
static void select_pending(struct tui *t)
{
	if (!select_name[0])
		return;
	for (int i = 0; i < nrows + nended; i++)
		if (!strcmp(i < nrows ? rows[i].st.name : ended[i - nrows].name, select_name)) {
			t->sel = i;
			select_name[0] = '\0';
		}
}

/* The selected VM that ended: how, and the last of what it printed. */
static void ended_panel(struct tui *t, const struct vmm_ended *e, int top, int bottom)
{
	char head[400], lines[64][TUI_LINE];
	int n = 0;

	snprintf(head, sizeof(head), "%s ended %s: %s (exit status %d); %s", e->name, e->ended,
		 e->how, e->status, e->kernel);
	crt_fill(top, ROLE_HEADER);
	crt_text(top++, 1, ROLE_HEADER, 0, "%.*s", t->cols - 2, head);
	/* its last lines, each wrapped, the newest at the bottom */
	for (const char *p = e->console; *p && n < 64;) {
		size_t len = strcspn(p, "\n");
		char one[TUI_LINE * 2];
		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		int k = tui_wrap(one, t->cols - 2, lines + n, 64 - n);
		if (!k)	/* an empty line stays one */
			lines[n][0] = '\0';
		n += k ? k : 1;
		p += len + (p[len] == '\n');
	}
	int room = bottom - top, first = n > room ? n - room : 0;
	if (!n)
		crt_text(top, 1, ROLE_DIM, 0, "(it printed nothing)");
	for (int i = first; i < n && top < bottom; i++)
		crt_text(top++, 1, ROLE_DEFAULT, 0, "%s", lines[i]);
}

static int vms_count(struct tui *t)
{
	(void)t;
	return nrows + nended;
}

static long long count_of(const struct vmm_stat_row *list, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i].what, what))
			return (long long)list[i].count;
	return -1;
}

/* The busiest rows of a stats list: name, count, per second since the last sample (before), and a
 * bar. */
static void bars(int y, int x, const struct vmm_stat_row *list, int n,
		 const struct vmm_stat_row *before, int nbefore, const char *title, long long total,
		 int width, int max)
{
	crt_text(y++, x, ROLE_HEADER, width, " %-15.15s %7s %9s%*s", title, "exits", "per sec",
		 width > 35 ? width - 35 : 0, "");
	if (!n)
		crt_text(y, x, ROLE_DIM, width, " (none)");
	for (int i = 0; i < n && i < max; i++) {
		long long c = (long long)list[i].count,
			  was = count_of(before, nbefore, list[i].what);
		int len = total ? (int)(c * (width - 36) / total) : 0;
		char count[16], rate[16] = "-", bar[128];
		tui_count(count, sizeof(count), (unsigned long long)c);
		if (was >= 0 && sample_ms > 0)
			tui_count(rate, sizeof(rate),
				  (unsigned long long)((c - was) * 1000.0 / sample_ms + 0.5));
		memset(bar, '#', (size_t)(len > 0 ? len : 0));
		bar[len > 0 ? len : 0] = '\0';
		crt_text(y, x, ROLE_DEFAULT, 0, " %-15.15s %7s %7s/s ", list[i].what, count, rate);
		crt_text(y++, x + 35, ROLE_PASS, width - 35, "%s", bar);
	}
}

/* Paravirtual devices: bytes moved and notifications (no exit: ioeventfd), with the rate since the
 * last refresh. */
static void devices_line(int y, const struct vmm_stats *now, const struct vmm_stats *was)
{
	char line[512] = "", count[16], rate[16];
	size_t at = 0;

	for (int i = 0; i < now->ndevs && at + 1 < sizeof(line); i++) {
		const struct vmm_dev_stat *d = &now->devs[i];
		uint64_t before = was && i < was->ndevs ? was->devs[i].bytes : d->bytes;
		tui_count(count, sizeof(count), (unsigned long long)d->bytes);
		tui_count(rate, sizeof(rate),
			  (unsigned long long)(d->bytes > before ? d->bytes - before : 0));
		at += (size_t)snprintf(line + at, sizeof(line) - at,
				       "%s%s %sB (%sB/s), %llu notified", i ? "; " : "", d->what,
				       count, rate, (unsigned long long)d->notifies);
	}
	if (now->ndevs)
		crt_text(y, 1, ROLE_DIM, 0, "devices: %s", line);
}

/* The selected running VM: its exits now and over the last minute, by reason, port and region. */
static void running_panel(struct tui *t, struct vm_row *r)
{
	const struct vmm_stats *x = &r->stats, *was = NULL;
	int top = t->bottom - 11, half = t->cols / 2;
	long long exits = (long long)x->exits;
	crt_text(top++, 1, ROLE_DEFAULT, 0,
		 "%s: %lld exits, %.0f/s now; %.3f ms in the VMM (%.2f%% of its uptime)%s%s",
		 r->st.name, exits, r->rate, x->ns_in_vmm / 1e6,
		 r->st.uptime_ns ? 100.0 * (double)x->ns_in_vmm / (double)r->st.uptime_ns :
				   0.0,
		 r->st.devices[0] && strcmp(r->st.devices, "-") ? "; passed through: " : "",
		 r->st.devices[0] && strcmp(r->st.devices, "-") ? r->st.devices : "");
	int n;
	const double *h = hist_of(r->st.name, &n);
	double peak = 0;
	char spark[SPARK * 4], top_rate[16];
	for (int i = 0; i < n; i++)
		peak = h[i] > peak ? h[i] : peak;
	tui_sparkline(spark, sizeof(spark), h, n, MB_CUR_MAX > 1);
	tui_count(top_rate, sizeof(top_rate), (unsigned long long)(peak + 0.5));
	crt_text(top, 1, ROLE_DIM, 0, "exits/s, last %d s (peak %s): ", n, top_rate);
	crt_text(top, 36, ROLE_PASS, 0, "%s", spark);
	for (int i = 0; i < nprev; i++)
		if (!strcmp(prev[i].st.name, r->st.name))
			was = &prev[i].stats;
	static const struct vmm_stats none;
	const struct vmm_stats *w = was ? was : &none;
	bars(top + 1, 0, x->reasons, x->nreasons, w->reasons, was ? w->nreasons : 0,
	     "by reason", exits, half, 3);
	bars(top + 5, 0, x->mmio, x->nmmio, w->mmio, was ? w->nmmio : 0, "by MMIO region",
	     exits, half, 3);
	bars(top + 1, half, x->ports, x->nports, w->ports, was ? w->nports : 0, "by port",
	     exits, t->cols - half, 7);
	devices_line(top + 9, x, was);
}

/* The rows: the running VMs, then those that ended (greyed). */
static void draw_rows(struct tui *t, int y, int list_end)
{
	char rate[16], mem[16];

	for (int i = 0; i < nrows && y + i < list_end; i++) {
		const struct vmm_status *st = &rows[i].st;
		tui_count(rate, sizeof(rate), (unsigned long long)(rows[i].rate + 0.5));
		snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(st->mem >> 20));
		crt_text(y + i, 0, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 0,
			 " %-16.16s %7d %-8s %4d %8s %8.1fs %10s  %s", st->name, st->pid, st->state,
			 st->cpus, mem, st->uptime_ns / 1e9, rate, st->console);
	}
	for (int i = nrows; i < nrows + nended && y + i < list_end; i++) {
		const struct vmm_ended *e = &ended[i - nrows];
		char how[48];
		snprintf(how, sizeof(how), "%s, exit %d", e->how, e->status);
		crt_text(y + i, 0, i == t->sel ? ROLE_SELECTED : ROLE_DIM, 0,
			 " %-16.16s %7d %-8s %-33.33s  %s", e->name, e->pid, "ended", how,
			 e->ended);
	}
}

static void vms_draw(struct tui *t)
{
	int y = TUI_BODY_TOP;

	if (tui_console_attached()) {
		tui_console_draw(t);
		return;
	}
	vms_refresh();
	select_pending(t);
	/* the form has the body to itself: nothing under it shows through */
	if (tui_launch_open()) {
		tui_launch_draw(t);
		return;
	}
	crt_fill(y, ROLE_HEADER);
	crt_text(y++, 0, ROLE_HEADER, 0, " %-16s %7s %-8s %4s %8s %9s %10s  %s", "NAME", "PID",
		 "STATE", "CPUS", "MEM", "UPTIME", "EXITS/S", "CONSOLE");
	int total = nrows + nended, list_end = t->bottom - 12;
	if (t->sel >= total)
		t->sel = total ? total - 1 : 0;
	t->scroll = 0;
	t->list_top = y;
	t->list_rows = list_end - y;
	draw_rows(t, y, list_end);
	if (!total)
		crt_text(y, 1, ROLE_DIM, 0, "no VMs running: F7 launches one");
	if (t->sel >= nrows && t->sel < total) {
		ended_panel(t, &ended[t->sel - nrows], list_end + 1, t->bottom);
		crt_text(1, 1, ROLE_DIM, 0, "d dismisses the ended VM");
	}
	if (t->sel < nrows)
		running_panel(t, &rows[t->sel]);
	if (confirm[0]) {
		crt_text(t->rows - 2, 0, ROLE_WARN, 0,
			 " stop %s? y: its power button, f: at once, n: no _", confirm);
		t->own_bottom = true;
	}
}

static int control(struct tui *t, const char *cmd)
{
	if (t->sel >= nrows)
		return TUI_REDRAW;
	int rc = vmm_control_command(rows[t->sel].st.name, cmd);
	snprintf(t->message, sizeof(t->message), "%s %s: %s", cmd, rows[t->sel].st.name,
		 rc == 0 ? "done" : strerror(-rc));
	refreshed_ms = 0;	/* show the change now */
	return TUI_REDRAW;
}

/* F8, F9 and Enter on a VM that ended: say so, it has no console or state to change. */
static int has_ended(struct tui *t)
{
	if (t->sel < nrows || t->sel >= nrows + nended)
		return 0;
	snprintf(t->message, sizeof(t->message),
		 "%s has ended (%s, exit status %d): its last output is below; d dismisses it",
		 ended[t->sel - nrows].name, ended[t->sel - nrows].how,
		 ended[t->sel - nrows].status);
	return TUI_REDRAW;
}

static int vms_dismiss(struct tui *t)
{
	if (t->sel < nrows || t->sel >= nrows + nended)
		return TUI_REDRAW;
	vmm_ended_dismiss(ended[t->sel - nrows].name);
	refreshed_ms = 0;
	return TUI_REDRAW;
}

static int vms_pause(struct tui *t)
{
	if (has_ended(t))
		return TUI_REDRAW;
	if (t->sel >= nrows)
		return TUI_REDRAW;
	return control(t, strcmp(rows[t->sel].st.state, "paused") ? "pause" : "resume");
}

static int vms_stop(struct tui *t)
{
	if (has_ended(t))
		return TUI_REDRAW;
	if (t->sel < nrows)
		snprintf(confirm, sizeof(confirm), "%s", rows[t->sel].st.name);
	return TUI_REDRAW;
}

void tui_vms_refresh_now(void)
{
	refreshed_ms = 0;
}

/* Enter: the selected VM's serial console, inside the TUI. */
static int vms_attach(struct tui *t)
{
	if (has_ended(t))
		return TUI_REDRAW;
	return t->sel < nrows ? tui_console_attach(t, rows[t->sel].st.name) : TUI_REDRAW;
}

/* "stop NAME?" takes every key until it is answered; the VM asked about, not whichever is
 * selected. y presses its ACPI power button (as `nestvisor stop`, without waiting: the list shows
 * it end), or stops it at once when its guest does not listen; f stops it at once. */
static int vms_modal(struct tui *t, int key)
{
	char err[160] = "", *reply = NULL;
	int rc;

	if (!confirm[0])
		return 0;
	if ((key == 'y' || key == 'Y') &&
	    vmm_control_ask(confirm, "powerdown", &reply, err, sizeof(err)) == 0) {
		snprintf(t->message, sizeof(t->message), "stop %s: its power button pressed (F9, "
			 "then f, stops it at once)", confirm);
	} else if (key == 'y' || key == 'Y' || key == 'f' || key == 'F') {
		rc = vmm_control_command(confirm, "stop");
		snprintf(t->message, sizeof(t->message), "stop %s: %s%s", confirm,
			 rc == 0 ? "stopped" : strerror(-rc),
			 rc == 0 && err[0] ? " (its guest does not listen for the power button)" : "");
	}
	free(reply);
	refreshed_ms = 0;
	if (key == 'y' || key == 'Y' || key == 'f' || key == 'F' || key == 'n' || key == 'N' ||
	    key == 27)
		confirm[0] = '\0';
	return TUI_REDRAW;
}

static const struct tui_key vms_keys[] = {
	{ '\n', KEY_ENTER, NULL, NULL,
	  "Enter     the selected VM's serial console (Ctrl-] detaches)", vms_attach },
	{ KEY_F(8), 'p', "F8", "Pause", "F8 p      pause or resume the selected VM", vms_pause },
	{ KEY_F(9), 'k', "F9", "Stop",
	  "F9 k      stop the selected VM: its power button, or at once (asks first)", vms_stop },
	{ 'd', KEY_DC, NULL, NULL,
	  "d Del     dismiss the selected VM that ended (its last output shows below it until "
	  "then)",
	  vms_dismiss },
};

const struct tui_screen_def tui_vms_screen = {
	.name = "VMs", .draw = vms_draw, .count = vms_count,
	.keys = vms_keys, .nkeys = sizeof(vms_keys) / sizeof(vms_keys[0]), .modal = vms_modal,
};
