/* nestvisor stop NAME [--force] [--timeout S]: a VM ended the way a PC's power button ends one. Its
 * guest is asked to power off through ACPI (the fixed power button, vmm/hw/acpi-pm.c) and given
 * time to; one that does not listen for the button, or takes longer, is stopped outright (virsh
 * shutdown, then destroy); --force stops it at once. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/text.h"
#include "vmm/control.h"

#define STOP_WAIT_DEFAULT 60

void cli_stop_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "--timeout S", "how long its guest has to power off once asked (default 60 s; "
				 "1 to 3600)" },
		{ "--force", "stop it at once, its guest not asked (what it had not written to its "
			     "disks is lost)" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor stop NAME [--timeout S | --force]",
		.about = "Ends a running VM: its guest is asked to power off through the ACPI power "
			 "button and given --timeout to, as a PC's button asks; a guest that does "
			 "not listen for the button (or a paused VM) is stopped at once, one that "
			 "takes longer when its time is up (exit status 130 then).",
		.opts = opts,
		.footer = "exit status: 0 the VM has ended, 1 no such VM, 2 bad usage",
	};
	cli_help_print(&h);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Whether the VM is still there (its socket answers), waiting up to secs for it to go. */
static bool still_running(const char *name, double secs)
{
	struct vmm_status st;
	double end = now_s() + secs;

	while (vmm_control_status(name, &st) == 0) {
		if (now_s() >= end)
			return true;
		usleep(100000);
	}
	return false;
}

/* How it ended, from the record a VM in the background leaves (one in the foreground says it
 * itself, on its own terminal). */
static void say_ended(const char *name, double secs)
{
	struct vmm_ended *e = calloc(32, sizeof(*e));

	/* written as its process ends, a moment after its socket went */
	for (int tries = 0; e && tries < 20; tries++, usleep(100000)) {
		int n = vmm_ended_list(e, 32);
		for (int i = 0; i < n; i++)
			if (!strcmp(e[i].name, name)) {
				printf("VM %s has ended: %s (exit status %d), %.1f s after its power "
				       "button\n", name, e[i].how, e[i].status, secs);
				free(e);
				return;
			}
	}
	printf("VM %s has ended, %.1f s after its power button\n", name, secs);
	free(e);
}

int cli_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },  { NULL, 0, NULL, 0 },
	};
	char err[256] = "", *reply = NULL, *end;
	bool force = false;
	long wait = STOP_WAIT_DEFAULT;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': force = true; break;
		case 't':
			wait = strtol(optarg, &end, 10);
			if (*end || end == optarg || wait < 1 || wait > 3600) {
				fprintf(stderr, "nestvisor stop: --timeout takes seconds, 1 to 3600\n");
				return CLI_ERROR;
			}
			break;
		case 'h': cli_stop_usage(); return CLI_OK;
		default: cli_stop_usage(); return CLI_ERROR;
		}
	}
	if (optind + 1 != argc) {
		cli_stop_usage();
		return CLI_ERROR;
	}
	const char *name = argv[optind];
	if (!force) {
		double t0 = now_s();
		rc = vmm_control_ask(name, "powerdown", &reply, err, sizeof(err));
		free(reply);
		if (rc == 0) {
			printf("VM %s: its power button pressed; waiting up to %ld s for its guest to "
			       "power off\n", name, wait);
			fflush(stdout);
			if (!still_running(name, (double)wait)) {
				say_ended(name, now_s() - t0);
				return CLI_OK;
			}
			snprintf(err, sizeof(err), "its guest did not power off within %ld s", wait);
		} else if (rc != -EAGAIN) {
			fprintf(stderr, "nestvisor stop: no VM named %s is running (`nestvisor ps` "
				"lists them)\n", name);
			return CLI_FAILED;
		}
	}
	if (vmm_control_command(name, "stop") < 0) {
		if (!force && !err[0]) {	/* it ended meanwhile */
			printf("VM %s has ended\n", name);
			return CLI_OK;
		}
		fprintf(stderr, "nestvisor stop: no VM named %s is running (`nestvisor ps` lists "
			"them)\n", name);
		return CLI_FAILED;
	}
	text_clean(err);
	printf("VM %s stopped%s%s%s\n", name, err[0] ? " (" : "", err, err[0] ? ")" : "");
	return CLI_OK;
}
