/* help: every command's --help from a table of its options, each explained, wrapped to the terminal
 * (80 columns when it is not one), as git and ip print theirs. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cli/cli.h"

#define OPT_COLUMN 22	/* where an option's text starts */

static int columns(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 60)
		return ws.ws_col > 120 ? 120 : ws.ws_col;
	return 80;
}

/* text from column `at` to `width`, continuing lines indented to `at`; words are never cut */
static void wrap(const char *text, int at, int used, int width)
{
	const char *p = text;

	if (used > 0 && used >= at) {	/* a long option: its text on the next line */
		printf("\n%*s", at, "");
		used = at;
	}
	printf("%*s", at - used, "");
	used = at;
	while (*p) {
		size_t n = strcspn(p, " \n");
		if (used > at && used + 1 + (int)n > width) {
			printf("\n%*s", at, "");
			used = at;
		} else if (used > at) {
			putchar(' ');
			used++;
		}
		printf("%.*s", (int)n, p);
		used += (int)n;
		p += n;
		if (*p == '\n') {	/* a paragraph inside an option's text */
			printf("\n%*s", at, "");
			used = at;
		}
		while (*p == ' ' || *p == '\n')
			p++;
	}
	putchar('\n');
}

void cli_help_print(const struct cli_help *h)
{
	int width = columns();

	printf("usage: %s\n", h->synopsis);
	if (h->about) {
		putchar('\n');
		wrap(h->about, 2, 0, width);
	}
	if (h->opts && h->opts[0].opt)
		putchar('\n');
	for (const struct cli_opt_help *o = h->opts; o && o->opt; o++) {
		printf("  %s", o->opt);
		wrap(o->text, OPT_COLUMN, 2 + (int)strlen(o->opt), width);
	}
	if (h->footer) {
		putchar('\n');
		wrap(h->footer, 0, 0, width);
	}
}
