/* nestvisor ps | stop NAME | stats NAME [--watch] | console NAME: the running VMs, through their
 * control sockets. */
#include "config.h"
#include <ctype.h>
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
#include "common/termfilter.h"
#include "vmm/control.h"
#include "vmm/vmm.h"

void cli_ps_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "-a, --all", "also the VMs that ran in the background and ended (--detach, the "
		  "TUI), with how they ended and their exit status, until `nestvisor dismiss`" },
		{ "--json", "the same as JSON (docs/control-socket.md)" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor ps [--all] [--json]",
		.about = "Lists the running VMs; sockets left by killed ones are removed.",
		.opts = opts,
	};

	cli_help_print(&h);
}

void cli_pause_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor pause NAME",
		.about = "Pauses a running VM: its vCPUs stop at their next exit, then each device at "
			 "a request boundary (disk requests in flight completed, network backends "
			 "stopped), so nothing changes the guest's memory until `nestvisor resume "
			 "NAME`. Input typed meanwhile waits; vhost-net is detached from "
			 "the queues it serves and attached again on resume.",
	};

	cli_help_print(&h);
}

void cli_resume_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor resume NAME",
		.about = "Resumes a VM `nestvisor pause` paused (a guest suspended to RAM by itself "
			 "is woken, as a key would).",
	};

	cli_help_print(&h);
}

void cli_dismiss_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor dismiss NAME... | --all",
		.about = "Forgets VMs that ended (`nestvisor ps --all` lists them).",
	};

	cli_help_print(&h);
}

void cli_stats_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "--watch", "again every second (in place on a terminal) until the VM ends" },
		{ "--json", "the VM's statistics as JSON (docs/control-socket.md, \"stats\")" },
		{ "--digest", "a paused VM's guest memory hashed and its devices' queue positions, as "
			      "JSON: two looks compare equal while nothing changes the guest" },
		{ "--cpus", "the VM's vCPUs as JSON (a running VM's stopped a moment for it): where "
			    "each is, whether it halted, the interrupt being delivered, its local APIC's "
			    "timer and vectors, its last exits, its stack (why a guest stopped making "
			    "progress)" },
		{ "--at ADDR", "with --cpus: also 256 words at guest virtual address ADDR (hex, 0x...), "
			       "read through each vCPU's page tables, as QEMU's monitor command x "
			       "(the stack an interrupt handler switched from)" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor stats NAME [--watch] [--json] [--digest | --cpus [--at ADDR]]",
		.about = "A running VM's exits by reason, port and MMIO region, and its devices.",
		.opts = opts,
	};

	cli_help_print(&h);
}

void cli_console_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor console NAME",
		.about = "A running VM's serial console on this terminal: what it printed before, "
			 "then live; what you type goes to the guest (Ctrl-C too); Ctrl-] "
			 "detaches. Ends when the VM does.",
	};

	cli_help_print(&h);
}

static void not_running(const char *cmd, const char *name)
{
	fprintf(stderr, "nestvisor %s: no VM named %s is running (`nestvisor ps` lists them)\n",
		cmd, name);
}

struct ps { int shown; json_object *json; };

static void ps_row(const struct vmm_status *st, const struct vmm_stats *stats, void *ctx)
{
	struct ps *ps = ctx;
	double up = (double)st->uptime_ns / 1e9, rate = up > 0 ? (double)stats->exits / up : 0.0;

	if (ps->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(st->name));
		json_object_object_add(o, "pid", json_object_new_int(st->pid));
		json_object_object_add(o, "state", json_object_new_string(st->state));
		json_object_object_add(o, "cpus", json_object_new_int(st->cpus));
		json_object_object_add(o, "nested", json_object_new_boolean(st->nested));
		json_object_object_add(o, "sandbox", json_object_new_boolean(st->sandbox));
		json_object_object_add(o, "mem", json_object_new_int64((int64_t)st->mem));
		json_object_object_add(o, "uptime_ns",
				       json_object_new_int64((int64_t)st->uptime_ns));
		json_object_object_add(o, "exits", json_object_new_int64((int64_t)stats->exits));
		json_object_object_add(o, "disks", json_object_new_int(st->ndisks));
		json_object_object_add(o, "net", strcmp(st->net, "-") ?
				       json_object_new_string(st->net) : NULL);
		json_object_object_add(o, "devices", strcmp(st->devices, "-") ?
				       json_object_new_string(st->devices) : NULL);
		json_object_object_add(o, "console", json_object_new_string(st->console));
		json_object_array_add(ps->json, o);
		return;
	}
	if (!ps->shown++)
		printf("%-16s %7s %-9s %4s %6s %8s %10s %12s %5s %-12s %-8s %s\n", "NAME", "PID",
		       "STATE", "CPUS", "NESTED", "MEM", "UPTIME", "EXITS/S", "DISKS", "NET",
		       "DEVICES", "CONSOLE");
	printf("%-16s %7d %-9s %4d %6s %7lluM %9.1fs %12.0f %5d %-12.12s %-8s %s\n", st->name,
	       st->pid, st->state, st->cpus, st->nested ? "on" : "off",
	       (unsigned long long)(st->mem >> 20), up, rate, st->ndisks, st->net, st->devices,
	       st->console);
}

/* The records of the VMs that ended (at most the 32 kept), newest first, in a malloc'd *out; how
 * many (0 when none could be read). */
static int ended_all(struct vmm_ended **out)
{
	int n;

	*out = calloc(32, sizeof(**out));
	n = *out ? vmm_ended_list(*out, 32) : 0;
	return n < 0 ? 0 : n;
}

/* The VMs that ended, newest first: how, their exit status, the last line they printed. */
static void ps_ended(struct ps *ps)
{
	struct vmm_ended *e;
	int n = ended_all(&e);

	for (int i = 0; i < n; i++) {
		if (ps->json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(e[i].name));
			json_object_object_add(o, "pid", json_object_new_int(e[i].pid));
			json_object_object_add(o, "state", json_object_new_string("ended"));
			json_object_object_add(o, "ended", json_object_new_string(e[i].ended));
			json_object_object_add(o, "how", json_object_new_string(e[i].how));
			json_object_object_add(o, "status", json_object_new_int(e[i].status));
			json_object_object_add(o, "kernel", json_object_new_string(e[i].kernel));
			json_object_object_add(o, "console_tail",
					       json_object_new_string(e[i].console));
			json_object_array_add(ps->json, o);
			continue;
		}
		if (!i)
			printf("%s%-16s %7s %-9s %-20s %-16s %6s  %s\n", ps->shown ? "\n" : "",
			       "NAME", "PID", "STATE", "ENDED", "HOW", "STATUS", "LAST OUTPUT");
		const char *last = e[i].console + strlen(e[i].console);
		while (last > e[i].console && last[-1] == '\n')
			last--;
		const char *start = last;
		while (start > e[i].console && start[-1] != '\n')
			start--;
		printf("%-16s %7d %-9s %-20s %-16s %6d  %.*s\n", e[i].name, e[i].pid, "ended",
		       e[i].ended, e[i].how, e[i].status,
		       (int)(last - start > 60 ? 60 : last - start), start);
		ps->shown++;
	}
	free(e);
}

int cli_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct ps ps = { 0 };
	bool all = false;
	int stale, opt;

	while ((opt = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': all = true; break;
		case 'j': ps.json = json_object_new_array(); break;
		case 'h': cli_ps_usage(); return CLI_OK;
		default: cli_ps_usage(); return CLI_ERROR;
		}
	}
	if (optind < argc) {
		cli_ps_usage();
		return CLI_ERROR;
	}
	vmm_control_list(ps_row, &ps, &stale);
	if (stale)
		fprintf(stderr, "nestvisor ps: removed %d stale socket(s) left by killed VMs\n",
			stale);
	if (all)
		ps_ended(&ps);
	if (ps.json) {
		puts(json_object_to_json_string_ext(ps.json, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(ps.json);
	} else if (!ps.shown) {
		printf(all ? "no VMs running or ended\n" : "no VMs running\n");
	}
	return CLI_OK;
}

int cli_dismiss(int argc, char **argv)
{
	if (argc < 2) {
		cli_dismiss_usage();
		return CLI_ERROR;
	}
	if (!strcmp(argv[1], "--all")) {
		struct vmm_ended *e;
		int n = ended_all(&e);
		for (int i = 0; i < n; i++)
			vmm_ended_dismiss(e[i].name);
		printf("dismissed %d ended VM(s)\n", n);
		free(e);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++)
		if (vmm_ended_dismiss(argv[i]) < 0) {
			fprintf(stderr,
				"nestvisor dismiss: no ended VM named %s (`nestvisor ps --all` "
				"lists them)\n",
				argv[i]);
			return CLI_FAILED;
		}
	return CLI_OK;
}

/* pause and resume: what the VM said if it could not */
static int pause_or_resume(int argc, char **argv, bool pause)
{
	char err[256], *reply = NULL;
	int rc;

	if (argc != 2) {
		pause ? cli_pause_usage() : cli_resume_usage();
		return CLI_ERROR;
	}
	rc = vmm_control_ask(argv[1], pause ? "pause" : "resume", &reply, err, sizeof(err));
	free(reply);
	if (rc == -ENOENT || rc == -EINVAL) {
		not_running(argv[0], argv[1]);
		return CLI_FAILED;
	}
	if (rc < 0) {
		text_clean(err);
		fprintf(stderr, "nestvisor %s: %s: %s\n", argv[0], argv[1],
			err[0] ? err : "no answer from the VM");
		return CLI_FAILED;
	}
	printf("VM %s %s\n", argv[1], pause ? "paused" : "resumed");
	return CLI_OK;
}

int cli_pause(int argc, char **argv)
{
	return pause_or_resume(argc, argv, true);
}

int cli_resume(int argc, char **argv)
{
	return pause_or_resume(argc, argv, false);
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

/* How a watched VM ended, from the record it left (a VM in the foreground leaves none). */
static void said_ended(const char *name)
{
	struct vmm_ended *e;
	int n = ended_all(&e);

	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].name, name)) {
			printf("VM %s has ended: %s (exit status %d)\n", name, e[i].how,
			       e[i].status);
			free(e);
			return;
		}
	printf("VM %s has ended\n", name);
	free(e);
}

/* The reply as it came (JSON; docs/control-socket.md, "digest" and "cpus"). */
static int stats_ask(const char *name, const char *cmd)
{
	char err[256], *reply = NULL;
	int rc = vmm_control_ask(name, cmd, &reply, err, sizeof(err));

	if (rc == -ENOENT || rc == -EINVAL) {
		free(reply);
		not_running("stats", name);
		return CLI_FAILED;
	}
	if (rc < 0) {
		free(reply);
		text_clean(err);
		fprintf(stderr, "nestvisor stats: %s: %s\n", name, err[0] ? err : "no answer");
		return CLI_FAILED;
	}
	text_clean(reply);
	puts(reply);
	free(reply);
	return CLI_OK;
}

int cli_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "watch", no_argument, NULL, 'w' }, { "json", no_argument, NULL, 'j' },
		{ "digest", no_argument, NULL, 'd' }, { "cpus", no_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool watch = false, json = false, tty = isatty(STDOUT_FILENO);
	const char *ask = NULL, *at = NULL;
	char req[96];
	long long last = -1;
	struct vmm_stats s;
	int opt;

	while ((opt = getopt_long(argc, argv, "wh", opts, NULL)) != -1) {
		switch (opt) {
		case 'w': watch = true; break;
		case 'j': json = true; break;
		case 'd': ask = "digest"; break;
		case 'c': ask = "cpus"; break;
		case 'a': at = optarg; break;
		case 'h': cli_stats_usage(); return CLI_OK;
		default: cli_stats_usage(); return CLI_ERROR;
		}
	}
	if (optind + 1 != argc) {
		cli_stats_usage();
		return CLI_ERROR;
	}
	const char *name = argv[optind];
	if (at) {
		char *end;
		unsigned long long a = strncmp(at, "0x", 2) || !isxdigit((unsigned char)at[2]) ?
					       0 : strtoull(at + 2, &end, 16);

		if (!ask || strcmp(ask, "cpus") || !a || *end || a & 7) {
			fprintf(stderr, "nestvisor stats: --at wants --cpus and an 8-byte aligned guest "
					"virtual address in hex, e.g. --cpus --at 0xffffc90000003f58\n");
			return CLI_ERROR;
		}
		snprintf(req, sizeof(req), "{\"cmd\":\"cpus\",\"at\":\"0x%llx\"}", a);
		ask = req;
	}
	if (ask)
		return stats_ask(name, ask);
	do {
		if (vmm_control_stats(name, &s) < 0) {
			if (watch && last >= 0) {	/* it ended while watched */
				said_ended(name);
				return CLI_OK;
			}
			not_running("stats", name);
			return CLI_FAILED;
		}
		if (json) {
			char *doc = vmm_stats_json(&s);
			puts(doc ? doc : "null");
			free(doc);
		} else {
			if (watch && tty)
				fputs("\033[H\033[J", stdout);	/* in place: home, clear below */
			stats_print(name, &s, last);
		}
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

/* The output since *next: 1, or 0 once the VM is gone, -1 when this end's output fails. The guest's
 * sequences reach the terminal but those that write the clipboard or ask it something whose answer
 * would be typed into the guest (common/termfilter.h). */
static int console_pull(const char *path, uint64_t *next, struct termfilter *tf)
{
	char buf[4096], out[4096 + TERMFILTER_SEQ_MAX];
	long n;

	while ((n = vmm_control_console_read(path, next, NULL, buf, sizeof(buf))) > 0) {
		size_t o = termfilter_feed(tf, buf, (size_t)n, out);
		if (fwrite(out, 1, o, stdout) != o || fflush(stdout) != 0)
			return -1;
	}
	return n == 0;
}

int cli_console(int argc, char **argv)
{
	char path[128], buf[512];
	uint64_t next = 0;
	bool input = true;
	static struct termfilter tf;

	if (argc != 2 || argv[1][0] == '-') {
		cli_console_usage();
		return argc == 2 && !strcmp(argv[1], "--help") ? CLI_OK : CLI_ERROR;
	}
	struct vmm_status st;
	if (vmm_control_status(argv[1], &st) < 0 ||
	    vmm_control_path(argv[1], path, sizeof(path)) < 0) {
		not_running(argv[0], argv[1]);
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
			console_pull(path, &next, &tf); /* first: all it printed before we came */
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
