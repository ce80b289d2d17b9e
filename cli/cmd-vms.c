/* nestvisor ps | stop NAME | stats NAME [--watch] | console NAME: the running VMs, through their
 * control sockets. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <getopt.h>
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

void cli_ps_usage(void)
{
	printf("usage: nestvisor ps\n  lists running VMs; removes sockets left by killed ones\n");
}
void cli_stop_usage(void) { printf("usage: nestvisor stop NAME\n"); }
void cli_stats_usage(void)
{
	printf("usage: nestvisor stats NAME [--watch]\n  --watch  refresh every second\n");
}
void cli_console_usage(void)
{
	printf("usage: nestvisor console NAME\n  a running VM's serial console here: what it "
	       "printed before, then live; what you type\n  goes to the guest (Ctrl-C too); Ctrl-] "
	       "detaches. Ends when the VM does.\n");
}

static void not_running(const char *name)
{
	fprintf(stderr, "nestvisor: no VM named %s is running (`nestvisor ps` lists them)\n", name);
}

static void ps_row(const struct vmm_status *st, const struct vmm_stats *stats, void *ctx)
{
	int *shown = ctx;
	double up = (double)st->uptime_ns / 1e9;

	if (!(*shown)++)
		printf("%-16s %7s %-9s %4s %6s %8s %10s %12s %5s %-12s %s\n", "NAME", "PID",
		       "STATE", "CPUS", "NESTED", "MEM", "UPTIME", "EXITS/S", "DISKS", "NET",
		       "CONSOLE");
	printf("%-16s %7d %-9s %4d %6s %7lluM %9.1fs %12.0f %5d %-12.12s %s\n", st->name, st->pid,
	       st->state, st->cpus, st->nested ? "on" : "off", (unsigned long long)(st->mem >> 20),
	       up, up > 0 ? (double)stats->exits / up : 0.0, st->ndisks, st->net, st->console);
}

int cli_ps(int argc, char **argv)
{
	int shown = 0, stale;

	(void)argc;
	(void)argv;
	vmm_control_list(ps_row, &shown, &stale);
	if (stale)
		fprintf(stderr, "nestvisor ps: removed %d stale socket(s) left by killed VMs\n",
			stale);
	if (!shown)
		printf("no VMs running\n");
	return CLI_OK;
}

int cli_stop(int argc, char **argv)
{
	if (argc != 2) {
		cli_stop_usage();
		return CLI_ERROR;
	}
	if (vmm_control_command(argv[1], "stop") < 0) {
		not_running(argv[1]);
		return CLI_FAILED;
	}
	printf("VM %s stopped\n", argv[1]);
	return CLI_OK;
}

static void print_rows(const struct vmm_stat_row *r, int n, const char *title)
{
	if (!n)
		return;
	printf("  %-28s %12s %12s\n", title, "exits", "VMM time");
	for (int i = 0; i < n; i++)
		printf("  %-28s %12llu %9.3f ms\n", r[i].what, (unsigned long long)r[i].count,
		       r[i].ns / 1e6);
}

static void stats_print(const char *name, const struct vmm_stats *s, long long last)
{
	printf("%s: %llu exits in %.1f s", name, (unsigned long long)s->exits, s->uptime_ns / 1e9);
	if (last >= 0)
		printf(", %lld exits/s", (long long)s->exits - last);
	printf("; %.3f ms in the VMM\n", s->ns_in_vmm / 1e6);
	printf("  nested: %s; KVM's nested state per vCPU: %d bytes%s\n", s->nested ? "on" : "off",
	       s->nested_state_bytes,
	       s->nested_state_bytes > 0 ? "" : " (none: KVM_CAP_NESTED_STATE is 0 here)");
	if (s->ndevs)
		printf("  %-28s %12s %12s %12s\n", "by device", "notified", "interrupts", "bytes");
	for (int i = 0; i < s->ndevs; i++) {
		char what[32];
		snprintf(what, sizeof(what), "%s", s->devs[i].what);
		text_clean(what);
		printf("  %-28s %12llu %12llu %12llu\n", what,
		       (unsigned long long)s->devs[i].notifies,
		       (unsigned long long)s->devs[i].interrupts,
		       (unsigned long long)s->devs[i].bytes);
	}
	print_rows(s->reasons, s->nreasons, "by reason");
	print_rows(s->ports, s->nports, "by port");
	print_rows(s->mmio, s->nmmio, "by MMIO region");
}

int cli_stats(int argc, char **argv)
{
	bool watch = argc == 3 && !strcmp(argv[2], "--watch");
	long long last = -1;
	struct vmm_stats s;

	if (argc != 2 && !watch) {
		cli_stats_usage();
		return CLI_ERROR;
	}
	do {
		if (vmm_control_stats(argv[1], &s) < 0) {
			if (watch && last >= 0)
				return CLI_OK;	/* the VM ended while watched */
			not_running(argv[1]);
			return CLI_FAILED;
		}
		stats_print(argv[1], &s, last);
		last = (long long)s.exits;
		fflush(stdout);
	} while (watch && sleep(1) == 0);
	return CLI_OK;
}

/* ---- console: the same console history and input the TUI uses (control socket), on this terminal
 * ---- */

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
	struct vmm_status st;
	if (vmm_control_status(argv[1], &st) < 0 ||
	    vmm_control_path(argv[1], path, sizeof(path)) < 0) {
		not_running(argv[1]);
		return CLI_FAILED;
	}
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		struct termios t = saved_tty;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;	/* the guest's bare newlines still start a line */
		tty_raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		atexit(tty_restore);
		fprintf(stderr, "[nestvisor: console of %s; Ctrl-] detaches]\r\n", argv[1]);
	}
	for (;;) {
		int rc =
			console_pull(path, &next); /* first: everything it printed before we came */
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
				/* end of input: keep showing the guest until it ends */
				input = false;
			} else if (tty_raw && memchr(buf, 0x1d, (size_t)n)) {
				tty_restore();
				fprintf(stderr,
					"\n[nestvisor: detached from %s; it is still running]\n",
					argv[1]);
				return CLI_OK;
			} else if ((rc = vmm_control_console_write(path, buf, (size_t)n)) < 0) {
				fprintf(stderr,
					"\r\nnestvisor console: %zd typed byte(s) did not reach "
					"%s: %s\r\n",
					n, argv[1], strerror(-rc));
			}
		} else if (!input) {
			poll(NULL, 0, 50);
		}
	}
	tty_restore();
	fprintf(stderr, "\n[nestvisor: VM %s has ended]\n", argv[1]);
	return CLI_OK;
}
