/* nestvisor: entry point; dispatches to subcommands from a const table. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "imgboot/imgboot.h"

static int cli_help(int argc, char **argv);
static void cli_help_usage(void);

static const struct cli_command commands[] = {
	{ "probe", "check this host: VT-x/AMD-V, KVM, nested virtualization, IOMMU, PCI devices",
	  cli_probe, cli_probe_usage },
	{ "run", "boot a kernel or test image in a KVM virtual machine", cli_run, cli_run_usage },
	{ "tui", "the interactive interface: host, devices, VMs and their consoles, reports",
	  cli_tui, cli_tui_usage },
	{ "report", "the probe reports recorded on this machine: list, show, export, import, diff",
	  cli_report, cli_report_usage },
	{ "db", "what the compatibility database knows: hosts, devices, one device, totals", cli_db,
	  cli_db_usage },
	{ "device", "hand a host PCI device to vfio-pci for passthrough (bind), and back (release)",
	  cli_device, cli_device_usage },
	{ "image",
	  "make a qcow2 (or VMDK, VDI, VHD...) a raw disk (import); what an OS image boots (inspect)",
	  cli_image, cli_image_usage },
	{ "ps", "list running VMs", cli_ps, cli_ps_usage },
	{ "stop", "stop a running VM", cli_stop, cli_stop_usage },
	{ "pause", "pause a running VM: its vCPUs and devices", cli_pause, cli_pause_usage },
	{ "resume", "resume a paused VM", cli_resume, cli_resume_usage },
	{ "snapshot", "save a running VM to a file (`run --restore FILE` starts it again)",
	  cli_snapshot, cli_snapshot_usage },
	{ "stats", "a running VM's exits by reason, port and MMIO region", cli_stats,
	  cli_stats_usage },
	{ "console", "a running VM's serial console on this terminal", cli_console,
	  cli_console_usage },
	{ "dismiss", "forget VMs that ended (`ps --all` lists them)", cli_dismiss,
	  cli_dismiss_usage },
	{ "help", "show help for nestvisor or one of its commands", cli_help, cli_help_usage },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* The command a mistyped name was meant to be: a unique prefix, or one or two letters off. */
static const struct cli_command *guess_command(const char *name)
{
	const struct cli_command *best = NULL;
	int best_d = 3, prefixed = 0;

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strncmp(commands[i].name, name, strlen(name)) && ++prefixed == 1)
			best = &commands[i];
	if (prefixed == 1)
		return best;
	best = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *a = name, *b = commands[i].name;
		size_t la = strlen(a), lb = strlen(b);
		int d[32][32];	/* Levenshtein over at most 31 characters */
		if (la > 31 || lb > 31)
			continue;
		for (size_t x = 0; x <= la; x++)
			d[x][0] = (int)x;
		for (size_t y = 0; y <= lb; y++)
			d[0][y] = (int)y;
		for (size_t x = 1; x <= la; x++)
			for (size_t y = 1; y <= lb; y++) {
				int sub = d[x - 1][y - 1] + (a[x - 1] != b[y - 1]);
				int del = d[x - 1][y] + 1, ins = d[x][y - 1] + 1;
				d[x][y] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			}
		if (d[la][lb] < best_d) {
			best_d = d[la][lb];
			best = &commands[i];
		}
	}
	return best;
}

static void no_command(const char *name)
{
	const struct cli_command *g = guess_command(name);

	if (g)
		fprintf(stderr,
			"nestvisor: no command '%s'; did you mean '%s'? (`nestvisor help` lists "
			"them)\n",
			name, g->name);
	else
		fprintf(stderr, "nestvisor: no command '%s'; `nestvisor help` lists them\n", name);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: nestvisor [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n`nestvisor help COMMAND` or `nestvisor COMMAND --help` for a command's options; "
		"man nestvisor.\n");
}

static void cli_help_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor help [COMMAND]",
		.about = "The commands, or one command's options (as `nestvisor COMMAND --help`).",
	};

	cli_help_print(&h);
}

static int cli_help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cli_help_usage();
		return CLI_OK;
	}
	if (!(c = find_command(argv[1]))) {
		no_command(argv[1]);
		return CLI_ERROR;
	}
	c->usage();
	return CLI_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *c;
	int opt;

	/* the confined reader of an OS image (imgboot/confine.c), exec'd by this program itself */
	if (argc > 1 && !strcmp(argv[1], IMGBOOT_READER_ARG))
		return imgboot_reader_main(argc, argv);
	/* '+': stop at the subcommand so its own options reach it */
	while ((opt = getopt_long(argc, argv, "+Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'V':
			printf("nestvisor %s\n", PACKAGE_VERSION);
			return CLI_OK;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_ERROR;
		}
	}
	if (optind >=
	    argc) { /* bare `nestvisor`: the interface on a terminal, the usage elsewhere */
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
			return cli_tui(1, (char *[]){ "tui", NULL });
		usage(stderr);
		return CLI_ERROR;
	}
	if (!(c = find_command(argv[optind]))) {
		no_command(argv[optind]);
		return CLI_ERROR;
	}
	argc -= optind;
	argv += optind;
	/* `nestvisor COMMAND --help` for every command, whatever else it takes */
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		c->usage();
		return CLI_OK;
	}
	optind = 0;	/* reset getopt for the subcommand */
	return c->run(argc, argv);
}
