/* nestvisor ps | stop NAME | stats NAME [--watch] | console NAME: the running VMs, through their control sockets. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/text.h"
#include "vmm/control.h"
#include "vmm/vmm.h"

void cli_ps_usage(void) { printf("usage: nestvisor ps\n  lists running VMs; removes sockets left by killed ones\n"); }
void cli_stop_usage(void) { printf("usage: nestvisor stop NAME\n"); }
void cli_stats_usage(void) { printf("usage: nestvisor stats NAME [--watch]\n  --watch  refresh every second\n"); }
void cli_console_usage(void)
{
	printf("usage: nestvisor console NAME\n  a running VM's serial console here: what it printed before, then live;"
	       " what you type\n  goes to the guest (Ctrl-C too); Ctrl-] detaches. Ends when the VM does.\n");
}

static json_object *request(const char *name, const char *cmd)
{
	char path[128];
	char *reply;
	json_object *o;

	if (vmm_control_path(name, path, sizeof(path)) < 0 || !(reply = vmm_control_request(path, cmd, 2000))) {
		fprintf(stderr, "nestvisor: no VM named %s is running (`nestvisor ps` lists them)\n", name);
		return NULL;
	}
	o = json_tokener_parse(reply);
	free(reply);
	return o;
}

static void ps_row(const char *name, const char *status, const char *stats, void *ctx)
{
	json_object *s = json_tokener_parse(status), *x = json_tokener_parse(stats);
	int *shown = ctx;
	double up;

	(void)name;
	if (!(*shown)++)
		printf("%-16s %7s %-9s %4s %6s %8s %10s %12s  %s\n", "NAME", "PID", "STATE", "CPUS", "NESTED", "MEM", "UPTIME",
		       "EXITS/S", "CONSOLE");
	up = (double)vmm_control_int(s, "uptime_ns") / 1e9;
	char vname[64], state[16], console[128];	/* a socket's words: printable before they reach the terminal */
	snprintf(vname, sizeof(vname), "%s", vmm_control_str(s, "name"));
	snprintf(state, sizeof(state), "%s", vmm_control_str(s, "state"));
	snprintf(console, sizeof(console), "%s", vmm_control_str(s, "console"));
	text_clean(vname), text_clean(state), text_clean(console);
	printf("%-16s %7lld %-9s %4lld %6s %7lldM %9.1fs %12.0f  %s\n", vname,
	       (long long)vmm_control_int(s, "pid"), state, (long long)vmm_control_int(s, "cpus"),
	       vmm_control_int(s, "nested") ? "on" : "off", (long long)(vmm_control_int(s, "mem") >> 20), up,
	       up > 0 ? (double)vmm_control_int(x, "exits") / up : 0.0, console);
	json_object_put(s);
	json_object_put(x);
}

int cli_ps(int argc, char **argv)
{
	int shown = 0, stale;

	(void)argc, (void)argv;
	vmm_control_list(ps_row, &shown, &stale);
	if (stale)
		fprintf(stderr, "nestvisor ps: removed %d stale socket(s) left by killed VMs\n", stale);
	if (!shown)
		printf("no VMs running\n");
	return CLI_OK;
}

int cli_stop(int argc, char **argv)
{
	json_object *o;

	if (argc != 2) {
		cli_stop_usage();
		return CLI_ERROR;
	}
	if (!(o = request(argv[1], "stop")))
		return CLI_FAILED;
	json_object_put(o);
	printf("VM %s stopped\n", argv[1]);
	return CLI_OK;
}

static void print_rows(json_object *o, const char *key, const char *title)
{
	json_object *a;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) || !json_object_array_length(a))
		return;
	printf("  %-28s %12s %12s\n", title, "exits", "VMM time");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *r = json_object_array_get_idx(a, i);
		printf("  %-28s %12lld %9.3f ms\n", vmm_control_str(r, "what"), (long long)vmm_control_int(r, "count"), vmm_control_int(r, "ns") / 1e6);
	}
}

int cli_stats(int argc, char **argv)
{
	bool watch = argc == 3 && !strcmp(argv[2], "--watch");
	int64_t last = -1;
	json_object *o;

	if (argc != 2 && !watch) {
		cli_stats_usage();
		return CLI_ERROR;
	}
	do {
		if (!(o = request(argv[1], "stats")))
			return watch && last >= 0 ? CLI_OK : CLI_FAILED;	/* the VM ended while watched */
		int64_t exits = vmm_control_int(o, "exits");
		printf("%s: %lld exits in %.1f s", argv[1], (long long)exits, vmm_control_int(o, "uptime_ns") / 1e9);
		if (last >= 0)
			printf(", %lld exits/s", (long long)(exits - last));
		printf("; %.3f ms in the VMM\n", vmm_control_int(o, "ns_in_vmm") / 1e6);
		long long nb = vmm_control_int(o, "nested_state_bytes");
		printf("  nested: %s; KVM's nested state per vCPU: %lld bytes%s\n", vmm_control_int(o, "nested") ? "on" : "off",
		       nb, nb > 0 ? "" : " (none: KVM_CAP_NESTED_STATE is 0 here)");
		json_object *devs;
		if (json_object_object_get_ex(o, "devices", &devs) && json_object_array_length(devs)) {
			printf("  %-28s %12s %12s %12s\n", "by device", "notified", "interrupts", "bytes");
			for (size_t i = 0; i < json_object_array_length(devs); i++) {
				json_object *d = json_object_array_get_idx(devs, i);
				char what[32];
				snprintf(what, sizeof(what), "%s", vmm_control_str(d, "what"));
				text_clean(what);
				printf("  %-28s %12lld %12lld %12lld\n", what, vmm_control_int(d, "notifies"),
				       vmm_control_int(d, "interrupts"), vmm_control_int(d, "bytes"));
			}
		}
		print_rows(o, "by_reason", "by reason");
		print_rows(o, "by_port", "by port");
		print_rows(o, "by_mmio", "by MMIO region");
		last = exits;
		json_object_put(o);
		fflush(stdout);
	} while (watch && sleep(1) == 0);
	return CLI_OK;
}

/* ---- console: the same console history and input the TUI uses (control socket), on this terminal ---- */

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	tty_raw = false;
}

/* The output since *next: 1, or 0 once the VM is gone, -1 when this end's output fails. */
static int console_pull(const char *path, uint64_t *next)
{
	char buf[4096];
	long n;

	while ((n = vmm_control_console_read(path, next, NULL, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0)
			return -1;
	return n == 0;
}

int cli_console(int argc, char **argv)
{
	char path[128], buf[512];
	uint64_t next = 0;
	bool input = true;

	if (argc != 2 || argv[1][0] == '-') {
		cli_console_usage();
		return argc == 2 && !strcmp(argv[1], "--help") ? CLI_OK : CLI_ERROR;
	}
	char *alive = vmm_control_path(argv[1], path, sizeof(path)) < 0 ? NULL : vmm_control_request(path, "status", 2000);
	if (!alive) {
		fprintf(stderr, "nestvisor: no VM named %s is running (`nestvisor ps` lists them)\n", argv[1]);
		return CLI_FAILED;
	}
	free(alive);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		struct termios t = saved_tty;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;	/* the guest's bare newlines still start a line */
		tty_raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		atexit(tty_restore);
		fprintf(stderr, "[nestvisor: console of %s; Ctrl-] detaches]\r\n", argv[1]);
	}
	for (;;) {
		int rc = console_pull(path, &next);	/* first: everything it printed before we came */
		if (rc < 0) {
			tty_restore();
			return CLI_FAILED;	/* nobody reads us any more */
		}
		if (rc == 0)
			break;
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
		if (input && poll(&p, 1, 50) > 0) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				input = false;	/* end of input: keep showing the guest until it ends */
			} else if (tty_raw && memchr(buf, 0x1d, (size_t)n)) {
				tty_restore();
				fprintf(stderr, "\n[nestvisor: detached from %s; it is still running]\n", argv[1]);
				return CLI_OK;
			} else if ((rc = vmm_control_console_write(path, buf, (size_t)n)) < 0) {
				fprintf(stderr, "\r\nnestvisor console: %zd typed byte(s) did not reach %s: %s\r\n", n,
					argv[1], strerror(-rc));
			}
		} else if (!input) {
			poll(NULL, 0, 50);
		}
	}
	tty_restore();
	fprintf(stderr, "\n[nestvisor: VM %s has ended]\n", argv[1]);
	return CLI_OK;
}
