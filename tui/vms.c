/* vms: the VMs screen: running VMs found through their control sockets, refreshed every second with
 * exits per second; the selected VM's exits by reason and port as bars; pause/resume, stop, attach (the
 * launch form is launch.c, the console console.c). */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tui/crt.h"
#include "tui/screens.h"
#include "vmm/control.h"

#define MAX_VMS 64

struct vm_row {
	char name[64], state[16], console[64];
	long long pid, cpus, mem, uptime_ns, exits, ns_in_vmm;
	double rate;				/* exits per second since the last refresh */
	json_object *stats;
};

static struct vm_row rows[MAX_VMS], prev[MAX_VMS];
static int nrows, nprev;
static double refreshed_ms, sample_ms;	/* sample_ms: the time between prev and rows */

/* Exits per second over the last minute, per VM (by name), for the sparkline. */
#define SPARK 60
static struct { char name[64]; double rate[SPARK]; int n; } hist[MAX_VMS];

static void hist_add(const char *name, double rate)
{
	int free_slot = -1;

	for (int i = 0; i < MAX_VMS; i++) {
		if (!strcmp(hist[i].name, name)) {
			if (hist[i].n == SPARK)
				memmove(hist[i].rate, hist[i].rate + 1, sizeof(double) * (SPARK - 1)), hist[i].n--;
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
				live |= !strcmp(rows[r].name, hist[i].name);
			if (!live && free_slot < 0)
				free_slot = i;
		}
	}
	if (free_slot >= 0) {
		snprintf(hist[free_slot].name, sizeof(hist[free_slot].name), "%s", name);
		hist[free_slot].rate[0] = rate, hist[free_slot].n = 1;
	}
}

static const double *hist_of(const char *name, int *n)
{
	for (int i = 0; i < MAX_VMS; i++)
		if (hist[i].name[0] && !strcmp(hist[i].name, name))
			return *n = hist[i].n, hist[i].rate;
	return *n = 0, NULL;
}

static void add_row(const char *name, const char *status, const char *stats, void *ctx)
{
	json_object *s = json_tokener_parse(status), *x = json_tokener_parse(stats);
	struct vm_row *r = &rows[nrows];
	double dt = *(double *)ctx;

	(void)name;
	if (nrows >= MAX_VMS || !s) {
		json_object_put(s);
		json_object_put(x);
		return;
	}
	snprintf(r->name, sizeof(r->name), "%s", vmm_control_str(s, "name"));
	snprintf(r->state, sizeof(r->state), "%s", vmm_control_str(s, "state"));
	snprintf(r->console, sizeof(r->console), "%s", vmm_control_str(s, "console"));
	r->pid = vmm_control_int(s, "pid"), r->cpus = vmm_control_int(s, "cpus"), r->mem = vmm_control_int(s, "mem"), r->uptime_ns = vmm_control_int(s, "uptime_ns");
	r->exits = vmm_control_int(x, "exits"), r->ns_in_vmm = vmm_control_int(x, "ns_in_vmm");
	r->stats = x;
	r->rate = r->uptime_ns ? r->exits / (r->uptime_ns / 1e9) : 0;	/* until there is a previous sample */
	for (int i = 0; i < nprev && dt > 0; i++)
		if (!strcmp(prev[i].name, r->name))
			r->rate = (r->exits - prev[i].exits) / (dt / 1e3);
	json_object_put(s);
	nrows++;
	hist_add(r->name, r->rate);
}

/* At most once a second: ask every VM for its status and statistics. */
static void refresh(void)
{
	double now = tui_now_ms(), dt = refreshed_ms ? now - refreshed_ms : 0;
	int stale;

	if (refreshed_ms && dt < 1000)
		return;
	for (int i = 0; i < nprev; i++)
		json_object_put(prev[i].stats);
	memcpy(prev, rows, sizeof(rows));
	nprev = nrows;
	nrows = 0;
	vmm_control_list(add_row, &dt, &stale);
	refreshed_ms = now;
	sample_ms = dt;
}

int tui_vms_count(struct tui *t)
{
	(void)t;
	return nrows;
}

static long long count_of(json_object *list, const char *what)
{
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(vmm_control_str(json_object_array_get_idx(list, i), "what"), what))
			return vmm_control_int(json_object_array_get_idx(list, i), "count");
	return -1;
}

/* The busiest rows of a stats list: name, count, per second since the last sample (before), and a bar. */
static void bars(int y, int x, json_object *list, json_object *before, const char *title, long long total, int width,
		 size_t max)
{
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;	/* a VM gone mid-refresh */

	crt_text(y++, x, ROLE_HEADER, width, " %-15.15s %7s %9s%*s", title, "exits", "per sec", width > 35 ? width - 35 : 0,
		 "");
	if (!n)
		crt_text(y, x, ROLE_DIM, width, " (none)");
	for (size_t i = 0; i < n && i < max; i++) {
		json_object *r = json_object_array_get_idx(list, i);
		long long c = vmm_control_int(r, "count"), was = count_of(before, vmm_control_str(r, "what"));
		int len = total ? (int)(c * (width - 36) / total) : 0;
		char count[16], rate[16] = "-", bar[128];
		tui_count(count, sizeof(count), (unsigned long long)c);
		if (was >= 0 && sample_ms > 0)
			tui_count(rate, sizeof(rate), (unsigned long long)((c - was) * 1000.0 / sample_ms + 0.5));
		memset(bar, '#', (size_t)(len > 0 ? len : 0));
		bar[len > 0 ? len : 0] = '\0';
		crt_text(y, x, ROLE_DEFAULT, 0, " %-15.15s %7s %7s/s ", vmm_control_str(r, "what"), count, rate);
		crt_text(y++, x + 35, ROLE_PASS, width - 35, "%s", bar);
	}
}

/* Paravirtual devices: bytes moved and notifications (no exit: ioeventfd), with the rate since the last refresh. */
static void devices_line(int y, json_object *now, json_object *was)
{
	json_object *devs = NULL, *old = NULL;
	char line[512] = "", count[16], rate[16];
	size_t at = 0;

	if (!json_object_object_get_ex(now, "devices", &devs) || !json_object_array_length(devs))
		return;
	json_object_object_get_ex(was, "devices", &old);
	for (size_t i = 0; i < json_object_array_length(devs) && at + 1 < sizeof(line); i++) {
		json_object *d = json_object_array_get_idx(devs, i), *o = old ? json_object_array_get_idx(old, i) : NULL;
		long long bytes = vmm_control_int(d, "bytes"), before = o ? vmm_control_int(o, "bytes") : bytes;
		tui_count(count, sizeof(count), (unsigned long long)bytes);
		tui_count(rate, sizeof(rate), (unsigned long long)(bytes > before ? bytes - before : 0));
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s%s %sB (%sB/s), %lld notified", i ? "; " : "",
				       vmm_control_str(d, "what"), count, rate, vmm_control_int(d, "notifies"));
	}
	crt_text(y, 1, ROLE_DIM, 0, "devices: %s", line);
}

void tui_vms_draw(struct tui *t)
{
	int y = TUI_BODY_TOP;
	char rate[16], mem[16];

	if (tui_console_attached()) {
		tui_console_draw(t);
		return;
	}
	refresh();
	crt_fill(y, ROLE_HEADER);
	crt_text(y++, 0, ROLE_HEADER, 0, " %-16s %7s %-8s %4s %8s %9s %10s  %s", "NAME", "PID", "STATE", "CPUS", "MEM", "UPTIME",
		 "EXITS/S", "CONSOLE");
	if (t->sel >= nrows)
		t->sel = nrows ? nrows - 1 : 0;
	t->scroll = 0, t->list_top = y, t->list_rows = t->rows - 14 - y;
	for (int i = 0; i < nrows && y < t->rows - 14; i++, y++) {
		tui_count(rate, sizeof(rate), (unsigned long long)(rows[i].rate + 0.5));
		snprintf(mem, sizeof(mem), "%lldM", rows[i].mem >> 20);
		crt_text(y, 0, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 0, " %-16.16s %7lld %-8s %4lld %8s %8.1fs %10s  %s",
			 rows[i].name, rows[i].pid, rows[i].state, rows[i].cpus, mem, rows[i].uptime_ns / 1e9, rate,
			 rows[i].console);
	}
	if (!nrows)
		crt_text(y++, 1, ROLE_DIM, 0, "no VMs running: F7 or n launches one");
	if (nrows && t->sel < nrows) {
		struct vm_row *r = &rows[t->sel];
		json_object *reasons = NULL, *ports = NULL;
		int top = t->rows - 13, half = t->cols / 2;
		json_object *mmio = NULL;
		json_object_object_get_ex(r->stats, "by_reason", &reasons);
		json_object_object_get_ex(r->stats, "by_port", &ports);
		json_object_object_get_ex(r->stats, "by_mmio", &mmio);
		crt_text(top++, 1, ROLE_DEFAULT, 0, "%s: %lld exits, %.0f/s now; %.3f ms handling them in the VMM (%.2f%% of its uptime)",
			 r->name, r->exits, r->rate, r->ns_in_vmm / 1e6, r->uptime_ns ? 100.0 * r->ns_in_vmm / r->uptime_ns : 0.0);
		int n;
		const double *h = hist_of(r->name, &n);
		double peak = 0;
		char spark[SPARK * 4], top_rate[16];
		for (int i = 0; i < n; i++)
			peak = h[i] > peak ? h[i] : peak;
		tui_sparkline(spark, sizeof(spark), h, n, MB_CUR_MAX > 1);
		tui_count(top_rate, sizeof(top_rate), (unsigned long long)(peak + 0.5));
		crt_text(top, 1, ROLE_DIM, 0, "exits/s, last %d s (peak %s): ", n, top_rate);
		crt_text(top, 36, ROLE_PASS, 0, "%s", spark);
		json_object *was = NULL, *was_reasons = NULL, *was_ports = NULL, *was_mmio = NULL;
		for (int i = 0; i < nprev; i++)
			if (!strcmp(prev[i].name, r->name))
				was = prev[i].stats;
		json_object_object_get_ex(was, "by_reason", &was_reasons);
		json_object_object_get_ex(was, "by_port", &was_ports);
		json_object_object_get_ex(was, "by_mmio", &was_mmio);
		bars(top + 1, 0, reasons, was_reasons, "by reason", r->exits, half, 3);
		bars(top + 5, 0, mmio, was_mmio, "by MMIO region", r->exits, half, 3);
		bars(top + 1, half, ports, was_ports, "by port", r->exits, t->cols - half, 7);
		devices_line(top + 9, r->stats, was);
	}
	if (tui_launch_open())
		tui_launch_draw(t);
	if (t->prompt[0])
		crt_text(t->rows - 2, 0, ROLE_WARN, 0, " %s%s_", t->prompt, t->input);
	else if (t->message[0])
		crt_text(t->rows - 2, 0, ROLE_NOTE, 0, " %s", t->message);
}

static int control(struct tui *t, const char *cmd)
{
	char path[128];
	char *reply;

	if (t->sel >= nrows || vmm_control_path(rows[t->sel].name, path, sizeof(path)) < 0)
		return TUI_REDRAW;
	reply = vmm_control_request(path, cmd, 2000);
	snprintf(t->message, sizeof(t->message), "%s %s: %s", cmd, rows[t->sel].name, reply ? "done" : strerror(errno));
	free(reply);
	refreshed_ms = 0;	/* show the change now */
	return TUI_REDRAW;
}

int tui_vms_pause(struct tui *t)
{
	return t->sel < nrows ? control(t, strcmp(rows[t->sel].state, "paused") ? "pause" : "resume") : TUI_REDRAW;
}

int tui_vms_stop(struct tui *t)
{
	if (t->sel < nrows)
		tui_prompt(t, PROMPT_STOP, "stop %s? (y/n) ", rows[t->sel].name);
	return TUI_REDRAW;
}

void tui_vms_refresh_now(void)
{
	refreshed_ms = 0;
}

/* Enter: the selected VM's serial console, inside the TUI. */
int tui_vms_attach(struct tui *t)
{
	return t->sel < nrows ? tui_console_attach(t, rows[t->sel].name) : TUI_REDRAW;
}

void tui_vms_prompt_done(struct tui *t, int which, const char *text)
{
	switch (which) {
	case PROMPT_STOP:
		if (text[0] == 'y')
			control(t, "stop");
		break;
	}
}
