/* nestvisor tui: the ncurses interface (also what a bare `nestvisor` opens on a terminal). */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "tui/tui.h"

void cli_tui_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "--replay DIR", "show a recording instead of probing this host" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor tui [--replay DIR]",
		.about = "The interactive interface: the host, its devices, VMs (launch, console, "
			 "exits), reports. F1 lists every key.",
		.opts = opts,
	};

	cli_help_print(&h);
}

int cli_tui(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replay", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tui_options o = { 0 };
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': o.replay_dir = optarg; break;
		case 'h': cli_tui_usage(); return CLI_OK;
		default: cli_tui_usage(); return CLI_ERROR;
		}
	}
	return tui_main(&o) < 0 ? CLI_ERROR : CLI_OK;
}
