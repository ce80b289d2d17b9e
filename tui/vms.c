/* vms: the VMs screen: running VMs found through their control sockets, refreshed every second with
 * exits per second; the selected VM's exits by reason and port as bars; launch, pause/resume, stop. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
static double refreshed_ms;

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
}

int tui_vms_count(struct tui *t)
{
	(void)t;
	return nrows;
}

static void bars(int y, int x, json_object *list, const char *title, long long total, int width)
{
	crt_text(y++, x, ROLE_HEADER, width, " %-*s", width - 1, title);
	for (size_t i = 0; i < json_object_array_length(list) && i < 5; i++) {
		json_object *r = json_object_array_get_idx(list, i);
		long long c = vmm_control_int(r, "count");
		int len = total ? (int)(c * (width - 34) / total) : 0;
		char count[16], bar[128];
		tui_count(count, sizeof(count), (unsigned long long)c);
		memset(bar, '#', (size_t)(len > 0 ? len : 0));
		bar[len > 0 ? len : 0] = '\0';
		crt_text(y, x, ROLE_DEFAULT, 0, " %-22.22s %8s ", vmm_control_str(r, "what"), count);
		crt_text(y++, x + 33, ROLE_PASS, width - 33, "%s", bar);
	}
}

void tui_vms_draw(struct tui *t)
{
	int y = TUI_BODY_TOP;
	char rate[16], mem[16];

	refresh();
	crt_fill(y, ROLE_HEADER);
	crt_text(y++, 0, ROLE_HEADER, 0, " %-16s %7s %-8s %4s %8s %9s %10s  %s", "NAME", "PID", "STATE", "CPUS", "MEM", "UPTIME",
		 "EXITS/S", "CONSOLE");
	if (t->sel >= nrows)
		t->sel = nrows ? nrows - 1 : 0;
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
		json_object_object_get_ex(r->stats, "by_reason", &reasons);
		json_object_object_get_ex(r->stats, "by_port", &ports);
		crt_text(top++, 1, ROLE_DEFAULT, 0, "%s: %lld exits, %.0f/s now; %.3f ms handling them in the VMM (%.2f%% of its uptime)",
			 r->name, r->exits, r->rate, r->ns_in_vmm / 1e6, r->uptime_ns ? 100.0 * r->ns_in_vmm / r->uptime_ns : 0.0);
		bars(top + 1, 0, reasons, "exits by reason", r->exits, half);
		bars(top + 1, half, ports, "busiest ports", r->exits, t->cols - half);
	}
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

/* A VM is its own process: `nestvisor run --detach`, so one that crashes never takes the TUI with it. */
static void launch(struct tui *t)
{
	char self[512], name[32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(name, sizeof(name), "vm-%d", (int)(tui_now_ms()) % 100000);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		char *argv[16] = { self, "run", "--detach", "--name", name, "--kernel", t->launch.kernel, "--mem", t->launch.mem,
				   "--cpus", t->launch.cpus, NULL };
		if (t->launch.cmdline[0]) {
			argv[11] = "--cmdline";
			argv[12] = t->launch.cmdline;
			argv[13] = NULL;
		}
		execv(self, argv);
		_exit(127);
	}
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);	/* the detached VM outlives this child */
	snprintf(t->message, sizeof(t->message), pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ?
		 "launched %s (%s)" : "could not launch %s from %s: see `nestvisor run --kernel` for the reason", name,
		 t->launch.kernel);
	refreshed_ms = 0;
}

/* The launch form: one field after another on the prompt line; Enter on an empty field keeps its default. */
int tui_vms_launch(struct tui *t)
{
	tui_prompt(t, PROMPT_KERNEL, "kernel (a multiboot, bzImage, PVH image) [%s]: ", t->launch.kernel);
	return TUI_REDRAW;
}

void tui_vms_prompt_done(struct tui *t, int which, const char *text)
{
	switch (which) {
	case PROMPT_STOP:
		if (text[0] == 'y')
			control(t, "stop");
		break;
	case PROMPT_KERNEL:
		if (text[0])
			snprintf(t->launch.kernel, sizeof(t->launch.kernel), "%s", text);
		tui_prompt(t, PROMPT_CMDLINE, "command line [%s]: ", t->launch.cmdline);
		break;
	case PROMPT_CMDLINE:
		if (text[0])
			snprintf(t->launch.cmdline, sizeof(t->launch.cmdline), "%s", text);
		tui_prompt(t, PROMPT_MEM, "memory [%s]: ", t->launch.mem);
		break;
	case PROMPT_MEM:
		if (text[0])
			snprintf(t->launch.mem, sizeof(t->launch.mem), "%s", text);
		tui_prompt(t, PROMPT_CPUS, "vCPUs [%s] (nested: not offered here, see the Host screen): ", t->launch.cpus);
		break;
	case PROMPT_CPUS:
		if (text[0])
			snprintf(t->launch.cpus, sizeof(t->launch.cpus), "%s", text);
		launch(t);
		break;
	}
}
