/* nestvisor probe: tell the truth about this host's virtualization, or a recorded one's. */
#include "config.h"
#include <getopt.h>
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
	printf("usage: nestvisor probe [--json] [--save DIR] [--replay DIR] [--cpuid-dump FILE] "
	       "[--no-run]\n                       [--color=auto|always|never] [--no-record] [--db "
	       "PATH] [-v]\n\n  --json             print the report as JSON (schema: "
	       "docs/probe-json.md)\n  --save DIR         record everything this run read into DIR "
	       "(for --replay)\n  --replay DIR       run every check on a recording instead of "
	       "this host\n  --cpuid-dump FILE  use a libcpuid raw CPUID dump (cpuid_tool --save) "
	       "instead of CPUID\n  --no-run           skip the functional check (do not start a "
	       "tiny guest)\n  --color=WHEN       color the report: auto (a terminal, unless "
	       "NO_COLOR is set), always, never\n  -v, --verbose      show check ids and more "
	       "device detail\n  --no-record        do not record this report in the compatibility "
	       "database\n  --db PATH          the database (default $NESTVISOR_DB, else "
	       "$XDG_DATA_HOME/nestvisor/compat.db)\n\nexit status: 0 nothing failed, 1 a check "
	       "FAILed, 2 the probe could not run\n");
}

static bool want_color(const char *when)
{
	if (!strcmp(when, "always"))
		return true;
	if (!strcmp(when, "never"))
		return false;
	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && getenv("TERM") &&
		strcmp(getenv("TERM"), "dumb");
}

/* A database that cannot be written costs the record, not the probe's answer. */
static void record_report(const struct probe_report *rep, const char *dbpath)
{
	char err[1024], uuid[37];
	char *doc = probe_output_json(rep);

	if (!doc)
		fprintf(stderr, "nestvisor probe: not recorded: out of memory\n");
	else if (compatdb_report_record_at(dbpath, doc, uuid, err, sizeof(err)) == 0)
		fprintf(stderr,
			"nestvisor probe: recorded as report %s (nestvisor report show %.8s)\n",
			uuid, uuid);
	else
		fprintf(stderr, "nestvisor probe: not recorded: %s\n", err);
	free(doc);
}

int cli_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "save", required_argument, NULL, 's' },
		{ "replay", required_argument, NULL, 'r' },
		{ "cpuid-dump", required_argument, NULL, 'c' },
		{ "no-run", no_argument, NULL, 'n' },
		{ "color", required_argument, NULL, 'C' },
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
		case 'C': color = optarg; break;
		case 'v': verbose++; break;
		case 'R': record = false; break;
		case 'D': dbpath = optarg; break;
		case 'h': cli_probe_usage(); return CLI_OK;
		default: cli_probe_usage(); return CLI_ERROR;
		}
	}
	if (optind < argc ||
	    (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never"))) {
		fprintf(stderr,
			"nestvisor probe: unexpected argument '%s'; see `nestvisor probe --help`\n",
			optind < argc ? argv[optind] : color);
		return CLI_ERROR;
	}
	if (probe_run(&po, &rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor probe: %s\n", err);
		return CLI_ERROR;
	}
	if (json) {
		char *doc = probe_output_json(&rep);
		if (!doc) {
			fprintf(stderr, "nestvisor probe: out of memory\n");
			probe_report_free(&rep);
			return CLI_ERROR;
		}
		puts(doc);
		free(doc);
	} else {
		probe_output_text(&rep, stdout, want_color(color), verbose);
	}
	bool save_failed = po.save_dir && rep.save_error[0];
	if (save_failed)
		fprintf(stderr, "nestvisor probe: the recording in %s is incomplete: %s\n",
			po.save_dir, rep.save_error);
	else if (po.save_dir)
		fprintf(stderr,
			"nestvisor probe: recorded this run in %s (replay: nestvisor probe "
			"--replay %s)\n",
			po.save_dir, po.save_dir);
	if (record && !po.replay_dir) /* a replay is another host's: it is not this host's report */
		record_report(&rep, dbpath);
	int rc = probe_report_worst(&rep) == PROBE_FAIL || save_failed ? CLI_FAILED : CLI_OK;
	probe_report_free(&rep);
	return rc;
}
