/* nestvisor report list | show ID | export ID [-o FILE] | import FILE... | diff ID1 ID2, and
 * nestvisor db hosts | devices [--vendor V] [--class C] [--verdict X] | device VENDOR:DEVICE |
 * stats. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "compat-db/compatdb.h"

void cli_report_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "list", "every report recorded here, oldest first" },
		{ "show ID", "a report's checks and devices (--json: the whole report)" },
		{ "export ID",
		  "the report as a file to share (-o FILE; identifiers left out unless "
		  "--include-identifiers)" },
		{ "import FILE...", "reports exported elsewhere; each whole or not at all" },
		{ "diff ID1 ID2", "what changed between two reports" },
		{ "submit",
		  "send the reports not yet submitted to the shared PostgreSQL database (--to URL, "
		  "$NESTVISOR_COMPAT_URL, or compat_url in nestvisor.conf), each exactly once" },
		{ "delete ID...", "drop reports" },
		{ "prune --older-than DAYS", "drop the reports older than DAYS days" },
		{ "--db PATH",
		  "the database (default $NESTVISOR_DB, else $XDG_DATA_HOME/nestvisor/compat.db)" },
		{ "--json", "answers as JSON (docs/compat-db.md)" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor report [--db PATH] [--json] VERB [ARGS]",
		.about = "The probe reports recorded on this machine. ID is a report's UUID or a "
			 "unique prefix of it.",
		.opts = opts,
	};

	cli_help_print(&h);
}

void cli_db_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "hosts", "every host, last seen first, with what its latest report says" },
		{ "devices", "device models in the hosts' latest reports (--vendor V, --class C, "
		  "--verdict X filter them)" },
		{ "device VENDOR:DEVICE", "one device model across hosts, and its paravirtual "
		  "alternative" },
		{ "stats", "totals" },
		{ "init --to URL", "create or upgrade the shared database's schema" },
		{ "--db PATH", "the local database (default $NESTVISOR_DB, else "
		  "$XDG_DATA_HOME/nestvisor/compat.db)" },
		{ "--to URL", "ask the fleet's shared PostgreSQL database instead (also "
		  "$NESTVISOR_COMPAT_URL)" },
		{ "--json", "answers as JSON (docs/compat-db.md)" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor db [--db PATH | --to URL] [--json] VERB [ARGS]",
		.about = "What the compatibility database knows of hosts and devices.",
		.opts = opts,
	};

	cli_help_print(&h);
}

struct common { const char *db, *out, *vendor, *class_, *verdict, *to, *older; bool json, ids; };

static int parse(int argc, char **argv, struct common *c, void (*usage)(void))
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "include-identifiers", no_argument, NULL, 'I' },
		{ "vendor", required_argument, NULL, 'V' },
		{ "class", required_argument, NULL, 'C' },
		{ "verdict", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 'T' },
		{ "older-than", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': c->db = optarg; break;
		case 'j': c->json = true; break;
		case 'o': c->out = optarg; break;
		case 'I': c->ids = true; break;
		case 'V': c->vendor = optarg; break;
		case 'C': c->class_ = optarg; break;
		case 'X': c->verdict = optarg; break;
		case 'T': c->to = optarg; break;
		case 'A': c->older = optarg; break;
		case 'h': usage(); return 1;
		default: usage(); return -1;
		}
	}
	if (optind >= argc) {
		usage();
		return -1;
	}
	return 0;
}

/* "nestvisor report: ..." or "nestvisor db: ...": the one prefix every command's errors have */
static int done(const char *command, int rc, const char *err)
{
	if (rc < 0 && err[0])
		fprintf(stderr, "nestvisor %s: %s\n", command, err);
	return rc < 0 ? CLI_FAILED : CLI_OK;
}

/* Prints a query's answer (when there is one) and frees it. */
static int answer(int rc, struct compatdb_table *t, bool json)
{
	if (rc == 0 && t)
		cli_table_print(stdout, t, json);
	compatdb_table_free(t);
	return rc;
}

/* A report's checks and its devices; with --json, the whole report as exported, identifiers
 * included. */
static int show(struct compatdb *db, const struct common *c, const char *id, char *err,
		size_t errlen)
{
	struct compatdb_table *t = NULL;
	char full[37];
	int rc = compatdb_report_resolve(db, id, full, err, errlen);

	if (rc < 0)
		return rc;
	if (c->json) {
		char *doc = compatdb_report_export(db, full, true, err, errlen);
		if (!doc)
			return -EIO;
		puts(doc);
		free(doc);
		return 0;
	}
	printf("report %s\n", full);
	rc = compatdb_report_checks(db, full, &t, err, errlen);
	if ((rc = answer(rc, t, false)) < 0)
		return rc;
	putchar('\n');
	rc = compatdb_report_devices(db, full, &t, err, errlen);
	return answer(rc, t, false);
}

static int export_to(struct compatdb *db, const struct common *c, const char *id, char *err,
		     size_t errlen)
{
	char *doc = compatdb_report_export(db, id, c->ids, err, errlen);
	FILE *f = NULL;
	int fd = -1;

	if (!doc)
		return -1;
	if (!c->out) {
		puts(doc);
	} else if ((fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			      0600)) < 0 ||
		   !(f = fdopen(fd, "w")) || fputs(doc, f) < 0 || fputc('\n', f) < 0 ||
		   fclose(f) != 0) {
		snprintf(err, errlen, "%s: cannot write the report: %s",
			 c->out, /* never through a link */
			 errno == ELOOP ? "a symbolic link" : strerror(errno));
		if (fd >= 0 && !f)
			close(fd);
		free(doc);
		return -1;
	}
	free(doc);
	return 0;
}

static void import_said(void *ctx, const char *file, int rc, const char *uuid, const char *why)
{
	(void)ctx;
	if (rc == 0)
		printf("%s: imported report %s\n", file, uuid);
	else if (rc == 1)
		printf("%s: report %s is already there\n", file, uuid);
	else
		fprintf(stderr, "nestvisor report import: %s\n", why);
}

static int import_files(struct compatdb *db, int n, char **files, char *err, size_t errlen)
{
	int rc = compatdb_report_import_files(db, n, files, import_said, NULL, err, errlen);

	if (rc >= 0)
		err[0] = '\0';
	return rc == 0 ? 0 : -1;
}

static int submit(struct compatdb *db, const struct common *c, char *err, size_t errlen)
{
	struct compatdb_submit_result r = { 0 };
	char url[1024];
	int rc;

	if ((rc = compatdb_url(c->to, url, sizeof(url), err, errlen)) < 0) {
		if (rc != -EPERM)
			snprintf(err, errlen,
				 "no shared database: give --to URL, set NESTVISOR_COMPAT_URL, or "
				 "put compat_url = URL in /etc/nestvisor/nestvisor.conf");
		return -1;
	}
	rc = compatdb_submit(db, url, &r, err, errlen);
	printf("%d report(s) queued: %d sent, %d already there", r.queued, r.sent, r.already);
	if (r.refused)
		printf(", %d refused by the shared database", r.refused);
	if (rc < 0)
		printf(", %d still queued for the next submit", r.queued - r.sent - r.already);
	if (r.outcomes)	/* what VMs did with passed-through devices (run --device) */
		printf("; %d passthrough outcome(s): %d sent, %d already there", r.outcomes,
		       r.outcomes_sent, r.outcomes_already);
	printf("\n");
	return rc;
}

int cli_report(int argc, char **argv)
{
	struct common c = { 0 };
	struct compatdb *db;
	char err[1024] = "";
	int rc = parse(argc, argv, &c, cli_report_usage);

	if (rc)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	const char *verb = argv[optind], *a = optind + 1 < argc ? argv[optind + 1] : NULL;
	const char *b = optind + 2 < argc ? argv[optind + 2] : NULL;
	if ((!strcmp(verb, "show") || !strcmp(verb, "export")) && !a) {
		cli_report_usage();
		return CLI_ERROR;
	}
	if (compatdb_open(c.db, &db, err, sizeof(err)) < 0)
		return done(argv[0], -1, err);
	struct compatdb_table *t = NULL;
	if (!strcmp(verb, "list"))
		rc = compatdb_report_list(db, &t, err, sizeof(err));
	else if (!strcmp(verb, "show"))
		rc = show(db, &c, a, err, sizeof(err));
	else if (!strcmp(verb, "export"))
		rc = export_to(db, &c, a, err, sizeof(err));
	else if (!strcmp(verb, "import") && a)
		rc = import_files(db, argc - optind - 1, argv + optind + 1, err, sizeof(err));
	else if (!strcmp(verb, "diff") && a && b)
		rc = compatdb_report_diff(db, a, b, &t, err, sizeof(err));
	else if (!strcmp(verb, "submit"))
		rc = submit(db, &c, err, sizeof(err));
	else if (!strcmp(verb, "delete") && a) {
		for (int i = optind + 1; i < argc && rc == 0; i++)
			if ((rc = compatdb_report_delete(db, argv[i], err, sizeof(err))) == 0)
				printf("deleted report %s\n", argv[i]);
	} else if (!strcmp(verb, "prune") && c.older) {
		char *end;
		long days = strtol(c.older, &end, 10);
		int n = 0;
		if (*end || end == c.older || days < 0 || days > 100000) {
			snprintf(err, sizeof(err),
				 "--older-than %s: give a number of days from 0 to 100000",
				 c.older);
			rc = -1;
		} else if ((rc = compatdb_report_prune(db, (int)days, &n, err, sizeof(err))) == 0)
			printf("deleted %d report(s) older than %ld day(s)\n", n, days);
	} else {
		compatdb_close(db);
		cli_report_usage();
		return CLI_ERROR;
	}
	compatdb_close(db);
	return done(argv[0], answer(rc, t, c.json), err);
}

int cli_db(int argc, char **argv)
{
	struct common c = { 0 };
	struct compatdb *db;
	char err[1024] = "";
	int rc = parse(argc, argv, &c, cli_db_usage);

	if (rc)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	const char *verb = argv[optind], *a = optind + 1 < argc ? argv[optind + 1] : NULL;
	char url[1024];
	if (!strcmp(verb, "init") || c.to ||
	    (getenv("NESTVISOR_COMPAT_URL") && !c.db)) { /* the fleet's database */
		static const struct { const char *verb; enum compatdb_fleet_query q;
		} fleet[] = {
			{ "hosts", FLEET_HOSTS },
			{ "devices", FLEET_DEVICES },
			{ "device", FLEET_DEVICE },
			{ "stats", FLEET_STATS },
		};
		struct compatdb_device_filter f = { c.vendor, c.class_, c.verdict };
		if ((rc = compatdb_url(c.to, url, sizeof(url), err, sizeof(err))) < 0) {
			if (rc == -EPERM)
				fprintf(stderr, "nestvisor db: %s\n", err);
			else
				cli_db_usage();
			return CLI_ERROR;
		}
		if (!strcmp(verb, "init")) {
			char shown[1024];
			compatdb_url_shown(url, shown, sizeof(shown));
			if ((rc = compatdb_remote_init(url, err, sizeof(err))) == 0)
				printf("the shared database %s is ready\n", shown);
			return done(argv[0], rc, err);
		}
		for (size_t i = 0; i < sizeof(fleet) / sizeof(fleet[0]); i++) {
			struct compatdb_table *t = NULL;
			if (strcmp(verb, fleet[i].verb) || (fleet[i].q == FLEET_DEVICE && !a))
				continue;
			rc = compatdb_remote_query(url, fleet[i].q, &f, a, &t, err, sizeof(err));
			return done(argv[0], answer(rc, t, c.json), err);
		}
		cli_db_usage();
		return CLI_ERROR;
	}
	if (compatdb_open(c.db, &db, err, sizeof(err)) < 0)
		return done(argv[0], -1, err);
	struct compatdb_table *t = NULL;
	struct compatdb_device_filter f = { c.vendor, c.class_, c.verdict };
	if (!strcmp(verb, "hosts"))
		rc = compatdb_hosts(db, &t, err, sizeof(err));
	else if (!strcmp(verb, "devices"))
		rc = compatdb_devices(db, &f, &t, err, sizeof(err));
	else if (!strcmp(verb, "device") && a)
		rc = compatdb_device(db, a, &t, err, sizeof(err));
	else if (!strcmp(verb, "stats"))
		rc = compatdb_stats(db, &t, err, sizeof(err));
	else {
		compatdb_close(db);
		cli_db_usage();
		return CLI_ERROR;
	}
	compatdb_close(db);
	return done(argv[0], answer(rc, t, c.json), err);
}
