/* cli: the nestvisor command line; one file per subcommand, like kvmtool's builtin-*.c. */
#ifndef NESTVISOR_CLI_H
#define NESTVISOR_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses shared by subcommands. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_ERROR = 2 };

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(void);
};

int cli_probe(int argc, char **argv);
void cli_probe_usage(void);
int cli_run(int argc, char **argv);
void cli_run_usage(void);
int cli_tui(int argc, char **argv);
void cli_tui_usage(void);
int cli_report(int argc, char **argv);
void cli_report_usage(void);
int cli_db(int argc, char **argv);
void cli_db_usage(void);
int cli_device(int argc, char **argv);
void cli_device_usage(void);
/* --device: refused (-1, the probe's reason printed) unless the probe calls each device ready. */
int cli_device_gate(const char *const *bdfs, int count);
int cli_image(int argc, char **argv);
void cli_image_usage(void);
int cli_ps(int argc, char **argv);
void cli_ps_usage(void);
int cli_stop(int argc, char **argv);
void cli_stop_usage(void);
int cli_snapshot(int argc, char **argv);
void cli_snapshot_usage(void);
int cli_pause(int argc, char **argv);
void cli_pause_usage(void);
int cli_resume(int argc, char **argv);
void cli_resume_usage(void);
int cli_stats(int argc, char **argv);
void cli_stats_usage(void);
int cli_console(int argc, char **argv);
int cli_dismiss(int argc, char **argv);
void cli_dismiss_usage(void);
void cli_console_usage(void);

/* A command's --help (cli/help.c): its synopsis, what it does, each
 * option explained (a NULL opt ends them), and a footer (exit statuses, files). Wrapped to the
 * terminal. */
struct cli_opt_help { const char *opt, *text; };
struct cli_help {
	const char *synopsis, *about;
	const struct cli_opt_help *opts;
	const char *footer;
};
void cli_help_print(const struct cli_help *h);

/* A compat-db answer, as a table (aligned, yes/no) or with json as a JSON array of objects
 * (cli/table.c). */
struct compatdb_table;
void cli_table_print(FILE *out, const struct compatdb_table *t, bool json);

#endif
