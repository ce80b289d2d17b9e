/* nestvisor probe: tell the truth about this host's virtualization, or a recorded one's. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "compat-db/compatdb.h"
#include "probe/probe.h"

void cli_probe_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "--json",
		  "print the report as JSON (schema: docs/probe-json.md), with the id it was "
		  "recorded under" },
		{ "--save DIR", "record everything this run read into DIR (for --replay)" },
		{ "--replay DIR", "run every check on a recording instead of this host" },
		{ "--cpuid-dump FILE",
		  "judge the CPU in a CPUID dump instead of this one: libcpuid's (cpuid_tool "
		  "--save), `cpuid -r`'s or AIDA64's CPUID report, told apart by content. Its "
		  "MSRs, cpuinfo and kernel log are not in a dump: what they tell is unknown" },
		{ "--no-run", "skip the functional check (do not start a tiny guest)" },
		{ "--color[=WHEN]",
		  "color the report: auto (the default: on a terminal, unless NO_COLOR is set and "
		  "not empty), always or yes (also --color alone), never or no" },
		{ "-v, --verbose", "show the checks' ids and more device detail" },
		{ "--no-record", "do not record this report in the compatibility database" },
		{ "--db PATH",
		  "the database (default $NESTVISOR_DB, else $XDG_DATA_HOME/nestvisor/compat.db)" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor probe [OPTION]...",
		.about = "Checks this host: VT-x/AMD-V and what firmware allows, KVM (a tiny guest "
			 "really runs), nested virtualization, the IOMMU and every PCI device; "
			 "each check PASS, NOTE, WARN, FAIL or UNKNOWN, with its evidence and fix.",
		.opts = opts,
		.footer = "exit status: 0 nothing failed, 1 a check FAILed, 2 the probe could not "
			  "run",
	};

	cli_help_print(&h);
}

/* --color=WHEN as ls and git take it: always/yes/force, never/no/none, auto/tty/if-tty; -1: none of
 * them. auto: a terminal that is not dumb, and NO_COLOR unset or empty (no-color.org). */
static int want_color(const char *when)
{
	static const char *const on[] = { "always", "yes", "force", NULL };
	static const char *const off[] = { "never", "no", "none", NULL };
	static const char *const by_tty[] = { "auto", "tty", "if-tty", NULL };
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	for (int i = 0; on[i]; i++)
		if (!strcmp(when, on[i]))
			return 1;
	for (int i = 0; off[i]; i++)
		if (!strcmp(when, off[i]))
			return 0;
	for (int i = 0; by_tty[i]; i++)
		if (!strcmp(when, by_tty[i]))
			return isatty(STDOUT_FILENO) && !(no_color && *no_color) && term &&
			       strcmp(term, "dumb");
	return -1;
}

/* A database that cannot be written costs the record, not the probe's answer. uuid[0] stays '\0'
 * when it was not recorded. */
static void record_report(const struct probe_report *rep, const char *dbpath, char uuid[37])
{
	char err[1024];
	char *doc = probe_output_json(rep);
	int rc;

	uuid[0] = '\0';
	if (!doc)
		fprintf(stderr, "nestvisor probe: not recorded: out of memory\n");
	else if ((rc = compatdb_report_record_at(dbpath, doc, uuid, err, sizeof(err))) == 0)
		fprintf(stderr,
			"nestvisor probe: recorded as report %s (nestvisor report show %.8s)\n",
			uuid, uuid);
	else if (rc == 1)
		fprintf(stderr,
			"nestvisor probe: the same as report %s, this host's last: recorded as "
			"seen again, not as a new report\n",
			uuid);
	else {
		uuid[0] = '\0';
		fprintf(stderr, "nestvisor probe: not recorded: %s\n", err);
	}
	free(doc);
}

/* The report as JSON, with the id it was recorded under ("report": null when it was not). */
static int print_json(const struct probe_report *rep, const char *uuid)
{
	char *doc = probe_output_json(rep);
	json_object *o = doc ? json_tokener_parse(doc) : NULL;

	free(doc);
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "report", uuid[0] ? json_object_new_string(uuid) : NULL);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

int cli_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "save", required_argument, NULL, 's' },
		{ "replay", required_argument, NULL, 'r' },
		{ "cpuid-dump", required_argument, NULL, 'c' },
		{ "no-run", no_argument, NULL, 'n' },
		{ "color", optional_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "no-record", no_argument, NULL, 'R' },
		{ "db", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe_options po = { 0 };
	struct probe_report rep;
	const char *color = "auto", *dbpath = NULL;
	bool json = false, record = true;
	int verbose = 0, opt;
	char err[512];

	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 's': po.save_dir = optarg; break;
		case 'r': po.replay_dir = optarg; break;
		case 'c': po.cpuid_dump = optarg; break;
		case 'n': po.skip_functional = true; break;
		case 'C': color = optarg ? optarg : "always"; break;
		case 'v': verbose++; break;
		case 'R': record = false; break;
		case 'D': dbpath = optarg; break;
		case 'h': cli_probe_usage(); return CLI_OK;
		default: cli_probe_usage(); return CLI_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"nestvisor probe: unexpected argument '%s'; see `nestvisor probe --help`\n",
			argv[optind]);
		return CLI_ERROR;
	}
	if (want_color(color) < 0) {
		fprintf(stderr, "nestvisor probe: --color=%s: always (yes), never (no) or auto\n",
			color);
		return CLI_ERROR;
	}
	if (probe_run(&po, &rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor probe: %s\n", err);
		return CLI_ERROR;
	}
	char uuid[37] = "";
	/* a replay is another host's: it is not this host's report */
	if (record && !po.replay_dir)
		record_report(&rep, dbpath, uuid);
	if (json && print_json(&rep, uuid) < 0) {
		fprintf(stderr, "nestvisor probe: out of memory\n");
		probe_report_free(&rep);
		return CLI_ERROR;
	} else if (!json) {
		probe_output_text(&rep, stdout, want_color(color) == 1, verbose);
	}
	bool save_failed = po.save_dir && rep.save_error[0];
	if (save_failed)
		fprintf(stderr, "nestvisor probe: the recording in %s is incomplete: %s\n",
			po.save_dir, rep.save_error);
	else if (po.save_dir)
		fprintf(stderr, "nestvisor probe: recorded this run in %s (replay: nestvisor probe "
			"--replay %s)\n", po.save_dir, po.save_dir);
	int rc = probe_report_worst(&rep) == PROBE_FAIL || save_failed ? CLI_FAILED : CLI_OK;
	probe_report_free(&rep);
	return rc;
}
