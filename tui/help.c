/* help: the Help screen, built from the key tables: the keys of every screen, then each screen's
 * own; Up and Down scroll it where the terminal is short. */
#include "config.h"
#include <stdio.h>
#include "tui/crt.h"
#include "tui/screens.h"

#define HELP_LINES 96

struct help_line { const char *text; enum crt_role role; };

static int help_lines(struct help_line *out)
{
	int n = 0;

	out[n++] = (struct help_line){ "Every screen", ROLE_HEADER };
	for (int i = 0; i < tui_nkeys && n < HELP_LINES; i++)
		if (tui_keys[i].help)
			out[n++] = (struct help_line){ tui_keys[i].help, ROLE_DEFAULT };
	for (int s = 0; s < SCREEN_COUNT && n < HELP_LINES - 1; s++) {
		const struct tui_screen_def *sc = tui_screens[s];
		if (!sc->nkeys)
			continue;
		out[n++] = (struct help_line){ sc->name, ROLE_HEADER };
		for (int i = 0; i < sc->nkeys && n < HELP_LINES; i++)
			if (sc->keys[i].help)
				out[n++] = (struct help_line){ sc->keys[i].help, ROLE_DEFAULT };
	}
	if (n < HELP_LINES)
		out[n++] = (struct help_line){ "Mouse: click a tab, a function key or a row. "
					       "Colors follow NO_COLOR.",
					       ROLE_DIM };
	return n;
}

static int help_count(struct tui *t)
{
	struct help_line l[HELP_LINES];
	int n = help_lines(l), shown = t->rows - 1 - TUI_BODY_TOP;

	return n > shown ? n - shown + 1 : 1;	/* the selection is the first line shown */
}

static void help_draw(struct tui *t)
{
	struct help_line l[HELP_LINES];
	int n = help_lines(l), y = TUI_BODY_TOP;

	for (int i = t->sel; i < n && y < t->rows - 1; i++, y++)
		crt_text(y, l[i].role == ROLE_HEADER ? 1 : 2, l[i].role, 0, l[i].role == ROLE_HEADER ? " %s " : "%s",
			 l[i].text);
	if (t->sel + (y - TUI_BODY_TOP) < n)
		crt_text(1, 1, ROLE_DIM, 0, "Down: more keys");
}

const struct tui_screen_def tui_help_screen = { .name = "Help",
						.draw = help_draw,
						.count = help_count };
